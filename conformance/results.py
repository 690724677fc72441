"""The one reader of ``yzt conform`` records: ``results.json`` back into typed, frozen objects.

``results.json`` is the results kind ``conform`` (:mod:`yzt.resultfile`, schema
``conform.schema.json``): :class:`ConformResults` is its typed reader, registered there. Reports,
``yzt check`` and ``yzt validate`` read conform results only through :func:`read_results` (or
:func:`parse_results` for a document already in memory), so the file's shape is known in one
place beside the writer (:func:`yzt.conformance.runner.results_document`, written by
:func:`write_results`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from yzt import resultfile
from yzt.conformance.registry import Said
from yzt.errors import InputFileError
from yzt.verdict import Verdict


@dataclass(frozen=True)
class CheckRecord:
    """One check of a conform run as ``results.json`` holds it."""

    requirement: str
    check: str
    verdict: Verdict
    message: str
    primary: bool = False
    consequence_of: str | None = None
    reproduce: str = ""
    evidence: tuple[dict[str, Any], ...] = ()
    endpoint: str = ""
    severity: str = "major"
    duration_s: float = 0.0
    requests: int = 0
    #: ``message`` as values (reports word it in their language); None for free text.
    said: Said | None = None

    def to_json(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "check": self.check, "verdict": self.verdict.value,
                "primary": self.primary, "consequence_of": self.consequence_of,
                "message": self.message, "reproduce": self.reproduce,
                "evidence": list(self.evidence), "endpoint": self.endpoint,
                "severity": self.severity, "duration_s": self.duration_s, "requests": self.requests,
                **({"said": self.said.to_json()} if self.said is not None else {})}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CheckRecord:
        return _check(raw)


@resultfile.reads
@dataclass(frozen=True)
class ConformResults:
    """A whole conform run: its verdict, its context and its checks (primary failures first)."""

    #: The results kind and the schema version this class reads and writes.
    KIND: ClassVar[str] = "conform"
    SCHEMA_VERSION: ClassVar[int] = 1

    verdict: Verdict
    target: str
    operator_id: str
    checks: tuple[CheckRecord, ...]
    profile: str = "sandbox"
    strict: bool = False
    run_seed: int | None = None
    protocol_version: str = ""
    started_at: str = ""
    finished_at: str = ""
    duration_s: float = 0.0
    requests: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    codes_seen: dict[str, int] = field(default_factory=dict)
    #: ``notes`` as values where the run recorded them so (free-text notes as strings).
    notes_said: tuple[Said | str, ...] = ()

    @property
    def primary_failures(self) -> tuple[CheckRecord, ...]:
        return tuple(c for c in self.checks if c.primary)

    @property
    def consequential_failures(self) -> tuple[CheckRecord, ...]:
        return tuple(c for c in self.checks if c.consequence_of and c.verdict in (Verdict.FAIL,
                                                                                   Verdict.ERROR))

    @property
    def warnings(self) -> tuple[CheckRecord, ...]:
        return tuple(c for c in self.checks if c.verdict is Verdict.WARNING)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ConformResults:
        """The typed run of a results document (:func:`parse_results`)."""
        return parse_results(document)

    def to_json(self) -> dict[str, Any]:
        """The document :meth:`from_json` reads back (the runner writes the same fields)."""
        return {"verdict": self.verdict.value, "exit_code": self.verdict.exit_code,
                "protocol_version": self.protocol_version, "target": self.target,
                "operator_id": self.operator_id, "profile": self.profile, "strict": self.strict,
                "run_seed": self.run_seed, "started_at": self.started_at,
                "finished_at": self.finished_at, "duration_s": self.duration_s,
                "requests": self.requests, "counts": dict(self.counts),
                "primary_failures": len(self.primary_failures),
                "consequential_failures": len(self.consequential_failures),
                "notes": list(self.notes), "codes_seen": dict(self.codes_seen),
                "notes_said": [n.to_json() if isinstance(n, Said) else n for n in self.notes_said],
                "checks": [c.to_json() for c in self.checks]}

    def by_requirement(self) -> dict[str, Verdict]:
        """Requirement id → the worst verdict of its checks."""
        out: dict[str, Verdict] = {}
        for c in self.checks:
            seen = out.get(c.requirement)
            out[c.requirement] = c.verdict if seen is None or c.verdict.rank > seen.rank else seen
        return out


def _check(raw: dict[str, Any]) -> CheckRecord:
    return CheckRecord(
        requirement=str(raw["requirement"]), check=str(raw["check"]),
        verdict=Verdict.parse(str(raw["verdict"])), message=str(raw.get("message", "")),
        primary=bool(raw.get("primary", False)), consequence_of=raw.get("consequence_of"),
        reproduce=str(raw.get("reproduce") or ""),
        evidence=tuple(raw.get("evidence") or ()), endpoint=str(raw.get("endpoint", "")),
        severity=str(raw.get("severity", "major")), duration_s=float(raw.get("duration_s", 0.0)),
        requests=int(raw.get("requests", 0)),
        said=Said.from_json(raw["said"]) if raw.get("said") is not None else None)


def _note(raw: Any) -> Said | str:
    return raw if isinstance(raw, str) else Said.from_json(raw)


def parse_results(document: dict[str, Any], where: str = "results.json") -> ConformResults:
    """A results document → :class:`ConformResults`; :class:`InputFileError` names a bad field."""
    try:
        return ConformResults(
            verdict=Verdict.parse(str(document["verdict"])), target=str(document.get("target", "")),
            operator_id=str(document.get("operator_id", "")),
            checks=tuple(_check(c) for c in document.get("checks", [])),
            profile=str(document.get("profile", "sandbox")),
            strict=bool(document.get("strict", False)), run_seed=document.get("run_seed"),
            protocol_version=str(document.get("protocol_version", "")),
            started_at=str(document.get("started_at", "")),
            finished_at=str(document.get("finished_at", "")),
            duration_s=float(document.get("duration_s", 0.0)),
            requests=int(document.get("requests", 0)), counts=dict(document.get("counts") or {}),
            notes=tuple(document.get("notes") or ()),
            codes_seen=dict(document.get("codes_seen") or {}),
            notes_said=tuple(_note(n) for n in document.get("notes_said") or ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputFileError(where, [f"not a yzt conform results document ({exc})"]) from None


def read_results(path: Path) -> ConformResults:
    """Read a ``results.json`` written by ``yzt conform`` (kind, version and schema checked)."""
    return resultfile.read_as(path, ConformResults)


def write_results(path: Path, document: dict[str, Any]) -> Path:
    """Write a conform results document (:func:`yzt.conformance.runner.results_document`) as
    ``results.json``, stamped with its kind and schema version."""
    return resultfile.write(path, ConformResults.KIND, ConformResults.SCHEMA_VERSION, document)
