"""`routing keys` and `routing token`: the signing keys and the tokens they mint.

    routing keys new --private-key ops.pem --public-keys jwks.json   a key pair; its public half joins the set
    routing keys retire KID --public-keys jwks.json                   the key leaves the set
    routing token --role admin --service ops                          mint with ROUTING_TOKEN_PRIVATE_KEY_FILE

Deployments get only the set (`ROUTING_TOKEN_PUBLIC_KEYS_FILE`, or its JSON in
`ROUTING_TOKEN_PUBLIC_KEYS`); the private key stays with whoever mints.
"""

import argparse
import os
from pathlib import Path

from contracts.identity import Role
from servekit.identity import AuthSettings, signer_from_settings
from servekit.keys import add_key, new_private_key, private_pem, retire_key


def add_commands(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="make or retire token signing keys").add_subparsers(dest="action", required=True)
    new = keys.add_parser("new", help="a new Ed25519 key pair: the private key to a file, its public half into the set")
    new.add_argument("--private-key", type=Path, required=True, help="where to write the private key (PEM, mode 0600)")
    new.add_argument("--public-keys", type=Path, required=True, help="the JWKS file the public key joins (created if missing)")
    retire = keys.add_parser("retire", help="remove a key from the set (its tokens stop verifying)")
    retire.add_argument("kid")
    retire.add_argument("--public-keys", type=Path, required=True)
    token = commands.add_parser("token", help="mint a token with the key of ROUTING_TOKEN_PRIVATE_KEY_FILE")
    token.add_argument("--role", choices=[r.value for r in Role], required=True)
    token.add_argument("--service", required=True, help="the calling service's name (the token's subject)")
    token.add_argument("--ttl", type=int, default=None, help="seconds of validity (default ROUTING_TOKEN_TTL_S, 3600)")


def run(args: argparse.Namespace) -> int:
    if args.command == "token":
        settings = AuthSettings()
        print(signer_from_settings(settings).mint(args.service, Role(args.role), args.ttl or settings.token_ttl_s))
    elif args.action == "new":
        key = new_private_key()
        args.private_key.touch(mode=0o600, exist_ok=False)  # never an existing key: it may be in use
        os.chmod(args.private_key, 0o600)
        args.private_key.write_text(private_pem(key))
        print(add_key(args.public_keys, key))
    else:
        retire_key(args.public_keys, args.kid)
    return 0
