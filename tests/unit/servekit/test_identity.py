import jwt
import pytest

from servekit.clock import FakeClock
from servekit.identity import (
    ISSUER,
    AuthSettings,
    Caller,
    Role,
    TokenAuthority,
    TokenError,
    authority_from_settings,
)

SECRET = "s" * 40
NOW = int(FakeClock().now)


def test_minted_token_verifies_with_service_and_role():
    authority = TokenAuthority(SECRET, FakeClock())
    caller = authority.verify(authority.mint("coordinator", Role.SERVICE))
    assert caller == Caller("coordinator", Role.SERVICE)


def test_expiry_follows_the_injected_clock():
    clock = FakeClock()
    authority = TokenAuthority(SECRET, clock)
    token = authority.mint("ops", Role.ADMIN, ttl_s=60)
    clock.advance(59)
    assert authority.verify(token).role is Role.ADMIN
    clock.advance(1)
    with pytest.raises(TokenError, match="^token expired$"):
        authority.verify(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        TokenAuthority("x" * 40, FakeClock()).mint("ops", Role.ADMIN),  # another secret
        jwt.encode({"sub": "ops", "role": "admin", "iss": "someone-else", "iat": 0, "exp": 2**40}, SECRET, "HS256"),
        jwt.encode({"sub": "ops", "role": "root", "iss": ISSUER, "iat": 0, "exp": 2**40}, SECRET, "HS256"),
        jwt.encode({"sub": "ops", "role": "admin", "iss": ISSUER, "iat": 0}, SECRET, "HS256"),  # no exp
        jwt.encode({"sub": "ops", "role": "admin", "iss": ISSUER, "iat": 0, "exp": 2**40}, SECRET, "HS512"),
        # well signed, but unbounded: a lifetime over 30 days, a string or huge expiry, a future issue time
        jwt.encode({"sub": "ops", "role": "admin", "iss": ISSUER, "iat": NOW, "exp": NOW + 31 * 86400}, SECRET, "HS256"),
        jwt.encode({"sub": "ops", "role": "admin", "iss": ISSUER, "iat": NOW, "exp": str(NOW + 60)}, SECRET, "HS256"),
        jwt.encode({"sub": "ops", "role": "admin", "iss": ISSUER, "iat": NOW, "exp": 10**30}, SECRET, "HS256"),
        jwt.encode({"sub": "ops", "role": "admin", "iss": ISSUER, "iat": NOW, "exp": True}, SECRET, "HS256"),
        jwt.encode({"sub": "ops", "role": "admin", "iss": ISSUER, "iat": NOW + 3600, "exp": NOW + 7200}, SECRET, "HS256"),
    ],
)
def test_bad_tokens_are_invalid_without_detail(token):
    with pytest.raises(TokenError) as caught:
        TokenAuthority(SECRET, FakeClock()).verify(token)
    assert str(caught.value) == "invalid token"
    assert SECRET not in str(caught.value)


def test_unsigned_none_algorithm_is_refused():
    token = jwt.encode({"sub": "ops", "role": "admin", "iss": ISSUER, "iat": 0, "exp": 2**40}, None, "none")
    with pytest.raises(TokenError):
        TokenAuthority(SECRET, FakeClock()).verify(token)


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


def test_secret_from_env_or_file_and_refusal_without(monkeypatch, tmp_path):
    for name in ("ROUTING_TOKEN_SECRET", "ROUTING_TOKEN_SECRET_FILE", "ROUTING_DEV_MODE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="no token secret configured"):
        authority_from_settings(AuthSettings())
    monkeypatch.setenv("ROUTING_DEV_MODE", "true")
    assert authority_from_settings(AuthSettings()) is None
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    monkeypatch.setenv("ROUTING_TOKEN_SECRET_FILE", str(secret_file))
    assert isinstance(authority_from_settings(AuthSettings()), TokenAuthority)
    monkeypatch.setenv("ROUTING_TOKEN_SECRET", "short")
    with pytest.raises(ValueError, match="at least 32"):
        authority_from_settings(AuthSettings())


def test_a_verified_token_is_remembered_until_it_expires():
    clock = FakeClock()
    authority = TokenAuthority(SECRET, clock)
    token = authority.mint("ops", Role.ADMIN, ttl_s=60)
    authority.verify(token)
    authority._secret = "another secret, so only the remembered answer can verify " + "x" * 8
    assert authority.verify(token).service == "ops"  # from memory, not a second signature check
    clock.advance(60)
    with pytest.raises(TokenError, match="token expired"):
        authority.verify(token)
