"""The contract of a stage and of a planned resource: plain objects the engines, results, planner
and reports iterate, so that none of them names a stage.

A :class:`Stage` is one part of the flow (the front door, the fan-out, the SMS gateway, ...). It
declares the scenario keys it reads, the metrics it computes from a replication's records, the SLA
rows it judges, the time series it samples, its console lines and the words reports use for them.
A :class:`Resource` is a capacity the planner sizes (a stage may have several, or none): how to
read and override it in a scenario, its analytic first guess, when it is infeasible, which SLA rows
judge it and how (alone, or on a row shared by several items).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from yzt.verdict import Verdict

if TYPE_CHECKING:
    from yzt.sim.records import ReplicationRecords
    from yzt.sim.scenario import Scenario
    from yzt.sim.stages.sections import Section
    from yzt.sim.stages.staffing import Rostering

Metrics = dict[str, dict[str, float]]
"""Scope ("platform" or an operator id) → metric name → value of one replication."""
Summary = dict[str, dict[str, dict[str, Any]]]
"""Scope → metric → estimate (``mean``, ``ci_low``, ``ci_high``, ``n``, ...) over replications."""
Value = tuple[int, ...]
"""A capacity: head count per shift, or a one-element tuple (one number)."""
Row = dict[str, Any]
"""One SLA row of a results file."""

PLATFORM = "platform"
"""The scope of the platform's metrics and rows (the others are operator ids)."""
_NAN = math.nan


# -- helpers for metrics and rows ------------------------------------------------------------------
def share(num: float, den: float) -> float:
    """``num / den``, NaN when there is nothing to divide (nothing to judge)."""
    return num / den if den else _NAN


