"""Generated traces: miners, allowances, blocks and bursty, heavy-tailed job requests. Pure.

`generate(Parameters(...))` yields a trace's events in time order, the same
for the same seed. The defaults are our choices, shaped by what public
cluster traces report (figures carry over, their data and code do not):

- Job lengths are heavy-tailed: a log-normal run time (median `run_median_s`
  300 s, `run_sigma` 1.2), most jobs short and a few very long. Google's
  2019 Borg trace: job sizes are heavy-tailed, fitted by a Pareto law with a
  heavier tail than in 2011 (Tirmazi et al., "Borg: the Next Generation",
  EuroSys 2020, section 5); Alibaba's 2018 trace: most batch jobs are short,
  a few run for hours (Guo et al., "Who Limits the Resource Efficiency of My
  Datacenter: An Analysis of Alibaba Datacenter Traces", IWQoS 2019, section 4).
- Arrivals are bursty: gamma-distributed gaps with a coefficient of
  variation `burstiness` (1 is Poisson; 2 by default), since arrivals in both
  traces come in bursts well above their mean rate (Tirmazi et al., section 4:
  job submission rates vary by several times over a day; Guo et al., section 3).
  The mean rate follows from `load`: the offered executor-seconds as a share
  of all online executors' (0.5).
- Miner sizes are skewed: online executors per miner are 1 plus a Pareto
  draw (shape `miner_size_shape` 1.5), most miners small, a few large, each
  miner offering one executor class, drawn from `classes`; a miner's
  allowance per cycle is its executors' cycle-seconds times
  `allowance_share` (0.8) times a log-normal factor (sigma 0.5): stake-minted
  allowance is not proportional to hardware.
- Per booking, a miner declines with `decline_rate` (0.05), fails with
  `failure_rate` (0.02) and times out with `timeout_rate` (0.01); callers ask
  up to `attempts` (3) times. Miners also run other validators' work,
  `other_work` (0.1) of their capacity, seen as receipts of jobs not routed
  here (what excuses a decline as busy).

Blocks are reported every minute, manifests every 30 minutes, allowance rows
at each cycle's start (a cycle is 722 blocks).
"""

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from random import Random

from contracts.chain import BLOCK_TIME_S, CYCLE_BLOCKS, cycle_containing
from organism.jobs.simulation.trace import Event

START = 1_800_000_000.0  # the trace's first moment (Unix seconds)
FIRST_BLOCK = 5_000_000
NETUID = 12
BLOCK_EVERY_S = 60.0
MANIFEST_EVERY_S = 1800.0
EXECUTION_LIMITS_S = (120, 300, 900, 1800, 3600, 7200, 14400)  # callers ask for the next above 1.5 x the first run


@dataclass(frozen=True)
class Parameters:
    jobs: int = 2000  # job requests
    miners: int = 50
    seed: int = 0
    load: float = 0.5  # offered executor-seconds / online executor-seconds
    burstiness: float = 2.0  # coefficient of variation of the gaps between requests (1: Poisson)
    run_median_s: float = 300.0
    run_sigma: float = 1.2  # of the log-normal run time
    miner_size_shape: float = 1.5  # Pareto shape of executors per miner (lower: more skewed)
    classes: str = "always_on.gpu-24gb:0.7,always_on.llm.a6000:0.3"  # class:share of miners
    allowance_share: float = 0.8  # of a miner's executor cycle-seconds, before the log-normal factor
    decline_rate: float = 0.05
    failure_rate: float = 0.02
    timeout_rate: float = 0.01
    attempts: int = 3
    other_work: float = 0.1  # share of each miner's capacity busy with other validators' jobs

    def class_shares(self) -> list[tuple[str, float]]:
        pairs = [item.rsplit(":", 1) for item in self.classes.split(",")]
        return [(name.strip(), float(share)) for name, share in pairs]


DOCUMENTED = tuple(f.name for f in fields(Parameters))


