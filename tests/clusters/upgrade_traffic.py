"""The upgrade drill's traffic over HTTP: resolves in a loop, and a seeded schedule of picks, replays, receipts
and releases sent to whichever clusters serve.

Kept as the clients of a NewCluster upgrade keep it: resolves go to the one
base URL the serve Service points at (`resolve_url`, moved by the drill);
picks go to any cluster in `pick_urls`; while two clusters serve, a job's
receipts, releases and replays go to the cluster that did *not* book it
(counted as `across`). Every answer goes into the ledger
(`tests.picker_ledger`), which counts what one picker would never answer;
every non-2xx is counted by phase, kind and reason (`non_2xx`).

Answers reach the ledger in the order their effects were committed where
that matters: an action that frees a slot or allowance (a release, a
finished receipt) holds the ledger's lock from before its request until it
is recorded, so no pick that used what it freed is recorded before it; a
job is taken by one action at a time (`busy`) until its answer is recorded.
A pick refused as every miner busy is judged against the ledger's room only
when no other pick was in flight and nothing was freed since it was sent.
"""

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from tests.miners import CLASS, job
from tests.picker_ledger import Answer, Ledger
from tests.stack import FACTS_HEADERS, SERVICE_HEADERS

ACTIONS = {"pick": 40, "replay": 15, "started": 15, "finished": 10, "release": 20}
WANTED = {"replay": ("reserved", "running"), "started": ("reserved",), "finished": ("running",),
          "release": ("reserved", "running")}
FREEING = frozenset({"finished", "release"})
SECONDS = 40  # a `tests.miners.job()`'s executor-seconds


