"""Wiring of one replication: every registered stage's SimPy part, in flow order → records.

``run_replication(scenario, seed, replication)`` builds a fresh SimPy environment, runs it until
``horizon_h + drain_h`` and returns :class:`~yzt.sim.records.ReplicationRecords`. Each stage
(:mod:`yzt.sim.stages`) builds its part (:class:`Part`); a part hands each query on to the parts
of the stages that come after it (``Stage.after``) with :meth:`Model.emit`, so the first stage
admits queries, the next calls the operators, and so on. With ``sampling.one_in = N`` the
sampled stages simulate one query in N with their capacities divided by N, and each query that
leaves them stands for N for the stages that run at full scale (the results' sampling note).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Generator
from typing import Any, Protocol

import simpy

from yzt.sim import stages
from yzt.sim.records import ReplicationRecords, StationRecord
from yzt.sim.rng import Stream, Streams
from yzt.sim.scenario import PROVINCES, OperatorParams, Scenario
from yzt.sim.station import Station


class _Counter(simpy.Environment):
    """A SimPy environment that counts processed events (for the benchmark's events/s)."""

    def __init__(self) -> None:
        super().__init__()
        self.events = 0

    def step(self) -> None:
        self.events += 1
        super().step()


def node_ids(sc: Scenario, op: OperatorParams) -> list[str]:
    """The nodes of an operator: 31 provincial nodes per carrier when enabled."""
    if sc.provincial_nodes and op.kind == "carrier":
        return [f"{op.id}-{p}" for p in PROVINCES]
    return [op.id]


def holds(sc: Scenario) -> dict[str, float]:
    """Each operator's share of a reply's receivers who hold one of its cards."""
    f = sc.after_reply.customer_factor
    return {op.id: min(1.0, op.card_share * f) for op in sc.operators}


class Cumulative:
    """Pick an operator with probability proportional to its weight."""

    def __init__(self, ids: list[str], weights: list[float]) -> None:
        self.ids = ids
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1] if self.cum else 0.0

    def pick(self, u: float) -> str:
        return self.ids[min(bisect.bisect_right(self.cum, u * self.total), len(self.ids) - 1)]


class Part(Protocol):
    """A stage's SimPy part (built by ``Stage.simpy(model)``, in flow order)."""

    def start(self) -> None:
        """Start its processes (after every part is built)."""

    def receive(self, query: int, t: float) -> None:
        """Query ``query`` leaves the stage before at time ``t`` (``t`` ≥ now)."""

    def stations(self) -> list[Station]:
        """Its queues, for the records' station totals."""

    def sample(self) -> list[float]:
        """The current value of each of its stage's time series (``Stage.series``)."""

    def records(self) -> Any:
        """Its stage's records (``Stage.records``), for ``ReplicationRecords.stages``."""


class Model:
    """One replication's wiring. Use :func:`run_replication`."""

    def __init__(self, sc: Scenario, seed: int, replication: int) -> None:
        self.sc = sc
        self.seed = seed
        self.replication = replication
        self.env = _Counter()
        self.streams = Streams(seed, replication)
        self.end_s = (sc.horizon_h + sc.drain_h) * 3600.0
        self.deadline_s = sc.deadline_h * 3600.0
        self.verified: list[float] = []
        """Verification time of each query (set by the stage that admits them)."""
        #: Draws shared by the stages that act on a delivered reply, in flow order.
        self.after: Stream = self.streams.get("platform", "after-reply")
        self._after_counts = self.streams.generator("platform", "after-reply-counts")
        self.parts: list[tuple[stages.Stage, Part]] = []
        for st in stages.stages():
            if st.simpy is not None:
                self.parts.append((st, st.simpy(self)))
        self._next: dict[str, list[Part]] = {}
        for st, part in self.parts:
            if st.after is not None:
                self._next.setdefault(st.after, []).append(part)
        self.timeseries: dict[str, list[float]] = {
            "t_h": [], **{s.key: [] for st, _ in self.parts for s in st.series}}

    def emit(self, stage: str, query: int, t: float) -> None:
        """``query`` leaves ``stage`` at ``t``: every stage after it receives it, in flow order."""
        for part in self._next.get(stage, ()):
            part.receive(query, t)

    def count(self, p: float) -> int:
        """How many of the ``one_in`` receivers a delivered reply stands for do something with
        probability ``p`` (one draw of the shared streams)."""
        n = self.sc.one_in
        if n == 1:
            return 1 if self.after.uniform() < p else 0
        return int(self._after_counts.binomial(n, min(p, 1.0)))

    def holds(self) -> dict[str, float]:
        """Each operator's share of a reply's receivers who hold one of its cards."""
        return holds(self.sc)

    def _sample(self) -> Generator[Any, Any, None]:
        env = self.env
        step = self.sc.sample_every_min * 60.0
        until = min(self.end_s, (self.sc.horizon_h + self.sc.deadline_h) * 3600.0)
        ts = self.timeseries
        while env.now <= until:
            ts["t_h"].append(env.now / 3600.0)
            for st, part in self.parts:
                for s, v in zip(st.series, part.sample(), strict=True):
                    ts[s.key].append(v)
            yield env.timeout(step)

    # -- run -----------------------------------------------------------------------------------
    def stations(self) -> list[Station]:
        return [s for _, part in self.parts for s in part.stations()]

    def run(self) -> ReplicationRecords:
        for _, part in self.parts:
            part.start()
        self.env.process(self._sample())
        self.env.run(until=self.end_s)
        return self._records()

    def _records(self) -> ReplicationRecords:
        sc = self.sc
        stations = []
        for st in self.stations():
            st.close_books()
            s = st.stats
            stations.append(StationRecord(st.name, s.arrivals, s.started, s.abandoned, s.left_queue,
                                          s.wait_sum, s.service_sum, s.queue_area, s.busy_area,
                                          s.max_queue, self.end_s))
        return ReplicationRecords(
            replication=self.replication, seed=self.seed, one_in=sc.one_in,
            horizon_s=sc.horizon_h * 3600.0, end_s=self.end_s, deadline_s=self.deadline_s,
            operators=[op.id for op in sc.operators], stations=stations,
            timeseries=self.timeseries, events=self.env.events,
            stages={st.name: part.records() for st, part in self.parts})


def run_replication(sc: Scenario, seed: int, replication: int) -> ReplicationRecords:
    """Run one replication of ``sc``; the same (seed, replication) gives the same records."""
    return Model(sc, seed, replication).run()