class _Generator:
    def __init__(self, p: Parameters) -> None:
        self.p, self.random = p, Random(p.seed)
        names, shares = zip(*p.class_shares(), strict=True)
        self.miners = [f"miner-{n:04d}" for n in range(p.miners)]
        self.size = {h: 1 + int(self.random.paretovariate(p.miner_size_shape)) for h in self.miners}
        self.klass = {h: self.random.choices(names, shares)[0] for h in self.miners}
        self.stake = {h: math.exp(self.random.gauss(0.0, 0.5)) for h in self.miners}
        mean_run = p.run_median_s * math.exp(p.run_sigma ** 2 / 2)
        self.rate = p.load * sum(self.size.values()) / mean_run  # jobs per second

    def setup(self) -> Iterator[Event]:
        yield Event("config", START, {"patch": {"DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI": 10**16}})
        for n, hotkey in enumerate(self.miners):
            yield Event("miner", START, {"hotkey": hotkey, "address": f"10.{n // 250}.{n % 250}.1", "port": 8000,
                                         "ip_version": 4, "collateral_wei": str(10**17)})

    def facts(self) -> Iterator[Event]:
        """Blocks, manifests, and allowance rows at each cycle's start, without end."""
        at, next_manifest, cycle = START, START, None
        while True:
            block = FIRST_BLOCK + int((at - START) // BLOCK_TIME_S)
            if (current := cycle_containing(block, NETUID)) != cycle:
                cycle = current
                seconds = CYCLE_BLOCKS * BLOCK_TIME_S
                rows = [{"hotkey": h, "cycle_start": cycle.start, "cycle_stop": cycle.stop,
                         "initial": (allowance := round(self.size[h] * seconds * self.p.allowance_share * self.stake[h])),
                         "remaining": allowance} for h in self.miners]
                yield Event("allowances", at, {"allowances": rows})
            yield Event("block", at, {"block": block})
            if at >= next_manifest:
                rows = [{"hotkey": h, "executor_class": self.klass[h], "online_executor_count": self.size[h],
                         "executor_count": self.size[h]} for h in self.miners]
                yield Event("manifests", at, {"manifests": rows})
                next_manifest += MANIFEST_EVERY_S
            at += BLOCK_EVERY_S

    def gap(self) -> float:
        shape = 1.0 / self.p.burstiness ** 2
        return self.random.gammavariate(shape, 1.0 / (shape * self.rate))

    def reaction(self) -> dict:
        run = min(self.random.lognormvariate(math.log(self.p.run_median_s), self.p.run_sigma), EXECUTION_LIMITS_S[-1] / 1.5)
        draw, p = self.random.random(), self.p
        outcome = ("declined" if draw < p.decline_rate else "failed" if draw < p.decline_rate + p.failure_rate
                   else "timeout" if draw < p.decline_rate + p.failure_rate + p.timeout_rate else "finished")
        return {"outcome": outcome, "start_after_s": round(self.random.uniform(0.5, 3.0), 2), "run_s": round(run, 1)}

    def requests(self) -> Iterator[Event]:
        """Job requests, and other validators' work, in time order."""
        at = START + 60.0  # a block and manifests first
        classes = [self.klass[h] for h in self.miners]
        finishes: list[tuple[float, int, Event]] = []
        for n in range(self.p.jobs):
            at += self.gap()
            while finishes and finishes[0][0] <= at:
                yield heapq.heappop(finishes)[2]
            then = [self.reaction() for _ in range(self.p.attempts)]
            limit = next((s for s in EXECUTION_LIMITS_S if s >= 1.5 * then[0]["run_s"]), EXECUTION_LIMITS_S[-1])
            job = {"job_uuid": f"job-{self.p.seed}-{n:07d}", "executor_class": self.random.choice(classes),
                   "download_time_limit": 60, "execution_time_limit": limit, "upload_time_limit": 60,
                   "streaming_start_time_limit": 30, "on_trusted_miner": False}
            yield Event("route", at, {"job": job, "then": then, "attempts": self.p.attempts})
            if self.random.random() < self.p.other_work / max(self.p.load, 0.01):
                started, finished = self.other_work(at)
                yield started
                heapq.heappush(finishes, (finished.at, n, finished))
        yield from (event for _, _, event in sorted(finishes))

    def other_work(self, at: float) -> tuple[Event, Event]:
        """A job another validator gave a miner: its started and finished receipts."""
        hotkey = self.random.choice(self.miners)
        run = self.random.lognormvariate(math.log(self.p.run_median_s), self.p.run_sigma)
        fields = {"job_uuid": f"other-{self.random.getrandbits(64):016x}", "hotkey": hotkey,
                  "executor_class": self.klass[hotkey], "ttl_s": round(run + 60, 1)}
        return (Event("receipt", at, {"receipt_kind": "started", **fields}),
                Event("receipt", at + run, {"receipt_kind": "finished", **fields}))


def generate(p: Parameters) -> Iterator[Event]:
    """The trace's events, in time order: facts interleaved with the requests, and facts for as long
    after the last request as the longest job may run."""
    generator = _Generator(p)
    yield from generator.setup()
    facts = generator.facts()
    fact, last = next(facts), START
    for request in generator.requests():
        while fact.at <= request.at:
            yield fact
            fact = next(facts)
        yield request
        last = request.at
    while fact.at <= last + EXECUTION_LIMITS_S[-1]:
        yield fact
        fact = next(facts)
