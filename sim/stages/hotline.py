"""The hotlines: receivers of a reply call their operator's hotline (agents by shift, Erlang A
callers, repeat calls; :class:`yzt.sim.callcentre.HotlineDesk`). It writes SLA-HOT-1 per operator.
Planned resource: each operator's hotline head count per shift, first guessed hour by hour with
Erlang A (SIPP), then searched in simulation; the plan shows the staffing curve around it."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from yzt.sim import fast, kernels
from yzt.sim.callcentre import HotlineDesk
from yzt.sim.engine import Cumulative, holds
from yzt.sim.records import ReplicationRecords, StationRecord
from yzt.sim.scenario import Hotline, OperatorParams, Scenario, parse_patterns, parse_shifts
from yzt.sim.stages import contract as c
from yzt.sim.stages import register, staffing
from yzt.sim.stages.sections import Doc, Section, staffed_rules
from yzt.sim.station import Station
from yzt.sim.theory import _erlang_a_chain, erlang_a, erlang_c

if TYPE_CHECKING:
    from yzt.sim import fastqueue as fq
    from yzt.sim.engine import Model
else:  # numba loads when a kernel first runs, not with the stage registry
    fq = kernels.lazy_kernels()

NAME = "hotline"
SL, AB = "hotline_service_level", "hotline_abandonment"
#: Service-level targets of the cost table (the share answered within the SLA's target time).
COST_TARGETS = (0.80, 0.85, 0.90, 0.95)


@dataclass
class HotlineRecord:
    """One hotline's calls, in the order they left the queue (answered or abandoned)."""

    id: str
    target_s: float
    arrived: list[float]
    wait: list[float]
    answered: list[bool]
    repeat: list[bool]
    platform: list[bool]


@dataclass
class HotlineRecords:
    """What the hotlines recorded: operator id → its hotline's calls (enabled hotlines only)."""

    hotlines: dict[str, HotlineRecord]


def hotlines(rec: ReplicationRecords) -> dict[str, HotlineRecord]:
    """The hotlines' records (none when the run stopped before the hotlines)."""
    got = rec.get(NAME, HotlineRecords)
    return got.hotlines if got is not None else {}


class Hotlines:
    """The SimPy part: a delivered reply makes some of its receivers call their hotline."""

    def __init__(self, model: Model) -> None:
        self.m = m = model
        sc = m.sc
        self.desks = {op.id: HotlineDesk(m.env, op.id, op.hotline, op.sla.hotline.answer_within_s,
                                         m.streams, m.end_s)
                      for op in sc.operators if op.hotline.enabled}
        holds = m.holds()
        ids = list(self.desks)
        self.pick = Cumulative(ids, [holds[i] * sc.after_reply.hotline_share for i in ids])

    def start(self) -> None:
        pass

    def receive(self, query: int, t: float) -> None:
        m = self.m
        delay0 = t - m.env.now
        u = m.after
        mean_s = m.sc.after_reply.call_delay_mean_min * 60.0
        for _ in range(m.count(self.pick.total)):
            op = self.pick.pick(u.uniform())
            self.desks[op].offer(delay0 + u.exponential(mean_s))

    def stations(self) -> list[Station]:
        return [h.station for h in self.desks.values()]

    def sample(self) -> list[float]:
        return [float(sum(h.station.waiting for h in self.desks.values()))]

    def records(self) -> HotlineRecords:
        return HotlineRecords({
            k: HotlineRecord(k, h.target_s, h.log.arrived, h.log.wait, h.log.answered, h.log.repeat,
                             h.log.platform)
            for k, h in self.desks.items()})


# -- the fast engine's part ------------------------------------------------------------------------
# Draw for draw equal to the SimPy engine whenever the arrivals are the same: the handle and
# patience draws. Not draw for draw (same distribution, same keyed stream): the background gaps
# and closed-hours offsets (SimPy shares one stream between them in event order) and the
# repeat-call draws (SimPy draws them in finish order).
class Fast(fast.FastPart):
    """The fast engine's part: each enabled hotline as a staffed station."""

    def picks(self, sc: Scenario) -> list[fast.Pick]:
        held = holds(sc)
        ids = tuple(op.id for op in sc.operators if op.hotline.enabled)
        return [fast.Pick(ids, tuple(held[i] * sc.after_reply.hotline_share for i in ids),
                          sc.after_reply.call_delay_mean_min * 60.0)]

    def run(self, flow: fast.Flow, up: fast.Step | None, offers: fast.Offers | None) -> fast.Step:
        assert offers is not None
        sc = flow.sc
        hot_ops = [op for op in sc.operators if op.hotline.enabled]
        who, when = offers.columns[0]
        stations: list[StationRecord] = []
        inc = np.zeros(flow.m, np.int64)
        out: dict[str, HotlineRecord] = {}
        for idx, op in enumerate(hot_ops):
            key = (NAME, offers.key, op.id, op.hotline, op.sla.hotline)
            h = flow.memo.get(key) or flow.memo.put(key, _hotline(flow, op, when[who == idx]))
            out[op.id] = h[0]
            stations.append(h[1])
            inc += h[2]
        return fast.Step(offers.key, HotlineRecords(out), stations=stations, series=(inc,))


