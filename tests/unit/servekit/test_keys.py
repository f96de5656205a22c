"""Signing keys and the key set: thumbprint kids, adding and retiring keys in a JWKS file."""

import json

import pytest

from servekit.keys import add_key, key_set, load_private_key, new_private_key, private_pem, public_jwk, retire_key


def test_a_kid_is_the_keys_thumbprint_and_stable():
    key = new_private_key()
    jwk = public_jwk(key.public_key())
    assert jwk["kid"] == public_jwk(load_private_key(private_pem(key)).public_key())["kid"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in jwk  # no private part in the published key
    assert jwk["kid"] != public_jwk(new_private_key().public_key())["kid"]


def test_add_then_retire_keys_in_a_set_file(tmp_path):
    path = tmp_path / "jwks.json"
    first, second = add_key(path, new_private_key()), add_key(path, new_private_key())
    assert [k.key_id for k in key_set(path.read_text()).keys] == [first, second]
    retire_key(path, first)
    assert [k["kid"] for k in json.loads(path.read_text())["keys"]] == [second]
    with pytest.raises(ValueError, match="no key"):
        retire_key(path, first)
    with pytest.raises(ValueError, match="at least one key"):
        retire_key(path, second)


@pytest.mark.parametrize("document", ['{"keys": []}', '{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"}]}', "[]"])
def test_a_key_set_without_named_ed25519_keys_is_refused(document):
    with pytest.raises(ValueError):
        key_set(document)