class Traffic:
    def __init__(self, ledger: Ledger, resolve_url: str, seed: int = 21) -> None:
        self.ledger, self.resolve_url, self.pick_urls = ledger, resolve_url, [resolve_url]
        self.phase = "A alone"
        self.non_2xx: Counter = Counter()  # (phase, kind, reason)
        self.answered: Counter = Counter()  # (phase, kind)
        self.booked_on: dict[str, str] = {}  # job uuid -> the base URL that booked it
        self.busy: set[str] = set()
        self._in_flight, self._freed = 0, 0  # picks sent and not yet recorded; freeing actions sent
        self._lock, self._count_lock, self._seed = threading.Lock(), threading.Lock(), seed
        self._clients: dict[str, httpx.Client] = {}
        self._stop_resolves, self._stop_steps = threading.Event(), threading.Event()

    def start_resolves(self, pause_s: float = 0.02) -> None:
        """Resolves in a loop, to whichever URL `resolve_url` names at the time, until `stop`."""
        self._resolver = threading.Thread(target=self._resolves, args=(pause_s,), daemon=True)
        self._resolver.start()

    def start_steps(self, pause_s: float) -> None:
        """Steps paced in the background until `stop_steps`."""
        self._seed += 1
        self._stop_steps.clear()
        self._stepper = threading.Thread(target=self._steps, args=(random.Random(self._seed), None, pause_s),
                                         daemon=True)
        self._stepper.start()

    def stop_steps(self) -> None:
        self._stop_steps.set()
        self._stepper.join()

    def steps(self, count: int, threads: int) -> None:
        """`count` steps in each of `threads` threads at once, unpaced; back when all are done."""
        self._seed += threads
        workers = [threading.Thread(target=self._steps, args=(random.Random(self._seed + i), count, 0.0))
                   for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def stop(self) -> None:
        self._stop_resolves.set()
        self._resolver.join()
        for client in self._clients.values():
            client.close()

    def call(self, kind: str, base_url: str, path: str, headers: dict[str, str], body: Any = None) -> Answer:
        """One request, its answer as the ledger reads it; a non-2xx counted (a transport error as status 0)."""
        client = self._client(base_url)
        try:
            response = client.request("GET" if body is None else "POST", path, json=body, headers=headers)
            status, payload = response.status_code, _json(response)
        except httpx.TransportError as error:
            status, payload = 0, {"error": {"type": type(error).__name__}}
        answer = Answer.of_http(status, payload)
        with self._count_lock:
            self.answered[(self.phase, kind)] += 1
            if status != 200:
                self.non_2xx[(self.phase, kind, answer.refused)] += 1
        return answer

    def _client(self, base_url: str) -> httpx.Client:
        with self._count_lock:
            if base_url not in self._clients:
                self._clients[base_url] = httpx.Client(base_url=base_url + "/organism", timeout=15)
            return self._clients[base_url]

    def _resolves(self, pause_s: float) -> None:
        while not self._stop_resolves.is_set():
            self.call("resolve", self.resolve_url, "/resolve-route", SERVICE_HEADERS, {"task": {"type": "general_query"}})
            time.sleep(pause_s)

    def _steps(self, rng: random.Random, count: int | None, pause_s: float) -> None:
        done = 0
        while (done < count) if count is not None else not self._stop_steps.is_set():
            self._step(rng, rng.choices(list(ACTIONS), list(ACTIONS.values()))[0])
            done += 1
            time.sleep(pause_s)

    def _step(self, rng: random.Random, action: str) -> None:
        if action == "pick":
            url, spec = rng.choice(self.pick_urls), job()
            with self._lock:
                self._in_flight, freed = self._in_flight + 1, self._freed
            answer = self.call("pick", url, "/jobs/route", SERVICE_HEADERS, spec)
            with self._lock:
                self._in_flight -= 1  # judged only with every answer before it in, nothing freed since it left
                judge = self._in_flight == 0 and self._freed == freed
                if not answer.refused:
                    self.booked_on[spec["uuid"]] = url
                self.ledger.picked(spec["uuid"], SECONDS, answer, judge_room=judge)
                if not judge and (answer.refused or "").endswith("AllMinersBusy"):  # another pick in flight, or a
                    room = "room" if self.ledger.room(SECONDS) else "no room"  # slot freed since: said, not judged
                    self.ledger.counts[f"busy, not judged ({room} by the answers)"] += 1
            return
        with self._lock:
            jobs = sorted(u for u, b in self.ledger.bookings.items() if b.state in WANTED[action] and u not in self.busy)
            if not jobs:
                return
            job_uuid = rng.choice(jobs)
            self.busy.add(job_uuid)
        booked_on = self.booked_on[job_uuid]
        url = next((u for u in self.pick_urls if u != booked_on), self.pick_urls[0])
        if action in FREEING:
            with self._lock:
                self._freed += 1
                self._send(action, job_uuid, url)()
        else:
            record = self._send(action, job_uuid, url)
            with self._lock:
                record()
        with self._lock:
            self.busy.discard(job_uuid)
            self.ledger.counts["across"] += url != booked_on

    def _send(self, action: str, job_uuid: str, url: str) -> Callable[[], None]:
        """The action's request on one job; what records its answer in the ledger (under the ledger's lock)."""
        booking = self.ledger.bookings[job_uuid]
        if action == "replay":
            answer = self.call("replay", url, "/jobs/route", SERVICE_HEADERS, job(uuid=job_uuid))
            return lambda: self.ledger.picked(job_uuid, booking.seconds, answer)
        if action == "release":
            answer = self.call("release", url, f"/jobs/{job_uuid}/release", SERVICE_HEADERS, {"reason": "cancelled"})
            return lambda: self.ledger.released(job_uuid, answer)
        body = {"kind": action, "job_uuid": job_uuid, "hotkey": booking.hotkey, "executor_class": CLASS}
        answer = self.call(f"{action} receipt", url, "/receipts", FACTS_HEADERS, body)
        return lambda: self.ledger.receipt(job_uuid, action, answer)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {"error": {"type": response.text[:60]}}
    return payload if isinstance(payload, dict) else {}
