"""Service tokens: who is calling, and may they. Pure (PyJWT, no Ray, no HTTP).

A token is a JWT signed with Ed25519 (`EdDSA`) carrying the calling service
(`sub`), a role, the issuer, an expiry, and in its header the `kid` of the
signing key. Minting needs the private key (`TokenSigner`), which no
deployment holds; deployments verify with the public key set
(`TokenVerifier`, a JWKS from `ROUTING_TOKEN_PUBLIC_KEYS` or the file named
by `ROUTING_TOKEN_PUBLIC_KEYS_FILE`), so a compromised service can verify
tokens but mint none. Only EdDSA is accepted: a token signed with HMAC (for
instance with the public key as its secret) is invalid. Roles (`GRANTS`):
`service` routes and reads; `facts` feeds facts (miners, manifests,
allowances, receipts, the chain) and nothing else; `admin` may everything.
Without a key set, services refuse to start unless `ROUTING_DEV_MODE=true`,
which runs them unauthenticated (every caller is a local admin) for a laptop.

Errors never echo the token: a token is either missing, invalid (malformed,
signed by no key of the set, wrong issuer) or expired.
"""

import json
import time
from collections import OrderedDict
from pathlib import Path

import jwt
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.identity import Caller, Role
from servekit.clock import Clock
from servekit.keys import ALGORITHM, key_set, load_private_key, new_private_key, private_pem, public_jwk

ISSUER = "routing-control-plane"
MAX_LIFETIME_S = 30 * 24 * 3600  # a token that lives longer than this is refused, whoever signed it
CLOCK_SKEW_S = 60
VERIFIED_TOKENS_KEPT = 4096


def throwaway_key() -> tuple[str, str]:
    """A private key made now (PEM) and the key set (JWKS JSON) that verifies its tokens: for a
    test session or a benchmark, never a fixed key in the repository."""
    key = new_private_key()
    return private_pem(key), json.dumps({"keys": [public_jwk(key.public_key())]})


class TokenError(Exception):
    """The token is unusable; the message is safe to show the caller."""


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    token_public_keys: str | None = None  # a JWKS document
    token_public_keys_file: Path | None = None
    token_private_key_file: Path | None = None  # for minting only: never set it on a deployment
    dev_mode: bool = False
    token_ttl_s: int = Field(3600, gt=0)

    def public_keys(self) -> str | None:
        if self.token_public_keys:
            return self.token_public_keys
        if self.token_public_keys_file is not None:
            return self.token_public_keys_file.read_text()
        return None


class TokenSigner:
    """Mints tokens with a private key; its `kid` names the key in the set."""

    def __init__(self, private_pem: str | bytes, clock: Clock = time.time) -> None:
        self._key = load_private_key(private_pem)
        self.kid = public_jwk(self._key.public_key())["kid"]
        self._clock = clock

    def mint(self, service: str, role: Role, ttl_s: int = 3600) -> str:
        if not 0 < ttl_s <= MAX_LIFETIME_S:
            raise ValueError(f"a token lives between 1 s and {MAX_LIFETIME_S} s")
        now = int(self._clock())
        claims = {"sub": service, "role": role.value, "iss": ISSUER, "iat": now, "exp": now + ttl_s}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})


class TokenVerifier:
    """Verifies tokens against a key set (public keys by kid)."""

    def __init__(self, jwks: str | dict, clock: Clock = time.time) -> None:
        self._keys = {key.key_id: key.key for key in key_set(jwks).keys}
        self._clock = clock
        # token -> (caller, expiry): a verified token is checked again only for its expiry
        self._verified: OrderedDict[str, tuple[Caller, int]] = OrderedDict()

    def verify(self, token: str) -> Caller:
        known = self._verified.get(token)
        if known is not None:
            caller, expires_at = known
            if expires_at <= self._clock():
                del self._verified[token]
                raise TokenError("token expired")
            self._verified.move_to_end(token)
            return caller
        caller, expires_at = self._verify_signed(token)
        self._verified[token] = (caller, expires_at)
        if len(self._verified) > VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        return caller

    def _verify_signed(self, token: str) -> tuple[Caller, int]:
        try:
            key = self._keys[jwt.get_unverified_header(token)["kid"]]
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],  # never the algorithm the token names
                issuer=ISSUER,
                # expiry is checked below against the injected clock, not PyJWT's wall clock
                options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False, "verify_iat": False},
            )
            caller = Caller(service=str(claims["sub"]), role=Role(claims["role"]))
            issued_at, expires_at = _whole_seconds(claims["iat"]), _whole_seconds(claims["exp"])
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as error:
            raise TokenError("invalid token") from error
        now = self._clock()
        if issued_at > now + CLOCK_SKEW_S or not 0 < expires_at - issued_at <= MAX_LIFETIME_S:
            raise TokenError("invalid token")
        if expires_at <= now:
            raise TokenError("token expired")
        return caller, expires_at


def _whole_seconds(value: object) -> int:
    if type(value) is not int:  # not a bool, a float, a string of digits
        raise TypeError("time claims must be integers")
    return value


def verifier_from_settings(settings: AuthSettings) -> TokenVerifier | None:
    """The verifier of this process; None only in development mode without a key set."""
    jwks = settings.public_keys()
    if jwks:
        return TokenVerifier(jwks)
    if settings.dev_mode:
        return None
    raise RuntimeError(
        "no token key set configured: set ROUTING_TOKEN_PUBLIC_KEYS or ROUTING_TOKEN_PUBLIC_KEYS_FILE "
        "(routing keys new makes one), or ROUTING_DEV_MODE=true for an unauthenticated local stack"
    )


def signer_from_settings(settings: AuthSettings) -> TokenSigner:
    if settings.token_private_key_file is None:
        raise RuntimeError("minting needs the signing key: set ROUTING_TOKEN_PRIVATE_KEY_FILE (routing keys new makes one)")
    return TokenSigner(settings.token_private_key_file.read_bytes())
