"""The fast engine: the same model as :mod:`yzt.sim.engine`, stage by stage without an event loop.

The model is feed-forward (front door → fan-out → max over nodes → SMS → hotline and back office),
so each stage can be run whole once the previous one is known, and each queue is an exact FCFS
recursion (:mod:`yzt.sim.fastqueue`, compiled with numba):

1. front door: :func:`yzt.sim.arrivals.front_door`, the same code and draws as the SimPy engine;
2. each fan-out node, independently (on several threads): its queries' calls through
   ``concurrency`` connections, retries merged back into its queue; per query only the running
   maximum of answer times and a give-up flag are kept (no queries × nodes matrix);
3. the SMS gateway over the complete replies, in reply order;
4. after-reply draws (vectorised), then each hotline and back office as a staffed station.

``run_replication_fast(sc, seed, replication)`` returns the same
:class:`~yzt.sim.records.ReplicationRecords` as the SimPy engine, so every metric and SLA row is
computed by :mod:`yzt.sim.results` unchanged.

Random streams are keyed as in :mod:`yzt.sim.rng`. Draw for draw equal to the SimPy engine: the
front door; each node's latency, failure and back-off draws; the SMS failure and delivery draws;
hotline handle and patience draws and back-office work draws whenever the arrivals are the same.
Not draw for draw (same distribution, same keyed stream): the after-reply picks and delays
(SimPy interleaves buffered uniform and exponential blocks), the hotline background gaps and
closed-hours offsets (SimPy shares one stream between them in event order), repeat-call draws
and back-office external delays (SimPy draws them in finish order).
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from yzt.sim import fastqueue as fq
from yzt.sim import kernels
from yzt.sim.arrivals import front_door
from yzt.sim.callcentre import agents_at
from yzt.sim.operators import REFUSE_S
from yzt.sim.records import (
    CallCounts,
    CaseRecord,
    HotlineRecord,
    OperatorRecord,
    ReplicationRecords,
    StationRecord,
)
from yzt.sim.rng import Streams
from yzt.sim.scenario import OperatorParams, Scenario, Shift

#: Above this many verified queries the per-call ``durations`` lists are not kept (they exist
#: for common-random-number checks; at a national day they would be ~100 M floats).
KEEP_DURATIONS_MAX_QUERIES = 50_000


def refusals(sc: Scenario) -> list[str]:
    """Features of ``sc`` the fast engine cannot represent exactly (empty: it can run ``sc``).

    Every feature of the current scenario format is feed-forward and is represented exactly, so
    this is empty today; it is the one place a feature that couples stages (a global concurrency
    cap, users retrying into the front door) must be named before the fast engine accepts it.
    """
    del sc
    return []


# -- helpers -------------------------------------------------------------------------------------
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


def _steps(shifts: tuple[Shift, ...], end_s: float) -> tuple[np.ndarray, np.ndarray]:
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


def _servers(op: OperatorParams, one_in: int) -> int:
    conc = op.concurrency
    return 0 if conc is None else max(1, round(conc / one_in))


@dataclass
class _NodeRun:
    """One fan-out node's answers per query and its counts."""

    done_max: np.ndarray
    done_fail: np.ndarray
    done_nd: np.ndarray
    inc_q: np.ndarray
    inc_b: np.ndarray
    counts: CallCounts
    station: StationRecord


