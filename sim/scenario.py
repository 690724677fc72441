"""A scenario file (YAML) → one validated, frozen :class:`Scenario` tree, or errors naming fields.

Two passes, like the topology: the JSON Schema (:func:`scenario_schema`: the core joined with each
stage's fragments, shipped whole as ``scenarios/schema/scenario.schema.json``) checks the
shape (``at operators.R07.outages[0].start_h: -1 is less than the minimum of 0``), then
:func:`_rule_problems` checks what a schema cannot say (known operator ids, shifts that end after
they start, outages inside the simulated time), each naming its field. A file may ``extends:``
another (a shipped name such as ``baseline``, or a path relative to the file); mappings merge
key by key, lists and numbers replace. Per-operator settings are ``operators.defaults.carrier`` /
``operators.defaults.reseller`` merged with ``operators.<ID>``.

The typed tree's classes are here, imported by every part of the model; each stage reads its own
keys (``Stage.parse``, :class:`yzt.sim.stages.sections.Section`): its required keys, its rules
and its fields of the tree, which :func:`from_document` asks the registry for.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yzt.domain.topology import SlaProfile, Topology, load_topology
from yzt.errors import InputFileError, UserError
from yzt.validation import package_schema, read_yaml, schema_problems

if TYPE_CHECKING:
    from yzt.sim.stages.sections import Section

#: The 31 provincial-level divisions (GB/T 2260 codes) of each carrier's provincial nodes.
PROVINCES: tuple[str, ...] = (
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
)


@dataclass(frozen=True)
class Lognormal:
    """A lognormal duration in seconds (median and log-standard deviation)."""

    median: float
    sigma: float


@dataclass(frozen=True)
class Surge:
    """Arrival rate × (1 + (peak-1)·exp(-(t-start)/decay)) from ``start_h`` on."""

    start_h: float
    peak_multiplier: float
    decay_h: float


@dataclass(frozen=True)
class Arrivals:
    queries_per_day: float
    diurnal: tuple[float, ...]
    """24 hourly weights, normalised to mean 1."""
    surges: tuple[Surge, ...]
    repeat_share: float
    repeat_delay_mean_h: float
    one_query_per_h: float

    def peak_rate_per_s(self) -> float:
        """An upper bound of the arrival rate (queries/s, before sampling): busiest hour, every
        surge at its peak at once (the thinning bound of the front door)."""
        return (self.queries_per_day / 86_400.0 * max(self.diurnal)
                * (1.0 + sum(s.peak_multiplier - 1.0 for s in self.surges)))


@dataclass(frozen=True)
class Verification:
    code_latency: Lognormal
    patience_mean_s: float
    fail_share: float


@dataclass(frozen=True)
class Sms:
    port: str
    rate_per_s: float
    channels: int
    failure_ratio: float
    retry_backoff_s: float
    delivery: Lognormal


@dataclass(frozen=True)
class AfterReply:
    customer_factor: float
    hotline_share: float
    dispute_share: float
    cancellation_share: float
    call_delay_mean_min: float
    case_delay_mean_h: float


@dataclass(frozen=True)
class Outage:
    start_h: float
    duration_h: float
    mode: str
    """``timeout``: calls hang until the timeout; ``refuse``: they fail at once."""


@dataclass(frozen=True)
class Retry:
    backoff_initial_s: float
    backoff_factor: float
    backoff_max_s: float
    jitter: float
    max_attempts: int | None
    """``None``: retry until the reply deadline."""


@dataclass(frozen=True)
class Shift:
    start_h: float
    end_h: float
    agents: int


@dataclass(frozen=True)
class Patterns:
    """Allowed shift patterns of a hotline or back office (``patterns:``), read by ``yzt plan
    --design-shifts`` (:mod:`yzt.sim.shifts`). ``None`` fields take the planner's defaults."""

    starts: tuple[int, ...] | None = None
    lengths: tuple[int, ...] = (4, 6, 8)
    break_after_h: int | None = 4
    opening: tuple[int, int] | None = None
    night_premium_per_h: float = 0.0


@dataclass(frozen=True)
class Costs:
    """Optional unit costs (``costs:``): the cost of a plan and of each what-if."""

    currency: str = ""
    agent_hour: float | None = None
    clerk_hour: float | None = None
    connection: float | None = None
    """One connection to an operator node, per day."""
    sms_per_s: float | None = None
    """One SMS a second of gateway throughput, per day."""


@dataclass(frozen=True)
class Hotline:
    enabled: bool
    shifts: tuple[Shift, ...]
    handle_time_mean_s: float
    handle_time_sigma: float | None
    """``None``: exponential handle time; else lognormal with this log-standard deviation."""
    patience_mean_s: float | None
    """``None``: callers never hang up (Erlang C); else exponential patience (Erlang A)."""
    background_calls_per_h: float
    repeat_call_share: float
    repeat_delay_mean_min: float
    patterns: Patterns | None = None


