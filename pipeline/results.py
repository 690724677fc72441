"""The records ``yzt check`` writes beside its steps' results, as typed objects.

Three results kinds (:mod:`yzt.resultfile`): ``check`` (``check.json``: the steps and how each
ended), ``preflight`` (``preflight.json``: what the preflight found before the steps ran) and
``calibration`` (``sim/calibration.json``: the measured endpoint the simulation stands for).
Reports read them through these classes; ``yzt check`` writes them with :func:`yzt.resultfile.write`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from yzt import resultfile
from yzt.verdict import Verdict

#: The steps ``check.json`` may name; each but the preflight has its results in a folder of its name.
STEPS = ("preflight", "conform", "load", "capacity", "sim")


@dataclass(frozen=True)
class CheckStep:
    """One step of a ``yzt check`` run as ``check.json`` records it."""

    verdict: Verdict
    #: ``ran``, or ``skipped`` when an earlier step's outcome left it nothing to run on.
    state: str = "ran"
    duration_s: float | None = None
    #: The step's own error (or why it was skipped), scrubbed; empty when it ran through.
    message: str = ""
    #: The command the step ran, as a user would type it (no secret on the line).
    command: str = ""

    @property
    def skipped(self) -> bool:
        return self.state == "skipped"

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CheckStep:
        duration = raw.get("duration_s")
        return cls(Verdict.parse(str(raw["verdict"])), str(raw.get("state") or "ran"),
                   None if duration is None else float(duration), str(raw.get("message") or ""),
                   str(raw.get("command") or ""))

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "state": self.state, "duration_s": self.duration_s,
                "message": self.message, "command": self.command}


@resultfile.reads
@dataclass(frozen=True)
class CheckResults:
    """``check.json``: which operator and target, and each step in the order the steps run
    (:data:`STEPS`)."""

    KIND: ClassVar[str] = "check"
    SCHEMA_VERSION: ClassVar[int] = 1

    operator: str
    steps: dict[str, CheckStep]
    #: The endpoint judged; empty for the embedded reference operator.
    target: str = ""
    #: The signal that cut the run short, if one did.
    interrupted: str = ""

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> CheckResults:
        # in the order the steps run (a JSON object's order says nothing: the writer sorts keys)
        steps = sorted(document["steps"].items(),
                       key=lambda kv: STEPS.index(kv[0]) if kv[0] in STEPS else len(STEPS))
        return cls(str(document["operator"]), {str(k): CheckStep.from_json(v) for k, v in steps},
                   str(document.get("target") or ""), str(document.get("interrupted") or ""))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"operator": self.operator, "target": self.target or None,
                               "steps": {k: v.to_json() for k, v in self.steps.items()}}
        return {**out, "interrupted": self.interrupted} if self.interrupted else out


@resultfile.reads
@dataclass(frozen=True)
class PreflightResults:
    """``preflight.json``: the preflight's verdict and what it found (health, clock, a signed request)."""

    KIND: ClassVar[str] = "preflight"
    SCHEMA_VERSION: ClassVar[int] = 1

    verdict: Verdict
    note: str = ""
    notes: tuple[str, ...] = ()

    @property
    def all_notes(self) -> tuple[str, ...]:
        """``note`` then ``notes``, each once, empty ones left out."""
        return tuple(n for n in dict.fromkeys((self.note, *self.notes)) if n)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> PreflightResults:
        return cls(Verdict.parse(str(document["verdict"])), str(document.get("note") or ""),
                   tuple(str(n) for n in document.get("notes") or ()))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict.value, "note": self.note}
        return {**out, "notes": list(self.notes)} if self.notes else out


@dataclass(frozen=True)
class Calibration:
    """The fit of a load run: the operator's endpoint as measured."""

    operator: str
    median_ms: float
    sigma: float
    error_ratio: float
    samples: int | None = None
    capacity_rps: float | None = None
    source: str = ""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Calibration:
        return cls(str(raw["operator"]), float(raw["median_ms"]), float(raw["sigma"]),
                   float(raw["error_ratio"]),
                   None if raw.get("samples") is None else int(raw["samples"]),
                   None if raw.get("capacity_rps") is None else float(raw["capacity_rps"]),
                   str(raw.get("source") or ""))

    def to_json(self) -> dict[str, Any]:
        return {"operator": self.operator, "median_ms": self.median_ms, "sigma": self.sigma,
                "error_ratio": self.error_ratio, "samples": self.samples,
                "capacity_rps": self.capacity_rps, "source": self.source}


@resultfile.reads
@dataclass(frozen=True)
class CalibrationResults:
    """``sim/calibration.json``: the fit, the scenario overlay it makes, and what it means."""

    KIND: ClassVar[str] = "calibration"
    SCHEMA_VERSION: ClassVar[int] = 1

    calibration: Calibration
    scenario_changes: dict[str, Any] = field(default_factory=dict)
    outlook: dict[str, Any] = field(default_factory=dict)

    @property
    def meaning(self) -> str:
        """What the measurement means at the scenario's peak, in words."""
        return str(self.outlook.get("meaning") or "")

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> CalibrationResults:
        return cls(Calibration.from_json(document["calibration"]),
                   dict(document.get("scenario_changes") or {}), dict(document.get("outlook") or {}))

    def to_json(self) -> dict[str, Any]:
        return {"calibration": self.calibration.to_json(), "scenario_changes": self.scenario_changes,
                "outlook": self.outlook}