def _run_node(sc: Scenario, streams: Streams, nid: str, op: OperatorParams, arr: np.ndarray,
              end_s: float, step: float, m: int, keep: bool) -> _NodeRun:
    n = arr.size
    r = op.retry
    node = kernels.NodeParams(
        deadline_s=sc.deadline_h * 3600.0,
        servers=_servers(op, sc.one_in),
        latency_median_s=op.latency.median,
        latency_sigma=op.latency.sigma,
        timeout_s=op.timeout_s,
        failure_ratio=op.failure_ratio,
        refuse_s=REFUSE_S,
        outage_start_s=np.asarray([o.start_h * 3600.0 for o in op.outages], dtype=np.float64),
        outage_end_s=np.asarray([(o.start_h + o.duration_h) * 3600.0 for o in op.outages],
                                dtype=np.float64),
        outage_mode=np.asarray([kernels.OUTAGE_REFUSES if o.mode == "refuse"
                                else kernels.OUTAGE_TIMES_OUT for o in op.outages],
                               dtype=np.int64),
        backoff_initial_s=r.backoff_initial_s,
        backoff_factor=r.backoff_factor,
        backoff_max_s=r.backoff_max_s,
        jitter=r.jitter,
        max_attempts=r.max_attempts or 0,
    )
    clock = kernels.Clock(end_s=end_s, step_s=step)
    size = {"latency": n + n // 32 + 256, "failure": n + n // 32 + 256, "backoff": n // 16 + 256}
    if op.outages:
        size = {name: 2 * s for name, s in size.items()}
    while True:
        draws = kernels.NodeDraws(
            latency=streams.generator(nid, "latency").standard_normal(size["latency"]),
            failure=streams.generator(nid, "failure").random(size["failure"]),
            backoff=streams.generator(nid, "backoff").random(size["backoff"]),
        )
        dest = kernels.NodeOutputs(
            inc_queue=np.zeros(m, np.int64),
            inc_busy=np.zeros(m, np.int64),
            done_max=np.full(n, -math.inf),
            done_fail=np.zeros(n, bool),
            done_nd=np.zeros(n, bool),
            durations=np.empty(size["latency"] if keep else 0, np.float64),
            keep_durations=keep,
        )
        out = fq.fanout_node(arr, node, draws, clock, dest)
        status = int(out[fq.F_STATUS])
        if status == kernels.DONE:
            break
        # a stream ran short: draw a longer prefix of the same streams and run the node again
        # (the answers of the prefix are identical, so the per-query maxima are unaffected)
        size[kernels.NODE_SHORT[status]] *= 2
    cc = CallCounts(
        attempts=int(out[fq.F_ATTEMPTS]), successes=int(out[fq.F_SUCCESSES]),
        errors=int(out[fq.F_ERRORS]), timeouts=int(out[fq.F_TIMEOUTS]),
        outage_failures=int(out[fq.F_OUTAGE]), retries=int(out[fq.F_RETRIES]),
        gave_up=int(out[fq.F_GAVE_UP]), latency_sum=float(out[fq.F_LATENCY_SUM]),
        durations=dest.durations[: int(out[fq.F_N_DURATIONS])].tolist() if keep else [],
    )
    st = StationRecord(f"{nid}/fanout", int(out[fq.F_ARRIVALS]), int(out[fq.F_STARTED]), 0,
                       int(out[fq.F_STARTED]), float(out[fq.F_WAIT_SUM]),
                       float(out[fq.F_SERVICE_SUM]), float(out[fq.F_QUEUE_AREA]),
                       float(out[fq.F_BUSY_AREA]), int(out[fq.F_MAX_QUEUE]), end_s)
    return _NodeRun(dest.done_max, dest.done_fail, dest.done_nd, dest.inc_queue, dest.inc_busy,
                    cc, st)


@dataclass
class _Fanout:
    """Every node's answers combined per query: the reply time is the largest answer.

    With ``second`` set (a product computed node by node), one node can be swapped for a rerun
    of it exactly (:func:`yzt.sim.fastqueue.fold_node`); a swapped product has no ``second``.
    """

    node_keys: dict[str, Any]
    done_max: np.ndarray
    fail_count: np.ndarray
    nd_count: np.ndarray
    inc_q: np.ndarray
    inc_b: np.ndarray
    node_fail: dict[str, np.ndarray]
    """Per node: the queries it gave up on (indices)."""
    node_nd: dict[str, np.ndarray]
    node_inc: dict[str, tuple[np.ndarray, np.ndarray]]
    results: dict[str, tuple[CallCounts, StationRecord]]
    second: np.ndarray | None = None
    arg: np.ndarray | None = None
    send: tuple[np.ndarray, np.ndarray] | None = None
    """Complete replies in the order their last answer came in (queries, times): the SMS
    gateway's arrivals."""
    base: _Fanout | None = None
    """For a swapped product: the product it was swapped from (its ``send`` is merged with the
    queries whose reply changed instead of sorting every reply again)."""

    @property
    def nbytes(self) -> int:
        arrays = [self.done_max, self.fail_count, self.nd_count, self.second, self.arg,
                  *(self.send or ())]
        return sum(a.nbytes for a in arrays if a is not None)

    def add(self, index: int, nid: str, run: _NodeRun) -> None:
        assert self.second is not None and self.arg is not None
        fq.fold_node(index, run.done_max, run.done_fail, run.done_nd, self.done_max, self.second,
                     self.arg, self.fail_count, self.nd_count)
        self._keep(nid, run)
        self.inc_q += run.inc_q
        self.inc_b += run.inc_b

    def _keep(self, nid: str, run: _NodeRun) -> None:
        self.node_fail[nid] = np.flatnonzero(run.done_fail)
        self.node_nd[nid] = np.flatnonzero(run.done_nd)
        self.node_inc[nid] = (run.inc_q, run.inc_b)
        self.results[nid] = (run.counts, run.station)

    def swapped(self, index: int, nid: str, key: Any, run: _NodeRun) -> _Fanout:
        """This combination with node ``nid`` (at ``index``) replaced by ``run``."""
        assert self.second is not None and self.arg is not None
        others = np.where(self.arg == index, self.second, self.done_max)
        fc = self.fail_count.copy()
        fc[self.node_fail[nid]] -= 1
        fc[run.done_fail] += 1
        nc = self.nd_count.copy()
        nc[self.node_nd[nid]] -= 1
        nc[run.done_nd] += 1
        old_q, old_b = self.node_inc[nid]
        out = _Fanout({**self.node_keys, nid: key}, np.maximum(others, run.done_max), fc, nc,
                      self.inc_q - old_q + run.inc_q, self.inc_b - old_b + run.inc_b,
                      dict(self.node_fail), dict(self.node_nd), dict(self.node_inc),
                      dict(self.results), base=self)
        out._keep(nid, run)
        return out

    def complete(self) -> np.ndarray:
        """Queries every node answered in the run (a reply is sent for them)."""
        complete: np.ndarray = (self.nd_count == 0) & (self.fail_count == 0)
        return complete

    def send_order(self) -> tuple[np.ndarray, np.ndarray]:
        """:attr:`send`, computed once: complete replies sorted by reply time, ties by query. A
        swapped product keeps its base's order for the replies that did not change and merges
        the changed ones in (the same order as a full sort, in linear time)."""
        if self.send is not None:
            return self.send
        complete = self.complete()
        base = self.base
        if base is not None and base.send is not None:
            b_q, b_t = base.send
            changed = (self.done_max != base.done_max) | (complete != base.complete())
            kept = ~changed[b_q]
            new_q = np.flatnonzero(changed & complete)
            new_q = new_q[np.argsort(self.done_max[new_q], kind="stable")]
            k = int(kept.sum()) + new_q.size
            send_q, send_t = np.empty(k, np.int64), np.empty(k, np.float64)
            fq.merge_sorted(b_t[kept], b_q[kept], np.ascontiguousarray(self.done_max[new_q]),
                            new_q.astype(np.int64), send_t, send_q)
        else:
            send = np.flatnonzero(complete)
            send_q = np.ascontiguousarray(send[np.argsort(self.done_max[send], kind="stable")],
                                          dtype=np.int64)
            send_t = np.ascontiguousarray(self.done_max[send_q])
        self.send = (send_q, send_t)
        self.base = None  # the order is known: the base may leave the memo
        return self.send


@dataclass
class _Sms:
    delivered: np.ndarray
    delivered_q: np.ndarray
    """Queries in delivery order."""
    inc: np.ndarray
    station: StationRecord
    failures: int

    @property
    def nbytes(self) -> int:
        return int(self.delivered.nbytes + self.delivered_q.nbytes)


class _Lru:
    """A small least-recently-used memo."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        hit = self.items.get(key)
        if hit is not None:
            self.items.move_to_end(key)
        return hit

    def put(self, key: Any, value: Any) -> Any:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


def _upstream_of(op: OperatorParams) -> OperatorParams:
    """What a fan-out node reads of its operator: everything but the hotline, back office, SLA."""
    return replace(op, hotline=None, backoffice=None, sla=None)  # type: ignore[arg-type]


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index chosen by ``_Cumulative.pick`` for uniforms ``u``."""
    total = cum[-1]
    return np.asarray(np.minimum(np.searchsorted(cum, u * total, side="right"), cum.size - 1))


# -- the replication ------------------------------------------------------------------------------
class StagedReplication:
    """One replication of one seed, stage by stage, each stage memoised on what it reads.

    The model is feed-forward, and every stage draws from its own keyed streams, so a stage's
    output is a function of its parameters and the outputs before it. Running several variants of a
    scenario through one ``StagedReplication`` (what ``yzt plan`` does with its candidates) reruns
    only the stages whose inputs changed: a new hotline head count reruns that hotline, a new
    connection count reruns that node (swapped into the combination, :class:`_Fanout`), the SMS
    gateway and what follows. Memo keys are the parameter objects each stage reads (frozen
    dataclasses), so the records are the same as a fresh run's, bit for bit (tested).
    """

    def __init__(self, seed: int, replication: int, threads: int | None = None) -> None:
        self.seed = seed
        self.replication = replication
        self.threads = threads
        self.streams = Streams(seed, replication)
        fq.check_cache()
        self.lock = threading.Lock()
        """Held by a caller that shares this object between threads (the memo is not
        thread-safe)."""
        self._front = _Lru(1)
        self._fanout = _Lru(2)
        """Combinations computed node by node (a node can be swapped out of them)."""
        self._swapped = _Lru(2)
        """Combinations with one node swapped in."""
        self._sms = _Lru(3)
        self._after = _Lru(3)
        self._stations = _Lru(1024)
        self._sms_u: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held by the large per-query arrays of the memo."""
        total = sum(int(f.verified_at.nbytes) for f in self._front.items.values())
        total += sum(int(f.nbytes) for lru in (self._fanout, self._swapped)
                     for f in lru.items.values())
        total += sum(int(a.nbytes) for a in self._sms_u or ())
        return total + sum(int(s.nbytes) for s in self._sms.items.values())

    def records(self, sc: Scenario, keep_durations: bool | None = None, arrays: bool = False,
                upto: str = "all") -> ReplicationRecords:
        """The records of ``sc`` for this replication; ``arrays``: per-query fields as numpy
        arrays (shared with the memo, not copied) instead of lists; ``upto="sms"``: stop after
        the SMS gateway (no hotline and back-office records: what the platform's row needs)."""
        if upto not in ("all", "sms"):
            raise ValueError(f"upto must be 'all' or 'sms', not {upto!r}")
        problems = refusals(sc)
        if problems:
            raise ValueError("the fast engine cannot run this scenario exactly: "
                             + "; ".join(problems))
        from yzt.sim.engine import node_ids

        end_s = (sc.horizon_h + sc.drain_h) * 3600.0
        deadline_s = sc.deadline_h * 3600.0
        step = sc.sample_every_min * 60.0
        times = _ts_times(sc, end_s)
        m = len(times)
        timing = (sc.horizon_h, sc.drain_h, sc.deadline_h, sc.sample_every_min, sc.one_in)
        front_key = (timing, sc.arrivals, sc.verification)
        front = self._front.get(front_key) or self._front.put(front_key,
                                                              front_door(sc, self.streams))
        verified = np.ascontiguousarray(front.verified_at, dtype=np.float64)
        n = verified.size
        keep = n <= KEEP_DURATIONS_MAX_QUERIES if keep_durations is None else keep_durations

        nodes = [(nid, op) for op in sc.operators for nid in node_ids(sc, op)]
        keys = {nid: _upstream_of(op) for nid, op in nodes}
        fan_key = (front_key, keep, tuple(keys.items()))
        fan = self._fanout.get(fan_key) or self._swapped.get(fan_key)
        if fan is None:
            fan = self._fanout_stage(sc, nodes, keys, front_key, keep, verified, end_s, step, m)
            (self._fanout if fan.second is not None else self._swapped).put(fan_key, fan)
        fanout_done = np.where(fan.nd_count > 0, np.nan, fan.done_max)

        sms_key = (fan_key, sc.sms)
        sms = self._sms.get(sms_key) or self._sms.put(sms_key, self._sms_stage(
            sc, fan, n, end_s, step, m))

        # the stages after the gateway (replies' calls and cases), unless the caller stops there
        after = upto != "sms"
        hot_ops = [op for op in sc.operators if op.hotline.enabled] if after else []
        after_ops = list(sc.operators) if after else []
        after_key = (sms_key, sc.after_reply,
                     tuple((op.id, op.card_share, op.hotline.enabled) for op in sc.operators))
        offers = (self._after.get(after_key) or self._after.put(after_key, self._after_stage(
            sc, hot_ops, sms.delivered[sms.delivered_q]))) if after else []

        stations: list[StationRecord] = []
        inc_h = np.zeros(m, np.int64)
        inc_bo = np.zeros(m, np.int64)
        hotlines: dict[str, HotlineRecord] = {}
        hot_who, hot_when = offers[0] if offers else (np.zeros(0, np.int64), np.zeros(0))
        for idx, op in enumerate(hot_ops):
            h_key = ("hotline", after_key, op.id, op.hotline, op.sla.hotline)
            h = self._stations.get(h_key) or self._stations.put(h_key, _hotline(
                sc, self.streams, op, hot_when[hot_who == idx], end_s, step, m))
            hotlines[op.id] = h[0]
            stations.append(h[1])
            inc_h += h[2]
        cases: dict[str, CaseRecord] = {}
        for idx, op in enumerate(after_ops):
            b_key = ("backoffice", after_key, op.id, op.backoffice, op.sla)
            b = self._stations.get(b_key) or self._stations.put(b_key, _backoffice(
                sc, self.streams, op, offers[1][1][offers[1][0] == idx],
                offers[2][1][offers[2][0] == idx], end_s, step, m))
            cases[op.id] = b[0]
            stations.append(b[1])
            inc_bo += b[2]

        ops: dict[str, OperatorRecord] = {op.id: OperatorRecord(id=op.id) for op in sc.operators}
        node_stations = []
        for nid, op in nodes:
            cc, st = fan.results[nid]
            ops[op.id].add(cc)
            node_stations.append(st)
        timeseries = {
            "t_h": [t / 3600.0 for t in times],
            "fanout_queue": _cum(fan.inc_q, m),
            "fanout_in_flight": _cum(fan.inc_b, m),
            "sms_backlog": _cum(sms.inc, m),
            "hotline_queue": _cum(inc_h, m),
            "backoffice_backlog": _cum(inc_bo, m),
        }
        complete = fan.fail_count == 0

        def out(a: np.ndarray) -> Any:
            return a if arrays else a.tolist()

        return ReplicationRecords(
            replication=self.replication, seed=self.seed, one_in=sc.one_in,
            horizon_s=sc.horizon_h * 3600.0, end_s=end_s, deadline_s=deadline_s,
            attempts=front.attempts, gave_up_verification=front.gave_up,
            failed_verification=front.failed, refused_24h=front.refused_24h,
            repeats_accepted=front.repeats_accepted,
            verified_at=out(verified), fanout_done=out(fanout_done),
            complete=out(complete), sms_delivered=out(sms.delivered),
            sms_failures=sms.failures,
            operators=ops, hotlines=hotlines, cases=cases,
            stations=[*node_stations, sms.station, *stations],
            timeseries=timeseries, events=0,
        )

    # -- stages ----------------------------------------------------------------------------------
    def _fanout_stage(self, sc: Scenario, nodes: list[tuple[str, OperatorParams]],
                      keys: dict[str, Any], front_key: Any, keep: bool, verified: np.ndarray,
                      end_s: float, step: float, m: int) -> _Fanout:
        """Nodes are independent given the arrivals: swap one into a memoised combination that
        differs in that node only, else run them all (on ``threads`` threads)."""
        index = {nid: i for i, (nid, _) in enumerate(nodes)}
        fan: _Fanout
        for (f_key, f_keep, _), fan in reversed(self._fanout.items.items()):
            if fan.second is None or f_key != front_key or f_keep != keep \
                    or fan.node_keys.keys() != keys.keys():
                continue
            differ = [nid for nid in keys if fan.node_keys[nid] != keys[nid]]
            if len(differ) == 1:
                nid = differ[0]
                op = dict(nodes)[nid]
                run = _run_node(sc, self.streams, nid, op, verified, end_s, step, m, keep)
                return fan.swapped(index[nid], nid, keys[nid], run)
        n = verified.size
        fan = _Fanout(dict(keys), np.full(n, -math.inf), np.zeros(n, np.int16),
                      np.zeros(n, np.int16), np.zeros(m, np.int64), np.zeros(m, np.int64), {}, {},
                      {}, {}, second=np.full(n, -math.inf), arg=np.full(n, -1, np.int16))
        lock = threading.Lock()

        def work(node: tuple[str, OperatorParams]) -> None:
            run = _run_node(sc, self.streams, node[0], node[1], verified, end_s, step, m, keep)
            with lock:
                fan.add(index[node[0]], node[0], run)

        threads = max(1, min(self.threads or os.cpu_count() or 1, len(nodes)))
        if threads == 1:
            for node in nodes:
                work(node)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(work, nodes))
        return fan

    def _sms_stage(self, sc: Scenario, fan: _Fanout, n: int, end_s: float, step: float,
                   m: int) -> _Sms:
        """Complete replies in the order their last answer came in, through the gateway."""
        send_q, send_t = fan.send_order()  # the same for every SMS gateway after this fan-out
        sms = sc.sms
        submit_s = sms.channels / (sms.rate_per_s / sc.one_in)
        sent = send_q.size
        fsize = sent + sent // 8 + 256
        gateway = kernels.GatewayParams(
            channels=sms.channels, submit_s=submit_s, failure_ratio=sms.failure_ratio,
            retry_s=sms.retry_backoff_s, delivery_median_s=sms.delivery.median,
            delivery_sigma=sms.delivery.sigma)
        clock = kernels.Clock(end_s=end_s, step_s=step)
        while True:
            fail_u, deliv = self._sms_draws(fsize)
            dest = kernels.GatewayOutputs(
                inc_backlog=np.zeros(m, np.int64),
                delivered=np.full(n, np.nan),
                order_query=np.empty(max(sent, 1), np.int64),
                order_finish=np.empty(max(sent, 1), np.float64),
            )
            out = fq.sms_gateway(send_t, send_q, gateway,
                                 kernels.GatewayDraws(failure=fail_u, delivery=deliv), clock, dest)
            if out[fq.S_STATUS] == kernels.DONE:
                break
            fsize *= 2  # either stream ran short: both are drawn together
        # the gateway abandons nothing (its kernel leaves S_ABANDONED at 0)
        return _Sms(dest.delivered, dest.order_query[:int(out[fq.S_N_JOBS])].copy(),
                    dest.inc_backlog, _station_record("sms", out, end_s),
                    int(out[fq.S_FAILURES]))

    def _sms_draws(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The gateway's failure and delivery draws, at least ``size`` of each. They are prefixes
        of their streams, and the kernel reads them in order, so one longer draw serves every
        candidate (the kernel stops at the same draws with a longer array)."""
        if self._sms_u is None or self._sms_u[0].size < size:
            self._sms_u = (self.streams.generator("sms", "failure").random(size),
                           self.streams.generator("sms", "delivery").standard_normal(size))
        return self._sms_u

    def _after_stage(self, sc: Scenario, hot_ops: list[OperatorParams],
                     deliv_t: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Who calls which hotline, who raises which case, and when (vectorised)."""
        nd = deliv_t.size
        after = sc.after_reply
        holds = {op.id: min(1.0, op.card_share * after.customer_factor) for op in sc.operators}
        all_ids = [op.id for op in sc.operators]
        picks = [
            ([op.id for op in hot_ops], [holds[op.id] * after.hotline_share for op in hot_ops]),
            (all_ids, [holds[i] * after.dispute_share for i in all_ids]),
            (all_ids, [holds[i] * after.cancellation_share for i in all_ids]),
        ]
        g_after = self.streams.generator("platform", "after-reply")
        if sc.one_in == 1:
            u = g_after.random((nd, 3))
            counts = (u < np.asarray([sum(w) if w else 0.0 for _, w in picks])).astype(np.int64)
        else:
            g_counts = self.streams.generator("platform", "after-reply-counts")
            p = np.asarray([min(sum(w), 1.0) if w else 0.0 for _, w in picks])
            counts = g_counts.binomial(sc.one_in, p, size=(nd, 3)) \
                if nd else np.zeros((0, 3), np.int64)
        offers: list[tuple[np.ndarray, np.ndarray]] = []  # per kind: (operator index, time)
        for j, (ids, w) in enumerate(picks):
            total = int(counts[:, j].sum()) if nd else 0
            if total == 0 or not ids:
                offers.append((np.zeros(0, np.int64), np.zeros(0)))
                continue
            base = np.repeat(deliv_t, counts[:, j])
            who = _pick(np.cumsum(w), g_after.random(total))
            mean = after.call_delay_mean_min * 60.0 if j == 0 else after.case_delay_mean_h * 3600.0
            offers.append((who, base + mean * g_after.standard_exponential(total)))
        return offers


def run_replication_fast(sc: Scenario, seed: int, replication: int, threads: int | None = None,
                         keep_durations: bool | None = None) -> ReplicationRecords:
    """One replication of ``sc`` with the fast engine; same records as the SimPy engine.

    ``threads``: fan-out nodes run on this many threads (default: the CPU count). Results do not
    depend on it. ``keep_durations``: keep every successful call's duration (default: only for
    runs of at most :data:`KEEP_DURATIONS_MAX_QUERIES` verified queries).
    """
    return StagedReplication(seed, replication, threads).records(sc, keep_durations)


def _station_record(name: str, out: np.ndarray, end_s: float) -> StationRecord:
    started = int(out[fq.S_STARTED])
    abandoned = int(out[fq.S_ABANDONED])
    return StationRecord(name, int(out[fq.S_ARRIVALS]), started, abandoned, started + abandoned,
                         float(out[fq.S_WAIT_SUM]), float(out[fq.S_SERVICE_SUM]),
                         float(out[fq.S_QUEUE_AREA]), float(out[fq.S_BUSY_AREA]),
                         int(out[fq.S_MAX_QUEUE]), end_s)


def _run_station(jobs: kernels.StationJobs, station: kernels.StationParams,
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


def _hotline(sc: Scenario, streams: Streams, op: OperatorParams, when: np.ndarray, end_s: float,
             step: float, m: int) -> tuple[HotlineRecord, StationRecord, np.ndarray]:
    p = op.hotline
    owner = op.id
    until = end_s
    bp = _steps(p.shifts, end_s)
    g_bg = streams.generator(owner, "hotline-background")
    # background calls: a Poisson stream while the hotline is open
    bg = np.zeros(0)
    if p.background_calls_per_h > 0:
        mean = 3600.0 / p.background_calls_per_h
        chunks = []
        t0 = 0.0
        while True:
            gaps = g_bg.standard_exponential(int(until / mean) + 64) * mean
            ts = t0 + np.cumsum(gaps)
            chunks.append(ts[ts < until])
            if ts[-1] >= until:
                break
            t0 = float(ts[-1])
        bg = np.concatenate(chunks)
        open_now = bp[1][np.maximum(np.searchsorted(bp[0], bg, side="right") - 1, 0)] > 0
        bg = bg[open_now]
    # callers after the reply: at the next opening (+ exponential 10 min) when closed
    when = np.sort(when)
    off = g_bg.standard_exponential(when.size + 256)
    calls = np.empty(when.size)
    used = 0
    for i, w in enumerate(when.tolist()):
        o = fq.next_open(bp[0], bp[1], w)
        if o < 0.0 or o >= until:
            calls[i] = math.inf
            continue
        if o > w:
            o += kernels.CALLBACK_AFTER_OPENING_MEAN_S * off[used]
            used += 1
        calls[i] = o
    calls = calls[calls < end_s]
    arr = np.concatenate([calls, bg])
    flags = np.concatenate([np.full(calls.size, kernels.FLAG_FROM_PLATFORM, np.int64),
                            np.zeros(bg.size, np.int64)])
    order = np.argsort(arr, kind="stable")
    arr = np.ascontiguousarray(arr[order])
    flags = np.ascontiguousarray(flags[order])
    n = arr.size
    if p.handle_time_sigma is None:
        def service(k: int) -> np.ndarray:
            g = streams.generator(owner, "hotline-handle")
            return np.asarray(g.standard_exponential(k) * p.handle_time_mean_s)
    else:
        s = float(p.handle_time_sigma)

        def service(k: int) -> np.ndarray:
            g = streams.generator(owner, "hotline-handle")
            return np.asarray(p.handle_time_mean_s * math.exp(-s * s / 2.0)
                              * np.exp(s * g.standard_normal(k)))

    def repeat_u(k: int) -> np.ndarray:
        return np.asarray(streams.generator(owner, "hotline-repeat").random(k))

    def repeat_e(k: int) -> np.ndarray:
        g = streams.generator(owner, "hotline-repeat")
        g.random(k)  # the uniforms come first in the same stream
        return np.asarray(g.standard_exponential(k))

    def offset(k: int) -> np.ndarray:
        return np.asarray(off[used:used + k]) if used + k <= off.size else np.concatenate(
            [off[used:], g_bg.standard_exponential(k - (off.size - used))])

    draws: dict[str, Any] = {
        "patience": (lambda k: np.asarray(streams.generator(owner, "hotline-patience")
                                          .standard_exponential(k)), n + n // 2 + 64),
        "service": (service, n + n // 2 + 64),
        "repeat_u": (repeat_u, n + n // 2 + 64),
        "repeat_e": (repeat_e, n + n // 2 + 64),
        "offset": (offset, 64),
    }
    station = kernels.StationParams(
        shift_start_s=bp[0], shift_servers=bp[1],
        patience_mean_s=math.inf if p.patience_mean_s is None else float(p.patience_mean_s),
        repeat_share=p.repeat_call_share, repeat_delay_mean_s=p.repeat_delay_mean_min * 60.0,
        callback_mean_s=kernels.CALLBACK_AFTER_OPENING_MEAN_S)
    jobs = kernels.StationJobs(arrival=arr, flags=flags, scale=np.ones(n))
    out, inc_q, _inc_b, j = _run_station(jobs, station, draws,
                                         kernels.Clock(end_s=end_s, step_s=step), m)
    answered = (j["start"] < math.inf) & (j["leave"] < end_s)
    abandoned = ((j["flags"] & kernels.FLAG_ABANDONED) > 0) & (j["leave"] < end_s)
    logged = answered | abandoned
    log_order = np.argsort(j["leave"][logged], kind="stable")
    a = j["arr"][logged][log_order]
    wait = np.where(answered[logged], j["start"][logged] - j["arr"][logged],
                    j["leave"][logged] - j["arr"][logged])[log_order]
    fl = j["flags"][logged][log_order]
    rec = HotlineRecord(owner, op.sla.hotline.answer_within_s, a.tolist(), wait.tolist(),
                        answered[logged][log_order].tolist(),
                        ((fl & kernels.FLAG_REPEAT) > 0).tolist(),
                        ((fl & kernels.FLAG_FROM_PLATFORM) > 0).tolist())
    return rec, _station_record(f"{owner}/hotline", out, end_s), inc_q


def _backoffice(sc: Scenario, streams: Streams, op: OperatorParams, disputes: np.ndarray,
                cancels: np.ndarray, end_s: float, step: float,
                m: int) -> tuple[CaseRecord, StationRecord, np.ndarray]:
    b = op.backoffice
    owner = op.id
    bp = _steps(b.shifts, end_s)
    raised = np.concatenate([disputes, cancels])
    is_d = np.concatenate([np.ones(disputes.size, bool), np.zeros(cancels.size, bool)])
    keep = raised < end_s
    raised, is_d = raised[keep], is_d[keep]
    order = np.argsort(raised, kind="stable")
    raised = np.ascontiguousarray(raised[order])
    is_d = is_d[order]
    n = raised.size
    scale = np.where(is_d, b.dispute_work_mean_min * 60.0, b.cancellation_work_mean_min * 60.0)
    draws: dict[str, Any] = {
        "patience": (lambda k: np.zeros(k), 1),
        "service": (lambda k: np.asarray(streams.generator(owner, "backoffice-work")
                                         .standard_exponential(k)), n + 64),
        "repeat_u": (lambda k: np.zeros(k), 1),
        "repeat_e": (lambda k: np.zeros(k), 1),
        "offset": (lambda k: np.zeros(k), 1),
    }
    # no patience, no repeats: the back office's queue is worked off in order
    station = kernels.StationParams(
        shift_start_s=bp[0], shift_servers=bp[1], patience_mean_s=math.inf, repeat_share=0.0,
        repeat_delay_mean_s=0.0, callback_mean_s=kernels.CALLBACK_AFTER_OPENING_MEAN_S)
    jobs = kernels.StationJobs(arrival=raised, flags=np.zeros(n, np.int64),
                               scale=np.ascontiguousarray(scale))
    out, _inc_q, inc_b, j = _run_station(jobs, station, draws,
                                         kernels.Clock(end_s=end_s, step_s=step), m)
    ext_z = streams.generator(owner, "backoffice-external").standard_normal(n)
    med = np.where(is_d, b.dispute_external.median, b.cancellation_external.median)
    sig = np.where(is_d, b.dispute_external.sigma, b.cancellation_external.sigma)
    external = np.where(med > 0, med * np.exp(sig * ext_z), 0.0)
    finish = j["leave"]
    closed = np.where((j["start"] < math.inf) & (finish < end_s), finish + external, np.nan)
    rec = CaseRecord(owner, op.sla.dispute_days * 86_400.0, op.sla.cancellation_hours * 3600.0,
                     np.where(is_d, "dispute", "cancellation").tolist(), raised.tolist(),
                     closed.tolist())
    return rec, _station_record(f"{owner}/backoffice", out, end_s), inc_b
