"""The `routing` console command (declared in pyproject's `[project.scripts]`).

    routing run [--config serve_config.yaml]    the whole stack on a local Ray cluster
    routing keys new | retire                   token signing keys (routing_cli/tokens.py)
    routing token --role admin --service ops    mint a service token
    routing k8s                                 render k8s/rayservice.yaml and the PrometheusRule
    routing backup > state.json                 the organism's state (SQLite or ROUTING_STATE_DSN), as JSON: one snapshot
    routing restore state.json                  replace it with a backup, all or nothing (stop the stack first)
    routing status | registry | rules | resolve | explain | miners | audit
                                                the running stack, for operators (routing_cli/client.py)
    routing simulate TRACE | trace generate     job routing replayed offline (routing_cli/simulate.py)
    routing trace export --since 2h             the running stack's routing inputs as a trace (admin)
"""

import argparse
import json
import sys
from pathlib import Path

from organism.state.backup import dump, restore_all
from organism.state.locate import FILES, open_store
from routing_cli import client, kuberay, monitoring, simulate, stack, tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="routing", description="The routing control plane's command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole stack on a local Ray cluster")
    run.add_argument("--config", type=Path, default=Path("serve_config.yaml"))
    tokens.add_commands(commands)
    commands.add_parser("k8s", help="render k8s/rayservice.yaml and k8s/monitoring/prometheus-rule.yaml from their sources")
    for name, help_text in (("backup", "write the organism's state as JSON to stdout"),
                            ("restore", "replace the organism's state with a backup (stop the stack first)")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--namespace", default="routing", help="the organism's namespace (default routing)")
        command.add_argument("--state-dir", type=Path, default=Path(".state"),
                             help="SQLite state directory when ROUTING_STATE_DSN is not set (default .state)")
        if name == "restore":
            command.add_argument("backup", type=Path)
    client.add_commands(commands)
    simulate.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in client.COMMANDS:
        return client.run(args)
    if args.command in simulate.COMMANDS:
        return simulate.run(args)
    if args.command in ("backup", "restore"):
        return state_command(args)
    if args.command == "run":
        return stack.run(args.config)
    if args.command == "k8s":
        Path("k8s/rayservice.yaml").write_text(kuberay.render_files(Path(".")))
        monitoring.RENDERED.write_text(monitoring.render_files(Path(".")))
        return 0
    try:
        return tokens.run(args)
    except (RuntimeError, ValueError, FileExistsError) as problem:
        parser.error(str(problem))


def state_command(args: argparse.Namespace) -> int:
    stores = {component: open_store(component, args.namespace, args.state_dir) for component in FILES}
    if args.command == "backup":
        print(json.dumps({component: dump(store) for component, store in stores.items()}, indent=1))
        return 0
    backup = json.loads(args.backup.read_text())
    restored = restore_all([(store, backup[component]) for component, store in stores.items()])  # all or nothing
    for component, count in zip(stores, restored, strict=True):
        print(f"{component}: {count} documents restored", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
