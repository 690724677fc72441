"""The fan-out: each verified query calls every operator node at once (connections, latency,
failures, timeouts, retries, outages; :mod:`yzt.sim.operators`); the reply waits for the last
answer. Planned resource: each operator's ``connections`` (its ``concurrency``), judged on the
platform's SLA-E2E-1 row, which every operator shares."""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from yzt.sim import fast, kernels
from yzt.sim.engine import node_ids
from yzt.sim.operators import REFUSE_S, OperatorNode
from yzt.sim.records import CallCounts, ReplicationRecords, StationRecord
from yzt.sim.scenario import Lognormal, OperatorParams, Outage, Retry, Scenario
from yzt.sim.stages import contract as c
from yzt.sim.stages import register
from yzt.sim.stages.frontdoor import judged_queries
from yzt.sim.stages.sections import Doc, Section
from yzt.sim.station import Station

if TYPE_CHECKING:
    from yzt.sim import fastqueue as fq
    from yzt.sim.engine import Model
else:  # numba loads when a kernel first runs, not with the stage registry
    fq = kernels.lazy_kernels()

STAGE_NAME, NAME = "fanout", "connections"


@dataclass
class OperatorRecord(CallCounts):
    """Fan-out outcomes at one operator (provincial nodes of a carrier summed)."""

    id: str = field(kw_only=True)


@dataclass
class FanoutRecords:
    """What the fan-out recorded, per query (indexed as the front door's ``verified_at``) and
    per operator."""

    fanout_done: list[float]
    """When the last node answered (NaN: a node never did within the run)."""
    complete: list[bool]
    """Every node answered (else no reply is sent)."""
    operators: dict[str, OperatorRecord]


def of(rec: ReplicationRecords) -> FanoutRecords:
    return rec.of(STAGE_NAME, FanoutRecords)


class Fanout:
    """The SimPy part: every query calls every operator node; a complete answer goes on."""

    def __init__(self, model: Model) -> None:
        self.m = m = model
        sc = m.sc
        n = len(m.verified)
        self.fanout_done = [math.nan] * n
        self.complete = [True] * n
        self.nodes: list[OperatorNode] = []
        self.owner: dict[str, str] = {}
        for op in sc.operators:
            for nid in node_ids(sc, op):
                self.nodes.append(OperatorNode(m.env, nid, op, m.streams, sc.one_in, self._answered))
                self.owner[nid] = op.id
        self.pending = [len(self.nodes)] * n

    def start(self) -> None:
        pass

    def receive(self, query: int, t: float) -> None:
        deadline = t + self.m.deadline_s
        for node in self.nodes:
            node.call(query, deadline)

    def _answered(self, q: int, now: float, ok: bool) -> None:
        if not ok:
            self.complete[q] = False
        self.pending[q] -= 1
        if self.pending[q] == 0:
            self.fanout_done[q] = now
            if self.complete[q]:
                self.m.emit(STAGE_NAME, q, now)

    def stations(self) -> list[Station]:
        return [n.station for n in self.nodes]

    def sample(self) -> list[float]:
        return [float(sum(n.station.waiting for n in self.nodes)),
                float(sum(n.station.busy for n in self.nodes))]

    def records(self) -> FanoutRecords:
        ops = {op.id: OperatorRecord(id=op.id) for op in self.m.sc.operators}
        for node in self.nodes:
            ops[self.owner[node.id]].add(node.counters)
        return FanoutRecords(self.fanout_done, self.complete, ops)


# -- the fast engine's part ------------------------------------------------------------------------
# Each node runs independently (on several threads): its queries' calls through ``concurrency``
# connections, retries merged back into its queue; per query only the running maximum of answer
# times and a give-up flag are kept (no queries × nodes matrix). Draw for draw equal to the SimPy
# engine: each node's latency, failure and back-off draws.
def _servers(op: OperatorParams, one_in: int) -> int:
    conc = op.concurrency
    return 0 if conc is None else max(1, round(conc / one_in))


@dataclass
class _NodeRun:
    """One fan-out node's answers per query and its counts (kept in the node memo, so the
    queries it gave up on or left undone are indices, not a flag per query)."""

    done_max: np.ndarray
    fail: np.ndarray
    """The queries it gave up on (indices, ascending)."""
    nd: np.ndarray
    """The queries it left undone at the end of the run (indices, ascending)."""
    inc_q: np.ndarray
    inc_b: np.ndarray
    counts: CallCounts
    station: StationRecord

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in (self.done_max, self.fail, self.nd, self.inc_q,
                                           self.inc_b))

    def flags(self) -> tuple[np.ndarray, np.ndarray]:
        """:attr:`fail` and :attr:`nd` as a flag per query (what the kernels read)."""
        fail = np.zeros(self.done_max.size, np.bool_)
        nd = np.zeros(self.done_max.size, np.bool_)
        fail[self.fail] = True
        nd[self.nd] = True
        return fail, nd


