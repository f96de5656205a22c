"""The upgrade drill: two clusters on one PostgreSQL database, as a KubeRay NewCluster upgrade has them, under traffic.

Cluster A serves alone: resolves in a loop, and picks with their receipts,
releases and replays (`tests.clusters.upgrade_traffic`). Cluster B is started
beside it with the same deployment and the same organism namespace, so the
same state scope on the same database. Once B answers with every organ
active, resolves move to it and picks go to both, each job's receipts,
release and replays to the cluster that did not book it. Then A takes no
more traffic, is drained (`serve.shutdown()`) and stopped, and B carries on
alone, ending jobs A booked. Miners' allowances bind within the run.

Judged twice: by the answers (`tests.picker_ledger`: overspent, double
booked, replays booked again, releases or receipts refused on the other,
lost) and by the database at the end (`stored_counts`: each miner's
deductions plus live holds within its allowance and as callers were told,
no slot claimed twice nor more claims than executors, every acknowledged
booking stored on its miner in the state the answers left it). The counts
are printed; the README's *Deploying to KubeRay* quotes them.
"""

import contextlib
import time
import uuid
from collections import Counter

from organism.state.sql import SqlStore
from routing_cli.ingress import ingress_mode
from tests.clusters.lone_cluster import lone_cluster, organism_client
from tests.clusters.upgrade_traffic import Traffic
from tests.miners import load_miners
from tests.picker_ledger import Ledger
from tests.stack import FAST_HEARTBEATS, SERVICE_HEADERS

ORGANS = {"utility_organ_1": 1, "actuator_organ_1": 1, "graph_dispatcher": 1}
MINERS, EXECUTORS, ALLOWANCE = 4, 8, 600.0  # 15 jobs of 40 executor-seconds each: binds within the run
OVERLAP_STEPS, ALONE_STEPS = 150, 80


def stored_counts(store: SqlStore, ledger: Ledger) -> Counter:
    """What the database says at the end, against what callers were told."""
    counts: Counter = Counter()
    with store.transaction() as tx:
        holds = tx.live_allowance_holds(time.time())
    for row in store.load("allowances").values():
        held = sum(h.seconds for h in holds if h.hotkey == row["hotkey"])
        deducted = row["initial"] - row["remaining"]
        told = sum(b.seconds for b in ledger.bookings.values() if b.hotkey == row["hotkey"] and b.burned)
        counts["overspent"] += deducted + held > row["initial"]
        counts["deducted not as told"] += deducted != told
        counts["allowance before"] += row["initial"]
        counts["allowance after"] += row["remaining"]
        counts["held at the end"] += held
    claims = store.claims()
    per_slot = Counter((c.hotkey, c.executor_class, c.slot) for c in claims)
    per_miner = Counter(c.hotkey for c in claims)
    counts["double_booked"] = sum(n > 1 for n in per_slot.values()) + sum(n > EXECUTORS for n in per_miner.values())
    jobs = store.load("jobs")
    for job_uuid, booking in ledger.bookings.items():
        stored = jobs.get(job_uuid)
        counts["lost"] += stored is None or (stored["hotkey"], stored["state"]) != (booking.hotkey, booking.state)
    return counts


def test_an_upgrade_under_traffic_overspends_nothing_and_loses_nothing(postgres_dsn):
    namespace = f"upgrade-{uuid.uuid4().hex[:8]}"  # one namespace on both clusters: one state scope
    options = {"env": {"ROUTING_STATE_DSN": postgres_dsn}, "replicas": 2,
               "organism": {"namespace": namespace, "organs": ORGANS, **FAST_HEARTBEATS}}
    ledger = Ledger(ALLOWANCE, EXECUTORS, hotkeys=tuple(f"drill-m{i}" for i in range(MINERS)))
    began = time.monotonic()
    with contextlib.ExitStack() as old, contextlib.ExitStack() as new:
        a = old.enter_context(lone_cluster(ingress_mode(), **options))
        admin = organism_client(a, ORGANS)
        assert admin.put("/chain", json={"block": 25}).status_code == 200
        patch = {"DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS": 3600}
        assert admin.patch("/config", json=patch).status_code == 200
        load_miners(admin, {f"m{i}": EXECUTORS for i in range(MINERS)}, "drill", allowance=ALLOWANCE)
        traffic = Traffic(ledger, a.base_url)
        traffic.start_resolves()
        new.callback(traffic.stop)  # (on the way out, however the drill ends)
        traffic.start_steps(pause_s=0.3)
        time.sleep(5)

        traffic.phase = "B starting"  # A serves while B comes up beside it
        b = new.enter_context(lone_cluster(ingress_mode(), **options))
        organism_client(b, ORGANS).close()
        traffic.stop_steps()

        traffic.phase = "overlap"  # B healthy: the Service moves to it, and A still takes what is under way
        traffic.resolve_url, traffic.pick_urls = b.base_url, [a.base_url, b.base_url]
        traffic.steps(OVERLAP_STEPS, threads=2)

        traffic.phase = "A draining"  # no traffic to A any more; its Serve shut down, then its cluster stopped
        traffic.pick_urls = [b.base_url]
        traffic.start_steps(pause_s=0.1)
        a.drain()
        old.close()
        traffic.stop_steps()

        traffic.phase = "B alone"  # jobs A booked end through B
        traffic.steps(ALONE_STEPS, threads=1)
        ledger.lost_bookings((u, traffic.call("read", b.base_url, f"/jobs/{u}", SERVICE_HEADERS))
                             for u in list(ledger.bookings))
        traffic.stop()
        admin.close()
        names = {a.base_url: "A", b.base_url: "B"}
    store = SqlStore(postgres_dsn, f"{namespace}/jobs")
    stored = stored_counts(store, ledger)
    store.close()

    resolves = Counter({phase: n for (phase, kind), n in traffic.answered.items() if kind == "resolve"})
    print(f"\nupgrade drill in {time.monotonic() - began:.0f}s: {dict(ledger.counts)}")
    print(f"bookings made on: {dict(Counter(names[traffic.booked_on[u]] for u in ledger.bookings))}")
    print(f"stored: {dict(stored)}")
    print(f"answers by phase and kind: {dict(traffic.answered)}")
    print(f"resolves by phase: {dict(resolves)}")
    print(f"non-2xx by phase, kind, reason: {dict(traffic.non_2xx)}")
    assert ledger.violations() == dict.fromkeys(ledger.violations(), 0), ledger.counts
    assert {k: stored[k] for k in ("overspent", "double_booked", "lost", "deducted not as told")} == dict.fromkeys(
        ("overspent", "double_booked", "lost", "deducted not as told"), 0), stored
    assert all(resolves[phase] > 0 for phase in ("A alone", "B starting", "overlap", "A draining", "B alone"))
    assert not [key for key in traffic.non_2xx if key[1] in ("resolve", "read")], traffic.non_2xx
    assert ledger.counts["refused 409 NoMinerWithEnoughAllowance"] > 0  # the allowance did bind
    assert ledger.counts["across"] > 0 and ledger.counts["replays"] > 0
    assert set(names[url] for url in traffic.booked_on.values()) == {"A", "B"}  # both booked
