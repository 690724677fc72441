"""Plain records of one replication: what the engine hands back and reports read.

Nothing here refers to SimPy; every field is a number, a string or a list of them, so records
pickle cheaply between processes (and Dask workers). What a stage recorded is its own typed
record (declared by the stage, ``Stage.records``), kept by stage name in
:attr:`ReplicationRecords.stages`; these classes are the ones every stage shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


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
    """Outcome counts of calls to one operator node (of the sampled stream): kept per node, summed
    per operator."""

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
class ReplicationRecords:
    """Everything one replication produced (counts of the sampled stream; ``one_in`` says how)."""

    replication: int
    seed: int
    one_in: int
    horizon_s: float
    end_s: float
    deadline_s: float
    operators: list[str]
    """The scenario's operator ids, in its order (the scopes of the metrics besides the platform)."""
    stations: list[StationRecord]
    timeseries: dict[str, list[float]]
    events: int
    stages: dict[str, Any] = field(default_factory=dict)
    """Stage name → that stage's records (the class it declares as ``Stage.records``), in flow
    order; the stages simulated after the engines from these (:func:`yzt.sim.stages.derive`)
    come last. A stage the run stopped before has none."""

    def of(self, name: str, kind: type[T]) -> T:
        """The records of stage ``name``, checked to be its declared ``kind``."""
        got = self.stages[name]
        if not isinstance(got, kind):
            raise TypeError(f"records of stage {name!r} are {type(got).__name__}, not {kind.__name__}")
        return got

    def get(self, name: str, kind: type[T]) -> T | None:
        """:meth:`of`, or ``None`` when the run stopped before stage ``name``."""
        return self.of(name, kind) if name in self.stages else None
