"""Typed readers of the simulator's results files: ``sim-results.json`` and ``plan.json``.

Both are results kinds of :mod:`yzt.resultfile` (``sim`` and ``plan``, schemas
``sim.schema.json`` and ``plan.schema.json``); :mod:`yzt.sim.results` and :mod:`yzt.sim.plan`
write them. Reports read them through these classes, never through ``.get`` chains: every verdict
is a :class:`~yzt.verdict.Verdict`, every optional number ``None`` when the file has none. Each
class keeps the document it was read from, so :meth:`to_json` gives back the writer's bytes'
content exactly (the writers own the format; these classes own reading it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from yzt import resultfile
from yzt.verdict import Verdict


def _body(document: dict[str, Any]) -> dict[str, Any]:
    """A document without its ``kind`` and ``schema_version`` (the writer stamps them)."""
    return {k: v for k, v in document.items() if k not in ("kind", "schema_version")}


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Estimate:
    """A mean over replications with its confidence interval (bounds None with one replication)."""

    mean: float | None
    ci_low: float | None = None
    ci_high: float | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Estimate | None:
        if raw is None:
            return None
        return cls(_opt(raw.get("mean")), _opt(raw.get("ci_low")), _opt(raw.get("ci_high")))


def _estimates(raw: Mapping[str, Any] | None) -> dict[str, Estimate | None]:
    return {str(k): Estimate.from_json(v) for k, v in (raw or {}).items()}


@dataclass(frozen=True)
class SlaRow:
    """One SLA row of the platform or of one operator, judged on the mean over replications."""

    requirement: str
    name: str
    verdict: Verdict
    expected: str = ""
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    target: float | None = None
    #: Hotline rows: the abandonment share, its interval and the share the SLA allows.
    abandonment: float | None = None
    abandonment_ci_low: float | None = None
    abandonment_ci_high: float | None = None
    abandonment_max: float | None = None
    #: Service objectives' rows: ``objective`` (an SLA row has ``sla``), the metric and the source.
    kind: str = "sla"
    metric: str = ""
    source: str = ""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SlaRow:
        return cls(str(raw["requirement"]), str(raw["name"]), Verdict.parse(str(raw["verdict"])),
                   str(raw.get("expected", "")),
                   **{k: _opt(raw.get(k)) for k in ("value", "ci_low", "ci_high", "target",
                                                    "abandonment", "abandonment_ci_low",
                                                    "abandonment_ci_high", "abandonment_max")},
                   kind=str(raw.get("kind", "sla")), metric=str(raw.get("metric", "")),
                   source=str(raw.get("source", "")))


@dataclass(frozen=True)
class ProfileTarget:
    """One target of a named SLA profile and where it comes from."""

    field: str
    value: float
    document: str
    clause: str
    quote: str = ""
    assumption: bool = False

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ProfileTarget:
        return cls(str(raw["field"]), float(raw["value"]), str(raw["document"]),
                   str(raw["clause"]), str(raw.get("quote", "")), bool(raw.get("assumption")))


@resultfile.reads
@dataclass(frozen=True)
class SimResults:
    """``sim-results.json``: the run's verdict, its SLA rows and its mean time series."""

    KIND: ClassVar[str] = "sim"
    SCHEMA_VERSION: ClassVar[int] = 1

    verdict: Verdict
    scenario: str
    seed: int
    replications: int
    sla: tuple[SlaRow, ...]
    one_in: int | None = None
    #: Series name → values; ``t_hours`` is the time axis.
    timeseries: dict[str, list[float | None]] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: The service objectives' rows (reported apart from the SLAs).
    objectives: tuple[SlaRow, ...] = ()
    #: The named SLA profile of the hotline targets and each target's source.
    sla_profile: str = ""
    profile_targets: tuple[ProfileTarget, ...] = ()

    @property
    def hours(self) -> list[float | None]:
        """The time axis of :attr:`timeseries`."""
        return self.timeseries.get("t_hours", [])

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SimResults:
        one_in = (document.get("sampling") or {}).get("one_in")
        return cls(Verdict.parse(str(document["verdict"])), str(document["scenario"]["name"]),
                   int(document["seed"]), int(document["replications"]),
                   tuple(SlaRow.from_json(r) for r in document["sla"]),
                   None if one_in is None else int(one_in),
                   {str(k): list(v) for k, v in (document.get("timeseries") or {}).items()
                    if isinstance(v, list)},
                   document, tuple(SlaRow.from_json(r) for r in document.get("objectives") or ()),
                   str((document.get("sla_profile") or {}).get("name", "")),
                   tuple(ProfileTarget.from_json(t)
                         for t in (document.get("sla_profile") or {}).get("targets") or ()))

    def to_json(self) -> dict[str, Any]:
        return _body(self.document)


