"""The audit trail over HTTP: every admin and facts change, with who made it (subject, role,
correlation id) and what changed, merged from both stores newest first, for admins only."""

import httpx
import pytest

from contracts.identity import Role
from tests.stack import OrganismStack, deploy_organism, tear_down_organism
from tests.tokens import SIGNER

pytestmark = pytest.mark.backend  # run again on PostgreSQL: what it tests depends on the state backend

OPERATOR = {"Authorization": f"Bearer {SIGNER.mint('alice', Role.ADMIN)}"}
FEEDER = {"Authorization": f"Bearer {SIGNER.mint('chain-feeder', Role.FACTS)}"}
RULE = {"task_type": "audited_type", "domain": None, "logical_id": "utility_organ_1"}
MINER = {"address": "10.0.0.1", "port": 9000, "collateral_wei": "1"}

CHANGES = [  # (who, method, path, body, action, target)
    (FEEDER, "PUT", "/miners/audited-miner", MINER, "miner.register", "audited-miner"),
    (FEEDER, "PUT", "/chain", {"block": 30}, "chain.report", None),
    (FEEDER, "PUT", "/allowances", {"cycle": {"start": -14, "stop": 708},
                                    "allowances": [{"hotkey": "audited-miner", "initial": 10, "remaining": 9}]},
     "allowances.update", None),
    (OPERATOR, "POST", "/miners/audited-miner/blacklist", {"reason": "late", "duration_s": 60}, "miner.blacklist", "audited-miner"),
    (OPERATOR, "DELETE", "/miners/audited-miner/blacklist", None, "miner.blacklist.lift", "audited-miner"),
    (OPERATOR, "PATCH", "/config", {"DYNAMIC_INCIDENTS_TO_BLACKLIST": 3}, "config.patch", None),
    (OPERATOR, "PUT", "/routing/rules", {"add": [RULE]}, "rules.change", None),
    (OPERATOR, "POST", "/routing/refresh", None, "routing.refresh", None),
    (OPERATOR, "POST", "/registry/epoch", None, "epoch.rotate", None),
    (FEEDER, "DELETE", "/miners/audited-miner", None, "miner.deregister", "audited-miner"),
]


@pytest.fixture(scope="module")
def audited(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> OrganismStack:
    stack = deploy_organism(serve_url, tmp_path_factory.mktemp("audit-state"))
    client = httpx.Client(base_url=stack.client.base_url, timeout=30)
    for number, (who, method, path, body, _, _) in enumerate(CHANGES):
        response = client.request(method, path, json=body, headers={**who, "X-Correlation-ID": f"change-{number}"})
        assert response.status_code in (200, 204), (path, response.text)
    yield stack
    tear_down_organism(stack)


def trail(client: httpx.Client, **params) -> list[dict]:
    entries, cursor = [], None
    while True:
        page = client.get("/audit", params={**params, **({"cursor": cursor} if cursor else {})}, headers=OPERATOR).json()
        entries += page["entries"]
        if (cursor := page["next_cursor"]) is None:
            return entries


def test_every_change_is_in_the_trail_with_who_and_what(audited):
    entries = {e["correlation_id"]: e for e in trail(audited.client, limit=3)}  # small pages: the merge is paged
    for number, (who, _, _, _, action, target) in enumerate(CHANGES):
        entry = entries[f"change-{number}"]
        subject, role = ("alice", "admin") if who is OPERATOR else ("chain-feeder", "facts")
        assert (entry["action"], entry["target"], entry["subject"], entry["role"]) == (action, target, subject, role)
    assert entries["change-1"]["after"] == 30
    assert entries["change-5"]["before"] == {"DYNAMIC_INCIDENTS_TO_BLACKLIST": 5}
    assert entries["change-5"]["after"] == {"DYNAMIC_INCIDENTS_TO_BLACKLIST": 3}
    assert entries["change-6"]["after"]["add"] == [RULE]
    assert entries["change-9"]["before"]["address"] == "10.0.0.1"


def test_the_trail_is_newest_first_and_filters_by_action_and_subject(audited):
    everything = trail(audited.client)
    assert [e["at"] for e in everything] == sorted((e["at"] for e in everything), reverse=True)
    assert {e["action"] for e in trail(audited.client, action="miner.")} == {
        "miner.register", "miner.blacklist", "miner.blacklist.lift", "miner.deregister"}
    assert {e["subject"] for e in trail(audited.client, subject="chain-feeder")} == {"chain-feeder"}


@pytest.mark.parametrize("role", [Role.SERVICE, Role.FACTS])
def test_only_admins_read_the_trail(audited, role):
    response = audited.client.get("/audit", headers={"Authorization": f"Bearer {SIGNER.mint('x', role)}"})
    assert response.status_code == 403
