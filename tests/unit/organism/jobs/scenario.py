"""Books and jobs for the job-routing unit tests: one place that builds them."""

from contracts.audit import AuditStamp
from contracts.dynamic_config import DynamicConfig
from contracts.jobs import Allowance, JobSpec, Manifest, Miner
from contracts.refusals import Refusal
from organism.jobs.book import MinerBook
from organism.jobs.filters import Candidate, PickContext
from organism.jobs.lifecycle import book_job
from organism.jobs.policy import pick
from organism.jobs.records import Selection

NOW = 1_000_000.0
NETUID = 12
BLOCK = 25  # cycle [-14, 708): (708 - 25) * 12 = 8196 s left
CLASS = "always_on.test"
ETH = 10**18


def make_book(*miners: dict, **config) -> MinerBook:
    """Each miner: hotkey, collateral, online, remaining, initial (defaults: eligible, idle)."""
    book = MinerBook(config=DynamicConfig(**config))
    for spec in miners:
        hotkey = spec["hotkey"]
        book.upsert_miner(Miner(hotkey, "10.0.0.1", 8000, 4, spec.get("collateral", ETH)))
        if spec.get("online", 1) is not None:
            book.add_manifests([Manifest(hotkey, CLASS, spec.get("online", 1), 4, spec.get("observed_at", NOW - 60), 0)])
        if spec.get("remaining", 1000.0) is not None:
            book.upsert_allowances([Allowance(hotkey, -14, 708, spec.get("initial", 1000.0), spec.get("remaining", 1000.0))])
    return book


OWNER = AuditStamp("validator", "service", "corr-owner")  # who routes the jobs of `job()`
FEEDER = AuditStamp("feeder", "facts", "corr-feeder")


def job(uuid: str = "job-1", trusted: bool = False, caller: str = OWNER.subject, **limits) -> JobSpec:
    times = {"download_time_limit": 10, "execution_time_limit": 20, "upload_time_limit": 10, **limits}
    return JobSpec(uuid, CLASS, streaming_start_time_limit=99, on_trusted_miner=trusted, caller=caller, **times)


def run(book: MinerBook, spec: JobSpec | None = None, now: float = NOW, block: int | None = BLOCK):
    return pick(book, spec or job(), block, NETUID, now)


def refused(outcome) -> str:
    assert isinstance(outcome, Refusal), outcome
    return outcome.kind.value


def selected(outcome) -> str:
    assert isinstance(outcome, Selection), outcome
    return outcome.hotkey


def reserve(book: MinerBook, outcome: Selection, uuid: str, now: float = NOW, caller: str = OWNER.subject) -> None:
    """Book as the picker does (the allowance held in the current cycle when holding is on), for `caller`."""
    book_job(book, job(uuid, caller=caller), outcome, now, BLOCK)


def judge(check, book: MinerBook, hotkey: str = "a", spec: JobSpec | None = None, now: float = NOW) -> str | None:
    """Run one filter's check on one miner's newest manifest: None (pass) or the rejection's reason."""
    context = PickContext(book, spec or job(), now, book.allowance_rows(BLOCK))
    rejection = check(Candidate(book.manifests[CLASS][hotkey]), context)
    return None if rejection is None else rejection.reason
