"""A replay's report as markdown, one configuration or two side by side. Pure."""

from organism.jobs.simulation.report import Report

TOP_MINERS = 15  # the per-miner table: the miners with the most allowance


def _row(name: str, values: list[str]) -> str:
    return f"| {name} | " + " | ".join(values) + " |"


def _summary(reports: list[Report]) -> list[str]:
    def each(get) -> list[str]:
        return [get(r) for r in reports]

    kinds = sorted({k for r in reports for k in r.refusals})
    never = sorted({k for r in reports for k in r.never_booked})
    lines = [_row("", [r.label for r in reports]), "|---|" + "---|" * len(reports),
             _row("jobs asked for", each(lambda r: f"{r.jobs:,}")),
             _row("jobs booked", each(lambda r: f"{r.jobs_booked:,} ({r.jobs_booked / max(1, r.jobs):.1%})")),
             *[_row(f"jobs never booked: {k}", each(lambda r, k=k: f"{r.never_booked.get(k, 0):,}")) for k in never],
             _row("decisions", each(lambda r: f"{r.decisions:,}")),
             _row("decisions routed", each(lambda r: f"{r.routed:,}")),
             *[_row(f"refused: {k}", each(lambda r, k=k: f"{r.refusals.get(k, 0):,}")) for k in kinds],
             _row("**spread: Gini of booking share / allowance share**", each(lambda r: f"**{r.gini:.3f}**")),
             _row("time to a booking p50 / p95 / max (s)",
                  each(lambda r: f"{r.wait_s['p50']:.1f} / {r.wait_s['p95']:.1f} / {r.wait_s['max']:.1f}")),
             _row("decision time p50 / p95 (ms)",
                  each(lambda r: f"{r.decision_ms['p50']:.3f} / {r.decision_ms['p95']:.3f}")),
             _row("declines (with an incident)", each(lambda r: f"{r.declines:,} ({r.declines_with_incident:,})")),
             _row("incidents", each(lambda r: f"{r.incidents:,}")),
             _row("automatic blacklists", each(lambda r: f"{r.auto_blacklists:,}")),
             _row("allowance burnt / given", each(_burnt))]
    if any(r.live_matched or r.live_differed for r in reports):
        lines.append(_row("live answers reproduced", each(
            lambda r: f"{r.live_matched:,} of {r.live_matched + len(r.live_differed):,}")))
    return lines


def _burnt(report: Report) -> str:
    given = sum(m.allowance_initial for m in report.miners)
    burnt = sum(m.allowance_burnt for m in report.miners)
    return f"{burnt:,.0f} / {given:,.0f} s ({burnt / given:.1%})" if given else "0"


def _miners(reports: list[Report]) -> list[str]:
    first = reports[0]
    top = sorted(first.miners, key=lambda m: (-m.allowance_share, m.hotkey))[:TOP_MINERS]
    by_label = [{m.hotkey: m for m in r.miners} for r in reports]
    header = ["miner", "allowance share"] + [f"booked share, left (s): {r.label}" for r in reports]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for miner in top:
        cells = [miner.hotkey, f"{miner.allowance_share:.2%}"]
        for figures in by_label:
            m = figures.get(miner.hotkey)
            cells.append(f"{m.booking_share:.2%}, {m.allowance_left:,.0f}" if m else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(reports: list[Report], trace_name: str, seed: int, plots: list[str]) -> str:
    lines = [f"# Simulated job routing: {trace_name}", "",
             f"Seed {seed}. Configurations: " + "; ".join(f"`{r.label}`" for r in reports) + ".", "",
             *_summary(reports), "", f"## Miners with the most allowance (top {TOP_MINERS})", "", *_miners(reports)]
    differed = [(r.label, d) for r in reports for d in r.live_differed]
    if differed:
        lines += ["", "## Live answers not reproduced (first 20)", "", "| configuration | job | live | simulated |",
                  "|---|---|---|---|", *[f"| {label} | {j} | {live} | {sim} |" for label, (j, live, sim) in differed]]
    refused = {k: v for r in reports for k, v in r.facts_refused.items()}
    if refused:
        lines += ["", "Facts the picker refused: " + ", ".join(f"{k} {v}" for k, v in sorted(refused.items()))]
    if plots:
        lines += ["", "## Plots", "", *[f"![{name}]({name})" for name in plots]]
    return "\n".join(lines) + "\n"