# --- plan.json -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """The SLA metrics of one value of an item, and whether they hold."""

    holds: bool
    metrics: dict[str, Estimate | None]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Evidence:
        raw = raw or {}
        return cls(bool(raw.get("holds", False)), _estimates(raw.get("metrics")))


@dataclass(frozen=True)
class Tried:
    """A value the search simulated, with its metrics."""

    value: tuple[int, ...] | None
    metrics: dict[str, Estimate | None]
    holds: bool = False

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Tried:
        value = raw.get("value")
        return cls(None if value is None else tuple(int(v) for v in value),
                   _estimates(raw.get("metrics")), bool(raw.get("holds", False)))


@dataclass(frozen=True)
class Infeasible:
    """Why no value within the search bound holds."""

    reason: str
    best_value: tuple[int, ...] | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Infeasible | None:
        if raw is None:
            return None
        best = raw.get("best_value")
        return cls(str(raw["reason"]), None if best is None else tuple(int(v) for v in best))


@dataclass(frozen=True)
class HourRow:
    """One hour of a staffing table (SIPP): calls, load, agents required, current and planned."""

    hour: int
    calls: float
    load_erlangs: float
    required: int
    current_agents: int | None = None
    planned_agents: int | None = None
    occupancy: float | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> HourRow:
        def opt_int(key: str) -> int | None:
            return None if raw.get(key) is None else int(raw[key])

        return cls(int(raw["hour"]), float(raw["calls"]), float(raw["load_erlangs"]),
                   int(raw["required"]), opt_int("current_agents"), opt_int("planned_agents"),
                   _opt(raw.get("occupancy")))


@dataclass(frozen=True)
class RosterHour:
    """One hour of the day of a designed roster: required, planned, the fixed-window plan."""

    hour: int
    required: int
    planned: int
    fixed_window: int

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RosterHour:
        return cls(int(raw["hour"]), int(raw["required"]), int(raw["planned"]),
                   int(raw["fixed_window"]))


@dataclass(frozen=True)
class RosterPlan:
    """A designed roster (``yzt plan --design-shifts``): its hours and agent-hours a day."""

    hours: tuple[RosterHour, ...]
    agent_hours: float
    fixed_window_agent_hours: float
    holds: bool
    same_target_agent_hours: float | None = None
    """The scenario's windows sized to the roster's requirement."""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> RosterPlan | None:
        if not raw:
            return None
        return cls(tuple(RosterHour.from_json(h) for h in raw.get("hours") or ()),
                   float(raw["agent_hours"]), float(raw["fixed_window_agent_hours"]),
                   bool((raw.get("isa") or {}).get("holds", False)),
                   _opt((raw.get("fixed_window_same_target") or {}).get("agent_hours")))


@dataclass(frozen=True)
class CostRow:
    """The agent hours a service level costs."""

    service_level: float
    agent_hours: float
    peak_agents: int
    extra_agent_hours: float | None = None
    cost: float | None = None
    """In money, when the scenario gives the cost of an agent-hour."""
    extra_cost: float | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CostRow:
        return cls(float(raw["service_level"]), float(raw["agent_hours"]), int(raw["peak_agents"]),
                   _opt(raw.get("extra_agent_hours")), _opt(raw.get("cost")),
                   _opt(raw.get("extra_cost")))


def _value(raw: Any) -> tuple[int, ...] | None:
    return None if raw is None else tuple(int(v) for v in raw)


