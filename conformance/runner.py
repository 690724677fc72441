"""Run checks, stamp their results, apply waivers and tell listeners what happened.

The runner knows nothing of reports: it emits dataclass events (:class:`RunStarted`,
:class:`CheckFinished`, :class:`RunFinished`) to listener callables, and the console, JSON, JUnit
and HTML writers subscribe. Verdicts are :class:`yzt.verdict.Verdict`: a check that raises ends
``error``; a check whose needs the target lacks ends ``incomplete`` (``not_applicable`` when the
profile leaves it out on purpose); neither is ever counted as a pass.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from yzt.client import Exchange
from yzt.conformance.context import RunContext
from yzt.conformance.registry import CheckSpec, Finding, NothingToJudge, Said
from yzt.conformance.waivers import Waiver, find_waiver
from yzt.verdict import Verdict, worst
from yzt.verdict import run_verdict as shared_run_verdict

#: Requirement areas whose failure lets a person's data out or an unverified request in.
CRITICAL_AREAS = ("OIF-AUTH-", "OIF-VER-", "OIF-PII-", "OIF-ID-")
EXCERPT_CHARS = 600
MAX_EVIDENCE = 3
#: ``sandbox``: the operator's test deployment (sandbox clock, overload probe). ``production``: a
#: live endpoint, where sandbox-only checks are left out of the verdict as not applicable.
PROFILES = ("sandbox", "production")
_FAILING = (Verdict.FAIL, Verdict.ERROR)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, with the context the runner adds.

    ``consequence_of`` is set when this check failed only because the named earlier check failed
    (``OIF-CXL-1 remote_cancellation_accepted``); such failures are counted apart from primary ones.
    ``reproduce`` is a command that re-runs this check alone against the same target.
    """

    requirement: str
    check: str
    verdict: Verdict
    message: str
    evidence: tuple[dict[str, Any], ...]
    endpoint: str
    severity: str
    duration_s: float
    requests: int
    consequence_of: str | None = None
    reproduce: str = ""
    #: ``message`` as values (masked), for reports in other languages; None: the message is free
    #: text, shown as recorded.
    said: Said | None = None

    @property
    def primary(self) -> bool:
        """A failure (or error) that is not the consequence of another check's failure."""
        return self.verdict in _FAILING and self.consequence_of is None

    @property
    def consequential(self) -> bool:
        return self.verdict in _FAILING and self.consequence_of is not None

    def to_json(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "check": self.check, "verdict": self.verdict.value,
                "primary": self.primary, "consequence_of": self.consequence_of,
                "message": self.message, "reproduce": self.reproduce,
                "evidence": list(self.evidence), "endpoint": self.endpoint,
                "severity": self.severity, "duration_s": round(self.duration_s, 4),
                "requests": self.requests,
                **({"said": self.said.to_json()} if self.said is not None else {})}


@dataclass(frozen=True)
class RunStarted:
    target: str
    operator_id: str
    checks: tuple[str, ...]
    sandbox_clock: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class CheckFinished:
    result: CheckResult


@dataclass(frozen=True)
class RunFinished:
    """The whole run: results ordered primary failures first, then consequences, then the rest."""

    target: str
    operator_id: str
    verdict: Verdict
    results: tuple[CheckResult, ...]
    duration_s: float
    requests: int
    notes: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    #: ``"401 signature_invalid"`` → how many answers of the run carried it (coverage of the table).
    codes_seen: dict[str, int] = field(default_factory=dict)
    profile: str = "sandbox"
    strict: bool = False
    run_seed: int | None = None
    started_at: str = ""
    finished_at: str = ""
    #: ``notes`` as values, for reports in other languages (a free-text note is a plain string).
    notes_said: tuple[Said | str, ...] = ()

    @property
    def primary_failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.primary)

    @property
    def consequential_failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.consequential)


