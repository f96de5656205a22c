"""The facts job routing keeps about miners and jobs, one record type each. Pure.

A job request (`JobSpec`); miners, the latest manifest per (miner, executor class), blacklist entries,
allowance rows per (miner, cycle), started and finished receipts,
preliminary reservations and routed jobs. `MinerBook` indexes them.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job to route, as the caller asked for it."""

    job_uuid: str
    executor_class: str
    download_time_limit: int
    execution_time_limit: int
    upload_time_limit: int
    streaming_start_time_limit: int
    on_trusted_miner: bool

    @property
    def executor_seconds(self) -> int:
        return self.download_time_limit + self.execution_time_limit + self.upload_time_limit


@dataclass(slots=True)
class Miner:
    hotkey: str
    address: str
    port: int
    ip_version: int
    collateral_wei: int


@dataclass(slots=True)
class Manifest:
    hotkey: str
    executor_class: str
    online_executor_count: int
    executor_count: int
    observed_at: float
    arrival: int  # breaks ties between equal observed_at: later arrival is newer

    @property
    def recency(self) -> tuple[float, int]:
        return self.observed_at, self.arrival


@dataclass(slots=True)
class BlacklistEntry:
    hotkey: str
    reason: str
    created_at: float
    expires_at: float | None  # None: permanent

    def active(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(slots=True)
class Allowance:
    hotkey: str
    cycle_start: int
    cycle_stop: int
    initial: float
    remaining: float

    @property
    def ratio(self) -> float:
        return self.remaining / self.initial if self.initial else 0.0


@dataclass(slots=True)
class Receipt:
    kind: str  # started | finished
    job_uuid: str
    hotkey: str
    executor_class: str
    timestamp: float
    ttl_s: float

    def counts_at(self, now: float) -> bool:
        return now < self.timestamp + self.ttl_s


@dataclass(slots=True)
class Reservation:
    job_uuid: str
    hotkey: str
    executor_class: str
    created_at: float
    expires_at: float

    def active(self, now: float) -> bool:
        return now < self.expires_at


@dataclass(slots=True)
class RoutedJob:
    job_uuid: str
    hotkey: str
    executor_class: str
    executor_seconds: int
    required_seconds: int
    reason: str
    allowance_deducted: bool = False
    routed_at: float = 0.0


@dataclass(frozen=True, slots=True)
class MinerStatus:
    """One miner as `GET /miners` shows it: its facts and its slots per executor class."""

    miner: Miner
    blacklist: BlacklistEntry | None
    manifests: dict[str, Manifest]
    allowance: Allowance | None
    ongoing_jobs: dict[str, int]
    free_slots: dict[str, int]