@dataclass(frozen=True)
class PlanItem:
    """One planned item: an operator's (or the platform's) resource, current against planned."""

    operator: str
    resource: str
    verdict: Verdict
    current: tuple[int, ...] | None
    planned: tuple[int, ...] | None
    part: str = ""
    analytic_guess: tuple[int, ...] | None = None
    difference: tuple[int, ...] = ()
    slas: tuple[str, ...] = ()
    at_planned: Evidence = field(default_factory=lambda: Evidence(False, {}))
    one_unit_less: tuple[Tried, ...] = ()
    at_minimum: bool = False
    infeasible: Infeasible | None = None
    curve: tuple[Tried, ...] = ()
    hourly: tuple[HourRow, ...] = ()
    service_level_cost: tuple[CostRow, ...] = ()
    roster: RosterPlan | None = None
    cost: Mapping[str, Any] | None = None
    #: Service objectives that judge the item beside its SLA rows.
    objectives: tuple[str, ...] = ()
    #: The rows that fail one unit below the plan (what binds it).
    binding: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``resource`` or ``resource.part``."""
        return self.resource + (f".{self.part}" if self.part else "")

    @property
    def changed(self) -> bool:
        return any(self.difference)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PlanItem:
        return cls(
            str(raw["operator"]), str(raw["resource"]), Verdict.parse(str(raw["verdict"])),
            _value(raw.get("current")), _value(raw.get("planned")), str(raw.get("part") or ""),
            _value(raw.get("analytic_guess")), tuple(int(d) for d in raw.get("difference") or ()),
            tuple(str(s) for s in raw.get("slas") or ()), Evidence.from_json(raw.get("at_planned")),
            tuple(Tried.from_json(t) for t in raw.get("one_unit_less") or ()),
            bool(raw.get("at_minimum", False)), Infeasible.from_json(raw.get("infeasible")),
            tuple(Tried.from_json(t) for t in raw.get("curve") or ()),
            tuple(HourRow.from_json(r) for r in raw.get("hourly") or ()),
            tuple(CostRow.from_json(c) for c in raw.get("service_level_cost") or ()),
            RosterPlan.from_json(raw.get("roster")), raw.get("cost"),
            tuple(str(o) for o in raw.get("objectives") or ()),
            tuple(str(b) for b in raw.get("binding") or ()))


@dataclass(frozen=True)
class WhatIfItem:
    """An item planned at another load."""

    operator: str
    resource: str
    planned: tuple[int, ...] | None
    infeasible: bool
    part: str = ""

    @property
    def label(self) -> str:
        return f"{self.operator} {self.resource}" + (f".{self.part}" if self.part else "")

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> WhatIfItem:
        return cls(str(raw["operator"]), str(raw["resource"]), _value(raw.get("planned")),
                   bool(raw.get("infeasible")), str(raw.get("part") or ""))


@dataclass(frozen=True)
class WhatIf:
    """The plan at a load factor."""

    load: float
    items: tuple[WhatIfItem, ...]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> WhatIf:
        return cls(float(raw["load"]), tuple(WhatIfItem.from_json(i) for i in raw["items"]))


@dataclass(frozen=True)
class PlanCalibration:
    """An operator calibrated from a load run (``yzt plan --calibrate``)."""

    operator: str
    samples: int
    median_ms: float
    sigma: float
    error_ratio: float
    meaning: str = ""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PlanCalibration:
        return cls(str(raw["operator"]), int(raw["samples"]), float(raw["median_ms"]),
                   float(raw["sigma"]), float(raw["error_ratio"]),
                   str((raw.get("outlook") or {}).get("meaning", "")))


@resultfile.reads
@dataclass(frozen=True)
class PlanResults:
    """``plan.json``: the planned items, the rule they are judged by, and the plan's verdict."""

    KIND: ClassVar[str] = "plan"
    SCHEMA_VERSION: ClassVar[int] = 1

    verdict: Verdict
    scenario: str
    items: tuple[PlanItem, ...]
    seed: int | None = None
    replications: int | None = None
    simulations: int | None = None
    rule: str = ""
    what_if: tuple[WhatIf, ...] = ()
    calibration: tuple[PlanCalibration, ...] = ()
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> PlanResults:
        def opt_int(key: str) -> int | None:
            return None if document.get(key) is None else int(document[key])

        return cls(Verdict.parse(str(document["verdict"])), str(document["scenario"]["name"]),
                   tuple(PlanItem.from_json(e) for e in document["items"]),
                   opt_int("seed"), opt_int("replications"), opt_int("simulations"),
                   str(document.get("rule", "")),
                   tuple(WhatIf.from_json(w) for w in document.get("what_if") or ()),
                   tuple(PlanCalibration.from_json(c) for c in document.get("calibration") or ()),
                   document)

    def to_json(self) -> dict[str, Any]:
        return _body(self.document)
