"""Command line: `python -m service_common run [--config serve_config.yaml]`."""

import argparse
from pathlib import Path

from service_common import stack


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m service_common")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole stack on a local Ray cluster")
    run.add_argument("--config", type=Path, default=Path("serve_config.yaml"))
    args = parser.parse_args()
    return stack.run(args.config)


if __name__ == "__main__":
    raise SystemExit(main())