def quantiles(xs: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles by the inverted CDF (values that occurred), NaN for an empty sample."""
    if xs.size == 0:
        return [_NAN] * len(qs)
    return [float(v) for v in np.quantile(xs, qs, method="inverted_cdf")]


def row(sla: str, scope: str, expected: str, value: float | None, ok: bool | None,
        ci: tuple[float | None, float | None] = (None, None), **extra: float | str | None) -> Row:
    """One SLA row: requirement, scope, verdict, the mean with its 95 % CI, the target.
    ``ok=None``: the scenario drew no such event, nothing to judge (``not_applicable``)."""
    verdict = Verdict.NOT_APPLICABLE if ok is None else (Verdict.PASS if ok else Verdict.FAIL)
    return {"requirement": sla, "name": scope, "verdict": verdict.value, "expected": expected,
            "value": value, "ci_low": ci[0], "ci_high": ci[1], **extra}


class Reader:
    """Means and intervals of a summary, ``None`` where a stage the records stopped before left
    no metric or the replications drew nothing to measure."""

    def __init__(self, summary: Summary) -> None:
        self.summary = summary

    def mean(self, scope: str, name: str) -> float | None:
        if name not in self.summary.get(scope, {}):
            return None
        v = self.summary[scope][name]["mean"]
        return None if v is None or math.isnan(v) else float(v)

    def ci(self, scope: str, name: str) -> tuple[float | None, float | None]:
        e = self.summary.get(scope, {}).get(name, {})
        low, high = e.get("ci_low"), e.get("ci_high")
        if low is None or high is None or math.isnan(low) or math.isnan(high):
            return None, None
        return float(low), float(high)


def fmt(v: float | None, pct: bool = True) -> str:
    """A value of the console summary (a share as a percentage)."""
    if v is None:
        return "-"
    if not pct:
        return f"{v:.4g}"
    d = 2  # more decimals where 2 would round a share short of 100 % up to it (or above 0 to 0)
    while d < 9 and ((v < 1.0 and round(v * 100, d) >= 100.0) or (v > 0.0 and round(v * 100, d) <= 0)):
        d += 1
    return f"{v:.{d}%}"


class Console:
    """The platform's estimates as the console summary shows them."""

    def __init__(self, platform: Mapping[str, Mapping[str, Any]]) -> None:
        self.m = platform

    def mean(self, name: str, pct: bool = True) -> str:
        return fmt(self.m[name]["mean"], pct)

    def ci(self, name: str, pct: bool = True, unit: str = "") -> str:
        e = self.m[name]
        if e["ci_low"] is None:
            return f"{fmt(e['mean'], pct)}{unit}"
        return f"{fmt(e['mean'], pct)}{unit} [{fmt(e['ci_low'], pct)}, {fmt(e['ci_high'], pct)}]"


# -- the planner's view of a capacity --------------------------------------------------------------
@dataclass(frozen=True)
class ItemKey:
    """One planned capacity: a resource of an operator (or of the platform), maybe one part."""

    resource: str
    operator: str
    """An operator id, or ``platform`` for a resource of the platform."""
    part: str = ""
    """Which number of a platform resource (e.g. a rate or a channel count)."""

    @property
    def label(self) -> str:
        return f"{self.operator} {self.resource}" + (f".{self.part}" if self.part else "")


@dataclass
class GuessInput:
    """What the analytic first guesses read: the current run, replication by replication."""

    sc: Scenario
    base: Sequence[dict[str, Any]]
    """Per replication: ``metrics`` (:data:`Metrics`) and ``details`` (resource → its details)."""
    hours: int
    """Hours of the hour-by-hour tables (arrivals and the reply deadline after them)."""
    within_s: Mapping[str, float] = field(default_factory=dict)
    """Resource → the tightest time a row that binds it asks (s): an objective's window or time
    target when tighter than the reply deadline; absent: the deadline."""

    def details(self, resource: str) -> list[Any]:
        return [o["details"][resource] for o in self.base]

    def tightest_s(self, resource: str) -> float:
        """The time the first guess of ``resource`` fits its work into after each hour's
        arrivals: the tightest a binding row asks, at most the reply deadline."""
        return min(self.within_s.get(resource, math.inf), self.sc.deadline_h * 3600.0)


def fluid_bound(per_hour: Sequence[float], total: float, within_s: float) -> float:
    """The least rate (units of work a second) that serves ``total`` work spread over the hours
    as ``per_hour`` (counts, any scale) when the work arriving in any run of hours must be done
    within ``within_s`` after it: ``max over a ≤ b of work(a..b) / ((b - a + 1) h + within_s)``.
    Fewer cannot meet that time even without randomness; the simulation decides how many more."""
    n = float(sum(per_hour))
    if n <= 0 or total <= 0:
        return 0.0
    best = 0.0
    for a in range(len(per_hour)):
        work = 0.0
        for b in range(a, len(per_hour)):
            work += per_hour[b] / n * total
            best = max(best, work / ((b - a + 1) * 3600.0 + within_s))
    return best


@dataclass(frozen=True)
class Start:
    """Where the search of one item starts: the analytic guess, the search bound, the first step
    and anything the plan's entry shows later (``note``, e.g. an hour-by-hour table)."""

    guess: Value
    cap: int
    step: int
    note: Any = None


@dataclass(frozen=True)
class Curve:
    """The plan's curve of an item: its neighbours simulated after the search (capacity offsets),
    drawn by reports as metrics against the summed capacity. Words are the stage's messages
    ``curve`` (the title, ``{operator}`` filled), ``curve.x``, ``curve.y`` and one per line."""

    offsets: tuple[int, ...]
    """Offsets around the plan simulated (every item of the resource at once)."""
    lines: tuple[tuple[str, str], ...]
    """(metric, message key of its label) per line drawn."""


@dataclass(frozen=True)
class ObjectiveMetric:
    """A metric a stage can judge as a service objective (a scenario's ``objectives:`` row).

    Objectives are the platform's own, stricter targets beside the SLAs (a reply within minutes
    for most people, not only every reply within the deadline); they are judged like SLA rows
    but reported apart (row ``kind`` ``objective``). ``measure(records, scope, objective)`` is
    one replication's value at a scope (NaN: nothing to judge), ``None`` when the records stop
    before the stage or the scope has no such thing (no row)."""

    doc: str
    per_operator: bool
    """One row per operator (scope: the operator id), else one row of the platform."""
    bound: Literal["min", "max"]
    """``min``: the value must be at least the target (a share); ``max``: at most (a time)."""
    measure: Callable[[ReplicationRecords, str, Any], float | None]
    expected: Callable[[Any], str]
    """The row's target in words (``≥ 99 % replied within 1 h``)."""
    judges: tuple[str, ...] = ()
    """The resources whose items the objective binds (the planner sizes them to it)."""
    needs: tuple[str, ...] = ()
    """Parameters an objective of this metric must give (``within_s``, ``quantile``)."""
    share: bool = True
    """The value is a share (shown as a percentage), else seconds."""


def _never(_sc: Scenario, _key: ItemKey) -> str | None:
    return None


Coupling = Literal["joint", "each", "separable"]


@dataclass(frozen=True, eq=False)
class Resource:
    """A capacity the planner sizes. See docs/architecture.md (adding a stage or a resource)."""

    name: str
    """The word of ``--resources`` and of plan.json's ``resource``."""
    order: int
    """Position in ``--resources``' default and plan.json's ``resources`` (the registry's order)."""
    phase: int
    """Resources are planned phase by phase (upstream first: the model is feed-forward), each
    phase's values fixed for the next."""
    coupling: Coupling
    """``joint``: the items share one row and are searched together (values that hold jointly);
    ``each``: searched one item after the other against a shared row; ``separable``: each item's
    rows depend on its own capacity only, so one simulation judges every item of the phase."""
    slas: tuple[str, ...]
    """The requirements of the rows that judge an item."""
    metrics: tuple[str, ...]
    """The metrics an item's evidence shows (at its scope)."""
    shared: bool
    """The rows are the platform's (one row shared across operators), not the operator's."""
    per_operator: bool
    """One item per operator (``items(sc, op_id)``), else items of the platform
    (``items(sc, "platform")``)."""
    single: bool
    """The value is one number searched directly; else head counts per shift searched as one
    offset over the guess, then refined shift by shift."""
    items: Callable[[Scenario, str], tuple[ItemKey, ...]]
    """The items of an operator (or of the platform) that have this capacity."""
    current: Callable[[Scenario, ItemKey], Value]
    """The scenario's value."""
    override: Callable[[Scenario, ItemKey, Value, dict[str, Any]], None]
    """Write ``value`` into a scenario override document (``planned.yaml``'s fields)."""
    start: Callable[[GuessInput, ItemKey, Value], Start]
    """The analytic first guess, search bound and first step (given the current value)."""
    upto: str = "all"
    """Which engine stages the rows need (``sms``: the fast engine may stop after the gateway)."""
    infeasible: Callable[[Scenario, ItemKey], str | None] = _never
    """A reason no capacity can meet the rows, known before simulating."""
    minimum: int = 1
    details: Callable[[ReplicationRecords, int], Any] | None = None
    """What the guess needs from the current run's records beyond metrics (``(records, hours)``)."""
    entry: Callable[[Scenario, ItemKey, Value, Value, Any], dict[str, Any]] | None = None
    """Extra fields of the plan's entry: ``(sc, key, planned, current, note) → fields``."""
    curve: Curve | None = None
    """Simulate the plan's neighbours after the search (a staffing curve), and draw them."""
    quantity: Callable[[Scenario, ItemKey, Value], tuple[str, float]] | None = None
    """What a value costs a day, as a quantity of one of the scenario's ``costs:`` (its key, e.g.
    ``agent_hour``, and how many); ``None``: not billed."""
    roster: Rostering | None = None
    """Head counts per shift whose shifts ``yzt plan --design-shifts`` designs from allowed
    patterns (:class:`yzt.sim.stages.staffing.Rostering`)."""

    def scope(self, operator: str) -> str:
        """The scope of the rows that judge an item of ``operator``."""
        return PLATFORM if self.shared else operator


# -- the stage -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """A time series the engines sample: its key in the results and how reports name it."""

    key: str
    en: str
    zh: str


@dataclass(frozen=True)
class Chart:
    """Bar charts of a stage's rows of ``requirement`` per scope in a ``yzt sim`` report: the
    row's ``value`` against its ``target``, and optionally a second measure of the row (the field
    ``second``, its interval ``{second}_ci_low``/``_high``) against the field ``second_limit``.
    Words are the stage's messages ``chart``, ``chart.alt``, ``chart.value``, ``chart.target``,
    ``chart.second`` and ``chart.limit``."""

    requirement: str
    second: str = ""
    second_limit: str = ""


@dataclass(frozen=True, eq=False)
class Stage:
    """One stage of the flow. See docs/architecture.md (adding a stage or a resource)."""

    name: str
    order: int
    """Position in the flow: the registry's order (rows, metrics, series, console lines)."""
    doc: str
    """What the stage models, in one sentence (docs/architecture.md's table)."""
    section: tuple[str, ...] = ()
    """The scenario keys it reads (``sms``, ``operators.*.hotline``, ...)."""
    schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON-Schema fragments of the scenario keys it reads, by the paths of ``section``: a
    top-level section (``sms``), a key of a shared one (``after_reply.hotline_share``) or of every
    operator's configuration (``operators.*.hotline``, into ``$defs/operator``). The rest (shared
    keys, the ``$defs`` fragments refer to) is ``scenarios/schema/scenario.core.schema.json``;
    :func:`yzt.sim.scenario.scenario_schema` joins them, and ``scenario.schema.json`` ships the
    join of the built-in stages for editors and readers."""
    schema_required: tuple[str, ...] = ()
    """The paths of ``schema`` every scenario must give (each joins its parent's ``required``)."""
    after: str | None = None
    """The stage whose queries it receives (``None``: it admits them)."""
    simpy: Callable[[Any], Any] | None = None
    """Build its SimPy part for a :class:`yzt.sim.engine.Model` (a :class:`yzt.sim.engine.Part`)."""
    fast: Callable[[], Any] | None = None
    """Build its part of the fast engine (a :class:`yzt.sim.fast.FastPart`, one per memoised
    replication); a stage with a SimPy part and none is refused by the fast engine."""
    records: type | None = None
    """The class of its records, kept in ``ReplicationRecords.stages[name]`` by both engines."""
    parse: Section | None = None
    """How it checks and parses its scenario keys (:class:`yzt.sim.stages.sections.Section`)."""
    requirements: tuple[str, ...] = ()
    """The SLA rows it writes, in order."""
    metrics: Callable[[ReplicationRecords, Metrics, bool], None] | None = None
    """Fill ``metrics[scope][name]`` from one replication's records (``distributions``: also the
    quantiles and buckets only ``yzt sim`` shows). Records that stop before the stage leave its
    per-operator metrics out."""
    sla_rows: Callable[[Scenario, Reader], list[Row]] | None = None
    pessimistic: Mapping[str, str] = field(default_factory=dict)
    """Metric → the interval end (``ci_low`` or ``ci_high``) that is pessimistic for its row."""
    collapse_rows: bool = False
    """The console shows its rows only when they fail, then a count per requirement."""
    console: Callable[[Console], list[str]] | None = None
    series: tuple[Series, ...] = ()
    derive: Callable[[Scenario, ReplicationRecords], Any] | None = None
    """A stage simulated after the engines from the records of the stages before it (the model
    is feed-forward): its records go to ``records.stages[name]``."""
    resources: tuple[Resource, ...] = ()
    messages: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Report words (English, Chinese) by key, in reports' catalogue as ``stage.<name>.<key>``:
    those of its ``chart`` and its resources' ``curve``, and ``table.<field>`` for the title of
    a table a resource's ``entry`` adds (``{operator}`` filled)."""
    chart: Chart | None = None
    """The chart of its SLA rows in a ``yzt sim`` report."""
    objectives: Mapping[str, ObjectiveMetric] = field(default_factory=dict)
    """The metrics a scenario's ``objectives:`` may judge at this stage (metric name → how)."""
    scale: Callable[[Scenario, float], dict[str, Any]] | None = None
    """The scenario override that scales the stage's own load by a factor (``--what-if load``)."""
    sampled: tuple[str, str] | None = None
    """With ``sampling.one_in = N`` the stage simulates 1 query in N: (its words, the capacity
    divided by N), for the results' sampling note."""
    full_scale: str | None = None
    """The stage runs at full scale under sampling (each query stands for N): its words."""
