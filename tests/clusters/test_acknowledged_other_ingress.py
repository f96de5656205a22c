"""Acknowledged means everywhere behind the other ingress too, with the state in PostgreSQL.

The shared cluster runs the probe (`tests.acknowledged`) behind the session's
ingress; this one starts a cluster of its own behind the other one (Serve's
Python proxy when the session is HAProxy's), two replicas of the organism and
of the Coordinator, its state in a throwaway PostgreSQL, and runs every case
for a dozen rounds: no answer after a change's 2xx contradicts it.
"""

import pytest

from routing_cli.ingress import ingress_mode
from tests.acknowledged import COORDINATOR_ARGS, Probe
from tests.clusters.lone_cluster import lone_cluster
from tests.postgres import throwaway_postgres

OTHER = "python" if ingress_mode() == "haproxy" else "haproxy"
ROUNDS = 12


@pytest.fixture(scope="module")
def probe():
    with throwaway_postgres() as database, lone_cluster(OTHER, env={"ROUTING_STATE_DSN": database.dsn},
                                                       coordinator=COORDINATOR_ARGS) as cluster:
        probe = Probe(cluster.base_url)
        probe.prepare()
        yield probe
        probe.close()


def test_no_replica_contradicts_an_acknowledged_change_behind_the_other_ingress(probe):
    for case in Probe.CASES:
        for round_ in range(ROUNDS):
            getattr(probe, case)(round_)
    assert probe.stale == []
    assert len({r for path, r in probe.replicas if path == "organism"}) == 2
    assert len({r for path, r in probe.replicas if path == "pipeline"}) == 2
