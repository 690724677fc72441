"""The fan-out: each verified query calls every operator node at once (connections, latency,
failures, timeouts, retries, outages; :mod:`yzt.sim.operators`); the reply waits for the last
answer. Planned resource: each operator's ``connections`` (its ``concurrency``), judged on the
platform's SLA-E2E-1 row, which every operator shares."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from yzt.sim.engine import node_ids
from yzt.sim.operators import OperatorNode
from yzt.sim.records import OperatorRecord, ReplicationRecords
from yzt.sim.scenario import Scenario
from yzt.sim.stages import contract as c
from yzt.sim.stages import register
from yzt.sim.stages.frontdoor import judged_queries
from yzt.sim.station import Station

if TYPE_CHECKING:
    from yzt.sim.engine import Model

STAGE_NAME, NAME = "fanout", "connections"


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

    def records(self) -> dict[str, Any]:
        ops = {op.id: OperatorRecord(id=op.id) for op in self.m.sc.operators}
        for node in self.nodes:
            ops[self.owner[node.id]].add(node.counters)
        return {"fanout_done": self.fanout_done, "complete": self.complete, "operators": ops}


def _metrics(rec: ReplicationRecords, out: c.Metrics, distributions: bool) -> None:
    scale = rec.one_in
    verified, judged, n_judged = judged_queries(rec)
    fanout = np.asarray(rec.fanout_done)
    complete = np.asarray(rec.complete, dtype=bool)
    p = out[c.PLATFORM]
    p["incomplete_share"] = c.share(int((~complete & judged).sum()), n_judged)
    if distributions:
        fo = (fanout - verified)[complete & ~np.isnan(fanout)]
        for q, v in zip((0.5, 0.95, 0.99), c.quantiles(fo, (0.5, 0.95, 0.99)), strict=True):
            p[f"fanout_p{round(q * 100)}_s"] = v
    stations = {s.name: s for s in rec.stations}
    n_q = verified.size
    for op_id, o in rec.operators.items():
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
    verified = np.asarray(rec.verified_at, dtype=float) / 3600.0
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

STAGE = register(c.Stage(
    name=STAGE_NAME, order=10,
    after="frontdoor", simpy=Fanout,
    sampled=("fan-out", "connections"),
    doc="every verified query calls every operator node at once; the reply waits for the last",
    section=("operators.*.latency", "operators.*.failure_ratio", "operators.*.timeout_s",
             "operators.*.concurrency", "operators.*.retry", "operators.*.outages"),
    metrics=_metrics, console=_console, resources=(RESOURCE,),
    series=(c.Series("fanout_queue", "fan-out queue", "分发排队数"),
            c.Series("fanout_in_flight", "fan-out requests in flight", "进行中的分发请求数")),
))
