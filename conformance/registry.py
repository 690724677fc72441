"""The check registry: every conformance check is a plain function registered under its requirement.

A check takes the run context and yields :class:`Finding` records, each saying what it received and
what the protocol expects; a check that yields nothing passed. The runner adds the requirement id,
endpoint, severity and evidence, so check bodies stay a few lines long. The registry refuses
duplicate names, so a check's name identifies it in every report and waiver.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

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


#: How yzt words what it says about a target, in English (``results.json`` messages, the console,
#: logs). Reports phrase the same :class:`Said` values from their own catalogue (``said.KEY`` in
#: ``reports/i18n.py``, whose English a test keeps equal to this table), so a Chinese report says
#: them in Chinese and quotes only the values.
SAID_EN: dict[str, str] = {
    # a finding
    "received_expected": "Received: {received} / Expected: {expected}",
    "status_json_body": "{status} with a JSON body",
    "status_json_object": "{status} with a JSON object",
    "status_not_object": "{status} with a body that is not a JSON object",
    "not_json": "{outcome} with a body that is not JSON",
    "json_valid_against": "JSON valid against {schema}",
    "valid_against_schema": "a body valid against the {schema} schema",
    "extra_members": "extra members {members} in {schema} answers (allowed: responses are open "
                     "and the platform ignores them)",
    # personal data, described by its shape and never reprinted
    "pii_in_answer": "{what} in the {status} answer to {request}",
    "pii_none": "no full ID number, MSISDN or subject name in any response",
    "shape.msisdn": "an 11-digit number with no mask",
    "shape.id_number": "an 18-character ID number",
    "shape.name": "the subject's name",
    "msisdn_masked_is": "msisdn_masked {value}",
    "mask_3_4_4": "first 3 digits + **** + last 4 digits",
    # the runner's words around findings
    "more": "{said} (and {n} more)",
    "consequence": "consequence of {cause}: {said}",
    "strict": "{said} (a warning, made a failure by --strict)",
    "waived": "{said} — {verdict}, waived until {until} (approved by {approver}: {reason})",
    "waiver_expired": "{said} — waiver expired on {until} (approved by {approver}); not applied",
    "counted_primary_ran": "{said} (counted as primary: {cause} ran without failing)",
    "counted_primary_not_run": "{said} (counted as primary: {cause} did not run without failing)",
    "as_expected": "as expected",
    "verdict_fail": "fail",
    "verdict_error": "error",
    "verdict_incomplete": "incomplete",
    "production_needs_clock": "not applicable in the production profile: needs the sandbox clock "
                              "(POST /v1/sandbox/clock), which a production endpoint does not offer",
    # the run's notes
    "note.profile": "profile {profile}",
    "note.profile_strict": "profile {profile}, --strict",
    "note.preflight": "preflight: health {health}, operator {operator}, signed card-count "
                      "for {subject} = {count} as the fixtures say",
    "note.preflight_differs": "preflight: health {health}, operator {operator}, signed card-count "
                              "for {subject} = {count}, the fixtures say {expected}",
    "note.preflight_no_count": "preflight: health {health}, operator {operator}, signed card-count "
                               "for {subject} answered without a count",
    "note.no_sandbox_clock": "no sandbox clock (POST /v1/sandbox/clock → {answer}); deadline "
                             "checks cannot run",
    "note.production_clock": "production profile: the sandbox clock is not used",
    "note.run_seed": "run seed {seed} (--run-seed)",
}
#: Keys of things said one after the other, and what stands between them in English: findings
#: (``a; b``), or the parts of one thing (``a, b``).
LISTS_EN: dict[str, str] = {"list": "; ", "and": ", "}


@dataclass(frozen=True)
class Said:
    """Something yzt says about a target, kept as values: a key of :data:`SAID_EN` and its fields.

    A field is a wire value or a measurement, quoted as it is in every language, or another
    :class:`Said`. ``str()`` gives the English wording; reports phrase it in their own language.
    """

    key: str
    fields: tuple[tuple[str, Value], ...] = ()

    @classmethod
    def of(cls, key: str, **fields: Value) -> Said:
        if key not in SAID_EN:
            raise KeyError(f"no wording for {key!r} in SAID_EN")
        return cls(key, tuple(fields.items()))

    @classmethod
    def join(cls, items: Iterable[Value], kind: str = "list") -> Said:
        """Several things said one after the other: findings (``a; b``, kind ``list``) or the parts
        of one (``a, b``, kind ``and``)."""
        if kind not in LISTS_EN:
            raise KeyError(f"no list kind {kind!r}")
        return cls(kind, tuple((str(i), v) for i, v in enumerate(items)))

    def phrase(self, wording: Callable[[str], str], separator: Callable[[str], str]) -> str:
        """This in the words ``wording(key)`` gives (a ``str.format`` template); the items of a
        list joined with ``separator(kind)``."""
        shown = {name: v.phrase(wording, separator) if isinstance(v, Said) else v
                 for name, v in self.fields}
        if self.key in LISTS_EN:
            return separator(self.key).join(shown.values())
        return wording(self.key).format(**shown)

    def __str__(self) -> str:
        return self.phrase(SAID_EN.__getitem__, LISTS_EN.__getitem__)

    def to_json(self, quote: Callable[[str], str] = str) -> dict[str, Any]:
        """``{"key": …, "fields": {name: value or {...}}}`` (values through ``quote``: masking)."""
        return {"key": self.key,
                "fields": {name: v.to_json(quote) if isinstance(v, Said) else quote(v)
                           for name, v in self.fields}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Said:
        """The inverse of :meth:`to_json`; ValueError names what is wrong."""
        if not isinstance(data, Mapping) or not isinstance(data.get("key"), str):
            raise ValueError(f"not a said value: {data!r:.80}")
        fields = data.get("fields") or {}
        if not isinstance(fields, Mapping):
            raise ValueError(f"said.fields is not an object: {fields!r:.80}")
        return cls(data["key"], tuple((str(k), cls.from_json(v) if isinstance(v, Mapping) else str(v))
                                      for k, v in fields.items()))


#: A value a finding quotes: as seen on the wire, or something said about it.
Value = str | Said


@dataclass(frozen=True)
class Finding:
    """What a check saw that the protocol does not allow (or why it could not look).

    ``said`` is the message as values (what was received and expected, quoted as seen on the wire),
    so a report can word it in its own language; ``message`` is its English wording (a finding
    made from free text has only the message, and reports show it as recorded).

    ``consequence_of`` names the check whose failure this one follows from
    (``"OIF-CXL-1 remote_cancellation_accepted"``): one root cause, one primary failure. The runner
    keeps the mark only when that check did fail, so a consequence never hides a primary failure.
    """

    status: Verdict
    message: str
    exchanges: tuple[Exchange, ...] = ()
    consequence_of: str | None = None
    said: Said | None = None

    def __post_init__(self) -> None:
        if self.status not in FINDING_VERDICTS:
            raise ValueError(f"a finding cannot be {self.status.value!r}")

    @property
    def value(self) -> Value:
        """What the finding says: its :class:`Said`, or its message as recorded."""
        return self.said if self.said is not None else self.message


def failed(received: Value, expected: Value, *exchanges: Exchange,
           consequence_of: str | None = None) -> Finding:
    """A violation: what was received and what the protocol expects, each a value as seen on the
    wire (or a :class:`Said`), worded ``Received: … / Expected: …``."""
    said = Said.of("received_expected", received=received, expected=expected)
    return Finding(Verdict.FAIL, str(said), exchanges, consequence_of, said)


def warning(message: Value, *exchanges: Exchange) -> Finding:
    """Allowed, but worth a look (an extra response member); a failure only under ``--strict``."""
    return Finding(Verdict.WARNING, str(message), exchanges,
                   said=message if isinstance(message, Said) else None)


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
        """Checks in run order: by phase, then by module (:data:`CHECK_MODULES`) and place in it.

        Never by registration order alone: a process that imported one check module before
        :func:`load_checks` (a test, a helper) would run the checks in another order, draw its
        request ids in another order, and no longer replay a recorded run. Checks outside the
        check modules (registered by a test) run after them, as registered.
        """
        specs = list(self._checks.values())
        position = {spec.name: (_module_rank(spec), i) for i, spec in enumerate(specs)}
        ordered = sorted(specs, key=lambda s: position[s.name])
        return iter([s for phase in _PHASES for s in ordered if s.phase == phase])

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


def _module_rank(spec: CheckSpec) -> tuple[int, int]:
    """(index of the check's module in :data:`CHECK_MODULES`, its line there); others last."""
    module = getattr(spec.func, "__module__", "") or ""
    package, _, name = module.rpartition(".")
    if package == "yzt.conformance.checks" and name in CHECK_MODULES:
        code = getattr(spec.func, "__code__", None)
        return CHECK_MODULES.index(name), code.co_firstlineno if code is not None else 0
    return len(CHECK_MODULES), 0


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
