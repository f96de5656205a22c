"""`routing simulate` and `routing trace generate`: reports written, bad traces refused with exit code 2."""

import json
from pathlib import Path

import pytest

from routing_cli.main import main

SAMPLE = Path(__file__).resolve().parents[3] / "bench" / "traces" / "sample.jsonl"


def test_the_sample_trace_side_by_side_writes_the_report_and_the_plots(tmp_path, capsys):
    assert main(["simulate", str(SAMPLE), "--set", "DYNAMIC_INCIDENTS_TO_BLACKLIST=0", "--out", str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    first, second = figures["reports"]
    assert first["jobs"] == second["jobs"] == 250 and second["auto_blacklists"] == 0
    assert {p.name for p in tmp_path.iterdir()} == {"report.md", "report.json", "shares.png", "ratios.png", "allowance.png"}
    assert "DYNAMIC_INCIDENTS_TO_BLACKLIST" in (tmp_path / "report.md").read_text()


BAD = [
    ("truncated", lambda lines: lines[:5] + [lines[5][:40]], "line 6: not JSON"),
    ("unknown version", lambda lines: ['{"trace": "routing-jobs", "version": 99}'] + lines[1:], "line 1: trace version 99"),
    ("unknown kind", lambda lines: lines[:3] + ['{"kind": "nap", "at": 1800000000}'] + lines[3:], "line 4: unknown event kind"),
]


@pytest.mark.parametrize("name, damage, message", BAD, ids=[case[0] for case in BAD])
def test_a_bad_trace_exits_2_naming_the_line(tmp_path, capsys, name, damage, message):
    trace = tmp_path / "bad.jsonl"
    trace.write_text("\n".join(damage(SAMPLE.read_text().splitlines())) + "\n")
    assert main(["simulate", str(trace), "--out", str(tmp_path / "out"), "--no-plots"]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_second_configuration_exits_2(tmp_path, capsys):
    assert main(["simulate", str(SAMPLE), "--set", "NO_SUCH_KEY=1", "--out", str(tmp_path)]) == 2
    assert "NO_SUCH_KEY" in capsys.readouterr().err


def test_generate_is_the_same_for_the_same_seed(capsys):
    outputs = []
    for seed in ("4", "4", "5"):
        assert main(["trace", "generate", "--jobs", "30", "--miners", "5", "--seed", seed]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] != outputs[2]
    assert sum('"kind":"route"' in line for line in outputs[0].splitlines()) == 30