def _run_node(flow: fast.Flow, nid: str, op: OperatorParams, arr: np.ndarray,
              keep: bool) -> _NodeRun:
    sc, streams, end_s, m = flow.sc, flow.streams, flow.end_s, flow.m
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
    clock = flow.clock
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
    return _NodeRun(dest.done_max, np.flatnonzero(dest.done_fail), np.flatnonzero(dest.done_nd),
                    dest.inc_queue, dest.inc_busy, cc, st)


#: Largest answers kept per query of a combination computed node by node: up to one fewer
#: nodes can be swapped into it at once, exactly (a joint try of a few operators' connections
#: reruns those nodes only). Each costs 10 bytes a query.
TOP_ANSWERS = 4


@dataclass
class _Fanout:
    """Every node's answers combined per query: the reply time is the largest answer.

    With ``top`` set (a product computed node by node), up to ``TOP_ANSWERS - 1`` nodes can be
    swapped for reruns of them exactly (:func:`yzt.sim.fastqueue.fold_node_top`); a swapped
    product has no ``top``, nor has one of a replication run once (:attr:`yzt.sim.fast.Flow.once`),
    whose nodes are folded into ``done_max`` as they come.
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
    top: tuple[np.ndarray, np.ndarray] | None = None
    """The largest answers per query, descending, and their nodes' indexes (``-1``: none)."""
    send: tuple[np.ndarray, np.ndarray] | None = None
    """Complete replies in the order their last answer came in (queries, times): the SMS
    gateway's arrivals."""
    key: Any = None
    """Its memo key (:class:`yzt.sim.fast.Key`)."""
    base: _Fanout | None = None
    """For a swapped product: the product it was swapped from (its ``send`` is merged with the
    queries whose reply changed instead of sorting every reply again)."""

    @property
    def nbytes(self) -> int:
        arrays = [self.done_max, self.fail_count, self.nd_count, *(self.top or ()),
                  *(self.send or ())]
        return sum(a.nbytes for a in arrays if a is not None)

    def add(self, index: int, nid: str, run: _NodeRun) -> None:
        if self.top is None:  # a product no node will be swapped out of: the largest answer
            np.maximum(self.done_max, run.done_max, out=self.done_max)
            self.fail_count[run.fail] += 1  # indices, each once
            self.nd_count[run.nd] += 1
        else:
            fq.fold_node_top(index, run.done_max, *run.flags(), *self.top, self.fail_count,
                             self.nd_count)
        self._keep(nid, run)
        self.inc_q += run.inc_q
        self.inc_b += run.inc_b

    def _keep(self, nid: str, run: _NodeRun) -> None:
        self.node_fail[nid] = run.fail
        self.node_nd[nid] = run.nd
        self.node_inc[nid] = (run.inc_q, run.inc_b)
        self.results[nid] = (run.counts, run.station)

    def finish(self) -> None:
        """After the last :meth:`add`: the reply time is the largest answer."""
        if self.top is not None:
            self.done_max = np.ascontiguousarray(self.top[0][:, 0])

    def others(self, indexes: list[int]) -> np.ndarray | None:
        """The largest answer per query of the nodes not at ``indexes``; ``None`` when a query
        kept only their answers (then no swap is exact)."""
        assert self.top is not None
        changed = np.zeros(len(self.node_keys), np.bool_)
        changed[indexes] = True
        out = np.empty(self.done_max.size, np.float64)
        return None if fq.others_max(*self.top, changed, out) else out

    def swapped(self, index: int, nid: str, key: Any, run: _NodeRun) -> _Fanout:
        """This combination with node ``nid`` (at ``index``) replaced by ``run``."""
        others = self.others([index])
        assert others is not None  # one node is never every kept answer
        return self.swapped_many(others, {nid: (key, run)})

    def swapped_many(self, others: np.ndarray, runs: dict[str, tuple[Any, _NodeRun]]) -> _Fanout:
        """This combination with each node ``nid`` of ``runs`` replaced by its rerun; ``others``:
        :meth:`others` of their indexes."""
        fc = self.fail_count.copy()
        nc = self.nd_count.copy()
        inc_q, inc_b = self.inc_q.copy(), self.inc_b.copy()
        for nid, (_, run) in runs.items():
            fc[self.node_fail[nid]] -= 1
            fc[run.fail] += 1
            nc[self.node_nd[nid]] -= 1
            nc[run.nd] += 1
            old_q, old_b = self.node_inc[nid]
            inc_q += run.inc_q - old_q
            inc_b += run.inc_b - old_b
            np.maximum(others, run.done_max, out=others)
        out = _Fanout({**self.node_keys, **{nid: key for nid, (key, _) in runs.items()}}, others,
                      fc, nc, inc_q, inc_b, dict(self.node_fail), dict(self.node_nd),
                      dict(self.node_inc), dict(self.results), base=self)
        for nid, (_, run) in runs.items():
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


