"""`routing backup` and `routing restore`: the organism's state out as JSON, and back."""

import json
import sys

from organism.state.locate import open_store
from routing_cli.main import main


def run(monkeypatch, capsys, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", ["routing", *args])
    assert main() == 0
    return capsys.readouterr().out


def test_backup_then_restore_into_a_new_state_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ROUTING_STATE_DSN", raising=False)
    open_store("registry", "routing", tmp_path / "a").write(puts=[("meta", "epoch_counter", 7)])
    open_store("jobs", "routing", tmp_path / "a").write(puts=[("miners", "m", {"hotkey": "m"})])
    backup = tmp_path / "backup.json"
    backup.write_text(run(monkeypatch, capsys, "backup", "--state-dir", str(tmp_path / "a")))
    assert json.loads(backup.read_text())["registry"]["documents"] == {"meta": {"epoch_counter": 7}}
    run(monkeypatch, capsys, "restore", str(backup), "--state-dir", str(tmp_path / "b"))
    assert open_store("registry", "routing", tmp_path / "b").load("meta") == {"epoch_counter": 7}
    assert open_store("jobs", "routing", tmp_path / "b").load("miners") == {"m": {"hotkey": "m"}}