Event = RunStarted | CheckFinished | RunFinished
Listener = Callable[[Event], None]
#: Check names → a command that re-runs those checks alone (the CLI knows the flags, the runner
#: does not). A sweep check's failure is re-run with the checks that sent the exchanges it judged.
Reproducer = Callable[[Sequence[str]], str]


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _excerpt(data: bytes, ctx: RunContext) -> str:
    text = data[:EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    cut = "…" if len(text) > EXCERPT_CHARS or len(data) > EXCERPT_CHARS * 4 else ""
    return ctx.mask(text[:EXCERPT_CHARS]) + cut


def evidence_of(exchange: Exchange, ctx: RunContext) -> dict[str, Any]:
    """A masked excerpt of one exchange, for reports."""
    shown = {k: v for k, v in exchange.response_headers.items()
             if k in ("content-type", "content-length", "retry-after")}
    out: dict[str, Any] = {
        "request": f"{exchange.method} {exchange.path}",
        # every header the platform sent: key id, timestamp, nonce and signature (never the secret)
        "request_headers": {k: ctx.mask(v) for k, v in exchange.request_headers.items()},
        "request_content_type": exchange.request_headers.get("Content-Type", ""),
        "request_body": _excerpt(exchange.request_body, ctx),
        "status": exchange.status,
        "response_headers": {k: ctx.mask(v) for k, v in shown.items()},
        "response_body": _excerpt(exchange.response_body, ctx),
    }
    if exchange.error:
        out["error"] = ctx.mask(exchange.error)
    return out


class Runner:
    """Runs a selection of checks against one context."""

    def __init__(self, ctx: RunContext, specs: Sequence[CheckSpec], *, target: str = "",
                 waivers: Sequence[Waiver] = (), listeners: Sequence[Listener] = (),
                 today: date | None = None, strict: bool = False,
                 reproduce: Reproducer | None = None) -> None:
        self.ctx = ctx
        self.specs = list(specs)
        self.target = target
        self.waivers = list(waivers)
        self.listeners = list(listeners)
        self.today = today or date.today()
        self.strict = strict
        self.reproduce = reproduce

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def run(self) -> RunFinished:
        started = time.perf_counter()
        started_at = _now_iso()
        seed = (Said.of("note.run_seed", seed=str(self.ctx.run_seed))
                if self.ctx.run_seed is not None else "")
        profile = Said.of("note.profile_strict" if self.strict else "note.profile",
                          profile=self.ctx.profile)
        said_notes = tuple(n for n in (profile, self.ctx.preflight_note, self.ctx.clock_note, seed)
                           if n)
        notes = tuple(str(n) for n in said_notes)
        self.emit(RunStarted(self.target, self.ctx.operator_id, tuple(s.name for s in self.specs),
                             self.ctx.sandbox_clock, notes))
        results = []
        for spec in self.specs:
            result = self.run_one(spec)
            results.append(result)
            self.emit(CheckFinished(result))
        results = order_results(resolve_consequences(results))
        counts: dict[str, int] = {}
        for r in results:
            counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
        codes: dict[str, int] = {}
        for rec in self.ctx.client.recorded:
            code = rec.exchange.problem_code if (rec.exchange.status or 0) >= 400 else None
            if code:
                key = f"{rec.exchange.status} {code}"
                codes[key] = codes.get(key, 0) + 1
        finished = RunFinished(self.target, self.ctx.operator_id,
                               run_verdict(r.verdict for r in results), tuple(results),
                               time.perf_counter() - started, len(self.ctx.client.recorded),
                               notes, counts, dict(sorted(codes.items())), self.ctx.profile,
                               self.strict, self.ctx.run_seed, started_at, _now_iso(), said_notes)
        self.emit(finished)
        return finished

    def run_one(self, spec: CheckSpec) -> CheckResult:
        ctx = self.ctx
        ctx.client.current_check = spec.name
        before = len(ctx.client.recorded)
        started = time.perf_counter()
        findings: list[Finding] = []
        consequence: str | None = None
        said: Said | str | None = None
        verdict: Verdict
        if "sandbox_clock" in spec.needs and ctx.profile == "production":
            said = Said.of("production_needs_clock")
            verdict, message = Verdict.NOT_APPLICABLE, str(said)
        elif "sandbox_clock" in spec.needs and not ctx.sandbox_clock:
            said = ctx.clock_note if isinstance(ctx.clock_note, Said) else None
            verdict, message = Verdict.INCOMPLETE, str(ctx.clock_note) or "needs the sandbox clock"
        else:
            try:
                findings = spec.run(ctx)
            except NothingToJudge as exc:
                verdict, message = Verdict.INCOMPLETE, str(exc)
            except Exception as exc:  # a broken check must not stop the run
                where = traceback.extract_tb(exc.__traceback__)[-1]
                verdict = Verdict.ERROR
                message = ctx.mask(f"the check raised {type(exc).__name__}: {exc} "
                                   f"(at {where.name}:{where.lineno})")
            else:
                verdict, message, consequence = judge(findings)
                said = said_of(findings)
        evidence: list[dict[str, Any]] = []
        for finding in findings:
            for exchange in finding.exchanges:
                if len(evidence) < MAX_EVIDENCE:
                    evidence.append(evidence_of(exchange, ctx))
        if verdict is Verdict.PASS and not evidence and len(ctx.client.recorded) > before:
            evidence.append(evidence_of(ctx.client.recorded[-1].exchange, ctx))
        if verdict is Verdict.WARNING and self.strict:
            verdict, message = Verdict.FAIL, f"{message} (a warning, made a failure by --strict)"
            said = Said.of("strict", said=said) if said is not None else None
        if verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.INCOMPLETE):
            before_waiver = verdict
            verdict, message = self._waive(spec, verdict, message)
            said = self._waive_said(spec, before_waiver, said)
        severity = "critical" if spec.requirement.startswith(CRITICAL_AREAS) else "major"
        reproduce = ""
        if self.reproduce and verdict in _FAILING:
            reproduce = self.reproduce(self._to_rerun(spec, findings))
        masked = Said.from_json(said.to_json(ctx.mask)) if isinstance(said, Said) else None
        return CheckResult(spec.requirement, spec.name, verdict, ctx.mask(message), tuple(evidence),
                           spec.endpoint, severity, time.perf_counter() - started,
                           len(ctx.client.recorded) - before, consequence, reproduce, masked)

    def _to_rerun(self, spec: CheckSpec, findings: Sequence[Finding]) -> list[str]:
        """The check itself and, for a sweep, the checks whose exchanges its findings cite."""
        if spec.phase != "sweep":
            return [spec.name]
        cited = {id(ex) for f in findings if f.status is Verdict.FAIL for ex in f.exchanges}
        senders = [r.check for r in self.ctx.client.recorded
                   if id(r.exchange) in cited and not r.check.startswith("(")]
        return list(dict.fromkeys([*senders, spec.name]))

    def _waive(self, spec: CheckSpec, verdict: Verdict, message: str) -> tuple[Verdict, str]:
        waiver, expired = find_waiver(self.waivers, spec.requirement, spec.name, self.today)
        if waiver is not None and not expired:
            return Verdict.WAIVED, (f"{message} — {verdict.value}, waived until "
                                    f"{waiver.expires.isoformat()} (approved by {waiver.approver}: "
                                    f"{waiver.reason})")
        if waiver is not None:
            return verdict, (f"{message} — waiver expired on {waiver.expires.isoformat()} "
                             f"(approved by {waiver.approver}); not applied")
        return verdict, message

    def _waive_said(self, spec: CheckSpec, verdict: Verdict, said: Said | str | None) -> Said | None:
        """:meth:`_waive`'s words as values (None when the message is free text)."""
        if said is None:
            return None
        waiver, expired = find_waiver(self.waivers, spec.requirement, spec.name, self.today)
        if waiver is None:
            return said if isinstance(said, Said) else None
        fields = {"said": said, "until": waiver.expires.isoformat(), "approver": waiver.approver}
        if expired:
            return Said.of("waiver_expired", **fields)
        return Said.of("waived", **fields, verdict=Said.of(f"verdict_{verdict.value}"),
                       reason=waiver.reason)


