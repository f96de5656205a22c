"""Bounded loopback load for reliability tests: requests in a background thread."""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

Body = dict[str, Any] | Callable[[], dict[str, Any]] | None


@dataclass(frozen=True)
class Answer:
    path: str
    status: int
    body: Any


async def _hammer(base_url: str, headers: dict[str, str], requests: list[tuple[str, str, Body]],
                  duration_s: float, concurrency: int) -> list[Answer]:
    answers: list[Answer] = []
    deadline = time.monotonic() + duration_s
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30, limits=limits) as client:
        async def worker(offset: int) -> None:
            n = offset
            while time.monotonic() < deadline:
                method, path, body = requests[n % len(requests)]
                n += concurrency
                response = await client.request(method, path, json=body() if callable(body) else body)
                try:
                    payload = response.json()
                except ValueError:
                    payload = response.text
                answers.append(Answer(path, response.status_code, payload))

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return answers


class Load:
    """Start sending at once; `answers()` waits for the end (at most `duration_s` plus one request)."""

    def __init__(self, base_url: str, headers: dict[str, str], requests: list[tuple[str, str, Body]],
                 duration_s: float = 6.0, concurrency: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future: Future = self._pool.submit(
            asyncio.run, _hammer(base_url, headers, requests, duration_s, concurrency)
        )

    def answers(self) -> list[Answer]:
        try:
            return self._future.result(timeout=120)
        finally:
            self._pool.shutdown()
