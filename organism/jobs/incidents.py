"""Miner incidents: what counts as recent, and when a miner is blacklisted for them. Pure.

A miner that declines a job, fails it or lets it time out has an incident
(`Incident`, recorded by `MinerBook.end_job`). Incidents inside the
configured window are *recent*: they demote the miner in the ranking (the
`fewer_recent_incidents` scorer of `filters`) and, when there are
`DYNAMIC_INCIDENTS_TO_BLACKLIST` of them, blacklist it automatically for
`DYNAMIC_INCIDENT_BLACKLIST_SECONDS`. Each incident names the caller that
reported it (the job's owner releasing it, or the feeder's receipt), and one
caller's incidents count toward the blacklist at most one short of the
threshold (`counted`): a single caller can demote a miner, never blacklist
it. Older ones are kept for the miner's history until the book's retention.
"""

from collections import Counter
from collections.abc import Sequence

from contracts.dynamic_config import DynamicConfig
from contracts.jobs import BlacklistEntry, Incident

AUTO_BLACKLIST_REASON = "auto: {count} incidents in {window} s"
AUTO_BLACKLIST_SUBJECT = "incident rule"  # who the audit trail says blacklisted a miner automatically


def recent(incidents: Sequence[Incident], config: DynamicConfig, now: float) -> list[Incident]:
    """The incidents inside the window (`incidents` oldest first)."""
    since = now - config.DYNAMIC_INCIDENT_WINDOW_SECONDS
    return [i for i in incidents if i.at > since]


def next_lapse(incidents: Sequence[Incident], config: DynamicConfig, now: float) -> float | None:
    """When the oldest recent incident leaves the window (and the miner's score changes)."""
    inside = recent(incidents, config, now)
    return inside[0].at + config.DYNAMIC_INCIDENT_WINDOW_SECONDS if inside else None


def counted(incidents: Sequence[Incident], threshold: int) -> int:
    """Incidents as the blacklist counts them: one caller's count at most `threshold - 1` (at least 1), so
    no single caller can blacklist a miner by itself; it takes reports from two callers."""
    share = max(1, threshold - 1)
    by_caller = Counter(i.reported_by for i in incidents)
    return sum(min(n, share) for n in by_caller.values())


def auto_blacklist(
    incidents: Sequence[Incident], config: DynamicConfig, now: float, current: BlacklistEntry | None
) -> BlacklistEntry | None:
    """The entry the incident rule puts on a miner now, if it does: never shortens or
    replaces an active entry (an operator's, or an earlier automatic one)."""
    threshold = config.DYNAMIC_INCIDENTS_TO_BLACKLIST
    if threshold == 0 or (current is not None and current.active(now)):
        return None
    count = counted(recent(incidents, config, now), threshold)
    if count < threshold:
        return None
    reason = AUTO_BLACKLIST_REASON.format(count=count, window=config.DYNAMIC_INCIDENT_WINDOW_SECONDS)
    hotkey = incidents[-1].hotkey
    return BlacklistEntry(hotkey, reason, now, now + config.DYNAMIC_INCIDENT_BLACKLIST_SECONDS)