def _upstream_of(op: OperatorParams) -> OperatorParams:
    """What a fan-out node reads of its operator: everything but the hotline, back office, SLA."""
    return replace(op, hotline=None, backoffice=None, sla=None)  # type: ignore[arg-type]



#: Versions of each node's run the node memo keeps per replication (least recently used dropped):
#: the committed connections' and the latest try's. 11 MB a version and node at full scale.
NODE_VERSIONS = 2


class Fast(fast.FastPart):
    """The fast engine's part: it hands on the combination of every node's answers
    (:class:`_Fanout`), whose :meth:`_Fanout.send_order` is the gateway's arrivals. A new
    connection count reruns that node only, swapped into the memoised combination; a
    combination that differs from every memoised one in more nodes reruns the nodes the node
    memo does not hold and folds the others' kept runs."""

    def __init__(self) -> None:
        self._fanout = fast.Lru(2)
        """Combinations computed node by node (a node can be swapped out of them)."""
        self._swapped = fast.Lru(2)
        """Combinations with one node swapped in."""
        self._nodes = fast.Lru(1)
        """(front key, keep) → node id → :class:`fast.Lru` of ``NODE_VERSIONS`` node key →
        :class:`_NodeRun`: each node's latest runs on these arrivals."""

    @property
    def nbytes(self) -> int:
        combos = sum(int(f.nbytes) for lru in (self._fanout, self._swapped)
                     for f in lru.values())
        return combos + sum(int(r.nbytes) for by_node in self._nodes.values()
                            for lru in by_node.values() for r in lru.values())

    def trim(self) -> None:
        """Keep, per node, the run the latest combination computed node by node is made of (the
        base the next tries swap from) and the most recently used one (the latest try's)."""
        combos = self._fanout.values()
        base = combos[-1].node_keys if combos else {}
        for by_node in self._nodes.values():
            for nid, lru in by_node.items():
                lru.keep_only({base[nid]} if nid in base else set())

    def run(self, flow: fast.Flow, up: fast.Step | None, offers: fast.Offers | None) -> fast.Step:
        assert up is not None
        sc = flow.sc
        verified: np.ndarray = up.out
        n = verified.size
        keep = n <= fast.KEEP_DURATIONS_MAX_QUERIES if flow.keep_durations is None \
            else flow.keep_durations
        nodes = [(nid, op) for op in sc.operators for nid in node_ids(sc, op)]
        keys = {nid: _upstream_of(op) for nid, op in nodes}
        fan_key = fast.Key((up.key, keep, tuple(keys.items())))
        fan = self._fanout.get(fan_key) or self._swapped.get(fan_key)
        if fan is None:
            fan = self._fanout_stage(flow, nodes, keys, up.key, keep, verified)
            fan.key = fan_key
            (self._fanout if fan.top is not None else self._swapped).put(fan_key, fan)
        fan_key = fan.key  # the memo's own key: the next stages' keys compare it by identity
        fanout_done = np.where(fan.nd_count > 0, np.nan, fan.done_max)
        ops: dict[str, OperatorRecord] = {op.id: OperatorRecord(id=op.id) for op in sc.operators}
        node_stations = []
        for nid, op in nodes:
            cc, st = fan.results[nid]
            ops[op.id].add(cc)
            node_stations.append(st)
        complete = fan.fail_count == 0
        return fast.Step(fan_key, FanoutRecords(flow.out(fanout_done), flow.out(complete), ops),
                         out=fan, stations=node_stations, series=(fan.inc_q, fan.inc_b))

    def _node_memo(self, front_key: Any, keep: bool, nids: list[str]) -> dict[str, fast.Lru]:
        """The node memo of these arrivals, one :class:`fast.Lru` per node (created here, before
        any thread reads it); the runs on other arrivals are dropped."""
        by_node: dict[str, fast.Lru] | None = self._nodes.get((front_key, keep))
        if by_node is None:
            by_node = self._nodes.put((front_key, keep), {})
        for nid in nids:
            if nid not in by_node:
                by_node[nid] = fast.Lru(NODE_VERSIONS)
        return by_node

    def _fanout_stage(self, flow: fast.Flow, nodes: list[tuple[str, OperatorParams]],
                      keys: dict[str, Any], front_key: Any, keep: bool,
                      verified: np.ndarray) -> _Fanout:
        """Nodes are independent given the arrivals: swap the few that differ into the memoised
        combination that differs least (up to ``TOP_ANSWERS - 1`` nodes, rerunning only them),
        else combine every node's run, from the node memo or rerun (on ``threads`` threads)."""
        memo = self._node_memo(front_key, keep, [nid for nid, _ in nodes])
        ops = dict(nodes)

        def node_run(nid: str) -> _NodeRun:
            run: _NodeRun | None = memo[nid].get(keys[nid])
            if run is None:
                run = _run_node(flow, nid, ops[nid], verified, keep)
                if not flow.once:
                    memo[nid].put(keys[nid], run)
            return run

        index = {nid: i for i, (nid, _) in enumerate(nodes)}
        fan: _Fanout
        best: tuple[_Fanout, list[str]] | None = None
        for (f_key, f_keep, _), fan in reversed(self._fanout.items.items()):
            if fan.top is None or f_key != front_key or f_keep != keep \
                    or fan.node_keys.keys() != keys.keys():
                continue
            differ = [nid for nid in keys if fan.node_keys[nid] != keys[nid]]
            if differ and len(differ) < TOP_ANSWERS and (best is None or len(differ) < len(best[1])):
                best = (fan, differ)
        if best is not None:
            fan, differ = best
            if len(differ) == 1:
                nid = differ[0]
                return fan.swapped(index[nid], nid, keys[nid], node_run(nid))
            others = fan.others([index[nid] for nid in differ])
            if others is not None:
                return fan.swapped_many(others, {nid: (keys[nid], node_run(nid))
                                                 for nid in differ})
        n = verified.size
        top = None if flow.once else (np.full((n, TOP_ANSWERS), -math.inf),
                                      np.full((n, TOP_ANSWERS), -1, np.int16))
        fan = _Fanout(dict(keys), np.full(n, -math.inf), np.zeros(n, np.int16),
                      np.zeros(n, np.int16), np.zeros(flow.m, np.int64), np.zeros(flow.m, np.int64), {}, {},
                      {}, {}, top=top)
        lock = threading.Lock()

        def work(nid: str) -> None:
            run = node_run(nid)
            with lock:
                fan.add(index[nid], nid, run)

        todo = [nid for nid, _ in nodes if memo[nid].get(keys[nid]) is None]
        for nid, _ in nodes:  # the kept runs first, while the others run
            if nid not in todo:
                work(nid)
        threads = max(1, min(flow.threads or os.cpu_count() or 1, len(todo)))
        if threads == 1:
            for nid in todo:
                work(nid)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(work, todo))
        fan.finish()
        return fan


