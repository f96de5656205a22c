"""`routing simulate` and `routing trace generate`: job routing replayed, offline.

    routing simulate TRACE [--compare PATCH.json] [--set KEY=VALUE ...] [--seed N] [--out DIR] [--json]
    routing trace generate [--jobs N] [--miners N] ... > trace.jsonl
    routing trace export --since 2h > trace.jsonl      (the running stack's own: routing_cli/trace_export.py)

`simulate` replays a trace (`organism/jobs/simulation/trace.py`) through the
picker's pure code under the trace's own configuration and, with
`--compare` and/or `--set`, under that configuration patched too, side by
side; it writes `report.md`, `report.json` and PNG plots into `--out` and
prints the markdown (or, with `--json`, the figures). A trace that cannot be
read stops it with exit code 2 and the line at fault.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from organism.jobs.simulation.generator import DOCUMENTED, Parameters, generate
from organism.jobs.simulation.markdown import render
from organism.jobs.simulation.plots import write_plots
from organism.jobs.simulation.replay import Simulation
from organism.jobs.simulation.report import Report, report
from organism.jobs.simulation.trace import TraceError, read, write
from routing_cli import trace_export

COMMANDS = ("simulate", "trace")


def add_commands(commands: Any) -> None:
    simulate = commands.add_parser("simulate", help="replay a job-routing trace through the picker's code, offline")
    simulate.add_argument("trace", type=Path)
    simulate.add_argument("--compare", type=Path, help="a JSON config patch: the second configuration")
    simulate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="a config key of the second configuration (JSON value, or a string), repeatable")
    simulate.add_argument("--seed", type=int, default=0, help="the spread ordering's draws (default 0)")
    simulate.add_argument("--out", type=Path, default=Path("simulation"), help="where the report goes (default simulation/)")
    simulate.add_argument("--json", action="store_true", help="print the figures as JSON instead of the markdown")
    simulate.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    trace = commands.add_parser("trace", help="job-routing traces")
    verbs = trace.add_subparsers(dest="verb", required=True)
    generate_command = verbs.add_parser("generate", help="write a generated trace to stdout",
                                        description="Parameters and where their defaults come from: "
                                                    "organism/jobs/simulation/generator.py")
    for name in DOCUMENTED:
        default = getattr(Parameters, name)
        generate_command.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                                      help=f"default {default}")
    trace_export.add_verb(verbs)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def second_configuration(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.compare is None and not args.set:
        return None
    patch = json.loads(args.compare.read_text()) if args.compare else {}
    if not isinstance(patch, dict):
        raise ValueError(f"{args.compare}: a config patch is a JSON object")
    for setting in args.set:
        key, separator, value = setting.partition("=")
        if not separator:
            raise ValueError(f"--set {setting}: KEY=VALUE expected")
        patch[key] = _value(value)
    return patch


def replay(path: Path, overrides: dict[str, Any] | None, seed: int, label: str) -> Report:
    with path.open() as lines:
        return report(Simulation(overrides, seed=seed).run(read(lines)), label)


def run(args: argparse.Namespace) -> int:
    if args.command == "trace" and args.verb == "export":
        return trace_export.run(args)
    if args.command == "trace":
        parameters = Parameters(**{name: getattr(args, name) for name in DOCUMENTED})
        count = write(sys.stdout, generate(parameters))
        print(f"routing trace generate: {count:,} events", file=sys.stderr)
        return 0
    try:
        patch = second_configuration(args)
        configurations = [("trace", None)] + ([("patched: " + json.dumps(patch), patch)] if patch is not None else [])
        reports = [replay(args.trace, overrides, args.seed, label) for label, overrides in configurations]
    except TraceError as problem:
        print(f"routing simulate: {args.trace}: {problem}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as problem:
        print(f"routing simulate: {problem}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    plots = [] if args.no_plots else _plots(reports, args.out)
    markdown = render(reports, args.trace.name, args.seed, plots)
    figures = {"trace": str(args.trace), "seed": args.seed, "reports": [r.as_dict() for r in reports]}
    (args.out / "report.md").write_text(markdown)
    (args.out / "report.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1) if args.json else markdown)
    return 0


def _plots(reports: list[Report], out: Path) -> list[str]:
    try:
        return write_plots(reports, out)
    except ImportError:
        print("routing simulate: no plots (matplotlib missing: pip install '.[bench]')", file=sys.stderr)
        return []
