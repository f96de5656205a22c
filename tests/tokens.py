"""A signing key and its key set for the tests, made once per process (never a fixed key in the repository)."""

import json

from servekit.identity import TokenSigner, throwaway_key

SIGNING_PEM, JWKS_JSON = throwaway_key()
JWKS = json.loads(JWKS_JSON)
SIGNER = TokenSigner(SIGNING_PEM)


def hmac_forgery(claims: dict, secret: str, kid: str) -> str:
    """An HS256 token keyed with `secret`, built by hand: PyJWT itself refuses to key HMAC with a
    public key, which is exactly what an attacker holding only the key set would try."""
    import base64
    import hashlib
    import hmac

    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + b"." + part(json.dumps(claims).encode())
    return (signing_input + b"." + part(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())).decode()
