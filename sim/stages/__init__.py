"""The stage registry: one module per stage of the flow, each registering a :class:`Stage` (and
the :class:`Resource` objects the planner sizes), like conformance checks register themselves.

The engines, results, planner and reports iterate :func:`stages` and :func:`resources`; none of
them names a stage. The order is each object's declared ``order`` (not the import order), and a
name registered twice is refused, so a name identifies one stage or resource everywhere.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from yzt.sim.stages.contract import (
    PLATFORM,
    Chart,
    Console,
    Curve,
    GuessInput,
    ItemKey,
    Metrics,
    ObjectiveMetric,
    Reader,
    Resource,
    Row,
    Series,
    Stage,
    Start,
    Summary,
    Value,
    fmt,
    row,
)

if TYPE_CHECKING:
    from yzt.sim.records import ReplicationRecords
    from yzt.sim.scenario import Objective, Scenario

__all__ = [
    "OBJECTIVE",
    "PLATFORM",
    "STAGE_MODULES",
    "Chart",
    "Console",
    "Curve",
    "GuessInput",
    "ItemKey",
    "Metrics",
    "ObjectiveMetric",
    "Reader",
    "Resource",
    "Row",
    "Series",
    "Stage",
    "Start",
    "Summary",
    "Value",
    "derive",
    "fmt",
    "objective_key",
    "objective_metrics",
    "objective_rows",
    "objective_values",
    "objectives_of",
    "pessimistic",
    "register",
    "registered",
    "resource",
    "resources",
    "row",
    "sampling_note",
    "stage",
    "stages",
    "unregister",
]

#: Modules of :mod:`yzt.sim.stages` that register the model's stages (their order is the stages'
#: ``order``, not this list's).
STAGE_MODULES = ("frontdoor", "fanout", "sms", "hotline", "backoffice")

_STAGES: dict[str, Stage] = {}
_RESOURCES: dict[str, Resource] = {}
_loaded = False


def register(st: Stage) -> Stage:
    """Add a stage and its resources; a stage or resource name already registered is refused."""
    if st.name in _STAGES:
        raise ValueError(f"stage {st.name!r} is already registered")
    taken = [r.name for r in st.resources if r.name in _RESOURCES]
    if taken or len({r.name for r in st.resources}) != len(st.resources):
        raise ValueError(f"resource {(taken or [r.name for r in st.resources])[0]!r} of stage "
                         f"{st.name!r} is already registered")
    orders = {s.order: s.name for s in _STAGES.values()}
    if st.order in orders:
        raise ValueError(f"stage {st.name!r}: order {st.order} is already stage {orders[st.order]!r}'s")
    _STAGES[st.name] = st
    for r in st.resources:
        _RESOURCES[r.name] = r
    return st


def unregister(name: str) -> None:
    """Remove a stage and its resources (a test's toy stage)."""
    st = _STAGES.pop(name)
    for r in st.resources:
        del _RESOURCES[r.name]


@contextmanager
def registered(st: Stage) -> Iterator[Stage]:
    """``st`` registered for the duration of a ``with`` block."""
    _load()
    register(st)
    try:
        yield st
    finally:
        unregister(st.name)


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for m in STAGE_MODULES:
            importlib.import_module(f"yzt.sim.stages.{m}")


def stages() -> tuple[Stage, ...]:
    """Every stage, in flow order."""
    _load()
    return tuple(sorted(_STAGES.values(), key=lambda s: s.order))


def stage(name: str) -> Stage:
    _load()
    return _STAGES[name]


def resources() -> tuple[Resource, ...]:
    """Every planned resource, in the order of ``--resources`` and plan.json."""
    _load()
    return tuple(sorted(_RESOURCES.values(), key=lambda r: (r.order, r.name)))


def resource(name: str) -> Resource:
    _load()
    try:
        return _RESOURCES[name]
    except KeyError:
        raise KeyError(f"no resource {name!r} (registered: "
                       f"{', '.join(r.name for r in resources())})") from None


def derive(sc: Scenario, rec: ReplicationRecords) -> ReplicationRecords:
    """``rec`` with the records of every stage simulated after the engines (a stage's ``derive``
    reads the records of the stages before it: the model is feed-forward); ``rec`` itself when
    no stage is."""
    later = [st for st in stages() if st.derive is not None]
    if not later:
        return rec
    out = dataclasses.replace(rec, stages=dict(rec.stages))
    for st in later:
        assert st.derive is not None
        out.stages[st.name] = st.derive(sc, out)
    return out


def sampling_note() -> str:
    """What sampling means for each stage (the results' ``sampling.note``)."""
    sampled = [st.sampled for st in stages() if st.sampled]
    full = [st.full_scale for st in stages() if st.full_scale]
    return (f"{' and '.join(w for w, _ in sampled)} simulate 1 query in one_in with "
            f"{' and '.join(d for _, d in sampled)} divided by one_in; counts are scaled back; "
            f"{' and '.join(full)} run at full scale")


def owner(resource_name: str) -> Stage:
    """The stage that registered the resource ``resource_name``."""
    for st in stages():
        if any(r.name == resource_name for r in st.resources):
            return st
    raise KeyError(f"no resource {resource_name!r}")


def markdown_table() -> str:
    """The registered stages and resources as the Markdown table of docs/architecture.md (a test
    keeps the page equal to it)."""
    lines = ["| order | stage | receives from | scenario keys | SLA rows | planned resources | "
             "time series |", "|---|---|---|---|---|---|---|"]
    for st in stages():
        res = "; ".join(
            f"`{r.name}` (phase {r.phase}, {r.coupling}, "
            f"{'one platform row' if r.shared else 'its own rows'}: {', '.join(r.slas)})"
            for r in st.resources) or "-"
        lines.append(" | ".join([
            f"| {st.order}", f"`{st.name}`: {st.doc}", f"`{st.after}`" if st.after else "-",
            ", ".join(f"`{k}`" for k in st.section) or "-", ", ".join(st.requirements) or "-", res,
            ", ".join(f"`{x.key}`" for x in st.series) or "-"]) + " |")
    return "\n".join(lines)


def pessimistic(sc: Scenario | None = None) -> Mapping[str, str]:
    """Metric → the pessimistic end of its interval, over every stage (and, given a scenario,
    over its objectives' metrics: the low end of a floor, the high end of a ceiling)."""
    ends = {m: end for st in stages() for m, end in st.pessimistic.items()}
    if sc is not None:
        declared = objective_metrics()
        ends.update({objective_key(o): "ci_low" if declared[o.metric].bound == "min" else "ci_high"
                     for o in sc.objectives})
    return ends


# -- service objectives ----------------------------------------------------------------------------
#: The row kind of an objective (an SLA row carries no ``kind``: results before objectives).
OBJECTIVE = "objective"


def objective_metrics() -> dict[str, ObjectiveMetric]:
    """Every metric a scenario's ``objectives:`` may judge, over every stage (name → how)."""
    out: dict[str, ObjectiveMetric] = {}
    for st in stages():
        for name, spec in st.objectives.items():
            if name in out:
                raise ValueError(f"objective metric {name!r} of stage {st.name!r} is already "
                                 "declared by another stage")
            out[name] = spec
    return out


def objective_key(o: Objective) -> str:
    """The metric key of an objective's value in a replication's metrics."""
    return f"objective:{o.id}"


def _objective_scopes(sc: Scenario, o: Objective, spec: ObjectiveMetric) -> list[str]:
    if not spec.per_operator:
        return [PLATFORM]
    return list(o.operators) if o.operators is not None else [op.id for op in sc.operators]


def objective_values(sc: Scenario, rec: ReplicationRecords, out: Metrics) -> None:
    """Fill ``out[scope]["objective:<id>"]`` for each of ``sc``'s objectives (one replication);
    a scope the stage measures nothing at (the records stop before it, no such desk) is left out."""
    if not sc.objectives:
        return
    declared = objective_metrics()
    for o in sc.objectives:
        spec = declared[o.metric]
        for scope in _objective_scopes(sc, o, spec):
            v = spec.measure(rec, scope, o)
            if v is not None and scope in out:
                out[scope][objective_key(o)] = float(v)


def objective_rows(sc: Scenario, reader: Reader) -> list[Row]:
    """One row per objective and scope (kind ``objective``), judged like an SLA row on the
    reader's means (the planner passes the pessimistic ends)."""
    declared = objective_metrics()
    rows: list[Row] = []
    for o in sc.objectives:
        spec = declared[o.metric]
        key = objective_key(o)
        for scope in _objective_scopes(sc, o, spec):
            if key not in reader.summary.get(scope, {}):
                continue
            v = reader.mean(scope, key)
            ok = None if v is None else (v >= o.target if spec.bound == "min" else v <= o.target)
            rows.append(row(o.id, scope, spec.expected(o), v, ok, reader.ci(scope, key),
                            target=o.target, kind=OBJECTIVE, metric=o.metric, source=o.source))
    return rows


def objectives_of(sc: Scenario, resource_name: str) -> list[tuple[str, bool]]:
    """The objectives of ``sc`` that bind items of ``resource_name``: (id, per operator)."""
    declared = objective_metrics()
    return [(o.id, declared[o.metric].per_operator) for o in sc.objectives
            if resource_name in declared[o.metric].judges]
