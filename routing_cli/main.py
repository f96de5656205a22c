"""The `routing` console command (declared in pyproject's `[project.scripts]`).

    routing run [--config serve_config.yaml]    the whole stack on a local Ray cluster
    routing token --role admin --service ops    mint a service token
    routing k8s                                 render k8s/rayservice.yaml
"""

import argparse
from pathlib import Path

from routing_cli import kuberay, stack
from servekit.identity import AuthSettings, Role, TokenAuthority


def main() -> int:
    parser = argparse.ArgumentParser(prog="routing")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole stack on a local Ray cluster")
    run.add_argument("--config", type=Path, default=Path("serve_config.yaml"))
    token = commands.add_parser(
        "token", help="mint a token with the secret of ROUTING_TOKEN_SECRET or ROUTING_TOKEN_SECRET_FILE"
    )
    token.add_argument("--role", choices=[r.value for r in Role], required=True)
    token.add_argument("--service", required=True, help="the calling service's name (the token's subject)")
    token.add_argument("--ttl", type=int, default=None, help="seconds of validity (default ROUTING_TOKEN_TTL_S, 3600)")
    commands.add_parser("k8s", help="render k8s/rayservice.yaml from its template and serve_config.yaml")
    args = parser.parse_args()
    if args.command == "run":
        return stack.run(args.config)
    if args.command == "k8s":
        Path("k8s/rayservice.yaml").write_text(kuberay.render_files(Path(".")))
        return 0
    settings = AuthSettings()
    secret = settings.secret()
    if not secret:
        parser.error("no secret: set ROUTING_TOKEN_SECRET or ROUTING_TOKEN_SECRET_FILE")
    print(TokenAuthority(secret).mint(args.service, Role(args.role), args.ttl or settings.token_ttl_s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
