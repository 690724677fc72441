"""Run checks, stamp their results, apply waivers and tell listeners what happened.

The runner knows nothing of reports: it emits dataclass events (:class:`RunStarted`,
:class:`CheckFinished`, :class:`RunFinished`) to listener callables, and the console, JSON, JUnit
and HTML writers subscribe. A check that raises ends ``error``; a check whose needs the target lacks
ends ``not_testable``; neither is ever counted as a pass.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from yzt.client import Exchange
from yzt.conformance.context import RunContext
from yzt.conformance.registry import CheckSpec, Finding, NothingToJudge
from yzt.conformance.waivers import Waiver, find_waiver

Status = Literal["passed", "failed", "not_testable", "error", "waived"]
Verdict = Literal["pass", "fail", "incomplete"]
#: Requirement areas whose failure lets a person's data out or an unverified request in.
CRITICAL_AREAS = ("OIF-AUTH-", "OIF-VER-", "OIF-PII-", "OIF-ID-")
EXCERPT_CHARS = 600
MAX_EVIDENCE = 3


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, with the context the runner adds."""

    requirement: str
    check: str
    status: Status
    message: str
    evidence: tuple[dict[str, Any], ...]
    endpoint: str
    severity: str
    duration_s: float
    requests: int

    def to_json(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "check": self.check, "status": self.status,
                "message": self.message, "evidence": list(self.evidence),
                "endpoint": self.endpoint, "severity": self.severity,
                "duration_s": round(self.duration_s, 4), "requests": self.requests}


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


Event = RunStarted | CheckFinished | RunFinished
Listener = Callable[[Event], None]


def verdict_of(statuses: Iterable[str]) -> Verdict:
    """``fail`` if anything failed or errored, else ``incomplete`` if anything was not testable."""
    seen = set(statuses)
    if seen & {"failed", "error"}:
        return "fail"
    if "not_testable" in seen:
        return "incomplete"
    return "pass"


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
                 today: date | None = None) -> None:
        self.ctx = ctx
        self.specs = list(specs)
        self.target = target
        self.waivers = list(waivers)
        self.listeners = list(listeners)
        self.today = today or date.today()

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def run(self) -> RunFinished:
        started = time.perf_counter()
        seed = f"run seed {self.ctx.run_seed} (--run-seed)" if self.ctx.run_seed is not None else ""
        notes = tuple(n for n in (self.ctx.clock_note, seed) if n)
        self.emit(RunStarted(self.target, self.ctx.operator_id, tuple(s.name for s in self.specs),
                             self.ctx.sandbox_clock, notes))
        results = []
        for spec in self.specs:
            result = self.run_one(spec)
            results.append(result)
            self.emit(CheckFinished(result))
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        codes: dict[str, int] = {}
        for rec in self.ctx.client.recorded:
            code = rec.exchange.problem_code if (rec.exchange.status or 0) >= 400 else None
            if code:
                key = f"{rec.exchange.status} {code}"
                codes[key] = codes.get(key, 0) + 1
        finished = RunFinished(self.target, self.ctx.operator_id,
                               verdict_of(r.status for r in results), tuple(results),
                               time.perf_counter() - started, len(self.ctx.client.recorded),
                               notes, counts, dict(sorted(codes.items())))
        self.emit(finished)
        return finished

    def run_one(self, spec: CheckSpec) -> CheckResult:
        ctx = self.ctx
        ctx.client.current_check = spec.name
        before = len(ctx.client.recorded)
        started = time.perf_counter()
        findings: list[Finding] = []
        status: Status
        if "sandbox_clock" in spec.needs and not ctx.sandbox_clock:
            status, message = "not_testable", ctx.clock_note or "needs the sandbox clock"
        else:
            try:
                findings = spec.run(ctx)
            except NothingToJudge as exc:
                status, message = "not_testable", str(exc)
            except Exception as exc:  # a broken check must not stop the run
                where = traceback.extract_tb(exc.__traceback__)[-1]
                status = "error"
                message = ctx.mask(f"the check raised {type(exc).__name__}: {exc} "
                                   f"(at {where.name}:{where.lineno})")
            else:
                status, message = self._judge(findings)
        evidence: list[dict[str, Any]] = []
        for finding in findings:
            for exchange in finding.exchanges:
                if len(evidence) < MAX_EVIDENCE:
                    evidence.append(evidence_of(exchange, ctx))
        if status == "passed" and not evidence and len(ctx.client.recorded) > before:
            evidence.append(evidence_of(ctx.client.recorded[-1].exchange, ctx))
        if status in ("failed", "error"):
            status, message = self._waive(spec, status, message)
        severity = "critical" if spec.requirement.startswith(CRITICAL_AREAS) else "major"
        return CheckResult(spec.requirement, spec.name, status, ctx.mask(message), tuple(evidence),
                           spec.endpoint, severity, time.perf_counter() - started,
                           len(ctx.client.recorded) - before)

    @staticmethod
    def _judge(findings: list[Finding]) -> tuple[Status, str]:
        bad = [f for f in findings if f.status == "failed"]
        if bad:
            messages = list(dict.fromkeys(f.message for f in bad))
            more = f" (and {len(messages) - 3} more)" if len(messages) > 3 else ""
            return "failed", "; ".join(messages[:3]) + more
        untestable = [f.message for f in findings if f.status == "not_testable"]
        if untestable:
            return "not_testable", "; ".join(dict.fromkeys(untestable))
        return "passed", "as expected"

    def _waive(self, spec: CheckSpec, status: Status, message: str) -> tuple[Status, str]:
        waiver, expired = find_waiver(self.waivers, spec.requirement, spec.name, self.today)
        if waiver is not None and not expired:
            return "waived", (f"{message} — waived until {waiver.expires.isoformat()} "
                              f"(approved by {waiver.approver}: {waiver.reason})")
        if waiver is not None:
            return status, (f"{message} — waiver expired on {waiver.expires.isoformat()} "
                            f"(approved by {waiver.approver}); not applied")
        return status, message


def results_document(run: RunFinished) -> dict[str, Any]:
    """The ``results.json`` document."""
    return {"verdict": run.verdict, "target": run.target, "operator_id": run.operator_id,
            "duration_s": round(run.duration_s, 3), "requests": run.requests,
            "counts": run.counts, "notes": list(run.notes), "codes_seen": run.codes_seen,
            "checks": [r.to_json() for r in run.results]}


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)
