"""`routing keys new|retire` and `routing token`: a key pair, a token it signs, rotation in the set file."""

import argparse
import json
import stat

import pytest

from contracts.identity import Role
from routing_cli import tokens
from servekit.identity import TokenVerifier


def run(capsys, command: str, **args) -> str:
    tokens.run(argparse.Namespace(command=command, **args))
    return capsys.readouterr().out.strip()


def test_a_new_key_signs_tokens_the_set_verifies_and_retiring_it_stops_them(tmp_path, capsys, monkeypatch):
    jwks, first_key, second_key = tmp_path / "jwks.json", tmp_path / "first.pem", tmp_path / "second.pem"
    first = run(capsys, "keys", action="new", private_key=first_key, public_keys=jwks)
    assert stat.S_IMODE(first_key.stat().st_mode) == 0o600 and "PRIVATE KEY" in first_key.read_text()
    assert "PRIVATE" not in jwks.read_text()
    monkeypatch.setenv("ROUTING_TOKEN_PRIVATE_KEY_FILE", str(first_key))
    token = run(capsys, "token", role="facts", service="feeder", ttl=60)
    assert TokenVerifier(jwks.read_text()).verify(token).role is Role.FACTS
    second = run(capsys, "keys", action="new", private_key=second_key, public_keys=jwks)
    assert [k["kid"] for k in json.loads(jwks.read_text())["keys"]] == [first, second]
    run(capsys, "keys", action="retire", kid=first, public_keys=jwks)
    with pytest.raises(Exception, match="invalid token"):
        TokenVerifier(jwks.read_text()).verify(token)


def test_an_existing_private_key_is_never_overwritten(tmp_path, capsys):
    key = tmp_path / "in-use.pem"
    key.write_text("in use")
    with pytest.raises(FileExistsError):
        run(capsys, "keys", action="new", private_key=key, public_keys=tmp_path / "jwks.json")
    assert key.read_text() == "in use"