def said_of(findings: Sequence[Finding]) -> Said:
    """:func:`judge`'s message as values: the worst findings' (three at most, then how many more),
    after ``consequence of …`` when they follow from another check (free-text findings are quoted
    as recorded)."""
    if not findings:
        return Said.of("as_expected")
    verdict = worst(f.status for f in findings)
    chosen = [f for f in findings if f.status is verdict]
    values = list(dict.fromkeys(f.value for f in chosen))
    said = Said.join(values[:3])
    if len(values) > 3:
        said = Said.of("more", said=said, n=str(len(values) - 3))
    causes = {f.consequence_of for f in chosen}
    cause = causes.pop() if verdict is Verdict.FAIL and len(causes) == 1 else None
    return Said.of("consequence", cause=cause, said=said) if cause else said


def run_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """A run's verdict: the worst of its checks', leaving out those not applicable (a production run
    whose other checks pass is a pass); not applicable only when nothing else was judged."""
    return shared_run_verdict(verdicts)


def judge(findings: Sequence[Finding]) -> tuple[Verdict, str, str | None]:
    """A check's verdict from its findings (the worst wins), its message and, for a failure that
    only follows from another check's, that check (``"OIF-CXL-1 remote_cancellation_accepted"``)."""
    if not findings:
        return Verdict.PASS, "as expected", None
    verdict = worst(f.status for f in findings)
    chosen = [f for f in findings if f.status is verdict]
    messages = list(dict.fromkeys(f.message for f in chosen))
    more = f" (and {len(messages) - 3} more)" if len(messages) > 3 else ""
    message = "; ".join(messages[:3]) + more
    causes = {f.consequence_of for f in chosen}
    consequence = causes.pop() if verdict is Verdict.FAIL and len(causes) == 1 else None
    if consequence:
        message = f"consequence of {consequence}: {message}"
    return verdict, message, consequence