def _metrics(rec: ReplicationRecords, out: c.Metrics, distributions: bool) -> None:
    scale = rec.one_in
    verified, judged, n_judged = judged_queries(rec)
    recorded = of(rec)
    fanout = np.asarray(recorded.fanout_done)
    complete = np.asarray(recorded.complete, dtype=bool)
    p = out[c.PLATFORM]
    p["incomplete_share"] = c.share(int((~complete & judged).sum()), n_judged)
    if distributions:
        fo = (fanout - verified)[complete & ~np.isnan(fanout)]
        for q, v in zip((0.5, 0.95, 0.99), c.quantiles(fo, (0.5, 0.95, 0.99)), strict=True):
            p[f"fanout_p{round(q * 100)}_s"] = v
    stations = {s.name: s for s in rec.stations}
    n_q = verified.size
    for op_id, o in recorded.operators.items():
        m = out[op_id]
        m.update({
            "attempts_per_query": c.share(o.attempts, n_q),
            "error_share": c.share(o.errors + o.timeouts + o.outage_failures, o.attempts),
            "timeouts": o.timeouts * scale,
            "outage_failures": o.outage_failures * scale,
            "gave_up_queries": o.gave_up * scale,
            "retries": o.retries * scale,  # the extra load retries put on the operator
            "latency_mean_ms": c.share(o.latency_sum, o.successes) * 1000.0,
        })
        st = stations.get(f"{op_id}/fanout")
        if st is not None:
            m["fanout_wait_mean_s"] = st.mean_wait
            m["fanout_in_flight_mean"] = st.busy_area / st.duration_s


