"""Wiring of one replication: front door → fan-out → SMS → hotline and back office → records.

``run_replication(scenario, seed, replication)`` builds a fresh SimPy environment, runs it until
``horizon_h + drain_h`` and returns :class:`~yzt.sim.records.ReplicationRecords`. Each verified
query calls every operator node at once; when the last answer is in, the reply goes to the SMS
gateway; when it is delivered, the reply's receivers call hotlines and raise cases. With
``sampling.one_in = N`` one query in N is simulated with fan-out connections and SMS rate divided
by N, and each delivered reply stands for N receivers for the hotline and back office, which
therefore run at full scale.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Generator
from typing import Any

import simpy

from yzt.sim.arrivals import front_door
from yzt.sim.callcentre import BackOfficeDesk, HotlineDesk
from yzt.sim.operators import OperatorNode
from yzt.sim.records import (
    CaseRecord,
    HotlineRecord,
    OperatorRecord,
    ReplicationRecords,
    StationRecord,
)
from yzt.sim.rng import Streams
from yzt.sim.scenario import PROVINCES, OperatorParams, Scenario
from yzt.sim.sms import SmsGateway
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
    """The fan-out nodes of an operator: 31 provincial nodes per carrier when enabled."""
    if sc.provincial_nodes and op.kind == "carrier":
        return [f"{op.id}-{p}" for p in PROVINCES]
    return [op.id]


class _Cumulative:
    """Pick an operator with probability proportional to its weight."""

    def __init__(self, ids: list[str], weights: list[float]) -> None:
        self.ids = ids
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1] if self.cum else 0.0

    def pick(self, u: float) -> str:
        return self.ids[min(bisect.bisect_right(self.cum, u * self.total), len(self.ids) - 1)]


class Model:
    """One replication's wiring. Use :func:`run_replication`."""

    def __init__(self, sc: Scenario, seed: int, replication: int) -> None:
        self.sc = sc
        self.seed = seed
        self.replication = replication
        self.env = env = _Counter()
        self.streams = streams = Streams(seed, replication)
        self.end_s = (sc.horizon_h + sc.drain_h) * 3600.0
        self.deadline_s = sc.deadline_h * 3600.0
        self.front = front_door(sc, streams)
        n = self.front.verified_at.size
        self.verified = self.front.verified_at.tolist()
        self.fanout_done = [math.nan] * n
        self.complete = [True] * n
        self.sms_delivered = [math.nan] * n
        self.nodes: list[OperatorNode] = []
        self.node_owner: dict[str, str] = {}
        for op in sc.operators:
            for nid in node_ids(sc, op):
                self.nodes.append(OperatorNode(env, nid, op, streams, sc.one_in, self._answered))
                self.node_owner[nid] = op.id
        self.pending = [len(self.nodes)] * n
        self.sms = SmsGateway(env, sc.sms, sc.one_in, streams, self._delivered)
        self.hotlines = {
            op.id: HotlineDesk(env, op.id, op.hotline, op.sla.hotline.answer_within_s, streams,
                               self.end_s)
            for op in sc.operators if op.hotline.enabled
        }
        self.backoffices = {
            op.id: BackOfficeDesk(env, op.id, op.backoffice, streams, self.end_s)
            for op in sc.operators
        }
        after = sc.after_reply
        holds = {op.id: min(1.0, op.card_share * after.customer_factor) for op in sc.operators}
        hot_ids = list(self.hotlines)
        self.call_pick = _Cumulative(hot_ids, [holds[i] * after.hotline_share for i in hot_ids])
        all_ids = [op.id for op in sc.operators]
        self.dispute_pick = _Cumulative(all_ids, [holds[i] * after.dispute_share for i in all_ids])
        self.cxl_pick = _Cumulative(all_ids, [holds[i] * after.cancellation_share for i in all_ids])
        self._after = streams.get("platform", "after-reply")
        self._after_gen = streams.generator("platform", "after-reply-counts")
        self.timeseries: dict[str, list[float]] = {
            "t_h": [], "fanout_queue": [], "fanout_in_flight": [], "sms_backlog": [],
            "hotline_queue": [], "backoffice_backlog": [],
        }

    # -- flow ----------------------------------------------------------------------------------
    def _feed(self) -> Generator[Any, Any, None]:
        env = self.env
        nodes = self.nodes
        deadline = self.deadline_s
        for q, t in enumerate(self.verified):
            if t > env.now:
                yield env.timeout(t - env.now)
            for node in nodes:
                node.call(q, t + deadline)

    def _answered(self, q: int, now: float, ok: bool) -> None:
        if not ok:
            self.complete[q] = False
        self.pending[q] -= 1
        if self.pending[q] == 0:
            self.fanout_done[q] = now
            if self.complete[q]:
                self.sms.send(q)

    def _count(self, p: float) -> int:
        n = self.sc.one_in
        if n == 1:
            return 1 if self._after.uniform() < p else 0
        return int(self._after_gen.binomial(n, min(p, 1.0)))

    def _delivered(self, q: int, t: float) -> None:
        self.sms_delivered[q] = t
        after = self.sc.after_reply
        delay0 = t - self.env.now
        u = self._after
        for _ in range(self._count(self.call_pick.total)):
            op = self.call_pick.pick(u.uniform())
            self.hotlines[op].offer(delay0 + u.exponential(after.call_delay_mean_min * 60.0))
        for kind, pick in (("dispute", self.dispute_pick), ("cancellation", self.cxl_pick)):
            for _ in range(self._count(pick.total)):
                op = pick.pick(u.uniform())
                self.backoffices[op].submit(kind, delay0 + u.exponential(after.case_delay_mean_h * 3600.0))

    def _sample(self) -> Generator[Any, Any, None]:
        env = self.env
        step = self.sc.sample_every_min * 60.0
        until = min(self.end_s, (self.sc.horizon_h + self.sc.deadline_h) * 3600.0)
        ts = self.timeseries
        while env.now <= until:
            ts["t_h"].append(env.now / 3600.0)
            ts["fanout_queue"].append(float(sum(n.station.waiting for n in self.nodes)))
            ts["fanout_in_flight"].append(float(sum(n.station.busy for n in self.nodes)))
            ts["sms_backlog"].append(float(self.sms.backlog))
            ts["hotline_queue"].append(float(sum(h.station.waiting for h in self.hotlines.values())))
            ts["backoffice_backlog"].append(
                float(sum(b.station.waiting + b.station.busy for b in self.backoffices.values())))
            yield env.timeout(step)

    # -- run -----------------------------------------------------------------------------------
    def stations(self) -> list[Station]:
        out = [n.station for n in self.nodes] + [self.sms.station]
        out += [h.station for h in self.hotlines.values()]
        out += [b.station for b in self.backoffices.values()]
        return out

    def run(self) -> ReplicationRecords:
        env = self.env
        env.process(self._feed())
        env.process(self._sample())
        env.run(until=self.end_s)
        return self._records()

    def _records(self) -> ReplicationRecords:
        sc = self.sc
        ops: dict[str, OperatorRecord] = {op.id: OperatorRecord(id=op.id) for op in sc.operators}
        for node in self.nodes:
            ops[self.node_owner[node.id]].add(node.counters)
        stations = []
        for st in self.stations():
            st.close_books()
            s = st.stats
            stations.append(StationRecord(st.name, s.arrivals, s.started, s.abandoned, s.left_queue,
                                          s.wait_sum, s.service_sum, s.queue_area, s.busy_area,
                                          s.max_queue, self.end_s))
        hotlines = {
            k: HotlineRecord(k, h.target_s, h.log.arrived, h.log.wait, h.log.answered, h.log.repeat,
                             h.log.platform)
            for k, h in self.hotlines.items()
        }
        cases = {}
        for op in sc.operators:
            b = self.backoffices[op.id]
            cases[op.id] = CaseRecord(op.id, op.sla.dispute_days * 86_400.0,
                                      op.sla.cancellation_hours * 3600.0,
                                      b.log.kind, b.log.raised, b.log.closed)
        f = self.front
        return ReplicationRecords(
            replication=self.replication, seed=self.seed, one_in=sc.one_in,
            horizon_s=sc.horizon_h * 3600.0, end_s=self.end_s, deadline_s=self.deadline_s,
            attempts=f.attempts, gave_up_verification=f.gave_up, failed_verification=f.failed,
            refused_24h=f.refused_24h, repeats_accepted=f.repeats_accepted,
            verified_at=self.verified, fanout_done=self.fanout_done, complete=self.complete,
            sms_delivered=self.sms_delivered, sms_failures=self.sms.failures,
            operators=ops, hotlines=hotlines, cases=cases, stations=stations,
            timeseries=self.timeseries, events=self.env.events,
        )


def run_replication(sc: Scenario, seed: int, replication: int) -> ReplicationRecords:
    """Run one replication of ``sc``; the same (seed, replication) gives the same records."""
    return Model(sc, seed, replication).run()
