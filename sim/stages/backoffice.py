"""The back offices: receivers of a reply raise disputes and remote cancellations with their
operator; staff by shift work them, then an external delay closes them
(:class:`yzt.sim.callcentre.BackOfficeDesk`). It writes SLA-DSP-1 and SLA-CXL-1 per operator.
Planned resource: each operator's back-office head count per shift, first guessed by the fluid
bound (the measured work over the staffed hours)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from yzt.sim import fast, kernels
from yzt.sim.callcentre import BackOfficeDesk
from yzt.sim.engine import Cumulative, holds
from yzt.sim.records import ReplicationRecords, StationRecord
from yzt.sim.scenario import BackOffice, OperatorParams, Scenario, lognormal_h, parse_patterns, parse_shifts
from yzt.sim.stages import contract as c
from yzt.sim.stages import register, staffing
from yzt.sim.stages.sections import Doc, Section, staffed_rules
from yzt.sim.station import Station

if TYPE_CHECKING:
    from yzt.sim.engine import Model

NAME = "backoffice"
DSP, CXL = "dispute_within_deadline_share", "cancellation_within_deadline_share"
#: The kinds of case, their row, share metric and the words of the row.
KINDS = (("dispute", "SLA-DSP-1", DSP, "disputes"), ("cancellation", "SLA-CXL-1", CXL, "cancellations"))


@dataclass
class CaseRecord:
    """One back office's cases, in the order they were raised (closed: NaN while open)."""

    id: str
    dispute_deadline_s: float
    cancellation_deadline_s: float
    kind: list[str]
    raised: list[float]
    closed: list[float]


@dataclass
class BackOfficeRecords:
    """What the back offices recorded: operator id → its cases."""

    cases: dict[str, CaseRecord]


def cases(rec: ReplicationRecords) -> dict[str, CaseRecord]:
    """The back offices' records (none when the run stopped before the back offices)."""
    got = rec.get(NAME, BackOfficeRecords)
    return got.cases if got is not None else {}


class BackOffices:
    """The SimPy part: a delivered reply makes some of its receivers raise cases."""

    def __init__(self, model: Model) -> None:
        self.m = m = model
        sc = m.sc
        self.desks = {op.id: BackOfficeDesk(m.env, op.id, op.backoffice, m.streams, m.end_s)
                      for op in sc.operators}
        holds = m.holds()
        ids = [op.id for op in sc.operators]
        after = sc.after_reply
        self.picks = (("dispute", Cumulative(ids, [holds[i] * after.dispute_share for i in ids])),
                      ("cancellation", Cumulative(ids, [holds[i] * after.cancellation_share
                                                        for i in ids])))

    def start(self) -> None:
        pass

    def receive(self, query: int, t: float) -> None:
        m = self.m
        delay0 = t - m.env.now
        u = m.after
        mean_s = m.sc.after_reply.case_delay_mean_h * 3600.0
        for kind, pick in self.picks:
            for _ in range(m.count(pick.total)):
                op = pick.pick(u.uniform())
                self.desks[op].submit(kind, delay0 + u.exponential(mean_s))

    def stations(self) -> list[Station]:
        return [b.station for b in self.desks.values()]

    def sample(self) -> list[float]:
        return [float(sum(b.station.waiting + b.station.busy for b in self.desks.values()))]

    def records(self) -> BackOfficeRecords:
        out = {}
        for op in self.m.sc.operators:
            b = self.desks[op.id]
            out[op.id] = CaseRecord(op.id, op.sla.dispute_days * 86_400.0,
                                    op.sla.cancellation_hours * 3600.0,
                                    b.log.kind, b.log.raised, b.log.closed)
        return BackOfficeRecords(out)


# -- the fast engine's part ------------------------------------------------------------------------
# Draw for draw equal to the SimPy engine whenever the arrivals are the same: the work draws. Not
# draw for draw (same distribution, same keyed stream): the external delays (SimPy draws them in
# finish order).
class Fast(fast.FastPart):
    """The fast engine's part: each back office as a staffed station (no patience, no repeats),
    then the external delay."""

    def picks(self, sc: Scenario) -> list[fast.Pick]:
        held = holds(sc)
        ids = tuple(op.id for op in sc.operators)
        after = sc.after_reply
        mean_s = after.case_delay_mean_h * 3600.0
        return [fast.Pick(ids, tuple(held[i] * after.dispute_share for i in ids), mean_s),
                fast.Pick(ids, tuple(held[i] * after.cancellation_share for i in ids), mean_s)]

    def run(self, flow: fast.Flow, up: fast.Step | None, offers: fast.Offers | None) -> fast.Step:
        assert offers is not None
        (d_who, d_when), (c_who, c_when) = offers.columns
        stations: list[StationRecord] = []
        inc = np.zeros(flow.m, np.int64)
        out: dict[str, CaseRecord] = {}
        for idx, op in enumerate(flow.sc.operators):
            key = (NAME, offers.key, op.id, op.backoffice, op.sla)
            b = flow.memo.get(key) or flow.memo.put(key, _backoffice(
                flow, op, d_when[d_who == idx], c_when[c_who == idx]))
            out[op.id] = b[0]
            stations.append(b[1])
            inc += b[2]
        return fast.Step(offers.key, BackOfficeRecords(out), stations=stations, series=(inc,))