@dataclass(frozen=True)
class BackOffice:
    shifts: tuple[Shift, ...]
    dispute_work_mean_min: float
    dispute_external: Lognormal
    cancellation_work_mean_min: float
    cancellation_external: Lognormal
    patterns: Patterns | None = None


@dataclass(frozen=True)
class OperatorParams:
    """Everything the model needs about one operator (a provincial node shares its carrier's)."""

    id: str
    kind: str
    card_share: float
    sla: SlaProfile
    latency: Lognormal
    failure_ratio: float
    timeout_s: float
    concurrency: int | None
    retry: Retry
    outages: tuple[Outage, ...]
    hotline: Hotline
    backoffice: BackOffice


@dataclass(frozen=True)
class Objective:
    """A service objective (``objectives:``): a target on a metric a stage declares
    (:class:`yzt.sim.stages.ObjectiveMetric`), judged like an SLA row, reported apart."""

    id: str
    metric: str
    target: float
    source: str
    within_s: float | None = None
    quantile: float | None = None
    operators: tuple[str, ...] | None = None
    """Operator ids a per-operator objective covers (``None``: every operator that has it)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    horizon_h: float
    drain_h: float
    replications: int
    one_in: int
    deadline_h: float
    provincial_nodes: bool
    sample_every_min: float
    arrivals: Arrivals
    verification: Verification
    sms: Sms
    after_reply: AfterReply
    operators: tuple[OperatorParams, ...]
    source: str
    document: dict[str, Any] = field(compare=False, hash=False, repr=False)
    """The merged document, echoed into the results."""
    costs: Costs | None = None
    """Unit costs, when the scenario gives them."""
    objectives: tuple[Objective, ...] = ()
    sla_profile: str | None = None
    """The named hotline profile every operator's SLA-HOT-1 target comes from (``None``: the
    topology's own)."""

    def operator(self, operator_id: str) -> OperatorParams:
        for op in self.operators:
            if op.id == operator_id:
                return op
        raise KeyError(operator_id)


def shipped_dir() -> Path:
    """Folder of the shipped scenarios (``scenarios/`` of the package)."""
    return Path(str(resources.files("yzt.scenarios")))


def shipped_scenarios() -> dict[str, Path]:
    """Shipped scenario name → file (every ``*.yaml`` but the topology)."""
    return {
        p.stem: p for p in sorted(shipped_dir().glob("*.yaml")) if p.stem != "topology"
    }


def resolve(name_or_path: str, base: Path | None = None) -> Path:
    """A shipped scenario name (``baseline``) or a path (relative to ``base`` when given)."""
    shipped = shipped_scenarios()
    if name_or_path in shipped:
        return shipped[name_or_path]
    path = Path(name_or_path)
    if base is not None and not path.is_absolute():
        path = base / path
    if path.exists():
        return path
    raise UserError(
        f"scenario {name_or_path!r} not found: give a path or one of {', '.join(shipped)}"
        " (see 'yzt sim --list')"
    )


def merge(base: Any, over: Any) -> Any:
    """Deep merge: mappings key by key, anything else replaced by ``over``."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def _read_merged(path: Path, depth: int = 0) -> dict[str, Any]:
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise InputFileError(str(path), ["at (root): a scenario is a mapping of fields"])
    parent = doc.get("extends")
    if parent is None:
        return doc
    if not isinstance(parent, str):
        raise InputFileError(str(path), [f"at extends: {parent!r} is not of type 'string'"])
    if depth >= 5:
        raise InputFileError(str(path), ["at extends: more than 5 levels of extends (a cycle?)"])
    base = _read_merged(resolve(parent, path.parent), depth + 1)
    base.pop("name", None)
    base.pop("description", None)
    merged: dict[str, Any] = merge(base, doc)
    merged.pop("extends", None)
    return merged


def _operator_config(doc: dict[str, Any], op_id: str, kind: str) -> dict[str, Any]:
    ops = doc["operators"]
    cfg: dict[str, Any] = merge(ops["defaults"][kind], ops.get(op_id, {}))
    return cfg


def _sections() -> list[Section]:
    """Every registered stage's :class:`~yzt.sim.stages.sections.Section`, in flow order."""
    from yzt.sim import stages

    return [st.parse for st in stages.stages() if st.parse is not None]


def _missing(cfg: dict[str, Any], kind: str) -> list[str]:
    where = f"at operators.defaults.{kind}"
    required = [(sub, keys) for sect in _sections() for sub, keys in sect.required.items()]
    problems = [f"{where}: {k!r} is a required property (add it)"
                for sub, keys in required if not sub for k in keys if k not in cfg]
    for sub, keys in required:
        if sub and isinstance(cfg.get(sub), dict):
            problems += [
                f"{where}.{sub}: {k!r} is a required property (add it)"
                for k in keys if k not in cfg[sub]
            ]
    return problems


