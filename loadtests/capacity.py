"""The capacity finder of ``yzt load --find-capacity``: grow the rate until an SLA breaks, then bisect.

Growing alone (×2 per step) only brackets the capacity: an endpoint that sheds at 150 req/s passes
100 and fails 200, and "100" is all it can say. Bisection between the last passing and the first
failing rate (geometric midpoints, since load errors are relative) narrows the bracket until the
failing rate is within ``tolerance`` of the passing one. The search is bounded in probes; each probe
is one load run, judged by the caller. Pure: no Locust, no processes.

The search's record is ``capacity.json``, the results kind ``capacity`` (:mod:`yzt.resultfile`,
schema ``capacity.schema.json``), read back as :class:`CapacityResults`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from yzt import resultfile
from yzt.verdict import Verdict

#: Relative width of the final bracket: stop when the failing rate is within 10 % of the passing one.
DEFAULT_TOLERANCE = 0.10


@dataclass(frozen=True)
class Probe:
    """One load run of the search: its rate, its verdict and why."""

    rate: float
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    phase: str = "grow"  # grow, shrink or bisect

    def to_json(self) -> dict[str, Any]:
        return {"rate": round(self.rate, 3), "verdict": self.verdict.value, "phase": self.phase,
                "reasons": list(self.reasons)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Probe:
        return cls(float(raw["rate"]), Verdict.parse(str(raw["verdict"])),
                   tuple(str(r) for r in raw.get("reasons") or ()), str(raw["phase"]))


@resultfile.reads
@dataclass(frozen=True)
class CapacityResults:
    """A capacity search as ``capacity.json`` holds it: what reports read (the verdict as recorded)."""

    KIND: ClassVar[str] = "capacity"
    SCHEMA_VERSION: ClassVar[int] = 1

    verdict: Verdict
    steps: tuple[Probe, ...]
    highest_sustainable_rate: float | None = None
    lowest_breaking_rate: float | None = None
    converged: bool = False
    required_rate: float | None = None
    stopped: str = ""

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> CapacityResults:
        def rate(key: str) -> float | None:
            return None if document.get(key) is None else float(document[key])

        return cls(Verdict.parse(str(document["verdict"])),
                   tuple(Probe.from_json(s) for s in document["steps"]),
                   rate("highest_sustainable_rate"), rate("lowest_breaking_rate"),
                   bool(document.get("converged", False)), rate("required_rate"),
                   str(document.get("stopped", "")))

    def to_json(self) -> dict[str, Any]:
        return {"highest_sustainable_rate": _r(self.highest_sustainable_rate),
                "lowest_breaking_rate": _r(self.lowest_breaking_rate), "converged": self.converged,
                "required_rate": _r(self.required_rate), "verdict": self.verdict.value,
                "stopped": self.stopped, "steps": [p.to_json() for p in self.steps]}


@dataclass
class Capacity:
    """What the search found: the highest rate that held, the lowest that broke, and how it ended."""

    highest_sustainable_rate: float | None = None
    lowest_breaking_rate: float | None = None
    converged: bool = False
    stopped: str = ""
    probes: list[Probe] = field(default_factory=list)
    #: The rate the endpoint must hold (the search's first rate: ``--rate``, the contracted rate).
    required_rate: float | None = None

    @property
    def verdict(self) -> Verdict:
        """The gate is the required rate; the capacity found beyond it is a measurement.

        FAIL when a rate at or below the required one broke an SLA; PASS when a rate at or above it
        held, however precise the bracket (an endpoint faster than the generator, or a run budget
        that ended before the bracket closed, still holds what it must: the report says "at least");
        INCOMPLETE when nothing was judged at the required rate (the generator could not offer it).
        """
        required = self.required_rate if self.required_rate is not None else (
            self.probes[0].rate if self.probes else None)
        if required is None:
            return Verdict.INCOMPLETE
        if self.lowest_breaking_rate is not None and self.lowest_breaking_rate <= required * (1 + 1e-9):
            return Verdict.FAIL
        if self.highest_sustainable_rate is not None and \
                self.highest_sustainable_rate >= required * (1 - 1e-9):
            return Verdict.PASS
        return Verdict.INCOMPLETE

    def record(self) -> CapacityResults:
        """What ``capacity.json`` holds of the search."""
        return CapacityResults(self.verdict, tuple(self.probes), self.highest_sustainable_rate,
                               self.lowest_breaking_rate, self.converged, self.required_rate,
                               self.stopped)

    def to_json(self) -> dict[str, Any]:
        return self.record().to_json()

    def write(self, path: Path) -> Path:
        """``capacity.json`` at ``path`` (:mod:`yzt.resultfile`)."""
        return resultfile.write_typed(path, self.record())


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def find_capacity(probe: Callable[[float, str], tuple[Verdict, tuple[str, ...]]], start: float, *,
                  factor: float = 2.0, tolerance: float = DEFAULT_TOLERANCE,
                  max_probes: int = 12) -> Capacity:
    """Search the highest rate at which ``probe(rate, phase)`` passes.

    ``probe`` returns PASS (every threshold held), FAIL (an SLA broke) or INCOMPLETE (the generator
    could not offer the rate: the search stops, and the capacity is "at least" the last pass).
    """
    if start <= 0 or factor <= 1 or not 0 < tolerance < 1 or max_probes < 1:
        raise ValueError("start > 0, factor > 1, 0 < tolerance < 1 and max_probes >= 1 are needed")
    cap = Capacity(required_rate=start)
    lo: float | None = None
    hi: float | None = None

    def run(rate: float, phase: str) -> Verdict:
        verdict, reasons = probe(rate, phase)
        cap.probes.append(Probe(rate, verdict, reasons, phase))
        return verdict

    rate = start
    while len(cap.probes) < max_probes and (lo is None or hi is None):
        phase = "grow" if hi is None else "shrink"
        verdict = run(rate, phase)
        if verdict == Verdict.INCOMPLETE:
            cap.stopped = (f"the generator could not offer {rate:.1f} req/s before the operator broke "
                           "an SLA: the capacity is at least the last rate that held")
            break
        if verdict.ok:
            lo = rate
            rate = rate * factor
        else:
            hi = rate
            rate = rate / factor
    if lo is not None and hi is not None and not cap.stopped:
        while hi / lo > 1 + tolerance and len(cap.probes) < max_probes:
            mid = math.sqrt(lo * hi)
            verdict = run(mid, "bisect")
            if verdict == Verdict.INCOMPLETE:
                cap.stopped = (f"the generator could not offer {mid:.1f} req/s: the capacity is at "
                               f"least {lo:.1f} req/s")
                break
            if verdict.ok:
                lo = mid
            else:
                hi = mid
        cap.converged = hi / lo <= 1 + tolerance
    cap.highest_sustainable_rate, cap.lowest_breaking_rate = lo, hi
    if not cap.stopped:
        if cap.converged:
            assert lo is not None and hi is not None
            cap.stopped = (f"converged: {lo:.1f} req/s held and {hi:.1f} req/s broke an SLA "
                           f"(within {tolerance:.0%})")
        elif hi is None:
            cap.stopped = f"no SLA broke within {len(cap.probes)} runs"
        elif lo is None:
            cap.stopped = f"every rate tried broke an SLA, down to {hi:.1f} req/s"
        else:
            cap.stopped = (f"the run budget ({max_probes}) ended with {lo:.1f} req/s holding and "
                           f"{hi:.1f} req/s breaking")
    return cap
