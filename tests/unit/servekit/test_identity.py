"""Service tokens: Ed25519 signatures verified against a key set, roles, expiry, rotation, forgery."""

import json

import jwt
import pytest

from servekit.clock import FakeClock
from servekit.identity import (
    ISSUER,
    AuthSettings,
    Caller,
    Role,
    TokenError,
    TokenSigner,
    TokenVerifier,
    verifier_from_settings,
)
from servekit.keys import new_private_key, private_pem, public_jwk
from tests.tokens import JWKS, JWKS_JSON, SIGNING_PEM, hmac_forgery

NOW = int(FakeClock().now)
CLAIMS = {"sub": "ops", "role": "admin", "iss": ISSUER, "iat": NOW, "exp": NOW + 60}
KID = JWKS["keys"][0]["kid"]
OTHER = new_private_key()


def signed(claims: dict, key=None, kid: str | None = KID, algorithm: str = "EdDSA") -> str:
    from servekit.keys import load_private_key

    return jwt.encode(claims, key or load_private_key(SIGNING_PEM), algorithm=algorithm, headers={"kid": kid} if kid else None)


def test_minted_token_verifies_with_service_and_role():
    signer, verifier = TokenSigner(SIGNING_PEM, FakeClock()), TokenVerifier(JWKS, FakeClock())
    assert verifier.verify(signer.mint("coordinator", Role.SERVICE)) == Caller("coordinator", Role.SERVICE)
    assert jwt.get_unverified_header(signer.mint("x", Role.FACTS)) == {"alg": "EdDSA", "kid": KID, "typ": "JWT"}


def test_expiry_follows_the_injected_clock():
    clock = FakeClock()
    token = TokenSigner(SIGNING_PEM, clock).mint("ops", Role.ADMIN, ttl_s=60)
    verifier = TokenVerifier(JWKS, clock)
    clock.advance(59)
    assert verifier.verify(token).role is Role.ADMIN
    clock.advance(1)
    with pytest.raises(TokenError, match="^token expired$"):
        verifier.verify(token)


PUBLIC_MATERIAL = [JWKS_JSON, json.dumps(JWKS["keys"][0]), JWKS["keys"][0]["x"]]  # all a deployment holds


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        signed(CLAIMS, OTHER),  # another key, claiming the set's kid
        signed(CLAIMS, OTHER, kid=public_jwk(OTHER.public_key())["kid"]),  # another key, its own kid
        signed(CLAIMS, kid=None),  # no kid
        signed(CLAIMS, kid="unknown"),
        # the public key set used as an HMAC secret (algorithm confusion): what a compromised service could do
        *(hmac_forgery(CLAIMS, material, KID) for material in PUBLIC_MATERIAL),
        jwt.encode(CLAIMS, None, "none", headers={"kid": KID}),
        signed({**CLAIMS, "iss": "someone-else"}),
        signed({**CLAIMS, "role": "root"}),
        signed({k: v for k, v in CLAIMS.items() if k != "exp"}),
        # well signed, but unbounded: a lifetime over 30 days, a string or huge expiry, a future issue time
        signed({**CLAIMS, "exp": NOW + 31 * 86400}),
        signed({**CLAIMS, "exp": str(NOW + 60)}),
        signed({**CLAIMS, "exp": 10**30}),
        signed({**CLAIMS, "exp": True}),
        signed({**CLAIMS, "iat": NOW + 3600, "exp": NOW + 7200}),
    ],
)
def test_bad_tokens_are_invalid_without_detail(token):
    with pytest.raises(TokenError) as caught:
        TokenVerifier(JWKS, FakeClock()).verify(token)
    assert str(caught.value) == "invalid token"


def test_rotation_two_keys_overlap_then_the_old_one_retires():
    new = new_private_key()
    old_token = TokenSigner(SIGNING_PEM, FakeClock()).mint("ops", Role.ADMIN)
    new_token = TokenSigner(private_pem(new), FakeClock()).mint("ops", Role.ADMIN)
    both = TokenVerifier({"keys": [*JWKS["keys"], public_jwk(new.public_key())]}, FakeClock())
    assert both.verify(old_token).service == both.verify(new_token).service == "ops"
    only_new = TokenVerifier({"keys": [public_jwk(new.public_key())]}, FakeClock())
    assert only_new.verify(new_token).role is Role.ADMIN
    with pytest.raises(TokenError, match="^invalid token$"):
        only_new.verify(old_token)


@pytest.mark.parametrize(
    "role, may",
    [
        (Role.SERVICE, {Role.SERVICE}),  # routes and reads
        (Role.FACTS, {Role.FACTS}),  # feeds facts, nothing else: not route, read, blacklist or configure
        (Role.ADMIN, {Role.SERVICE, Role.FACTS, Role.ADMIN}),
    ],
)
def test_roles(role, may):
    assert {needed for needed in Role if Caller("x", role).may(needed)} == may


def test_key_set_from_env_or_file_and_refusal_without(monkeypatch, tmp_path):
    for name in ("ROUTING_TOKEN_PUBLIC_KEYS", "ROUTING_TOKEN_PUBLIC_KEYS_FILE", "ROUTING_DEV_MODE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="no token key set configured"):
        verifier_from_settings(AuthSettings())
    monkeypatch.setenv("ROUTING_DEV_MODE", "true")
    assert verifier_from_settings(AuthSettings()) is None
    keys_file = tmp_path / "jwks.json"
    keys_file.write_text(JWKS_JSON)
    monkeypatch.setenv("ROUTING_TOKEN_PUBLIC_KEYS_FILE", str(keys_file))
    assert isinstance(verifier_from_settings(AuthSettings()), TokenVerifier)
    monkeypatch.setenv("ROUTING_TOKEN_PUBLIC_KEYS", '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')  # a shared secret
    with pytest.raises(ValueError, match="Ed25519"):
        verifier_from_settings(AuthSettings())


def test_a_verified_token_is_remembered_until_it_expires():
    clock = FakeClock()
    verifier = TokenVerifier(JWKS, clock)
    token = TokenSigner(SIGNING_PEM, clock).mint("ops", Role.ADMIN, ttl_s=60)
    verifier.verify(token)
    verifier._keys = {}  # only the remembered answer can verify it now
    assert verifier.verify(token).service == "ops"
    clock.advance(60)
    with pytest.raises(TokenError, match="token expired"):
        verifier.verify(token)