def _rule_problems(doc: dict[str, Any], topo: Topology) -> list[str]:
    problems: list[str] = []
    known = set(topo.ids)
    for key in doc["operators"]:
        if key != "defaults" and key not in known:
            problems.append(
                f"at operators.{key}: unknown operator {key!r} (not in the topology: "
                "CMCC, CUCC, CTCC, R01…R39)"
            )
    for kind in ("carrier", "reseller"):
        problems += _missing(doc["operators"]["defaults"][kind], kind)
    if problems:
        return problems
    sections = _sections()
    for key, cfg in doc["operators"].items():
        prefix = f"operators.{key}" if key != "defaults" else "operators.defaults"
        entries = cfg.items() if key == "defaults" else [("", cfg)]
        for sub, c in entries:
            base = f"{prefix}.{sub}" if sub else prefix
            for sect in sections:
                if sect.operator_rules is not None:
                    problems += sect.operator_rules(doc, base, c)
    for sect in sections:
        if sect.rules is not None:
            problems += sect.rules(doc)
    return problems + _objective_problems(doc.get("objectives", []), known)


def _objective_problems(objectives: list[dict[str, Any]], known: set[str]) -> list[str]:
    """Each objective names a metric some stage declares, gives the parameters it needs, and
    covers known operators; ids are unique."""
    from yzt.sim import stages

    declared = stages.objective_metrics()
    problems: list[str] = []
    seen: set[str] = set()
    for i, o in enumerate(objectives):
        at = f"at objectives[{i}]"
        if o["id"] in seen:
            problems.append(f"{at}.id: {o['id']!r} is given twice (ids name one row each)")
        seen.add(o["id"])
        spec = declared.get(o["metric"])
        if spec is None:
            problems.append(f"{at}.metric: unknown metric {o['metric']!r} (one of "
                            f"{', '.join(sorted(declared))})")
            continue
        problems += [f"{at}: {k!r} is required for metric {o['metric']} (add it)"
                     for k in spec.needs if k not in o]
        if spec.share and o["target"] > 1:
            problems.append(f"{at}.target: {o['target']} is a share, at most 1 (0.99 is 99 %)")
        if "operators" in o and not spec.per_operator:
            problems.append(f"{at}.operators: metric {o['metric']} is the platform's (remove it)")
        problems += [f"{at}.operators: unknown operator {x!r}" for x in o.get("operators", [])
                     if x not in known]
    return problems


def lognormal_s(raw: dict[str, Any]) -> Lognormal:
    """A lognormal duration given as ``median_s`` and ``sigma``."""
    return Lognormal(float(raw["median_s"]), float(raw["sigma"]))


def lognormal_h(raw: dict[str, Any]) -> Lognormal:
    """A lognormal duration given as ``median_h`` and ``sigma`` (in seconds)."""
    return Lognormal(float(raw["median_h"]) * 3600.0, float(raw["sigma"]))


def parse_patterns(raw: dict[str, Any] | None) -> Patterns | None:
    """A staffed section's ``patterns:`` (``None`` when it has none)."""
    if raw is None:
        return None
    starts = raw.get("starts")
    opening = raw.get("opening")
    return Patterns(
        starts=None if starts is None else tuple(int(x) for x in starts),
        lengths=tuple(int(x) for x in raw.get("lengths", (4, 6, 8))),
        break_after_h=raw.get("break_after_h", 4),
        opening=None if opening is None else (int(opening[0]), int(opening[1])),
        night_premium_per_h=float(raw.get("night_premium_per_h", 0.0)),
    )


def _costs(raw: dict[str, Any] | None) -> Costs | None:
    if raw is None:
        return None
    return Costs(str(raw.get("currency", "")), *(None if raw.get(k) is None else float(raw[k])
                                                for k in ("agent_hour", "clerk_hour", "connection",
                                                          "sms_per_s")))


def parse_shifts(raw: list[dict[str, Any]]) -> tuple[Shift, ...]:
    """A staffed section's ``shifts:``."""
    return tuple(Shift(float(s["start_h"]), float(s["end_h"]), int(s["agents"])) for s in raw)


def _operator(op_id: str, kind: str, share: float, sla: SlaProfile, cfg: dict[str, Any]) -> OperatorParams:
    fields: dict[str, Any] = {}
    for sect in _sections():
        if sect.operator is not None:
            fields.update(sect.operator(cfg))
    return OperatorParams(id=op_id, kind=kind, card_share=share, sla=sla, **fields)


def _profile(name: str) -> Any:
    from yzt.sim.profiles import profile

    return profile(name)