def resolve_consequences(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Keep a consequence mark only when the named check did fail; otherwise the failure is primary."""
    by_name = {r.check: r for r in results}
    out = []
    for r in results:
        if r.consequence_of:
            cause = by_name.get(r.consequence_of.rpartition(" ")[2])
            if cause is None or cause.verdict not in (*_FAILING, Verdict.WAIVED):
                shown = "ran" if cause is not None else "did not run"
                key = "counted_primary_ran" if cause is not None else "counted_primary_not_run"
                r = replace(r, consequence_of=None,
                            message=f"{r.message} (counted as primary: {r.consequence_of} {shown} "
                                    "without failing)",
                            said=Said.of(key, said=r.said, cause=r.consequence_of)
                            if r.said is not None else None)
        out.append(r)
    return out


def order_results(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Primary failures first, then failures that are consequences, then the rest in run order."""
    return ([r for r in results if r.primary] + [r for r in results if r.consequential]
            + [r for r in results if r.verdict not in _FAILING])


def results_document(run: RunFinished) -> dict[str, Any]:
    """The ``results.json`` document (read back with :func:`yzt.conformance.results.read_results`)."""
    from yzt.conformance.requirements import protocol_version

    return {"verdict": run.verdict.value, "exit_code": run.verdict.exit_code,
            "protocol_version": protocol_version(), "target": run.target,
            "operator_id": run.operator_id, "profile": run.profile, "strict": run.strict,
            "run_seed": run.run_seed, "started_at": run.started_at, "finished_at": run.finished_at,
            "duration_s": round(run.duration_s, 3), "requests": run.requests,
            "counts": run.counts, "primary_failures": len(run.primary_failures),
            "consequential_failures": len(run.consequential_failures),
            "notes": list(run.notes), "codes_seen": run.codes_seen,
            "notes_said": [n.to_json() if isinstance(n, Said) else n for n in run.notes_said],
            "checks": [r.to_json() for r in run.results]}


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)
