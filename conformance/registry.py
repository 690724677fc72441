"""The check registry: every conformance check is a plain function registered under its requirement.

A check takes the run context and yields :class:`Finding` records, each saying what it received and
what the protocol expects; a check that yields nothing passed. The runner adds the requirement id,
endpoint, severity and evidence, so check bodies stay a few lines long. The registry refuses
duplicate names, so a check's name identifies it in every report and waiver.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from yzt.verdict import Verdict

if TYPE_CHECKING:
    from yzt.client import Exchange
    from yzt.conformance.context import RunContext

#: What a finding may say: a violation, a warning, or why the check could not (or need not) judge.
FINDING_VERDICTS = frozenset({Verdict.FAIL, Verdict.WARNING, Verdict.INCOMPLETE,
                              Verdict.NOT_APPLICABLE})
#: ``main`` checks run first, then ``late`` probes (e.g. overload), then ``sweep`` checks that
#: judge every exchange recorded during the run.
Phase = Literal["main", "late", "sweep"]
_PHASES: tuple[Phase, ...] = ("main", "late", "sweep")
CheckFunc = Callable[["RunContext"], Iterable["Finding"] | None]

#: What a check may need from the target; missing needs make it ``incomplete``.
NEEDS = frozenset({"sandbox_clock"})
_REQUIREMENT_RE = re.compile(r"(OIF|SLA)-[A-Z]+-[0-9]+")
_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
#: Modules of :mod:`yzt.conformance.checks`, one per protocol area, in run order.
CHECK_MODULES = ("info", "transport", "auth", "verification", "subject", "count", "details",
                 "idempotency", "disputes", "cancellations", "errors", "pii")


@dataclass(frozen=True)
class Finding:
    """What a check saw that the protocol does not allow (or why it could not look).

    ``consequence_of`` names the check whose failure this one follows from
    (``"OIF-CXL-1 remote_cancellation_accepted"``): one root cause, one primary failure. The runner
    keeps the mark only when that check did fail, so a consequence never hides a primary failure.
    """

    status: Verdict
    message: str
    exchanges: tuple[Exchange, ...] = ()
    consequence_of: str | None = None

    def __post_init__(self) -> None:
        if self.status not in FINDING_VERDICTS:
            raise ValueError(f"a finding cannot be {self.status.value!r}")


def failed(received: str, expected: str, *exchanges: Exchange,
           consequence_of: str | None = None) -> Finding:
    """A violation, phrased ``Received: … / Expected: …``."""
    return Finding(Verdict.FAIL, f"Received: {received} / Expected: {expected}", exchanges,
                   consequence_of)


def warning(message: str, *exchanges: Exchange) -> Finding:
    """Allowed, but worth a look (an extra response member); a failure only under ``--strict``."""
    return Finding(Verdict.WARNING, message, exchanges)


def not_testable(reason: str, *exchanges: Exchange) -> Finding:
    """The check could not run against this target; never counted as a pass."""
    return Finding(Verdict.INCOMPLETE, reason, exchanges)


def not_applicable(reason: str) -> Finding:
    """Left out of the verdict on purpose, with the reason (a sandbox-only probe in production)."""
    return Finding(Verdict.NOT_APPLICABLE, reason)


class NothingToJudge(Exception):
    """Raised inside a check when the run gave it nothing to look at: the check ends incomplete."""


@dataclass(frozen=True)
class CheckSpec:
    """A registered check and what the runner needs to know about it."""

    requirement: str
    name: str
    func: CheckFunc
    needs: frozenset[str]
    endpoint: str
    phase: Phase
    doc: str

    def run(self, ctx: RunContext) -> list[Finding]:
        return list(self.func(ctx) or ())


class Registry:
    """Checks by name, in registration order; duplicate names and unknown ids are refused."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckSpec] = {}

    def add(self, spec: CheckSpec) -> None:
        if spec.name in self._checks:
            raise ValueError(f"duplicate check name {spec.name!r} (registered for "
                             f"{self._checks[spec.name].requirement})")
        if not _REQUIREMENT_RE.fullmatch(spec.requirement):
            raise ValueError(f"check {spec.name!r}: {spec.requirement!r} is not a requirement id "
                             "like OIF-AUTH-3")
        if not _NAME_RE.fullmatch(spec.name):
            raise ValueError(f"check name {spec.name!r} must be snake_case")
        if unknown := spec.needs - NEEDS:
            raise ValueError(f"check {spec.name!r}: unknown needs {sorted(unknown)}")
        self._checks[spec.name] = spec

    def check(self, requirement: str, *, name: str | None = None, needs: Iterable[str] = (),
              endpoint: str = "", phase: Phase = "main") -> Callable[[CheckFunc], CheckFunc]:
        """Decorator: ``@check("OIF-AUTH-3", endpoint="POST /v1/card-count")``."""
        def register(func: CheckFunc) -> CheckFunc:
            doc = (func.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
            self.add(CheckSpec(requirement, name or func.__name__, func, frozenset(needs),
                               endpoint, phase, " ".join(doc.split())))
            return func
        return register

    def __iter__(self) -> Iterator[CheckSpec]:
        """Checks in run order: by phase, then as registered."""
        specs = list(self._checks.values())
        return iter([s for phase in _PHASES for s in specs if s.phase == phase])

    def __len__(self) -> int:
        return len(self._checks)

    def get(self, name: str) -> CheckSpec:
        return self._checks[name]

    def by_requirement(self) -> dict[str, list[str]]:
        """Requirement id → names of its checks (ids in sorted protocol order)."""
        out: dict[str, list[str]] = {}
        for spec in self._checks.values():
            out.setdefault(spec.requirement, []).append(spec.name)
        return {k: out[k] for k in sorted(out, key=requirement_sort_key)}

    def select(self, patterns: Iterable[str] = ()) -> list[CheckSpec]:
        """Checks matching any of ``patterns`` (all when there are none), in run order.

        A pattern is a check name, a requirement id, or a prefix of whole id segments: ``OIF-AUTH``
        selects ``OIF-AUTH-3`` but ``OIF-ID`` does not select ``OIF-IDEM-1``.
        """
        wanted = [p for p in patterns if p]
        if not wanted:
            return list(self)
        return [s for s in self if any(matches(p, s) for p in wanted)]

    def unknown(self, patterns: Iterable[str]) -> list[str]:
        """The patterns that select no check (to name them in a usage error)."""
        return [p for p in patterns if not any(matches(p, s) for s in self)]


def matches(pattern: str, spec: CheckSpec) -> bool:
    """True when ``pattern`` names ``spec``'s check, its requirement, or whole leading id segments."""
    pattern = pattern.strip()
    return (pattern == spec.name or pattern == spec.requirement
            or spec.requirement.startswith(pattern.rstrip("-") + "-"))


def split_patterns(values: Iterable[str]) -> list[str]:
    """``["OIF-AUTH,OIF-DET", "OIF-T"]`` → ``["OIF-AUTH", "OIF-DET", "OIF-T"]`` (repeatable, commas)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def requirement_sort_key(requirement: str) -> tuple[str, int]:
    """``OIF-AUTH-10`` sorts after ``OIF-AUTH-9``."""
    head, _, number = requirement.rpartition("-")
    return head, int(number) if number.isdigit() else 0


REGISTRY = Registry()
check = REGISTRY.check


def load_checks() -> Registry:
    """Import every check module (registering its checks) and return the registry."""
    for module in CHECK_MODULES:
        importlib.import_module(f"yzt.conformance.checks.{module}")
    return REGISTRY