# -- its scenario keys -----------------------------------------------------------------------------
REQUIRED = {"": ("latency", "failure_ratio", "timeout_s", "concurrency", "retry", "outages"),
            "retry": ("backoff_initial_s", "backoff_factor", "backoff_max_s", "jitter",
                      "max_attempts")}


def _operator(cfg: Doc) -> dict[str, Any]:
    r = cfg["retry"]
    return {
        "latency": Lognormal(cfg["latency"]["median_ms"] / 1000.0, float(cfg["latency"]["sigma"])),
        "failure_ratio": float(cfg["failure_ratio"]),
        "timeout_s": float(cfg["timeout_s"]),
        "concurrency": cfg["concurrency"],
        "retry": Retry(float(r["backoff_initial_s"]), float(r["backoff_factor"]),
                       float(r["backoff_max_s"]), float(r["jitter"]), r["max_attempts"]),
        "outages": tuple(Outage(float(o["start_h"]), float(o["duration_h"]),
                                o.get("mode", "timeout")) for o in cfg["outages"]),
    }


def _operator_rules(doc: Doc, base: str, cfg: Doc) -> list[str]:
    problems = []
    end_h = doc["horizon_h"] + doc.get("drain_h", 0)
    for i, o in enumerate(cfg.get("outages", [])):
        if o["start_h"] >= end_h:
            problems.append(
                f"at {base}.outages[{i}].start_h: {o['start_h']} is after the end of the "
                f"run ({end_h} h = horizon_h + drain_h)"
            )
    retry = cfg.get("retry", {})
    if retry.get("backoff_max_s", math.inf) < retry.get("backoff_initial_s", 0):
        problems.append(f"at {base}.retry.backoff_max_s: smaller than backoff_initial_s")
    return problems


def _console(con: c.Console) -> list[str]:
    return [f"  fan-out p99               {con.ci('fanout_p99_s', False, ' s')}"]


# -- the planned resource --------------------------------------------------------------------------
def _items(sc: Scenario, op_id: str) -> tuple[c.ItemKey, ...]:
    return (c.ItemKey(NAME, op_id),) if sc.operator(op_id).concurrency is not None else ()


def _current(sc: Scenario, key: c.ItemKey) -> c.Value:
    return (sc.operator(key.operator).concurrency or 0,)


def _override(sc: Scenario, key: c.ItemKey, value: c.Value, doc: dict[str, Any]) -> None:
    doc.setdefault("operators", {}).setdefault(key.operator, {})["concurrency"] = int(value[0])


def busy_seconds(sc: Scenario, op_id: str, base: list[dict[str, Any]]) -> float:
    """An operator's calls' busy time over the run (s, mean over the replications): answers, and
    timeouts that hold a connection for ``timeout_s``."""
    op = sc.operator(op_id)
    works = []
    for out in base:
        m = out["metrics"][op_id]
        attempts = m["attempts_per_query"] * out["metrics"][c.PLATFORM]["queries_verified"]
        answered = attempts * (1.0 - m["error_share"])
        work = answered * m["latency_mean_ms"] / 1000.0 + m["timeouts"] * op.timeout_s
        if math.isfinite(work):
            works.append(work)
    return float(np.mean(works)) if works else 0.0


def connections_guess(sc: Scenario, op_id: str, base: list[dict[str, Any]]) -> int:
    """The fluid bound on an operator's connections: its busy time (:func:`busy_seconds`) fitted
    into the arrivals' horizon plus the reply deadline, ``c × window ≥ busy time``. Fewer
    connections cannot reply to every query in time; the simulation decides how many more are
    needed."""
    window = (sc.horizon_h + sc.deadline_h) * 3600.0
    return max(1, math.ceil(busy_seconds(sc, op_id, base) / window))