def _hotline(flow: fast.Flow, op: OperatorParams,
             when: np.ndarray) -> tuple[HotlineRecord, StationRecord, np.ndarray]:
    streams, end_s, m = flow.streams, flow.end_s, flow.m
    p = op.hotline
    owner = op.id
    until = end_s
    bp = fast.steps(p.shifts, end_s)
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
    out, inc_q, _inc_b, j = fast.run_station(jobs, station, draws,
                                         flow.clock, m)
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
    return rec, fast.station_record(f"{owner}/hotline", out, end_s), inc_q


def _metrics(rec: ReplicationRecords, out: c.Metrics, distributions: bool) -> None:
    all_offered = all_in_target = all_abandoned = 0
    recorded = hotlines(rec)
    for op_id in rec.operators:
        h = recorded.get(op_id)
        if h is None:
            continue
        wait = np.asarray(h.wait)
        ans = np.asarray(h.answered, dtype=bool)
        offered = int(wait.size)
        in_target = int((ans & (wait <= h.target_s)).sum())
        abandoned = offered - int(ans.sum())
        first = offered - int(np.sum(h.repeat))
        out[op_id].update({
            "hotline_offered": float(offered),
            "hotline_from_platform": float(np.sum(h.platform)),
            SL: c.share(in_target, offered),
            AB: c.share(abandoned, offered),
            "hotline_p_wait": c.share(int((wait > 0).sum()), offered),
            "hotline_asa_s": float(wait.mean()) if offered else math.nan,
            "hotline_repeat_share": c.share(offered - first, first),
        })
        all_offered += offered
        all_in_target += in_target
        all_abandoned += abandoned
    p = out[c.PLATFORM]
    p["hotline_offered"] = float(all_offered)
    p[SL] = c.share(all_in_target, all_offered)
    p[AB] = c.share(all_abandoned, all_offered)


def _rows(sc: Scenario, r: c.Reader) -> list[c.Row]:
    rows = []
    for op in sc.operators:
        if not op.hotline.enabled:
            continue
        sl = r.mean(op.id, SL)
        ab = r.mean(op.id, AB)
        hot = op.sla.hotline
        ok = None if sl is None or ab is None else (
            sl >= hot.answered_share_min and ab <= hot.abandonment_max)
        ab_low, ab_high = r.ci(op.id, AB)
        rows.append(c.row("SLA-HOT-1", op.id,
                          f"≥ {hot.answered_share_min:.0%} answered within {hot.answer_within_s:g} s,"
                          f" abandonment ≤ {hot.abandonment_max:.0%}", sl, ok,
                          r.ci(op.id, SL), abandonment=ab,
                          abandonment_ci_low=ab_low, abandonment_ci_high=ab_high,
                          target=hot.answered_share_min, abandonment_max=hot.abandonment_max))
    return rows


# -- its scenario keys -----------------------------------------------------------------------------
REQUIRED = {"": (NAME,),
            NAME: ("enabled", "shifts", "handle_time_mean_s", "handle_time_sigma", "patience_mean_s",
                   "background_calls_per_h", "repeat_call_share", "repeat_delay_mean_min")}


def _operator(cfg: Doc) -> dict[str, Any]:
    h = cfg[NAME]
    return {NAME: Hotline(
        enabled=bool(h["enabled"]),
        shifts=parse_shifts(h["shifts"]),
        handle_time_mean_s=float(h["handle_time_mean_s"]),
        handle_time_sigma=h["handle_time_sigma"],
        patience_mean_s=h["patience_mean_s"],
        background_calls_per_h=float(h["background_calls_per_h"]),
        repeat_call_share=float(h["repeat_call_share"]),
        repeat_delay_mean_min=float(h["repeat_delay_mean_min"]),
        patterns=parse_patterns(h.get("patterns")),
    )}


