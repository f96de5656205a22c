"""The keys service tokens are signed and verified with: Ed25519, published as a JWKS. Pure.

A signing key (private, PEM) belongs to whoever mints tokens (an operator's
CLI, `make run`), never to a deployment. Deployments hold only the *key set*:
the public keys, each named by its `kid` (the RFC 7638 thumbprint of the
key), as a JSON Web Key Set. Rotation is a set with two keys: add the new
one, roll the set out, mint with the new key, and retire the old one once
its tokens have expired.
"""

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

ALGORITHM = "EdDSA"


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The key as a JWK, named by its thumbprint."""
    jwk = json.loads(OKPAlgorithm.to_jwk(public_key))
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"), sort_keys=True)
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def load_private_key(pem: str | bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key (routing keys new makes one)")
    return key


def key_set(jwks: str | dict[str, Any]) -> jwt.PyJWKSet:
    """Parse a JWKS; every key must be an Ed25519 signing key with a kid."""
    document = json.loads(jwks) if isinstance(jwks, str) else jwks
    keys = document.get("keys") if isinstance(document, dict) else None
    if not keys or not all(isinstance(k, dict) and k.get("kid") and k.get("crv") == "Ed25519" for k in keys):
        raise ValueError("the token key set must be a JWKS of Ed25519 keys, each with a kid")
    return jwt.PyJWKSet.from_dict(document)


def add_key(jwks_path: Path, key: Ed25519PrivateKey) -> str:
    """Add the key's public half to the set at `jwks_path` (created if missing); its kid."""
    document = json.loads(jwks_path.read_text()) if jwks_path.exists() else {"keys": []}
    jwk = public_jwk(key.public_key())
    document["keys"] = [k for k in document["keys"] if k["kid"] != jwk["kid"]] + [jwk]
    jwks_path.write_text(json.dumps(document, indent=1) + "\n")
    return jwk["kid"]


def retire_key(jwks_path: Path, kid: str) -> None:
    """Remove a key from the set; its tokens stop verifying once the set is rolled out."""
    document = json.loads(jwks_path.read_text())
    remaining = [k for k in document["keys"] if k["kid"] != kid]
    if len(remaining) == len(document["keys"]):
        raise ValueError(f"no key {kid} in {jwks_path}")
    if not remaining:
        raise ValueError("a key set needs at least one key")
    jwks_path.write_text(json.dumps({"keys": remaining}, indent=1) + "\n")
