"""A miner as `GET /organism/miners` shows it, and the listing of 1,000 encoded where it is built. Pure.

`status_document` is the one shape of a miner's status on the wire (the api's
`MinerStatusOut` is built from it). A listing is encoded to JSON by the
picker's read thread, beside the book, and handed to the replica as bytes:
carried as 1,000 typed statuses it was pickled and unpickled once each way and
dumped again by the replica, three times the work of building the page
(README, *Performance*). Collateral is a decimal string, as everywhere on
the wire (wei exceed 64 bits).
"""

from dataclasses import asdict
from typing import Any

import orjson

from contracts.jobs import MinerStatus
from organism.jobs import views
from organism.jobs.book import MinerBook


def status_document(status: MinerStatus) -> dict[str, Any]:
    miner, row = status.miner, status.allowance
    return {
        "address": miner.address, "port": miner.port, "ip_version": miner.ip_version,
        "collateral_wei": str(miner.collateral_wei), "hotkey": miner.hotkey,
        "blacklist": asdict(status.blacklist) if status.blacklist else None,
        "manifests": {
            c: {"online_executor_count": m.online_executor_count, "executor_count": m.executor_count, "observed_at": m.observed_at}
            for c, m in status.manifests.items()
        },
        "allowance": None if row is None else {
            "cycle": {"start": row.cycle_start, "stop": row.cycle_stop}, "initial": row.initial,
            "remaining": row.remaining, "held": status.held_seconds,
        },
        "ongoing_jobs": status.ongoing_jobs,
        "free_slots": status.free_slots,
        "recent_incidents": status.recent_incidents,
        "incidents": [{"kind": i.kind, "job_uuid": i.job_uuid, "at": i.at} for i in status.incidents],
    }


def miners_json(
    book: MinerBook, now: float, block: int | None, limit: int, after: str | None = None,
    executor_class: str | None = None, blacklisted: bool | None = None,
) -> bytes:
    """The page of `views.miners_page` as the route's body: `{"miners": [...], "next_cursor": ...}`."""
    page, following = views.miners_page(book, now, block, limit, after, executor_class, blacklisted)
    return orjson.dumps({"miners": [status_document(status) for status in page], "next_cursor": following})
