"""A pick's routing report: what it was asked, what it saw, how it judged each miner, what it chose. Pure.

Every pick (`POST /organism/jobs/route`, replays and re-routes included)
leaves one `RoutingReport`, stored with its booking; a dry run answers one
without storing it. A report names the request, when it was decided, at
which block and control-plane version, the per-filter counts, the ranking
(its order and each ranked miner's inputs, `scores` in `scorers` order), the
miners passed over with the filter that rejected each and why, and the
outcome: the miner and slot chosen, or the refusal.

A miner is judged by the named filters in order (`filters`); the first that
rejects it ends its judgement, so the filters before it passed and those
after it did not run. Ranked miners passed the candidate filters (the first
`candidate_filters`); the slot filters ran on them down the ranking until
one passed (the first `walked` of it). The record keeps only that, as the
decision left it (a pick pays for what it stores); `as_dict` spells out
each miner's verdict per filter: the shape a report is answered in.
"""

from dataclasses import dataclass
from typing import Any

from contracts.pickling import compact

SELECTED, REFUSED = "selected", "refused"  # outcomes; a replay is `replayed`, an override its reason
REQUEST_FIELDS = ("executor_class", "download_time_limit", "execution_time_limit", "upload_time_limit",
                  "streaming_start_time_limit", "on_trusted_miner", "caller")  # of the JobSpec, as it asked


@compact
@dataclass(frozen=True, slots=True)
class RoutingReport:
    job_uuid: str
    owner: str  # the service the job belongs to: it, or an admin, may read the report
    decided_at: float
    control_version: int | None  # the control-plane version the asking replica had applied (None: not known)
    block: int | None
    request: dict[str, Any]
    outcome: str  # selected | replayed | debug_miner | trusted_miner | refused
    hotkey: str | None
    slot: int | None  # the executor slot claimed (None when nothing was booked)
    reservation_expires_at: float | None
    refusal: dict[str, str] | None  # {"type", "message"} when refused
    filters: tuple[str, ...]  # the named miner filters, in the order they run
    candidate_filters: int  # how many of `filters` run before the ranking (the rest run down it)
    scorers: tuple[str, ...]
    miners: int  # registered miners
    rejected: dict[str, int]  # per filter, every miner counted (also those a compact report leaves out)
    judged: int  # miners with a manifest of the job's class
    ranking: tuple[str, ...]  # best first: all of it, or the top of a compact report
    scores: tuple[tuple[float, ...], ...]  # of each ranked miner, in `scorers` order
    rejections: dict[str, tuple[str, str]]  # hotkey -> (filter, reason) of the miners passed over that it lists
    walked: int  # how far down the ranking the slot filters ran
    chosen_scores: tuple[float, ...] | None  # the chosen miner's, when it ranked below a compact report's top
    compact: bool
    dry_run: bool = False

    def _verdicts(self, hotkey: str, walked: bool) -> list[dict[str, Any]]:
        """Each filter that ran on the miner, in order: passed, or why not."""
        rejected_by, reason = self.rejections.get(hotkey, (None, None))
        shown: list[dict[str, Any]] = []
        for name in self.filters if walked or rejected_by else self.filters[:self.candidate_filters]:
            if name == rejected_by:
                return [*shown, {"filter": name, "passed": False, "reason": reason}]
            shown.append({"filter": name, "passed": True, "reason": None})
        return shown

    def candidates(self) -> list[dict[str, Any]]:
        """Every miner the report lists: the ranked ones in order (the chosen one where it ranked), then those
        passed over before the ranking, by the filter that rejected them."""
        ranked = list(zip(self.ranking, range(len(self.ranking)), self.scores, strict=True))
        if self.outcome == SELECTED and self.chosen_scores is not None:
            ranked.append((self.hotkey, self.walked - 1, self.chosen_scores))
        order = {name: place for place, name in enumerate(self.filters)}
        listed = {hotkey for hotkey, _, _ in ranked}
        passed_over = sorted((order[name], hotkey) for hotkey, (name, _) in self.rejections.items() if hotkey not in listed)
        return [
            *({"hotkey": hotkey, "rank": rank, "chosen": self.outcome == SELECTED and hotkey == self.hotkey,
               "scores": dict(zip(self.scorers, scores, strict=True)), "verdicts": self._verdicts(hotkey, rank < self.walked)}
              for hotkey, rank, scores in ranked),
            *({"hotkey": hotkey, "rank": None, "chosen": False, "scores": None, "verdicts": self._verdicts(hotkey, False)}
              for _, hotkey in passed_over),
        ]

    def as_dict(self) -> dict[str, Any]:
        candidates = self.candidates()
        return {
            "job_uuid": self.job_uuid, "owner": self.owner, "decided_at": self.decided_at,
            "control_version": self.control_version, "block": self.block, "dry_run": self.dry_run,
            "request": self.request,
            "outcome": {"kind": self.outcome, "hotkey": self.hotkey, "slot": self.slot,
                        "reservation_expires_at": self.reservation_expires_at, "refusal": self.refusal},
            "miners": self.miners, "judged": self.judged, "rejected": dict(self.rejected),
            "compact": self.compact, "omitted": self.judged - len(candidates), "candidates": candidates,
        }
