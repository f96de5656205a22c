"""The operator's command line against the running stack: every command, as a table and as JSON."""

import json

import pytest

from contracts.identity import Role
from routing_cli.main import main
from tests.miners import CLASS, load_miners
from tests.stack import (
    ADMIN_HEADERS,
    FullStack,
    deploy_full_stack,
    eventually,
    tear_down_full_stack,
)
from tests.tokens import SIGNER


@pytest.fixture(scope="module")
def stack(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> FullStack:
    full = deploy_full_stack(serve_url, tmp_path_factory.mktemp("cli-state"))
    client = full.organism.client
    eventually(lambda: full.organism.all_organs_active(), timeout_s=30)
    assert client.put("/chain", json={"block": 25}).status_code == 200
    load_miners(client, {"busy": 1, "idle": 3}, "cli")
    assert client.post("/miners/cli-busy/blacklist", json={"reason": "cli test", "duration_s": 600}).status_code == 200
    yield full
    tear_down_full_stack(full)


@pytest.fixture
def routing(stack, monkeypatch, capsys):
    """Run `routing ...` as an operator would, with ROUTING_URL and ROUTING_TOKEN set."""
    monkeypatch.setenv("ROUTING_URL", stack.base_url)
    monkeypatch.setenv("ROUTING_TOKEN", ADMIN_HEADERS["Authorization"].split()[1])

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["status"], ["APPLICATION", "organism", "coordinator", "cognitive", "instances active", "control plane at version",
                      "REPLICA", "organism/", "coordinator/"]),
        (["registry"], ["LOGICAL ID", "utility_organ_1", "graph_dispatcher", "yes"]),
        (["rules"], ["TASK TYPE", "graph_embed", "fallback: utility_organ_1"]),
        (["resolve", "graph_embed", "--domain", "facts"], ["logical_id", "graph_dispatcher", "status", "ok"]),
        (["explain", "--executor-class", CLASS], ["would pick cli-idle", "FEWER_RECENT_INCIDENTS",
                                                  "cli-busy", "not_blacklisted: blacklisted (cli test)"]),
        (["miners", "--free"], ["HOTKEY", "cli-idle", "always_on.test 3"]),
        (["audit", "--action", "miner.blacklist"], ["ACTION", "miner.blacklist", "cli-busy", "tests"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_each_command_prints_a_table(routing, argv, expected):
    code, out, err = routing(*argv)
    assert code == 0, err
    for text in expected:
        assert text in out, (text, out)


@pytest.mark.parametrize("argv, key", [(["status"], "health"), (["registry"], "instances"), (["rules"], "rules"),
                                       (["resolve", "graph_embed"], "logical_id"), (["miners"], "miners"),
                                       (["audit"], "entries"), (["explain", "--executor-class", CLASS], "explain")])
def test_json_for_scripts_is_the_apis_answer(routing, argv, key):
    code, out, _ = routing(*argv, "--json")
    assert code == 0 and key in json.loads(out)


def test_errors_are_one_line_and_a_nonzero_exit(routing, monkeypatch):
    monkeypatch.setenv("ROUTING_TOKEN", SIGNER.mint("svc", Role.SERVICE))
    code, out, err = routing("audit")
    assert (code, out) == (1, "") and err.strip() == "routing audit: 403 Forbidden: this route needs the admin role"
    monkeypatch.setenv("ROUTING_URL", "http://127.0.0.1:9")
    code, _, err = routing("status")
    assert code == 1 and "no answer from http://127.0.0.1:9" in err


def test_a_rule_change_is_previewed_then_applied_and_acknowledged(routing):
    for _ in range(3):  # each replica resolves it at least once, so its sample has the key
        assert routing("resolve", "graph_embed", "--domain", "cli-legal")[0] == 0
    code, out, err = routing("rules", "--add", "graph_embed:cli-legal=utility_organ_1", "--dry-run")
    assert code == 0, err
    assert "would move; nothing changed" in out and "cli-legal" in out and "graph_dispatcher" in out, out
    assert "cli-legal" not in routing("rules")[1]  # a dry run changes nothing
    code, out, err = routing("rules", "--add", "graph_embed:cli-legal=utility_organ_1")
    assert code == 0 and "applied: control-plane version" in out and "in force on every replica" in out, (out, err)
    assert "utility_organ_1" in routing("resolve", "graph_embed", "--domain", "cli-legal")[1]
    code, out, err = routing("rules", "--remove", "graph_embed:cli-legal")
    assert code == 0, err


@pytest.mark.parametrize("argv, problem", [
    (["rules", "--add", "graph_embed"], "--add takes TYPE[:DOMAIN]=LOGICAL_ID"),
    (["rules", "--remove", "no_such_type"], "422 ValidationError"),
    (["rules", "--add", "graph_embed:x=no_such_organ", "--dry-run"], "no organ is configured"),
])
def test_a_rule_change_the_stack_refuses_says_why(routing, argv, problem):
    code, out, err = routing(*argv)
    assert (code, out) == (1, "") and problem in err, err
