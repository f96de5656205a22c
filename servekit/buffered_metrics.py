"""Ray Serve metrics recorded in batches, off the request path.

Recording one point through Ray's metric API was the largest single cost of a
resolve (17 % of a replica's samples under load). Here a request only adds to
a local tally (a counter's total per tag set) or list (a histogram's
observations); a daemon thread hands them to the Ray metrics once a second.
Prometheus sees the same totals and buckets, at most a second later.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

FLUSH_EVERY_S = 1.0

Tags = tuple[tuple[str, str], ...]


class _Pending:
    """Every buffered metric of this process, and the thread that flushes them."""

    lock = threading.Lock()
    flushes: list[Callable[[], None]] = []
    started = False


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_EVERY_S)
        flush_all()


def flush_all() -> None:
    for flush in list(_Pending.flushes):
        flush()


def _register(flush: Callable[[], None]) -> None:
    with _Pending.lock:
        _Pending.flushes.append(flush)
        if not _Pending.started:
            _Pending.started = True
            threading.Thread(target=_flush_forever, name="metrics-flush", daemon=True).start()


class BufferedCounter:
    def __init__(self, counter: Any) -> None:
        self._counter = counter
        self._totals: dict[Tags, float] = {}
        self._lock = threading.Lock()
        _register(self._flush)

    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        key = tuple(sorted(tags.items())) if tags else ()
        with self._lock:
            self._totals[key] = self._totals.get(key, 0.0) + value

    def _flush(self) -> None:
        with self._lock:
            totals, self._totals = self._totals, {}
        for key, total in totals.items():
            if total:
                self._counter.inc(total, tags=dict(key) or None)


class BufferedHistogram:
    def __init__(self, histogram: Any) -> None:
        self._histogram = histogram
        self._observed: list[tuple[float, Tags]] = []
        self._lock = threading.Lock()
        _register(self._flush)

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        observation = (value, tuple(sorted(tags.items())) if tags else ())
        with self._lock:
            self._observed.append(observation)

    def _flush(self) -> None:
        with self._lock:
            observed, self._observed = self._observed, []
        for value, key in observed:
            self._histogram.observe(value, tags=dict(key) or None)


def counter(name: str, description: str, tag_keys: tuple[str, ...] = ()) -> BufferedCounter:
    from ray.serve.metrics import Counter

    return BufferedCounter(Counter(name, description=description, tag_keys=tag_keys))


def histogram(name: str, description: str, boundaries: list[float], tag_keys: tuple[str, ...] = ()) -> BufferedHistogram:
    from ray.serve.metrics import Histogram

    return BufferedHistogram(Histogram(name, description=description, boundaries=boundaries, tag_keys=tag_keys))