def _backoffice(flow: fast.Flow, op: OperatorParams, disputes: np.ndarray,
                cancels: np.ndarray) -> tuple[CaseRecord, StationRecord, np.ndarray]:
    streams, end_s, m = flow.streams, flow.end_s, flow.m
    b = op.backoffice
    owner = op.id
    bp = fast.steps(b.shifts, end_s)
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
    out, _inc_q, inc_b, j = fast.run_station(jobs, station, draws,
                                         flow.clock, m)
    ext_z = streams.generator(owner, "backoffice-external").standard_normal(n)
    med = np.where(is_d, b.dispute_external.median, b.cancellation_external.median)
    sig = np.where(is_d, b.dispute_external.sigma, b.cancellation_external.sigma)
    external = np.where(med > 0, med * np.exp(sig * ext_z), 0.0)
    finish = j["leave"]
    closed = np.where((j["start"] < math.inf) & (finish < end_s), finish + external, np.nan)
    rec = CaseRecord(owner, op.sla.dispute_days * 86_400.0, op.sla.cancellation_hours * 3600.0,
                     np.where(is_d, "dispute", "cancellation").tolist(), raised.tolist(),
                     closed.tolist())
    return rec, fast.station_record(f"{owner}/backoffice", out, end_s), inc_b


def _metrics(rec: ReplicationRecords, out: c.Metrics, distributions: bool) -> None:
    all_d = all_d_ok = all_c = all_c_ok = 0
    recorded = cases(rec)
    for op_id in rec.operators:
        cs = recorded.get(op_id)
        if cs is None:  # records that stop before the back offices (``yzt plan``'s platform stage)
            continue
        kind = np.asarray(cs.kind)
        took = np.asarray(cs.closed) - np.asarray(cs.raised)
        took = np.where(np.isnan(took), np.inf, took)
        d, x = kind == "dispute", kind == "cancellation"
        d_ok = int((took[d] <= cs.dispute_deadline_s).sum())
        c_ok = int((took[x] <= cs.cancellation_deadline_s).sum())
        out[op_id].update({
            "disputes": float(d.sum()),
            DSP: c.share(d_ok, int(d.sum())),
            "dispute_p95_h": c.quantiles(took[d], (0.95,))[0] / 3600.0,
            "cancellations": float(x.sum()),
            CXL: c.share(c_ok, int(x.sum())),
            "cancellation_p95_h": c.quantiles(took[x], (0.95,))[0] / 3600.0,
        })
        all_d += int(d.sum())
        all_d_ok += d_ok
        all_c += int(x.sum())
        all_c_ok += c_ok
    p = out[c.PLATFORM]
    p["disputes"] = float(all_d)
    p[DSP] = c.share(all_d_ok, all_d)
    p["cancellations"] = float(all_c)
    p[CXL] = c.share(all_c_ok, all_c)


# -- its scenario keys -----------------------------------------------------------------------------
REQUIRED = {"": (NAME,),
            NAME: ("shifts", "dispute_work_mean_min", "dispute_external",
                   "cancellation_work_mean_min", "cancellation_external")}


def _operator(cfg: Doc) -> dict[str, Any]:
    b = cfg[NAME]
    return {NAME: BackOffice(
        shifts=parse_shifts(b["shifts"]),
        dispute_work_mean_min=float(b["dispute_work_mean_min"]),
        dispute_external=lognormal_h(b["dispute_external"]),
        cancellation_work_mean_min=float(b["cancellation_work_mean_min"]),
        cancellation_external=lognormal_h(b["cancellation_external"]),
        patterns=parse_patterns(b.get("patterns")),
    )}


def _rows(sc: Scenario, r: c.Reader) -> list[c.Row]:
    rows = []
    for _kind, sla, metric, what in KINDS:
        for op in sc.operators:
            v = r.mean(op.id, metric)
            limit = (f"{op.sla.dispute_days:g} days" if sla == "SLA-DSP-1"
                     else f"{op.sla.cancellation_hours:g} h")
            rows.append(c.row(sla, op.id, f"100 % of {what} within {limit}", v,
                              None if v is None else v >= 1.0, r.ci(op.id, metric), target=1.0))
    return rows


def _console(con: c.Console) -> list[str]:
    return [f"  disputes within deadline  {con.ci(DSP)}",
            f"  cancellations in deadline {con.ci(CXL)}"]


# -- the planned resource --------------------------------------------------------------------------
def _items(sc: Scenario, op_id: str) -> tuple[c.ItemKey, ...]:
    return (c.ItemKey(NAME, op_id),)


def _current(sc: Scenario, key: c.ItemKey) -> c.Value:
    return tuple(s.agents for s in sc.operator(key.operator).backoffice.shifts)


def _override(sc: Scenario, key: c.ItemKey, value: c.Value, doc: dict[str, Any]) -> None:
    ops = doc.setdefault("operators", {}).setdefault(key.operator, {})
    ops.setdefault("backoffice", {})["shifts"] = staffing.shifts_doc(
        sc.operator(key.operator).backoffice.shifts, value)


