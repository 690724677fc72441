"""Plain records of one replication: what the engine hands back and reports read.

Nothing here refers to SimPy; every field is a number, a string or a list of them, so records
pickle cheaply between processes (and Dask workers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StationRecord:
    """Totals of one queue over the run, for utilisation and Little's law (times in s)."""

    name: str
    arrivals: int
    started: int
    abandoned: int
    left_queue: int
    wait_sum: float
    service_sum: float
    queue_area: float
    busy_area: float
    max_queue: int
    duration_s: float

    @property
    def mean_queue(self) -> float:
        """Time-average number waiting (L_q)."""
        return self.queue_area / self.duration_s

    @property
    def arrival_rate(self) -> float:
        return self.arrivals / self.duration_s

    @property
    def mean_wait(self) -> float:
        """Mean wait of the jobs that left the queue (W_q)."""
        return self.wait_sum / self.left_queue if self.left_queue else 0.0


@dataclass
class CallCounts:
    """Outcome counts of operator calls (of the sampled stream): kept per node, summed per operator."""

    attempts: int = 0
    successes: int = 0
    errors: int = 0
    timeouts: int = 0
    outage_failures: int = 0
    retries: int = 0
    gave_up: int = 0
    latency_sum: float = 0.0
    durations: list[float] = field(default_factory=list)
    """Duration of every successful call, in the order the calls started (for CRN checks)."""

    def add(self, other: CallCounts) -> None:
        """Add another node's counts to these (a carrier's provincial nodes into the carrier)."""
        self.attempts += other.attempts
        self.successes += other.successes
        self.errors += other.errors
        self.timeouts += other.timeouts
        self.outage_failures += other.outage_failures
        self.retries += other.retries
        self.gave_up += other.gave_up
        self.latency_sum += other.latency_sum
        self.durations.extend(other.durations)


@dataclass
class OperatorRecord(CallCounts):
    """Fan-out outcomes at one operator (provincial nodes of a carrier summed)."""

    id: str = field(kw_only=True)


@dataclass
class HotlineRecord:
    id: str
    target_s: float
    arrived: list[float]
    wait: list[float]
    answered: list[bool]
    repeat: list[bool]
    platform: list[bool]


@dataclass
class CaseRecord:
    id: str
    dispute_deadline_s: float
    cancellation_deadline_s: float
    kind: list[str]
    raised: list[float]
    closed: list[float]


@dataclass
class ReplicationRecords:
    """Everything one replication produced (counts of the sampled stream; ``one_in`` says how)."""

    replication: int
    seed: int
    one_in: int
    horizon_s: float
    end_s: float
    deadline_s: float
    attempts: int
    gave_up_verification: int
    failed_verification: int
    refused_24h: int
    repeats_accepted: int
    verified_at: list[float]
    fanout_done: list[float]
    complete: list[bool]
    sms_delivered: list[float]
    sms_failures: int
    operators: dict[str, OperatorRecord]
    hotlines: dict[str, HotlineRecord]
    cases: dict[str, CaseRecord]
    stations: list[StationRecord]
    timeseries: dict[str, list[float]]
    events: int
    derived: dict[str, Any] = field(default_factory=dict)
    """Records of the stages simulated after the engine from these (stage name → records):
    :func:`yzt.sim.stages.derive`."""