def _scale(sc: Scenario, factor: float) -> dict[str, Any]:
    """The other calls a hotline takes grow with the volume too."""
    return {"operators": {op.id: {NAME: {"background_calls_per_h":
                                         op.hotline.background_calls_per_h * factor}}
                          for op in sc.operators}}


def _answered_within(rec: ReplicationRecords, scope: str, o: Any) -> float | None:
    """A service objective's share: calls answered within ``o.within_s`` of those offered."""
    h = hotlines(rec).get(scope)
    if h is None:
        return None
    wait = np.asarray(h.wait)
    ans = np.asarray(h.answered, dtype=bool)
    return c.share(int((ans & (wait <= o.within_s)).sum()), int(wait.size))


OBJECTIVES = {"hotline_answered_within_share": c.ObjectiveMetric(
    doc="share of a hotline's offered calls answered within within_s", per_operator=True,
    bound="min", measure=_answered_within, needs=("within_s",), judges=(NAME,),
    expected=lambda o: f"≥ {o.target:.0%} answered within {o.within_s:g} s")}


def _console(con: c.Console) -> list[str]:
    return [f"  hotline service level     {con.ci(SL)}",
            f"  hotline abandonment       {con.ci(AB)}"]


# -- analytic first guesses ------------------------------------------------------------------------
def _meets(c_: int, rate: float, handle_s: float, patience_s: float | None, target_s: float,
           sl_min: float, abandon_max: float) -> bool:
    """Does ``c_`` agents meet both targets? Cheap bounds first, the full Erlang A SL only between.

    Calls answered at once are within any target, so ``1 - P(wait) >= sl_min`` already passes;
    answered calls are at most ``1 - P(abandon)``, so ``1 - P(abandon) < sl_min`` already fails.
    """
    if patience_s is None:
        if c_ <= rate * handle_s:
            return False
        q = erlang_c(c_, rate, handle_s, target_s)
        return q.service_level >= sl_min
    p = _erlang_a_chain(c_, rate, 1.0 / handle_s, 1.0 / patience_s)
    p_wait = float(p[c_:].sum())
    lq = float((p * np.maximum(np.arange(p.size) - c_, 0)).sum())
    p_abandon = lq / patience_s / rate
    if p_abandon > abandon_max or 1.0 - p_abandon < sl_min:
        return False
    if 1.0 - p_wait >= sl_min:
        return True
    return erlang_a(c_, rate, handle_s, patience_s, target_s).service_level >= sl_min


@functools.lru_cache(maxsize=4096)
def erlang_required(rate_per_s: float, handle_s: float, patience_s: float | None, target_s: float,
                    sl_min: float, abandon_max: float) -> int:
    """Least agents meeting SL ≥ ``sl_min`` within ``target_s`` and abandonment ≤ ``abandon_max``.

    Erlang A with patience, Erlang C without; bisection between a lower bound and a
    square-root-staffing upper bracket ``R + beta*sqrt(R)`` (doubled while it fails).
    """
    if rate_per_s <= 0:
        return 0
    load = rate_per_s * handle_s

    def ok(n: int) -> bool:
        return n > 0 and _meets(n, rate_per_s, handle_s, patience_s, target_s, sl_min, abandon_max)

    lo = max(0, math.floor(load * (1.0 - abandon_max if patience_s is not None else 1.0)) - 1)
    beta = 3.0
    hi = max(1, math.ceil(load + beta * math.sqrt(load) + 1))
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > 1_000_000:
            raise ValueError("no agent count meets the target")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def sipp_table(sc: Scenario, op_id: str, calls_per_hour: Sequence[float]) -> list[dict[str, Any]]:
    """Hour by hour: offered calls, the Erlang A requirement (SIPP) and the shift plan's agents."""
    op = sc.operator(op_id)
    h, hot = op.hotline, op.sla.hotline
    rows = []
    for i, calls in enumerate(calls_per_hour):
        need = erlang_required(calls / 3600.0, h.handle_time_mean_s, h.patience_mean_s,
                               hot.answer_within_s, hot.answered_share_min, hot.abandonment_max)
        rows.append({"hour": i, "calls": round(float(calls), 3), "required": need,
                     "load_erlangs": round(calls * h.handle_time_mean_s / 3600.0, 4)})
    return rows


