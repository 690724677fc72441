"""The fast engine: the same model as :mod:`yzt.sim.engine`, stage by stage without an event loop.

The model is feed-forward, so each registered stage (:mod:`yzt.sim.stages`) can be run whole once
the stage it receives from is known: each stage's fast part (``Stage.fast``, a :class:`FastPart`)
turns the scenario and the output of the stage before it into its own output, its records, its
queues' totals and the increments of its time series. Its queues are exact FCFS recursions
compiled with numba (:mod:`yzt.sim.fastqueue`, :mod:`yzt.sim.kernels`), shared by the stages;
this module is the driver and the helpers they share, and names no stage.

``run_replication_fast(sc, seed, replication)`` returns the same
:class:`~yzt.sim.records.ReplicationRecords` as the SimPy engine, so every metric and SLA row is
computed by :mod:`yzt.sim.results` unchanged.

Random streams are keyed as in :mod:`yzt.sim.rng`; each stage's module says which of its draws
equal the SimPy engine's draw for draw. The receivers of what a stage hands on (the stages after
it that act on a share of its queries, like :meth:`yzt.sim.engine.Model.count`) are drawn here,
vectorised, in one shared stream for all of them (:meth:`FastPart.picks`): the same
distribution and keyed stream as the SimPy engine, not draw for draw (SimPy interleaves them
with the events).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from yzt.sim import kernels, stages
from yzt.sim.callcentre import agents_at
from yzt.sim.records import ReplicationRecords, StationRecord
from yzt.sim.rng import Streams
from yzt.sim.scenario import Scenario, Shift

if TYPE_CHECKING:
    from yzt.sim import fastqueue as fq
else:  # numba loads when a kernel first runs, not with the stage registry
    fq = kernels.lazy_kernels()

#: Above this many verified queries the per-call ``durations`` lists are not kept (they exist
#: for common-random-number checks; at a national day they would be ~100 M floats).
KEEP_DURATIONS_MAX_QUERIES = 50_000


def refusals(sc: Scenario) -> list[str]:
    """Features of ``sc`` the fast engine cannot represent exactly (empty: it can run ``sc``).

    Every feature of the current scenario format is feed-forward and is represented exactly; a
    registered stage with a SimPy part and no fast part is named here, and so must a feature
    that couples stages (a global concurrency cap, users retrying into the front door) be
    before the fast engine accepts it.
    """
    del sc
    return [f"stage {st.name!r} has no fast part (Stage.fast)" for st in stages.stages()
            if st.simpy is not None and st.fast is None]


# -- helpers the stages share -----------------------------------------------------------------------
def _ts_times(sc: Scenario, end_s: float) -> list[float]:
    """The SimPy sampler's times (seconds), accumulated the same way."""
    step = sc.sample_every_min * 60.0
    until = min(end_s, (sc.horizon_h + sc.deadline_h) * 3600.0)
    out = []
    t = 0.0
    while t <= until and (t < end_s or t == 0.0):
        out.append(t)
        t = t + step
    return out