def _details(rec: ReplicationRecords, hours: int) -> dict[str, dict[str, int]]:
    """Each back office's cases of each kind (the fluid bound's input)."""
    return {op_id: {"dispute": cs.kind.count("dispute"),
                    "cancellation": cs.kind.count("cancellation")} for op_id, cs in cases(rec).items()}


def backoffice_guess(sc: Scenario, op_id: str, cases: list[dict[str, dict[str, int]]]) -> int:
    """The fluid bound on a back office's staff: the run's case work (measured counts times the
    mean work per kind) over the staffed hours from the start to the day's last reply deadline
    plus the cancellation deadline; by then nearly every case has been raised and must be
    closed (FCFS mixes disputes with cancellations, so all work counts)."""
    b = sc.operator(op_id).backoffice
    counts = np.mean([[o[op_id]["dispute"], o[op_id]["cancellation"]] for o in cases], axis=0)
    work_h = (counts[0] * b.dispute_work_mean_min + counts[1] * b.cancellation_work_mean_min) / 60.0
    window_h = min(sc.horizon_h + sc.drain_h,
                   sc.horizon_h + sc.deadline_h + sc.operator(op_id).sla.cancellation_hours)
    staffed_h = sum(s.end_h - s.start_h for s in b.shifts) * window_h / 24.0 or 1.0
    return max(1, math.ceil(float(work_h / staffed_h)))


def _start(inp: c.GuessInput, key: c.ItemKey, current: c.Value) -> c.Start:
    g = backoffice_guess(inp.sc, key.operator, inp.details(NAME))
    guess = tuple(g for _ in inp.sc.operator(key.operator).backoffice.shifts)
    return c.Start(guess, staffing.search_bound(guess, current), staffing.first_step(guess))


def _infeasible(sc: Scenario, key: c.ItemKey) -> str | None:
    op = sc.operator(key.operator)
    b, sla = op.backoffice, op.sla
    if b.cancellation_external.median >= sla.cancellation_hours * 3600.0:
        return ("the external cancellation delay alone (median "
                f"{b.cancellation_external.median / 3600:g} h) exceeds the {sla.cancellation_hours:g} h "
                "deadline (SLA-CXL-1)")
    if b.dispute_external.median >= sla.dispute_days * 86_400.0:
        return ("the external dispute delay alone (median "
                f"{b.dispute_external.median / 86_400:g} days) exceeds the {sla.dispute_days:g} day "
                "deadline (SLA-DSP-1)")
    return None


def _requirement(sc: Scenario, key: c.ItemKey, per_rep: list[Any], hours: int,
                 planned: c.Value) -> list[int]:
    """A back office's deadlines are days, not minutes, so it has no hourly service target: the
    requirement of each hour is the fixed-window plan's head count then (shift design chooses
    cheaper patterns for it; the simulation then checks SLA-DSP-1 and SLA-CXL-1)."""
    return staffing.agents_by_hour(sc.operator(key.operator).backoffice.shifts, planned, hours)


RESOURCE = c.Resource(
    name=NAME, order=20, phase=2, coupling="separable", slas=("SLA-DSP-1", "SLA-CXL-1"),
    metrics=(DSP, CXL), shared=False, per_operator=True, single=False, items=_items,
    current=_current, override=_override, start=_start, infeasible=_infeasible, details=_details,
    quantity=lambda sc, key, v: ("clerk_hour", staffing.day_agent_hours(
        sc.operator(key.operator).backoffice.shifts, v)),
    roster=staffing.Rostering(section=NAME, unit_cost="clerk_hour", requirement=_requirement),
)

STAGE = register(c.Stage(
    name=NAME, order=40,
    after="sms", simpy=BackOffices, fast=Fast, records=BackOfficeRecords,
    parse=Section(operator=_operator, required=REQUIRED, operator_rules=staffed_rules(NAME)),
    full_scale="back office",
    doc="receivers of a reply raise disputes and cancellations, worked by staff by shift",
    section=("after_reply.dispute_share", "after_reply.cancellation_share",
             "after_reply.case_delay_mean_h", "operators.*.backoffice"),
    requirements=("SLA-DSP-1", "SLA-CXL-1"), metrics=_metrics, sla_rows=_rows,
    pessimistic={DSP: "ci_low", CXL: "ci_low"}, collapse_rows=True,
    console=_console, resources=(RESOURCE,),
    series=(c.Series("backoffice_backlog", "back-office backlog (disputes and cancellations)",
                     "后台积压（申诉与解绑工单）"),),
    messages={
        "roster": ("{operator} back office: designed roster, staff per hour of the day",
                   "{operator} 后台：设计排班，每小时人数"),
        "roster.required": ("required (the fixed-window plan's head count)", "需求（固定班次规划人数）"),
        "roster.planned": ("designed roster", "设计排班"),
        "roster.fixed": ("fixed windows (sized)", "固定班次（仅定人数）"),
        "roster.x": ("hour of the day", "时刻"),
        "roster.y": ("staff", "人数"),
    },
))