def scenario_schema() -> dict[str, Any]:
    """The scenario schema: the core (``scenario.core.schema.json``) joined with the fragments of
    the registered stages (``Stage.schema``), each key where its path says. Built again only when
    the registry changes (a test registers a stage of its own)."""
    from yzt.sim import stages

    registered = tuple(stages.stages())  # stages compare by identity
    cached = _SCHEMA_CACHE.get("joined")
    if cached is None or cached[0] != registered:
        cached = (registered, join_schema(package_schema("yzt.scenarios", "scenario.core"), registered))
        _SCHEMA_CACHE["joined"] = cached  # one assignment: a reader sees a stale pair or the new one
    return copy.deepcopy(cached[1])


_SCHEMA_CACHE: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}


def join_schema(core: dict[str, Any], registered: Sequence[Any]) -> dict[str, Any]:
    """``core`` with each stage's fragments placed by path (``a``, ``a.b``, ``operators.*.k``).

    A path owned twice, or under a section the core lacks, is a programming error (ValueError)."""
    schema = copy.deepcopy(core)
    for st in registered:
        for path, fragment in st.schema.items():
            parts = path.split(".")
            if parts[:2] == ["operators", "*"] and len(parts) == 3:
                parent = schema["$defs"]["operator"]
            else:
                parent = schema
                for part in parts[:-1]:
                    if part not in parent.get("properties", {}):
                        raise ValueError(f"stage {st.name}: schema path {path!r} is under no section")
                    parent = parent["properties"][part]
            props = parent.setdefault("properties", {})
            if parts[-1] in props:
                raise ValueError(f"stage {st.name}: schema path {path!r} is owned twice")
            props[parts[-1]] = copy.deepcopy(dict(fragment))
            if path in st.schema_required:
                parent.setdefault("required", []).append(parts[-1])
    return schema


def from_document(doc: dict[str, Any], source: str = "<document>") -> Scenario:
    """Validate a (merged) scenario document and build the frozen tree."""
    problems = schema_problems(doc, scenario_schema())
    if problems:
        raise InputFileError(source, problems)
    topo_path = doc.get("topology")
    topo = load_topology(Path(topo_path) if topo_path else None)
    problems = _rule_problems(doc, topo)
    if problems:
        raise InputFileError(source, problems)
    plat = doc["platform"]
    after = doc["after_reply"]
    profile_name = doc.get("sla_profile")
    apply = (lambda sla: sla) if profile_name is None else _profile(profile_name).apply
    sections: dict[str, Any] = {}
    for sect in _sections():
        if sect.fields is not None:
            sections.update(sect.fields(doc))
    operators = tuple(
        _operator(op.id, op.kind, op.card_share, apply(op.sla),
                  _operator_config(doc, op.id, op.kind))
        for op in topo.operators
    )
    scenario = Scenario(
        name=doc["name"],
        description=doc.get("description", ""),
        horizon_h=float(doc["horizon_h"]),
        drain_h=float(doc.get("drain_h", 16 * 24)),
        replications=int(doc.get("replications", 5)),
        one_in=int(doc.get("sampling", {}).get("one_in", 1)),
        deadline_h=float(plat["deadline_h"]),
        provincial_nodes=bool(plat.get("provincial_nodes", False)),
        sample_every_min=float(plat.get("sample_every_min", 10)),
        **sections,
        after_reply=AfterReply(
            customer_factor=float(after["customer_factor"]),
            hotline_share=float(after["hotline_share"]),
            dispute_share=float(after["dispute_share"]),
            cancellation_share=float(after["cancellation_share"]),
            call_delay_mean_min=float(after.get("call_delay_mean_min", 30.0)),
            case_delay_mean_h=float(after.get("case_delay_mean_h", 2.0)),
        ),
        operators=operators,
        source=source,
        document=doc,
        costs=_costs(doc.get("costs")),
        objectives=tuple(
            Objective(str(o["id"]), str(o["metric"]), float(o["target"]), str(o["source"]),
                      o.get("within_s"), o.get("quantile"),
                      tuple(o["operators"]) if "operators" in o else None)
            for o in doc.get("objectives", [])),
        sla_profile=profile_name,
    )
    from yzt.sim.memory import problem as memory_problem  # it reads the tree built here

    problem = memory_problem(scenario)
    if problem:
        raise InputFileError(source, [problem])
    return scenario


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a shipped scenario by name or a scenario file by path."""
    path = resolve(str(name_or_path))
    return from_document(_read_merged(path), str(path))


def with_overrides(scenario: Scenario, **changes: Any) -> Scenario:
    """A copy of ``scenario`` with top-level document fields replaced, validated again."""
    doc = merge(scenario.document, changes)
    return from_document(doc, scenario.source)