def connections_guess_within(inp: c.GuessInput, op_id: str) -> int:
    """As :func:`connections_guess` when a binding row asks for a time tighter than the reply
    deadline (an objective: 95 % within 10 min): the operator's busy time, spread over the hours
    as the verified queries are, fitted into each run of hours plus that time
    (:func:`~yzt.sim.stages.contract.fluid_bound`); the busy hours then set the bound, not the
    day's mean."""
    total = busy_seconds(inp.sc, op_id, list(inp.base))
    per_hour = np.mean([d["verified_per_hour"] for d in inp.details(NAME)], axis=0)
    return max(1, math.ceil(c.fluid_bound(per_hour.tolist(), total, inp.tightest_s(NAME))))


def _details(rec: ReplicationRecords, hours: int) -> dict[str, list[int]]:
    """Verified queries per hour: how the fan-out's work spreads over the day (first guesses)."""
    verified = judged_queries(rec)[0] / 3600.0
    counts = np.bincount(np.clip(verified, 0, hours - 1).astype(int), minlength=hours)
    return {"verified_per_hour": [int(x) for x in counts[:hours]]}


def _start(inp: c.GuessInput, key: c.ItemKey, current: c.Value) -> c.Start:
    # a lower bound: step by one from it
    if inp.tightest_s(NAME) < inp.sc.deadline_h * 3600.0:
        g = connections_guess_within(inp, key.operator)
    else:
        g = connections_guess(inp.sc, key.operator, list(inp.base))
    return c.Start((g,), max(4 * current[0], current[0] + 64, 4 * g), 1)


def _infeasible(sc: Scenario, key: c.ItemKey) -> str | None:
    for o in sc.operator(key.operator).outages:
        if o.duration_h >= sc.deadline_h and o.start_h < sc.horizon_h:
            return (f"outage at {o.start_h:g} h lasts {o.duration_h:g} h, longer than the "
                    f"{sc.deadline_h:g} h reply deadline (SLA-E2E-1)")
    return None


RESOURCE = c.Resource(
    name=NAME, order=30, phase=0, coupling="joint", slas=("SLA-E2E-1",),
    metrics=("e2e_within_deadline_share",), shared=True, per_operator=True, single=True,
    items=_items, current=_current, override=_override, start=_start, upto="sms", details=_details,
    infeasible=_infeasible, quantity=lambda sc, key, v: ("connection", float(v[0])),
)

#: JSON-Schema fragments of the scenario keys this stage reads (``Stage.schema``), by path.
SCHEMA: dict[str, Any] = {
    "operators.*.latency": {
        "type": "object",
        "additionalProperties": False,
        "required": ["median_ms", "sigma"],
        "properties": {
            "median_ms": {"type": "number", "exclusiveMinimum": 0},
            "sigma": {"type": "number", "minimum": 0},
        },
    },
    "operators.*.failure_ratio": {"type": "number", "minimum": 0, "maximum": 1},
    "operators.*.timeout_s": {"type": "number", "exclusiveMinimum": 0},
    "operators.*.concurrency": {"type": ["integer", "null"], "minimum": 1},
    "operators.*.retry": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "backoff_initial_s": {"type": "number", "minimum": 0},
            "backoff_factor": {"type": "number", "minimum": 1},
            "backoff_max_s": {"type": "number", "minimum": 0},
            "jitter": {"type": "number", "minimum": 0, "maximum": 1},
            "max_attempts": {"type": ["integer", "null"], "minimum": 1},
        },
    },
    "operators.*.outages": {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["start_h", "duration_h"],
            "properties": {
                "start_h": {"type": "number", "minimum": 0},
                "duration_h": {"type": "number", "exclusiveMinimum": 0},
                "mode": {"enum": ["timeout", "refuse"]},
            },
        },
    },
}


STAGE = register(c.Stage(
    name=STAGE_NAME, order=10,
    after="frontdoor", simpy=Fanout, fast=Fast, records=FanoutRecords,
    parse=Section(operator=_operator, required=REQUIRED, operator_rules=_operator_rules),
    sampled=("fan-out", "connections"),
    doc="every verified query calls every operator node at once; the reply waits for the last",
    schema=SCHEMA, schema_required=(),
    section=("operators.*.latency", "operators.*.failure_ratio", "operators.*.timeout_s",
             "operators.*.concurrency", "operators.*.retry", "operators.*.outages"),
    metrics=_metrics, console=_console, resources=(RESOURCE,),
    series=(c.Series("fanout_queue", "fan-out queue", "分发排队数"),
            c.Series("fanout_in_flight", "fan-out requests in flight", "进行中的分发请求数")),
))
