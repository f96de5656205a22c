"""One job routed and booked over a MinerBook: the decision the live picker and the simulator share. Pure.

`route` is what `MinerPicker.route_jobs` does for each job, without the
store: a uuid only a tombstone remembers is refused (`buried` asks), else
the policy's choice (`answers.chosen`) is booked (`lifecycle.book_job`) or
replayed. The store's part comes in as one callable, `claimed`: the live
picker claims the chosen miner's slot in its transaction (a picker of
another process may hold it: then the next candidate, up to
`CLAIM_ATTEMPTS`); the simulator has no other picker and claims always.
A live picker whose book found no miner with enough allowance may learn
another picker's holds and look again (`second_look`). The answer comes with
the `Writes` to persist; the simulator drops them.
"""

from collections.abc import Callable
from random import Random

from contracts.jobs import JobRouted, JobSpec
from contracts.refusals import Refusal, RefusalKind
from organism.jobs import lifecycle, tombstones
from organism.jobs.answers import chosen, current_block, replayed_expiry, with_retry_after
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.records import Writes

CLAIM_ATTEMPTS = 8  # candidates tried when other pickers hold the chosen miners' slots


def route(
    book: MinerBook, spec: JobSpec, netuid: int, now: float, index: CandidateIndex | None,
    buried: Callable[[str], bool], claimed: Callable[[str], bool], rng: Random | None = None,
    second_look: Callable[[Refusal], bool] = lambda refusal: False,
) -> tuple[JobRouted | Refusal, Writes]:
    """The job's answer and what booking it changed (`claimed(hotkey)`: the slot is ours; `rng`: the
    spread ordering's draws; `second_look(refusal)`: the book learnt something that may change it)."""
    if (refusal := tombstones.refusal(book, spec, now, buried)) is not None:
        return refusal, Writes()  # finished long ago: the book forgot it, its tombstone did not
    for _ in range(CLAIM_ATTEMPTS):
        decided = chosen(book, spec, netuid, now, index, rng)
        if isinstance(decided, Refusal):
            if second_look(decided):
                continue
            return decided, Writes()
        outcome, address = decided
        if outcome.reserve and not claimed(outcome.hotkey):
            continue  # another picker holds that miner's slots: the next candidate
        if outcome.reserve:
            expires_at, writes = lifecycle.book_job(book, spec, outcome, now, current_block(book, now))
        else:
            expires_at, writes = replayed_expiry(book, spec, outcome, now), Writes()
        routed = JobRouted(spec.job_uuid, address, outcome.reason, expires_at, outcome.replayed, False, outcome.explain)
        return routed, writes
    return with_retry_after(book, Refusal(RefusalKind.ALL_MINERS_BUSY, "every candidate's executors are busy")), Writes()