def steps(shifts: tuple[Shift, ...], end_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Servers as a step function: breakpoints (s) and the count from each one on."""
    points = sorted({h for s in shifts for h in (s.start_h, s.end_h)} | {0.0})
    days = int(end_s // 86_400.0) + 3
    ts = [0.0]
    cs = [float(agents_at(shifts, 0.0))]
    for d in range(days):
        for h in points:
            t = d * 86_400.0 + h * 3600.0
            if t <= 0.0:
                continue
            c = float(agents_at(shifts, t))
            if t == ts[-1]:
                cs[-1] = c
            else:
                ts.append(t)
                cs.append(c)
    return np.asarray(ts), np.asarray(cs)


def _cum(inc: np.ndarray, m: int) -> list[float]:
    return [float(v) for v in np.cumsum(inc)[:m]]


class Key(tuple):  # type: ignore[type-arg]
    """A memo key that computes its hash once: the stages' keys nest the keys of the stages
    before them (one holds every operator node's parameters), and one candidate looks up
    dozens of keys that share them (a stage's per operator). Equal to, and hashed as, the plain
    tuple."""

    def __hash__(self) -> int:
        h: int | None = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = tuple.__hash__(self)
        return h


class Lru:
    """A small least-recently-used memo. Its own lock guards each change and :meth:`values`, so
    another thread may measure it (``yzt plan`` sums every replication's memo while a thread
    runs one): its keys hash in Python, so even one ``list(...)`` of an ``OrderedDict`` lets
    another thread move an entry halfway."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def values(self) -> list[Any]:
        """A snapshot of the values."""
        with self._lock:
            return list(self.items.values())

    def keep_only(self, keys: set[Any]) -> None:
        """Drop every entry but those of ``keys`` and the most recently used one."""
        with self._lock:
            last = next(reversed(self.items), None)
            for key in [k for k in self.items if k != last and k not in keys]:
                del self.items[key]

    def put(self, key: Any, value: Any) -> Any:
        with self._lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
            return value


def station_record(name: str, out: np.ndarray, end_s: float) -> StationRecord:
    """A queue's totals from a station kernel's output vector."""
    started = int(out[fq.S_STARTED])
    abandoned = int(out[fq.S_ABANDONED])
    return StationRecord(name, int(out[fq.S_ARRIVALS]), started, abandoned, started + abandoned,
                         float(out[fq.S_WAIT_SUM]), float(out[fq.S_SERVICE_SUM]),
                         float(out[fq.S_QUEUE_AREA]), float(out[fq.S_BUSY_AREA]),
                         int(out[fq.S_MAX_QUEUE]), end_s)


def run_station(jobs: kernels.StationJobs, station: kernels.StationParams,
                 draws: dict[str, Any], clock: kernels.Clock, m: int) -> tuple[
                     np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Run :func:`fastqueue.staffed_station`, drawing longer prefixes while a stream runs short.

    ``draws``: :class:`~yzt.sim.kernels.StationDraws` field → (function of a size giving that
    many draws, initial size). Returns the output vector, the queue and busy increments and the
    processed jobs (``id``, ``arr``, ``start``, ``leave``, ``flags``)."""
    sizes = {name: v[1] for name, v in draws.items()}
    room = jobs.arrival.size * 2 + 256
    while True:
        d = kernels.StationDraws(**{name: draws[name][0](sizes[name]) for name in draws})
        dest = kernels.StationOutputs(
            inc_queue=np.zeros(m, np.int64), inc_busy=np.zeros(m, np.int64),
            job_id=np.empty(room, np.int64), job_arrival=np.empty(room),
            job_start=np.empty(room), job_leave=np.empty(room),
            job_flags=np.empty(room, np.int64))
        out = fq.staffed_station(jobs, station, d, clock, dest)
        status = int(out[fq.S_STATUS])
        if status == kernels.DONE:
            nj = int(out[fq.S_N_JOBS])
            j = {"id": dest.job_id, "arr": dest.job_arrival, "start": dest.job_start,
                 "leave": dest.job_leave, "flags": dest.job_flags}
            return out, dest.inc_queue, dest.inc_busy, {name: v[:nj] for name, v in j.items()}
        if status == kernels.STATION_SHORT_JOBS:
            room *= 2
        else:
            sizes[kernels.STATION_SHORT[status]] *= 2



# -- the contract of a stage's fast part ------------------------------------------------------------
@dataclass
class Flow:
    """One call of :meth:`StagedReplication.records`: the scenario, the clock the stages share
    and what they read of the replication."""

    sc: Scenario
    streams: Streams
    threads: int | None
    """Threads a stage may use (default: the CPU count); results do not depend on it."""
    end_s: float
    step: float
    """Seconds between samples of the time series."""
    m: int
    """Samples of the time series."""
    keep_durations: bool | None
    arrays: bool
    memo: Lru
    """A memo the stages share for their per-item runs (key them with the stage's name)."""
    once: bool = False
    """No later candidate reads this replication (``yzt sim``): a stage need not keep what only
    saves a later candidate a rerun (its per-item runs, what it would swap an item with)."""

    @property
    def timing(self) -> tuple[float, ...]:
        """What every stage's output depends on besides its own parameters (the first stage's
        memo key includes it, so every key after it does)."""
        sc = self.sc
        return (sc.horizon_h, sc.drain_h, sc.deadline_h, sc.sample_every_min, sc.one_in)

    @property
    def clock(self) -> kernels.Clock:
        return kernels.Clock(end_s=self.end_s, step_s=self.step)

    def out(self, a: np.ndarray) -> Any:
        """A per-query field of the records: the array itself (shared with the memo, not copied)
        or a list."""
        return a if self.arrays else a.tolist()


@dataclass
class Step:
    """What a stage's fast part produced in one call."""

    key: Hashable
    """Its memo key: what its output is a function of (the keys of the stages after it include
    it)."""
    records: Any
    """Its records (``Stage.records``)."""
    out: Any = None
    """What the stages after it read."""
    stations: list[StationRecord] = field(default_factory=list)
    series: Sequence[np.ndarray] = ()
    """Per declared time series (``Stage.series``): its change at each sample (summed up here)."""
    emitted: Callable[[], np.ndarray] | None = None
    """The times its queries leave it, in that order (the receivers' draws read them)."""


@dataclass(frozen=True)
class Pick:
    """One kind of receiver of what a stage hands on: a query that leaves it stands for
    ``one_in`` people, each of whom acts with probability ``sum(weights)``, picks who among
    ``ids`` by ``weights`` and acts after an exponential delay of mean ``mean_s``."""

    ids: tuple[str, ...]
    weights: tuple[float, ...]
    mean_s: float


@dataclass
class Offers:
    """Receivers drawn for the stages after one stage: per :class:`Pick` of a stage, the index
    into the pick's ``ids`` and the time of each."""

    key: Hashable
    columns: list[tuple[np.ndarray, np.ndarray]]


class FastPart:
    """A stage's part of the fast engine, one per :class:`StagedReplication` (it may keep a memo
    of its outputs keyed on what it reads; the records must be a fresh run's, bit for bit)."""

    def run(self, flow: Flow, up: Step | None, offers: Offers | None) -> Step:
        """Run the stage: ``up`` is the step of the stage it receives from (``Stage.after``),
        ``offers`` its receivers when it declares :meth:`picks`."""
        raise NotImplementedError

    def picks(self, sc: Scenario) -> list[Pick] | None:
        """Its receivers of the stage before (``None``: it draws none); the stages after one
        stage draw theirs together, in flow order."""
        del sc
        return None

    @property
    def nbytes(self) -> int:
        """Bytes held by the large per-query arrays of its memo."""
        return 0

    def trim(self) -> None:
        """Drop what of its memo only saves time on a later candidate, not what the next
        candidate reads (called when the memo is over its bound, before whole replications
        are dropped)."""


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index chosen by :meth:`yzt.sim.engine.Cumulative.pick` for uniforms ``u``."""
    total = cum[-1]
    return np.asarray(np.minimum(np.searchsorted(cum, u * total, side="right"), cum.size - 1))


def _offers(sc: Scenario, streams: Streams, picks: list[Pick],
            when: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Who acts on which query, with whom, and when (vectorised over the queries ``when``)."""
    nd = when.size
    k = len(picks)
    g_after = streams.generator("platform", "after-reply")
    if sc.one_in == 1:
        u = g_after.random((nd, k))
        counts = (u < np.asarray([sum(p.weights) if p.weights else 0.0 for p in picks])
                  ).astype(np.int64)
    else:
        g_counts = streams.generator("platform", "after-reply-counts")
        p = np.asarray([min(sum(x.weights), 1.0) if x.weights else 0.0 for x in picks])
        counts = g_counts.binomial(sc.one_in, p, size=(nd, k)) \
            if nd else np.zeros((0, k), np.int64)
    offers: list[tuple[np.ndarray, np.ndarray]] = []  # per pick: (index into its ids, time)
    for j, pk in enumerate(picks):
        total = int(counts[:, j].sum()) if nd else 0
        if total == 0 or not pk.ids:
            offers.append((np.zeros(0, np.int64), np.zeros(0)))
            continue
        base = np.repeat(when, counts[:, j])
        who = _pick(np.cumsum(pk.weights), g_after.random(total))
        offers.append((who, base + pk.mean_s * g_after.standard_exponential(total)))
    return offers


# -- the replication ------------------------------------------------------------------------------
class StagedReplication:
    """One replication of one seed, stage by stage, each stage memoised on what it reads.

    The model is feed-forward, and every stage draws from its own keyed streams, so a stage's
    output is a function of its parameters and the outputs before it. Running several variants of a
    scenario through one ``StagedReplication`` (what ``yzt plan`` does with its candidates) reruns
    only the stages whose inputs changed (a stage's part keeps the memo of its outputs, keyed on
    the parameter objects it reads, which are frozen dataclasses, and on the key of the stage
    before it), so the records are the same as a fresh run's, bit for bit (tested).
    """

    def __init__(self, seed: int, replication: int, threads: int | None = None,
                 once: bool = False) -> None:
        self.seed = seed
        self.replication = replication
        self.threads = threads
        self.once = once
        """Run one scenario only (:attr:`Flow.once`): same records, a fraction of the memory."""
        self.streams = Streams(seed, replication)
        fq.check_cache()
        self.lock = threading.Lock()
        """Held by a caller that shares this object between threads (the memo is not
        thread-safe)."""
        self._parts: dict[str, FastPart] = {}
        self._offers = Lru(3)
        self._memo = Lru(1024)

    def _part(self, st: stages.Stage) -> FastPart:
        part = self._parts.get(st.name)
        if part is None:
            assert st.fast is not None
            part = self._parts[st.name] = st.fast()
        return part

    @property
    def nbytes(self) -> int:
        """Bytes held by the large per-query arrays of the memo."""
        return sum(p.nbytes for p in list(self._parts.values()))

    def trim(self) -> None:
        """Each stage's :meth:`FastPart.trim` (hold :attr:`lock`)."""
        for p in list(self._parts.values()):
            p.trim()

    def records(self, sc: Scenario, keep_durations: bool | None = None, arrays: bool = False,
                upto: str = "all") -> ReplicationRecords:
        """The records of ``sc`` for this replication; ``arrays``: per-query fields as numpy
        arrays (shared with the memo, not copied) instead of lists; ``upto``: stop after that
        stage (a resource's ``upto``: what its rows need); the stages after it leave no
        records."""
        flow_stages = [st for st in stages.stages() if st.fast is not None]
        if upto != "all" and upto not in [st.name for st in flow_stages]:
            raise ValueError(f"upto must be 'all' or one of "
                             f"{', '.join(st.name for st in flow_stages)}, not {upto!r}")
        problems = refusals(sc)
        if problems:
            raise ValueError("the fast engine cannot run this scenario exactly: "
                             + "; ".join(problems))
        end_s = (sc.horizon_h + sc.drain_h) * 3600.0
        times = _ts_times(sc, end_s)
        m = len(times)
        flow = Flow(sc, self.streams, self.threads, end_s, sc.sample_every_min * 60.0, m,
                    keep_durations, arrays, self._memo, self.once)
        if upto != "all":
            last = stages.stage(upto).order
            flow_stages = [st for st in flow_stages if st.order <= last]
        parts = [(st, self._part(st)) for st in flow_stages]
        picks = {st.name: part.picks(sc) for st, part in parts}
        done: dict[str, Step] = {}
        offers: dict[str, Offers] = {}
        for st, part in parts:
            up = done[st.after] if st.after is not None else None
            if picks[st.name] is not None and st.name not in offers:
                assert up is not None and st.after is not None
                self._draw_receivers(sc, st.after, up, parts, picks, offers)
            done[st.name] = part.run(flow, up, offers.get(st.name))

        timeseries: dict[str, list[float]] = {"t_h": [t / 3600.0 for t in times]}
        zero = np.zeros(m, np.int64)
        for st in stages.stages():
            step = done.get(st.name)
            for i, s in enumerate(st.series):
                timeseries[s.key] = _cum(step.series[i] if step is not None else zero, m)
        return ReplicationRecords(
            replication=self.replication, seed=self.seed, one_in=sc.one_in,
            horizon_s=sc.horizon_h * 3600.0, end_s=end_s, deadline_s=sc.deadline_h * 3600.0,
            operators=[op.id for op in sc.operators],
            stations=[s for step in done.values() for s in step.stations],
            timeseries=timeseries, events=0,
            stages={name: step.records for name, step in done.items()},
        )

    def _draw_receivers(self, sc: Scenario, before: str, up: Step,
                        parts: list[tuple[stages.Stage, FastPart]],
                        picks: dict[str, list[Pick] | None], offers: dict[str, Offers]) -> None:
        """The receivers of every stage after ``before`` that draws them, in one shared draw."""
        group = [(st.name, p) for st, _ in parts if st.after == before
                 for p in [picks[st.name]] if p is not None]
        flat = [pk for _, p in group for pk in p]
        key: Hashable = Key((up.key, tuple(flat)))
        hit = self._offers.get(key)
        if hit is None:
            assert up.emitted is not None, f"stage {before!r} hands on no times to draw receivers of"
            hit = self._offers.put(key, (key, _offers(sc, self.streams, flat, up.emitted())))
        key, columns = hit  # the memo's own key: the receivers' keys compare it by identity
        at = 0
        for name, p in group:
            offers[name] = Offers(key, columns[at:at + len(p)])
            at += len(p)


def run_replication_fast(sc: Scenario, seed: int, replication: int, threads: int | None = None,
                         keep_durations: bool | None = None) -> ReplicationRecords:
    """One replication of ``sc`` with the fast engine; same records as the SimPy engine.

    ``threads``: a stage's independent parts run on this many threads (default: the CPU count).
    Results do not depend on it. ``keep_durations``: keep every successful call's duration
    (default: only for runs of at most :data:`KEEP_DURATIONS_MAX_QUERIES` verified queries).
    """
    return StagedReplication(seed, replication, threads, once=True).records(sc, keep_durations)
