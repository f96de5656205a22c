"""The operator's client commands: the running stack over HTTP, as tables or JSON.

    routing status                              the applications, the epoch, live instances, each replica's version
    routing registry                            epoch and instances per logical id
    routing rules                               the routing rules and the fallback
    routing rules --add T[:D]=ID --remove T[:D] [--dry-run]   change them (admin): answered once every
                                                replica applies it; --dry-run: the recent keys it would move
    routing resolve TYPE [--domain D]           where a task would go, and why
    routing explain [--executor-class C] ...    a dry-run pick: ranking, scores, why others were passed over
    routing report UUID                         why each pick of a job went where it did (its routing reports)
    routing miners [--executor-class C] [--free]   miners, their free slots, allowance and incidents
    routing audit [--action A] [--subject S] [--limit N]   who changed what, newest first

`ROUTING_URL` (default http://127.0.0.1:8000) and `ROUTING_TOKEN` (a bearer
token of the role the command needs: `service`, `admin` for `audit`) come
from the environment; `--json` prints the API's own answer for scripts.
"""

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx

HEALTH = {"organism": "/organism/health", "coordinator": "/pipeline/health", "cognitive": "/cognitive/health"}


class ClientError(Exception):
    """The stack answered an error, or did not answer; the message says which."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text)
        parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
        return parser

    command("status", "the three applications' health, the epoch and the live instances")
    command("registry", "epoch and instances per logical id")
    rules = command("rules", "routing rules and the fallback; with --add/--remove, a change (admin)")
    rules.add_argument("--add", action="append", default=[], metavar="TYPE[:DOMAIN]=LOGICAL_ID")
    rules.add_argument("--remove", action="append", default=[], metavar="TYPE[:DOMAIN]")
    rules.add_argument("--dry-run", action="store_true",
                       help="change nothing: which recently resolved keys the change would send elsewhere")
    resolve = command("resolve", "where a task would go (POST /organism/resolve-route)")
    resolve.add_argument("type")
    resolve.add_argument("--domain")
    explain = command("explain", "a dry-run pick: ranking, scores and reasons, nothing booked")
    explain.add_argument("--executor-class", default="spin_up-4min.gpu-24gb")
    for limit in ("download", "execution", "upload"):
        explain.add_argument(f"--{limit}", type=int, default=60, help=f"{limit} time limit, s (default 60)")
    explain.add_argument("--trusted", action="store_true", help="on the trusted miner")
    report = command("report", "a job's routing reports: each pick, the miners it judged and why")
    report.add_argument("uuid")
    miners = command("miners", "miners with their free slots, allowance and incidents")
    miners.add_argument("--executor-class")
    miners.add_argument("--free", action="store_true", help="only miners with a free slot")
    audit = command("audit", "the audit trail, newest first (admin)")
    audit.add_argument("--action", help="an action or its prefix: rules., miner., config.patch")
    audit.add_argument("--subject")
    audit.add_argument("--limit", type=int, default=20)


COMMANDS = ("status", "registry", "rules", "resolve", "explain", "report", "miners", "audit")


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    base = os.environ.get("ROUTING_URL", "http://127.0.0.1:8000").rstrip("/")
    token = os.environ.get("ROUTING_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base, headers={**headers, "X-Service": "routing-cli"}, timeout=30) as http:
        try:
            answer, table = HANDLERS[args.command](http, args)
        except ClientError as problem:
            print(f"routing {args.command}: {problem}", file=sys.stderr)
            return 1
    out(json.dumps(answer, indent=1) if args.json else table)
    return 0


def _call(http: httpx.Client, method: str, path: str, **options: Any) -> Any:
    response = _send(http, method, path, **options)
    return response.json() if response.content else None


def _send(http: httpx.Client, method: str, path: str, **options: Any) -> httpx.Response:
    try:
        response = http.request(method, path, **options)
    except httpx.TransportError as error:
        raise ClientError(f"no answer from {http.base_url} ({type(error).__name__}); is ROUTING_URL right?") from error
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            raise ClientError(f"{response.status_code} {error['type']}: {error['message']}")
        except (ValueError, KeyError, TypeError):
            raise ClientError(f"{response.status_code}: {response.text[:200]}") from None
    return response


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns as wide as their widest cell; `-` for nothing."""
    cells = [[("-" if value is None else str(value)) for value in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _ago(at: float | None) -> str | None:
    return None if at is None else f"{max(0.0, time.time() - at):.1f}s ago"


def status(http: httpx.Client, args: argparse.Namespace) -> tuple[Any, str]:
    health = {}
    for app, path in HEALTH.items():
        try:
            health[app] = _call(http, "GET", path)
        except ClientError as problem:
            health[app] = {"status": f"down: {problem}"}
    registry = _call(http, "GET", "/organism/registry")
    control = _call(http, "GET", "/organism/control-plane")
    live = [i for i in registry["instances"] if i["active"]]
    rows = [(app, body.get("status"), body.get("epoch")) for app, body in health.items()]
    summary = f"\n\nepoch {registry['epoch']}: {len(live)} of {len(registry['instances'])} instances active"
    replicas = [(r["name"], r["kind"], r["applied"], r["lag_versions"], f"{r['lag_s']:g}s") for r in control["replicas"]]
    versions = f"\n\ncontrol plane at version {control['version']}\n" + table(
        ["replica", "kind", "applied", "behind", "for"], replicas)
    answer = {"health": health, "registry": registry, "control_plane": control}
    return answer, table(["application", "status", "epoch"], rows) + summary + versions


def registry(http: httpx.Client, args: argparse.Namespace) -> tuple[Any, str]:
    answer = _call(http, "GET", "/organism/registry")
    rows = sorted((i["logical_id"], i["instance_id"], i["status"], "yes" if i["active"] else "no", i["node_id"] and i["node_id"][:12],
                   _ago(i["last_heartbeat"])) for i in answer["instances"])
    return answer, f"epoch {answer['epoch']}\n" + table(["logical id", "instance", "status", "active", "node", "heartbeat"], rows)


def _rule_key(text: str) -> dict[str, str | None]:
    task_type, _, domain = text.partition(":")
    return {"task_type": task_type, "domain": domain or None}


def rules(http: httpx.Client, args: argparse.Namespace) -> tuple[Any, str]:
    if not (args.add or args.remove):
        answer = _call(http, "GET", "/organism/routing/rules")
        rows = [(r["task_type"], r["domain"], r["logical_id"]) for r in answer["rules"]]
        return answer, table(["task type", "domain", "logical id"], rows) + f"\nfallback: {answer['fallback']}"
    try:
        change = {"add": [{**_rule_key(key), "logical_id": logical_id}
                          for key, _, logical_id in (text.partition("=") for text in args.add) if logical_id],
                  "remove": [_rule_key(text) for text in args.remove]}
    except ValueError as problem:
        raise ClientError(str(problem)) from None
    if len(change["add"]) != len(args.add):
        raise ClientError("--add takes TYPE[:DOMAIN]=LOGICAL_ID")
    response = _send(http, "PUT", "/organism/routing/rules", json=change,
                     params={"dry_run": "true"} if args.dry_run else None)
    answer = response.json()
    if args.dry_run:
        rows = [(m["task_type"], m["domain"], m["before"], m["after"], m["resolved_from"]) for m in answer["moved"]]
        return answer, (f"{len(rows)} of the {answer['sampled']} keys resolved lately would move; nothing changed\n"
                        + table(["task type", "domain", "now", "after", "decided by"], rows))
    late = response.headers.get("X-Control-Plane-Late")
    return answer, (f"applied: control-plane version {response.headers.get('X-Control-Plane-Version')}, in force on"
                    f" every replica" + (f" but {late} (late: it answers nothing older until it catches up)" if late
                                         else ""))


def resolve(http: httpx.Client, args: argparse.Namespace) -> tuple[Any, str]:
    answer = _call(http, "POST", "/organism/resolve-route", json={"task": {"type": args.type, "domain": args.domain}})
    rows = [(key, answer.get(key)) for key in ("logical_id", "instance_id", "status", "resolved_from", "epoch", "cache_hit")]
    return answer, table(["field", "value"], rows)


def explain(http: httpx.Client, args: argparse.Namespace) -> tuple[Any, str]:
    job = {"uuid": str(uuid.uuid4()), "executor_class": args.executor_class, "download_time_limit": args.download,
           "execution_time_limit": args.execution, "upload_time_limit": args.upload, "on_trusted_miner": args.trusted}
    try:
        answer = _call(http, "POST", "/organism/jobs/route", params={"dry_run": "true"}, json=job)
        picked, details = answer["miner"]["hotkey"], answer["explain"]
    except ClientError as refused:  # a refusal explains itself too
        answer, picked, details = {"refused": str(refused)}, None, None
    if details is None:
        return answer, f"refused: {answer['refused']}"
    rows = [(rank, hotkey, *(round(v, 4) for v in details["scores"].get(hotkey, {}).values()))
            for rank, hotkey in enumerate(details["ranking"], 1)]
    scorers = list(next(iter(details["scores"].values()), {}))
    lines = [f"would pick {picked} ({answer['reason']})", table(["rank", "hotkey", *scorers], rows)]
    lines += ["passed over:", table(["hotkey", "why"], sorted(details["reasons"].items()))] if details["reasons"] else []
    rejected = ", ".join(f"{name} {count}" for name, count in details["rejected"].items() if count)
    return answer, "\n".join([*lines, f"rejected by filter: {rejected or 'none'}"])


def report(http: httpx.Client, args: argparse.Namespace) -> tuple[Any, str]:
    answer = _call(http, "GET", f"/organism/jobs/{args.uuid}/report")
    lines = []
    for kept in answer["reports"]:
        outcome = kept["outcome"]
        decided = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(kept["decided_at"]))
        what = (outcome["refusal"] or {}).get("type") or f"{outcome['kind']} {outcome['hotkey']} slot {outcome['slot']}"
        rows = [(c["hotkey"], c["rank"], "yes" if c["chosen"] else None, _verdict(c["verdicts"]))
                for c in kept["candidates"]]
        lines += [f"{decided} UTC, block {kept['block']}, version {kept['control_version']}: {what}"
                  + (f" (compact: {kept['omitted']} of {kept['judged']} miners only counted)" if kept["compact"] else ""),
                  table(["hotkey", "rank", "chosen", "verdict"], rows)]
    return answer, "\n".join(lines)


def _verdict(verdicts: list[dict[str, Any]]) -> str:
    failed = next((v for v in verdicts if not v["passed"]), None)
    return f"{failed['filter']}: {failed['reason']}" if failed else f"passed {verdicts[-1]['filter'] if verdicts else '-'}"


def miners(http: httpx.Client, args: argparse.Namespace) -> tuple[Any, str]:
    found, cursor = [], None
    while True:
        params = {"limit": 1000, **({"executor_class": args.executor_class} if args.executor_class else {}),
                  **({"cursor": cursor} if cursor else {})}
        page = _call(http, "GET", "/organism/miners", params=params)
        found += page["miners"]
        if (cursor := page["next_cursor"]) is None:
            break
    if args.free:
        found = [m for m in found if any(m["free_slots"].values())]
    rows = [(m["hotkey"], "yes" if m["blacklist"] else "no",
             ", ".join(f"{c} {n}" for c, n in m["free_slots"].items()) or None,
             m["allowance"] and f"{m['allowance']['remaining'] - m['allowance']['held']:g} / {m['allowance']['initial']:g}",
             m["recent_incidents"]) for m in found]
    return {"miners": found}, table(["hotkey", "blacklisted", "free slots", "allowance left", "incidents"], rows)


def audit(http: httpx.Client, args: argparse.Namespace) -> tuple[Any, str]:
    params = {"limit": args.limit, **{k: v for k, v in (("action", args.action), ("subject", args.subject)) if v}}
    answer = _call(http, "GET", "/organism/audit", params=params)
    rows = [(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e["at"])), e["subject"], e["role"], e["action"], e["target"],
             e["correlation_id"]) for e in answer["entries"]]
    return answer, table(["at (utc)", "subject", "role", "action", "target", "correlation id"], rows)


HANDLERS: dict[str, Callable[[httpx.Client, argparse.Namespace], tuple[Any, str]]] = {
    "status": status, "registry": registry, "rules": rules, "resolve": resolve,
    "explain": explain, "report": report, "miners": miners, "audit": audit,
}
