"""A replay's report as PNG plots (matplotlib, the `bench` extra; imported when plotting).

Three figures, each configuration beside the other: every miner's share of
the bookings against its share of the allowance (on the diagonal is in
proportion), the miners' ratios sorted (the Gini in the legend), and the
allowance each configuration burnt and left per miner.
"""

from pathlib import Path

from organism.jobs.simulation.report import Report

TOP_MINERS = 40


def write_plots(reports: list[Report], out: Path) -> list[str]:
    """The PNG files written into `out` (file names)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    names = []
    figure, axes = pyplot.subplots(figsize=(6, 6))
    top = max((m.allowance_share for r in reports for m in r.miners), default=0.01)
    axes.plot([0, top], [0, top], color="grey", linewidth=1, label="in proportion")
    for report in reports:
        axes.scatter([m.allowance_share for m in report.miners], [m.booking_share for m in report.miners], s=10,
                     alpha=0.6, label=f"{report.label} (Gini {report.gini:.3f})")
    axes.set(xlabel="share of the allowance", ylabel="share of the booked executor-seconds",
             title="Bookings against allowance, per miner")
    axes.legend()
    names.append(_save(figure, out, "shares.png"))

    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    for report in reports:
        ratios = sorted(m.ratio for m in report.miners if m.allowance_share > 0)
        axes.plot(range(len(ratios)), ratios, label=f"{report.label} (Gini {report.gini:.3f})")
    axes.axhline(1.0, color="grey", linewidth=1)
    axes.set(xlabel="miners, sorted", ylabel="booking share / allowance share", title="Spread: 1 is in proportion")
    axes.legend()
    names.append(_save(figure, out, "ratios.png"))

    figure, rows = pyplot.subplots(len(reports), 1, figsize=(10, 3.5 * len(reports)), squeeze=False)
    for (axes,), report in zip(rows, reports, strict=True):
        miners = sorted(report.miners, key=lambda m: (-m.allowance_initial, m.hotkey))[:TOP_MINERS]
        positions = range(len(miners))
        axes.bar(positions, [m.allowance_burnt for m in miners], label="burnt")
        axes.bar(positions, [m.allowance_left for m in miners], bottom=[m.allowance_burnt for m in miners], label="left")
        axes.set(ylabel="executor-seconds", title=f"Allowance per miner ({report.label}, the {TOP_MINERS} largest)")
        axes.set_xticks([])
        axes.legend()
    names.append(_save(figure, out, "allowance.png"))
    return names


def _save(figure, out: Path, name: str) -> str:
    from matplotlib import pyplot

    figure.tight_layout()
    figure.savefig(out / name, dpi=100)
    pyplot.close(figure)
    return name
