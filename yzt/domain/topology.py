"""The operators of the service (3 carriers, 39 resellers), loaded from a validated YAML file.

The file is checked in two passes: its shape by ``scenarios/schema/topology.schema.json``, then the
rules a schema cannot say (unique ids, known SLA profile, reseller segments inside their host's
reseller segments, shares adding up to 1). Both passes name the field of each problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from yzt.domain.segments import CARRIER_SEGMENTS, RESELLER_SEGMENTS
from yzt.errors import InputFileError
from yzt.validation import package_schema, read_yaml, schema_problems


@dataclass(frozen=True)
class LatencySla:
    """Latency thresholds in milliseconds (``None``: no threshold at that percentile)."""

    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class HotlineSla:
    """SLA-HOT-1: share answered within ``answer_within_s`` and the abandonment ceiling."""

    answer_within_s: float
    answered_share_min: float
    abandonment_max: float


@dataclass(frozen=True)
class SlaProfile:
    """The numbers of the protocol's SLA table for one operator."""

    name: str
    e2e_reply_hours: float
    card_count: LatencySla
    card_details: LatencySla
    submit: LatencySla
    error_ratio_max: float
    hotline: HotlineSla
    dispute_days: float
    cancellation_hours: float


@dataclass(frozen=True)
class Operator:
    """One operator: a basic carrier or a reseller hosted by one."""

    id: str
    name: str
    kind: str
    host: str | None
    card_share: float
    segments: tuple[str, ...]
    sla: SlaProfile

    @property
    def is_reseller(self) -> bool:
        return self.kind == "reseller"


@dataclass(frozen=True)
class Topology:
    """All operators, in file order, with lookup by id."""

    operators: tuple[Operator, ...]
    source: str

    def get(self, operator_id: str) -> Operator:
        """The operator with this id; a :class:`~yzt.errors.UserError` names the known ids."""
        for op in self.operators:
            if op.id == operator_id:
                return op
        from yzt.errors import UserError

        raise UserError(
            f"unknown operator {operator_id!r}: use CMCC, CUCC, CTCC or R01…R39 "
            f"(operators of {self.source})"
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(op.id for op in self.operators)

    @property
    def carriers(self) -> tuple[Operator, ...]:
        return tuple(op for op in self.operators if not op.is_reseller)

    @property
    def resellers(self) -> tuple[Operator, ...]:
        return tuple(op for op in self.operators if op.is_reseller)


def default_topology_path() -> Path:
    """The embedded ``scenarios/topology.yaml``."""
    return Path(str(resources.files("yzt.scenarios").joinpath("topology.yaml")))


def _latency(raw: dict[str, Any]) -> LatencySla:
    return LatencySla(p95_ms=raw.get("p95_ms"), p99_ms=raw.get("p99_ms"))


def _profile(name: str, raw: dict[str, Any]) -> SlaProfile:
    hot = raw["hotline"]
    return SlaProfile(
        name=name,
        e2e_reply_hours=raw["e2e_reply_hours"],
        card_count=_latency(raw["card_count"]),
        card_details=_latency(raw["card_details"]),
        submit=_latency(raw["submit"]),
        error_ratio_max=raw["error_ratio_max"],
        hotline=HotlineSla(hot["answer_within_s"], hot["answered_share_min"], hot["abandonment_max"]),
        dispute_days=raw["dispute_days"],
        cancellation_hours=raw["cancellation_hours"],
    )


def _rule_problems(doc: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for i, op in enumerate(doc["operators"]):
        where = f"at operators[{i}]"
        if op["id"] in seen:
            problems.append(f"{where}.id: duplicate operator id {op['id']!r} (ids must be unique)")
        seen.add(op["id"])
        if op["sla_profile"] not in doc["sla_profiles"]:
            problems.append(
                f"{where}.sla_profile: unknown profile {op['sla_profile']!r} "
                f"(define it under sla_profiles or use one of {sorted(doc['sla_profiles'])})"
            )
        is_carrier_id = op["id"] in CARRIER_SEGMENTS
        if is_carrier_id != (op["kind"] == "carrier"):
            problems.append(
                f"{where}.kind: {op['id']} must be kind "
                f"{'carrier' if is_carrier_id else 'reseller'}"
            )
            continue
        allowed = RESELLER_SEGMENTS[op["host"]] if op["kind"] == "reseller" else CARRIER_SEGMENTS[op["id"]]
        for j, seg in enumerate(op["segments"]):
            if not any(seg.startswith(a) for a in allowed):
                problems.append(
                    f"{where}.segments[{j}]: {seg!r} is not a segment of "
                    f"{op.get('host') or op['id']}{' for resellers' if op['kind'] == 'reseller' else ''}"
                    f" (allowed: {', '.join(allowed)})"
                )
    total = sum(op["card_share"] for op in doc["operators"])
    if not math.isclose(total, 1.0, abs_tol=1e-3):
        problems.append(f"at operators[*].card_share: shares add up to {total:.4f}, must add up to 1")
    return problems


def load_topology(path: Path | None = None) -> Topology:
    """Load and validate a topology file (the embedded default when ``path`` is ``None``).

    The embedded default is read once per process (a :class:`Topology` is immutable): a server,
    a conformance run and the fixtures each ask for it, and each reading parses and validates the
    YAML again (about 0.1 CPU-s)."""
    return _load_topology(path) if path is not None else _embedded_topology()


@cache
def _embedded_topology() -> Topology:
    """The shipped topology, parsed by libyaml when PyYAML has it (a fifth of the pure-Python
    parser's time). The bounded loader's guards (aliases, depth) are for files a user hands in;
    the shipped file is the package's own, and the same schema and rules still judge it."""
    import yaml

    path = default_topology_path()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _load_topology(path, yaml.load(path.read_text("utf-8"), Loader=loader))


def _load_topology(path: Path, parsed: Any = None) -> Topology:
    doc = read_yaml(path) if parsed is None else parsed
    problems = schema_problems(doc, package_schema("yzt.scenarios", "topology")) or _rule_problems(doc)
    if problems:
        raise InputFileError(str(path), problems)
    profiles = {name: _profile(name, raw) for name, raw in doc["sla_profiles"].items()}
    ops = tuple(
        Operator(
            id=op["id"],
            name=op["name"],
            kind=op["kind"],
            host=op.get("host"),
            card_share=float(op["card_share"]),
            segments=tuple(op["segments"]),
            sla=profiles[op["sla_profile"]],
        )
        for op in doc["operators"]
    )
    return Topology(operators=ops, source=str(path))
