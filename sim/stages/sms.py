"""The SMS gateway: a reply is sent when the fan-out completes (rate limit, channels, failures
and retries; :mod:`yzt.sim.sms`); its delivery ends the query. It writes SLA-E2E-1 (every reply
within the deadline). Planned resource: the gateway's ``rate_per_s`` then ``channels``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from yzt.sim import fast, kernels
from yzt.sim.records import ReplicationRecords, StationRecord
from yzt.sim.scenario import Scenario, Sms, lognormal_s
from yzt.sim.sms import SmsGateway
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

NAME = "sms"
E2E = "e2e_within_deadline_share"
#: Buckets of the reply time (hours) for the lateness distribution; the last is "later or never".
E2E_BUCKETS_H = (1.0, 6.0, 24.0, 48.0, 72.0)


@dataclass
class SmsRecords:
    """What the gateway recorded: per query (indexed as the front door's ``verified_at``) when
    its reply was delivered (NaN: never), and the failed submissions."""

    sms_delivered: list[float]
    sms_failures: int


def of(rec: ReplicationRecords) -> SmsRecords:
    return rec.of(NAME, SmsRecords)


class Gateway:
    """The SimPy part: a complete answer is sent as a reply; its delivery goes on."""

    def __init__(self, model: Model) -> None:
        self.m = model
        self.delivered = [math.nan] * len(model.verified)
        self.gateway = SmsGateway(model.env, model.sc.sms, model.sc.one_in, model.streams,
                                  self._delivered)

    def start(self) -> None:
        pass

    def receive(self, query: int, t: float) -> None:
        self.gateway.send(query)

    def _delivered(self, q: int, t: float) -> None:
        self.delivered[q] = t
        self.m.emit(NAME, q, t)

    def stations(self) -> list[Station]:
        return [self.gateway.station]

    def sample(self) -> list[float]:
        return [float(self.gateway.backlog)]

    def records(self) -> SmsRecords:
        return SmsRecords(self.delivered, self.gateway.failures)


# -- the fast engine's part ------------------------------------------------------------------------
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


class Fast(fast.FastPart):
    """The fast engine's part: the complete replies in the order their last answer came in,
    through the gateway (draw for draw equal to the SimPy engine's failure and delivery draws);
    it hands on the delivery times in delivery order."""

    def __init__(self) -> None:
        self.memo = fast.Lru(3)
        self._sms_u: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self._sms_u or ()) + sum(
            int(s.nbytes) for s in self.memo.values())

    def run(self, flow: fast.Flow, up: fast.Step | None, offers: fast.Offers | None) -> fast.Step:
        assert up is not None
        sc = flow.sc
        key = (up.key, sc.sms)
        sms: _Sms = self.memo.get(key) or self.memo.put(key, self._sms_stage(flow, up.out))
        return fast.Step(key, SmsRecords(flow.out(sms.delivered), sms.failures), out=sms,
                         stations=[sms.station], series=(sms.inc,),
                         emitted=lambda: sms.delivered[sms.delivered_q])

    def _sms_stage(self, flow: fast.Flow, fan: Any) -> _Sms:
        """Complete replies in the order their last answer came in (the fan-out's
        ``send_order()``), through the gateway."""
        send_q, send_t = fan.send_order()  # the same for every SMS gateway after this fan-out
        sc, n, end_s, m = flow.sc, int(fan.done_max.size), flow.end_s, flow.m
        sms = sc.sms
        submit_s = sms.channels / (sms.rate_per_s / sc.one_in)
        sent = send_q.size
        fsize = sent + sent // 8 + 256
        gateway = kernels.GatewayParams(
            channels=sms.channels, submit_s=submit_s, failure_ratio=sms.failure_ratio,
            retry_s=sms.retry_backoff_s, delivery_median_s=sms.delivery.median,
            delivery_sigma=sms.delivery.sigma)
        clock = flow.clock
        while True:
            fail_u, deliv = self._sms_draws(flow, fsize)
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
                    dest.inc_backlog, fast.station_record(NAME, out, end_s),
                    int(out[fq.S_FAILURES]))

    def _sms_draws(self, flow: fast.Flow, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The gateway's failure and delivery draws, at least ``size`` of each. They are prefixes
        of their streams, and the kernel reads them in order, so one longer draw serves every
        candidate (the kernel stops at the same draws with a longer array)."""
        if self._sms_u is None or self._sms_u[0].size < size:
            self._sms_u = (flow.streams.generator("sms", "failure").random(size),
                           flow.streams.generator("sms", "delivery").standard_normal(size))
        return self._sms_u

def _metrics(rec: ReplicationRecords, out: c.Metrics, distributions: bool) -> None:
    verified, judged, n_judged = judged_queries(rec)
    s = of(rec)
    e2e = np.asarray(s.sms_delivered) - verified  # NaN when never delivered
    p = out[c.PLATFORM]
    p[E2E] = c.share(int((judged & (e2e <= rec.deadline_s)).sum()), n_judged)
    if distributions:
        done = e2e[judged & ~np.isnan(e2e)]
        for q, v in zip((0.5, 0.95, 0.99, 1.0), c.quantiles(done, (0.5, 0.95, 0.99, 1.0)),
                        strict=True):
            p[f"e2e_{'max' if q == 1.0 else f'p{round(q * 100)}'}_s"] = v
        late = done[done > rec.deadline_s] - rec.deadline_s
        p["lateness_mean_h"] = float(late.mean() / 3600.0) if late.size else 0.0
        e2e_j = np.where(np.isnan(e2e[judged]), np.inf, e2e[judged]) / 3600.0
        lo = 0.0
        for hi in (*E2E_BUCKETS_H, math.inf):
            name = f"e2e_share_{lo:g}_{hi:g}h" if hi < math.inf else f"e2e_share_over_{lo:g}h_or_never"
            p[name] = c.share(int(((e2e_j > lo) & (e2e_j <= hi)).sum()) if lo
                              else int((e2e_j <= hi).sum()), n_judged)
            lo = hi
    gateway = next(s for s in rec.stations if s.name == NAME)
    p["sms_wait_mean_s"] = gateway.mean_wait
    p["sms_backlog_max"] = float(gateway.max_queue)
    p["sms_failures"] = s.sms_failures * rec.one_in


def _fields(doc: Doc) -> dict[str, Any]:
    sms = doc["sms"]
    return {"sms": Sms(
        port=str(sms.get("port", "10699000")),
        rate_per_s=float(sms["rate_per_s"]),
        channels=int(sms["channels"]),
        failure_ratio=float(sms["failure_ratio"]),
        retry_backoff_s=float(sms["retry_backoff_s"]),
        delivery=lognormal_s(sms["delivery"]),
    )}


def _rows(sc: Scenario, r: c.Reader) -> list[c.Row]:
    e2e = r.mean(c.PLATFORM, E2E)
    return [c.row("SLA-E2E-1", c.PLATFORM, f"100 % replied within {sc.deadline_h:g} h", e2e,
                  None if e2e is None else e2e >= 1.0, r.ci(c.PLATFORM, E2E), target=1.0)]


# -- service objectives ----------------------------------------------------------------------------
def _reply_times(rec: ReplicationRecords) -> np.ndarray | None:
    """Reply time of each judged query (s); one never delivered counts as the time left to the
    end of the run (later than any target the run can judge)."""
    delivered = of(rec).sms_delivered
    if len(delivered) == 0:
        return None
    verified, judged, _ = judged_queries(rec)
    e2e = np.asarray(delivered) - verified
    times: np.ndarray = np.where(np.isnan(e2e), rec.end_s - verified, e2e)[judged]
    return times


def _within(rec: ReplicationRecords, _scope: str, o: Any) -> float | None:
    t = _reply_times(rec)
    return None if t is None else c.share(int((t <= o.within_s).sum()), t.size)


def _quantile(rec: ReplicationRecords, _scope: str, o: Any) -> float | None:
    t = _reply_times(rec)
    return None if t is None else c.quantiles(t, (o.quantile,))[0]


def _duration(s: float) -> str:
    return f"{s / 3600:g} h" if s >= 3600 and s % 3600 == 0 else (
        f"{s / 60:g} min" if s >= 60 and s % 60 == 0 else f"{s:g} s")


OBJECTIVES = {
    "reply_within_share": c.ObjectiveMetric(
        doc="share of judged queries whose reply is delivered within within_s", per_operator=False,
        bound="min", measure=_within, needs=("within_s",), judges=("connections", NAME),
        expected=lambda o: f"≥ {o.target:.2%} replied within {_duration(o.within_s)}"),
    "reply_time_quantile_s": c.ObjectiveMetric(
        doc="the quantile of the reply time (s) of judged queries", per_operator=False,
        bound="max", measure=_quantile, needs=("quantile",), judges=("connections", NAME),
        share=False,
        expected=lambda o: f"reply time p{o.quantile * 100:g} ≤ {_duration(o.target)}"),
}


def _console(con: c.Console) -> list[str]:
    return [f"  replied within deadline   {con.ci(E2E)}",
            f"  reply time p95 / max      {con.mean('e2e_p95_s', False)} s / "
            f"{con.mean('e2e_max_s', False)} s"]


# -- the planned resource --------------------------------------------------------------------------
PARTS = ("rate_per_s", "channels")


def _items(sc: Scenario, _scope: str) -> tuple[c.ItemKey, ...]:
    return tuple(c.ItemKey(NAME, c.PLATFORM, part) for part in PARTS)


def _current(sc: Scenario, key: c.ItemKey) -> c.Value:
    return (round(sc.sms.rate_per_s),) if key.part == "rate_per_s" else (sc.sms.channels,)


def _override(sc: Scenario, key: c.ItemKey, value: c.Value, doc: dict[str, Any]) -> None:
    doc.setdefault("sms", {})[key.part] = int(value[0])


def rate_guess(inp: c.GuessInput) -> int:
    """The fluid bound on the gateway's rate when a binding row asks for a reply time tighter than
    the deadline (an objective: 95 % within 10 min): every submit (replies, and the failed ones
    again) of a run of hours sent within that time after it (:func:`~yzt.sim.stages.contract.
    fluid_bound`, spread over the hours as the verified queries are)."""
    sc = inp.sc
    submits = float(np.mean([o["metrics"][c.PLATFORM]["queries_verified"] for o in inp.base]))
    submits /= max(1e-9, 1.0 - sc.sms.failure_ratio)
    per_hour = np.mean([d["verified_per_hour"] for d in inp.details("connections")], axis=0)
    return max(1, math.ceil(c.fluid_bound(per_hour.tolist(), submits, inp.tightest_s(NAME))))


def _start(inp: c.GuessInput, key: c.ItemKey, current: c.Value) -> c.Start:
    if key.part == "rate_per_s" and inp.tightest_s(NAME) < inp.sc.deadline_h * 3600.0:
        g = rate_guess(inp)  # a lower bound: step up from it
        return c.Start((g,), max(4 * current[0], current[0] + 64, 4 * g), max(1, g // 8))
    # the scenario's values: bracket geometrically from there
    return c.Start(current, max(4 * current[0], current[0] + 64), max(1, current[0] // 4))


RESOURCE = c.Resource(
    name=NAME, order=40, phase=1, coupling="each", slas=("SLA-E2E-1",), metrics=(E2E,),
    shared=True, per_operator=False, single=True, items=_items, current=_current,
    override=_override, start=_start, upto=NAME,
    quantity=lambda sc, key, v: ("sms_per_s", float(v[0]) if key.part == "rate_per_s" else 0.0),
)

#: JSON-Schema fragments of the scenario keys this stage reads (``Stage.schema``), by path.
SCHEMA: dict[str, Any] = {
    "sms": {
        "type": "object",
        "additionalProperties": False,
        "required": ["rate_per_s", "channels", "failure_ratio", "retry_backoff_s", "delivery"],
        "properties": {
            "port": {"type": "string", "pattern": "^[0-9]+$"},
            "rate_per_s": {"type": "number", "exclusiveMinimum": 0},
            "channels": {"type": "integer", "minimum": 1},
            "failure_ratio": {"type": "number", "minimum": 0, "maximum": 0.99},
            "retry_backoff_s": {"type": "number", "minimum": 0},
            "delivery": {"$ref": "#/$defs/latency_s"},
        },
    },
}


STAGE = register(c.Stage(
    name=NAME, order=20,
    after="fanout", simpy=Gateway, fast=Fast, records=SmsRecords, parse=Section(fields=_fields),
    sampled=("SMS", "SMS rate"),
    doc="the reply goes out through the SMS gateway; its delivery ends the query",
    schema=SCHEMA, schema_required=("sms",),
    section=("sms",), requirements=("SLA-E2E-1",), metrics=_metrics, sla_rows=_rows,
    pessimistic={E2E: "ci_low"}, console=_console, resources=(RESOURCE,), objectives=OBJECTIVES,
    series=(c.Series("sms_backlog", "SMS backlog", "短信积压量"),),
))