def service_level_cost(sc: Scenario, op_id: str, table: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Agent-hours on the busiest day (SIPP, Erlang A) for each service-level target."""
    op = sc.operator(op_id)
    h, hot = op.hotline, op.sla.hotline
    days = [table[d:d + 24] for d in range(0, len(table), 24)]
    busiest = max(days, key=lambda day: sum(r["calls"] for r in day)) if days else []
    out = []
    for target in COST_TARGETS:
        needs = [erlang_required(r["calls"] / 3600.0, h.handle_time_mean_s, h.patience_mean_s,
                                 hot.answer_within_s, target, hot.abandonment_max) for r in busiest]
        out.append({"service_level": target, "agent_hours": sum(needs),
                    "peak_agents": max(needs, default=0)})
    for a, b in itertools.pairwise(out):
        b["extra_agent_hours"] = b["agent_hours"] - a["agent_hours"]
    unit = sc.costs.agent_hour if sc.costs is not None else None
    if unit is not None:  # in money when the scenario gives the cost of an agent-hour
        for r in out:
            r["cost"] = r["agent_hours"] * unit
            if "extra_agent_hours" in r:
                r["extra_cost"] = r["extra_agent_hours"] * unit
    return out


# -- the planned resource --------------------------------------------------------------------------
def _items(sc: Scenario, op_id: str) -> tuple[c.ItemKey, ...]:
    return (c.ItemKey(NAME, op_id),) if sc.operator(op_id).hotline.enabled else ()


def _current(sc: Scenario, key: c.ItemKey) -> c.Value:
    return tuple(s.agents for s in sc.operator(key.operator).hotline.shifts)


def _override(sc: Scenario, key: c.ItemKey, value: c.Value, doc: dict[str, Any]) -> None:
    ops = doc.setdefault("operators", {}).setdefault(key.operator, {})
    ops.setdefault("hotline", {})["shifts"] = staffing.shifts_doc(
        sc.operator(key.operator).hotline.shifts, value)


def _per_hour(times_h: np.ndarray, hours: int) -> list[int]:
    counts, _ = np.histogram(times_h, bins=hours, range=(0.0, float(hours)))
    return [int(n) for n in counts]


def _details(rec: ReplicationRecords, hours: int) -> dict[str, dict[str, list[int]]]:
    """Each hotline's offered calls per hour (the SIPP table's input), and of them those answered
    within the target and those abandoned (the hour-by-hour check of a designed roster)."""
    hourly = {}
    for op_id, h in hotlines(rec).items():
        arrived = np.asarray(h.arrived, dtype=float) / 3600.0
        wait = np.asarray(h.wait, dtype=float)
        ans = np.asarray(h.answered, dtype=bool)

        hourly[op_id] = {"calls": _per_hour(arrived, hours),
                         "in_target": _per_hour(arrived[ans & (wait <= h.target_s)], hours),
                         "abandoned": _per_hour(arrived[~ans], hours)}
    return hourly


def _calls(per_rep: list[Any], op_id: str, hours: int) -> list[float]:
    """Mean offered calls per hour over the replications."""
    if not per_rep or op_id not in per_rep[0]:
        return [0.0] * hours
    out: list[float] = np.mean([d[op_id]["calls"] for d in per_rep], axis=0).tolist()
    return out


def _start(inp: c.GuessInput, key: c.ItemKey, current: c.Value) -> c.Start:
    op_id = key.operator
    calls = _calls(inp.details(NAME), op_id, inp.hours)
    table = sipp_table(inp.sc, op_id, calls)
    guess = staffing.shift_guess(inp.sc.operator(op_id).hotline.shifts, [r["required"] for r in table])
    return c.Start(guess, staffing.search_bound(guess, current), staffing.first_step(guess), table)


def _entry(sc: Scenario, key: c.ItemKey, value: c.Value, current: c.Value,
           table: Any) -> dict[str, Any]:
    """The hour-by-hour table with the planned and current agents, and the cost table."""
    shifts = sc.operator(key.operator).hotline.shifts
    agents = staffing.agents_by_hour(shifts, value, len(table))
    cur = staffing.agents_by_hour(shifts, current, len(table))
    for r, a, n in zip(table, agents, cur, strict=True):
        r["planned_agents"] = a
        r["current_agents"] = n
        r["occupancy"] = round(r["load_erlangs"] / a, 4) if a else None
    return {"hourly": table, "service_level_cost": service_level_cost(sc, key.operator, table)}


# -- shift design ----------------------------------------------------------------------------------
#: Calls an hour must bring over all replications to be judged on its own (fewer are too few to
#: measure a share; the item's SLA row over the whole run still judges them).
MIN_HOUR_CALLS = 30


#: Mean handling from which the requirement uses the modified offered load instead of the
#: hour's own calls (Green, Kolesar and Whitt: SIPP is fine while handling is short against the
#: hour; longer handling carries the load of earlier hours over).
LAG_FROM_S = 900.0


def modified_offered(calls_per_h: Sequence[float], handle_s: float) -> list[float]:
    """The modified offered load of each hour, as calls per hour (hourly-constant arrivals,
    exponential handling of mean ``handle_s``): the mean over the hour of ``m(t)``, the
    infinite-server busy count (``m' = λ(t) − m/τ``, solved exactly hour by hour), divided by
    ``τ``. Equals the hour's calls when handling is short."""
    tau = handle_s / 3600.0
    decay = math.exp(-1.0 / tau)
    m, out = 0.0, []
    for lam in calls_per_h:
        target = lam * tau
        out.append((target + (m - target) * tau * (1.0 - decay)) / tau)
        m = target + (m - target) * decay
    return out


def _requirement(sc: Scenario, key: c.ItemKey, per_rep: list[Any], hours: int,
                 planned: c.Value) -> list[int]:
    """SIPP: the Erlang A requirement of each hour at its simulated offered calls; with handling
    of :data:`LAG_FROM_S` or more, at the modified offered load."""
    return _requirement_at(sc, key, per_rep, hours, planned, 1.0)


def _requirement_at(sc: Scenario, key: c.ItemKey, per_rep: list[Any], hours: int,
                    planned: c.Value, scale: float) -> list[int]:
    """As :func:`_requirement`, each hour held to ``scale`` of SLA-HOT-1 (answered within the
    target ≥ ``scale`` × the share, abandonment ≤ 1 − ``scale`` × (1 − its limit)): the hourly
    target ``yzt plan --design-shifts`` searches so that the row over the whole run holds at least
    cost (``scale`` 1 is every hour at the full target)."""
    op = sc.operator(key.operator)
    h, hot = op.hotline, op.sla.hotline
    calls = _calls(per_rep, key.operator, hours)
    if h.handle_time_mean_s >= LAG_FROM_S:
        calls = modified_offered(calls, h.handle_time_mean_s)
    if scale >= 1.0:
        return [r["required"] for r in sipp_table(sc, key.operator, calls)]
    sl = hot.answered_share_min * scale
    ab = 1.0 - (1.0 - hot.abandonment_max) * scale
    return [erlang_required(n / 3600.0, h.handle_time_mean_s, h.patience_mean_s,
                            hot.answer_within_s, sl, ab) for n in calls]


def _pooled(per_rep: list[Any], op_id: str, hours: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not per_rep or op_id not in per_rep[0]:
        z = np.zeros(hours)
        return z, z, z
    return tuple(np.sum([d[op_id][k] for d in per_rep], axis=0).astype(float)
                 for k in ("calls", "in_target", "abandoned"))


def _hour_check(sc: Scenario, key: c.ItemKey, per_rep: list[Any], hours: int) -> list[bool | None]:
    """Per hour of the horizon, over all replications: the share answered within the target and
    the share abandoned against SLA-HOT-1 (``None`` below :data:`MIN_HOUR_CALLS` calls)."""
    hot = sc.operator(key.operator).sla.hotline
    calls, ok, ab = _pooled(per_rep, key.operator, hours)
    return [None if n < MIN_HOUR_CALLS else bool(k / n >= hot.answered_share_min
                                                 and a / n <= hot.abandonment_max)
            for n, k, a in zip(calls, ok, ab, strict=True)]


def _worst_hour(sc: Scenario, key: c.ItemKey, per_rep: list[Any], hours: int,
                open_hours: frozenset[int]) -> int | None:
    """The open hour of the day with the lowest share answered within the target."""
    calls, ok, _ = _pooled(per_rep, key.operator, hours)
    by_day = {h: (sum(calls[t] for t in range(h, hours, 24)), sum(ok[t] for t in range(h, hours, 24)))
              for h in open_hours}
    shares = {h: k / n for h, (n, k) in by_day.items() if n > 0}
    return min(shares, key=lambda h: (shares[h], h)) if shares else None


RESOURCE = c.Resource(
    name=NAME, order=10, phase=2, coupling="separable", slas=("SLA-HOT-1",), metrics=(SL, AB),
    shared=False, per_operator=True, single=False, items=_items, current=_current,
    override=_override, start=_start, details=_details, entry=_entry,
    curve=c.Curve(offsets=(-2, -1, 1, 2), lines=((SL, "curve.sl"), (AB, "curve.abandonment"))),
    quantity=lambda sc, key, v: ("agent_hour", staffing.day_agent_hours(
        sc.operator(key.operator).hotline.shifts, v)),
    roster=staffing.Rostering(section=NAME, unit_cost="agent_hour", requirement=_requirement,
                              hour_check=_hour_check, worst_hour=_worst_hour,
                              requirement_at=_requirement_at),
)

#: JSON-Schema fragments of the scenario keys this stage reads (``Stage.schema``), by path.
SCHEMA: dict[str, Any] = {
    "after_reply.hotline_share": {"type": "number", "minimum": 0, "maximum": 1},
    "after_reply.call_delay_mean_min": {"type": "number", "minimum": 0},
    "operators.*.hotline": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "enabled": {"type": "boolean"},
            "shifts": {"type": "array", "items": {"$ref": "#/$defs/shift"}},
            "handle_time_mean_s": {"type": "number", "exclusiveMinimum": 0},
            "handle_time_sigma": {"type": ["number", "null"], "minimum": 0},
            "patience_mean_s": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "background_calls_per_h": {"type": "number", "minimum": 0},
            "repeat_call_share": {"type": "number", "minimum": 0, "maximum": 0.95},
            "repeat_delay_mean_min": {"type": "number", "exclusiveMinimum": 0},
            "patterns": {"$ref": "#/$defs/patterns"},
        },
    },
}


