"""A pick's routing report, built from its decision; who may read it. Pure.

The policy records on its way what a report keeps (`Explain`: each passed-over
miner's filter and reason, the ranking and its inputs, how far down the
ranking the slot filters ran); `build` turns that, the request and the
outcome into a `contracts.job_reports.RoutingReport`.

**Full or compact.** A pick judges the miners with a manifest of the job's
class. When there are at most `FULL_REPORT_MAX_MINERS` (20) of them, the
report lists every one: its verdicts, and its rank and scores if ranked.
Over that, the report is *compact*: the first `COMPACT_TOP_K` (10) of the
ranking with their scores and verdicts, and the chosen miner wherever it
ranked; every other miner is only counted, in `rejected` (by the filter that
rejected it) or in `omitted` (all those left out, ranked lower included).
The fast path of real picks keeps no more than that on the way
(`kept_in_report`), so a pick over thousands of miners stores no more than
one over 21. Why so few: each stored byte costs a pick (README, Performance).
"""

from contracts.audit import AuditStamp
from contracts.job_reports import REFUSED, REQUEST_FIELDS, SELECTED, RoutingReport
from contracts.jobs import JobRouted, JobSpec
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.book import MinerBook
from organism.jobs.filters import CANDIDATE_FILTERS, FILTER_NAMES, SCORER_NAMES, blank_explain

FULL_REPORT_MAX_MINERS = 20
COMPACT_TOP_K = 10


def kept_in_report(judged: int) -> int | None:
    """How many of the ranking a pick over `judged` miners keeps the detail of (None: every miner)."""
    return None if judged <= FULL_REPORT_MAX_MINERS else COMPACT_TOP_K


def owner_of(book: MinerBook, spec: JobSpec) -> str:
    """Whose job the pick was for: its owner when it was routed before, else the caller."""
    routed = book.jobs.get(spec.job_uuid)
    return routed.owner if routed is not None else spec.caller


def build(spec: JobSpec, answer: JobRouted | Refusal, decided_at: float, block: int | None, slot: int | None,
          owner: str, dry_run: bool = False) -> RoutingReport:
    explain = answer.explain or blank_explain(0)  # a refusal that judged no miner
    compact = kept_in_report(explain.judged) is not None
    ranking, rejections = explain.ranking, explain.rejections
    if compact:
        ranking = ranking[:COMPACT_TOP_K]
        rejections = {hotkey: why for hotkey, why in rejections.items() if hotkey in ranking}
    refused = isinstance(answer, Refusal)
    chose = not refused and answer.reason == SELECTED and not answer.replayed
    below_top = chose and answer.miner.hotkey not in ranking  # chosen below the top of a compact report
    return RoutingReport(
        job_uuid=spec.job_uuid, owner=owner, decided_at=decided_at, control_version=spec.control_version,
        block=block, request={name: getattr(spec, name) for name in REQUEST_FIELDS},
        outcome=REFUSED if refused else ("replayed" if answer.replayed else answer.reason),
        hotkey=None if refused else answer.miner.hotkey, slot=slot,
        reservation_expires_at=None if refused else answer.reservation_expires_at,
        refusal={"type": answer.kind.value, "message": answer.message} if refused else None,
        filters=FILTER_NAMES, candidate_filters=len(CANDIDATE_FILTERS), scorers=SCORER_NAMES,
        miners=explain.miners, rejected=explain.rejected, judged=explain.judged, ranking=tuple(ranking),
        scores=tuple(explain.scores[hotkey] for hotkey in ranking), rejections=rejections, walked=explain.walked,
        chosen_scores=explain.scores[answer.miner.hotkey] if below_top else None,
        compact=compact, dry_run=dry_run,
    )


def readable(reports: list[RoutingReport], job_uuid: str, reader: AuditStamp) -> list[RoutingReport] | Refusal:
    """The reports `reader` may see: an admin every one, a service those of its own jobs."""
    if not reports:
        return Refusal(RefusalKind.UNKNOWN_JOB, f"job {job_uuid} has no routing report (never routed here, or"
                                                " longer ago than reports are kept)", {"job_uuid": job_uuid})
    mine = reports if reader.role == "admin" else [r for r in reports if r.owner == reader.subject]
    return mine or Refusal(RefusalKind.NOT_JOB_OWNER, f"job {job_uuid} belongs to another caller",
                           {"job_uuid": job_uuid})