STAGE = register(c.Stage(
    name=NAME, order=30,
    after="sms", simpy=Hotlines, fast=Fast, records=HotlineRecords,
    parse=Section(operator=_operator, required=REQUIRED, operator_rules=staffed_rules(NAME)),
    full_scale="hotline",
    doc="receivers of a reply call their operator's hotline (agents by shift, Erlang A callers)",
    schema=SCHEMA, schema_required=("after_reply.hotline_share",),
    section=("after_reply.hotline_share", "after_reply.call_delay_mean_min", "operators.*.hotline"),
    requirements=("SLA-HOT-1",), metrics=_metrics, sla_rows=_rows,
    pessimistic={SL: "ci_low", AB: "ci_high"}, console=_console, scale=_scale, resources=(RESOURCE,),
    objectives=OBJECTIVES,
    series=(c.Series("hotline_queue", "hotline queue", "热线排队数"),),
    chart=c.Chart(requirement="SLA-HOT-1", second="abandonment", second_limit="abandonment_max"),
    messages={
        "chart": ("Hotline service level and abandonment per operator",
                  "各运营商客服热线服务水平与放弃率"),
        "chart.alt": (
            "Two bar charts with 95 % confidence bars: the share of calls answered in time per "
            "operator against its target, and the abandonment share against its limit",
            "两幅带 95% 置信区间的柱状图：各运营商按时接听比例与目标值，以及放弃率与上限"),
        "chart.value": ("answered in time", "按时接听比例"),
        "chart.second": ("abandoned", "放弃率"),
        "chart.target": ("target", "目标"),
        "chart.limit": ("limit", "上限"),
        "curve": ("{operator} hotline: service level and abandonment against agents",
                  "{operator} 客服热线：服务水平与放弃率随坐席数的变化"),
        "curve.sl": ("service level", "服务水平"),
        "curve.abandonment": ("abandonment", "放弃率"),
        "curve.x": ("agents (sum over shifts)", "坐席数（各班次合计）"),
        "curve.y": ("share of offered calls", "占呼入量的比例"),
        "roster": ("{operator} hotline: designed roster, agents per hour of the day",
                   "{operator} 客服热线：设计排班，每小时坐席数"),
        "roster.required": ("required (Erlang A per hour at the target the roster was designed to)",
                            "需求（按排班设计目标逐小时计算的 Erlang A）"),
        "roster.planned": ("designed roster", "设计排班"),
        "roster.fixed": ("fixed windows (sized)", "固定班次（仅定人数）"),
        "roster.x": ("hour of the day", "时刻"),
        "roster.y": ("agents", "坐席数"),
        "table.hourly": (
            "{operator} hotline hour by hour: SIPP requirement (Erlang A) beside the shift plan",
            "{operator} 客服热线逐小时：SIPP 需求（Erlang A）与排班对照"),
        "table.service_level_cost": (
            "{operator} hotline: cost of the last points of service level (SIPP)",
            "{operator} 客服热线：服务水平最后几个百分点的代价（SIPP）"),
    },
))
