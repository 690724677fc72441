"""Exact statistics and the honest verdict of one load run, from the generator's raw records.

Percentiles are nearest-rank over every recorded latency (an observed value, never interpolated or
rounded to Locust's two significant figures). The verdict is a :class:`~yzt.verdict.Verdict`:
``pass``, ``fail`` (an SLA threshold breached) or ``incomplete`` (the generator did not offer the
target load, or was CPU-bound): an incomplete run is never reported as a pass, whatever its
thresholds say. When the target load was not offered because the endpoint's answers were so slow
that every user was waiting on one (:func:`endpoint_bound`), the generator is not blamed: the
run is judged on what was sent, and the reason names the endpoint's slowness. A threshold of an
endpoint the run sent nothing to is ``not_applicable``.

This module writes records only; the JUnit file and the latency histogram come from ``yzt.reports``
reading ``results.json`` through :class:`LoadResults`, the typed reader of the results kind
``load`` (:mod:`yzt.resultfile`, schema ``load.schema.json``).
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from yzt import resultfile
from yzt.loadtests.thresholds import Threshold
from yzt.loadtests.traffic import (
    COLUMNS,
    ENDPOINT_NAMES,
    ERROR_KINDS,
    KINDS,
    PROTOCOL_REQUIREMENTS,
    PROTOCOL_VALID,
    PROTOCOL_VIOLATION,
    Col,
)
from yzt.verdict import Verdict, run_verdict

#: The generator offered too little when fewer than this share of the scheduled slots went out.
MIN_OFFERED = 0.95
#: A generator process using more than this share of one core is saturated (Python uses one).
CPU_SATURATED = 0.90
#: Slots picked ahead of time that still left this late (p95) mean the event loop fell behind.
MAX_WAKE_LAG_S = 0.050
#: The users were all waiting on the endpoint when, at the answers' measured duration, they could
#: send less than this multiple of the target rate (Little's law: users / seconds per answer; the
#: headroom over 1 allows for bursts of Poisson arrivals).
ENDPOINT_BOUND_SHARE = 1.1
#: More than this share of 401/403 answers means our credentials are wrong, not the operator slow.
MAX_AUTH_REJECTS = 0.01
#: Histogram bin edges in ms (log-spaced, 0.1 ms … 100 s).
HIST_EDGES_MS: list[float] = [round(x, 4) for x in np.logspace(-1, 5, 61).tolist()]


@dataclass
class EndpointStats:
    endpoint: str
    count: int
    rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    error_ratio: float
    by_kind: dict[str, int]
    histogram: list[int]
    latencies_ms: np.ndarray = field(repr=False)
    #: Answers checked against the protocol's schemas, and violations by requirement id.
    protocol_checked: int = 0
    protocol_violations: dict[str, int] = field(default_factory=dict)

    def metric(self, name: str) -> float | None:
        if name == "protocol_violations":
            return float(sum(self.protocol_violations.values())) if self.protocol_checked else None
        if name == "error_ratio":
            return self.error_ratio if self.count else None
        if self.count == 0:
            return None
        if name == "max":
            return self.max_ms
        if name == "mean":
            return self.mean_ms
        return percentile(self.latencies_ms, float(name[1:]))

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "rate_achieved": round(self.rate, 3), "p50_ms": _r(self.p50_ms),
                "p95_ms": _r(self.p95_ms), "p99_ms": _r(self.p99_ms), "max_ms": _r(self.max_ms),
                "mean_ms": _r(self.mean_ms), "error_ratio": self.error_ratio,
                "errors_by_kind": {k: v for k, v in self.by_kind.items() if k != "ok" and v},
                "protocol_checked": self.protocol_checked,
                "protocol_violations": dict(self.protocol_violations),
                "histogram_counts": self.histogram}


@dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    measured: float | None
    passed: bool | None  # None: no requests to judge
    #: For the protocol row: answers checked, and violations by requirement id.
    checked: int = 0
    violations: tuple[tuple[str, int], ...] = ()

    @property
    def verdict(self) -> Verdict:
        """``not_applicable`` when there were no requests to judge, else pass or fail."""
        return (Verdict.NOT_APPLICABLE if self.passed is None
                else Verdict.PASS if self.passed else Verdict.FAIL)

    @property
    def mark(self) -> str:
        return "–" if self.passed is None else "✓" if self.passed else "✗"

    def describe(self) -> str:
        t = self.threshold
        if t.metric == "protocol_violations":
            if self.measured is None:
                return f"{self.mark} protocol under load: no answers checked, not judged"
            ids = ", ".join(f"{req} ×{n}" for req, n in self.violations)
            return (f"{self.mark} protocol under load: {self.measured:.0f} violations in {self.checked} "
                    f"answers checked" + (f" ({ids})" if ids else ""))
        if self.measured is None:
            shown = "no requests, not judged"
        elif t.metric == "error_ratio":
            shown = f"{self.measured * 100:.3f} %"
        else:
            shown = f"{self.measured:.1f} ms"
        return f"{self.mark} {t.requirement} {t.endpoint} {t.expression}: {shown}"

    def to_json(self) -> dict[str, Any]:
        t = self.threshold
        out: dict[str, Any] = {
            "requirement": t.requirement, "endpoint": t.endpoint, "metric": t.metric,
            "op": t.op, "limit": t.limit, "expression": t.expression,
            "measured": _r(self.measured, 6), "verdict": self.verdict.value}
        if t.metric == "protocol_violations":
            out.update(sampled=self.checked, violations=int(self.measured or 0),
                       requirements=dict(self.violations))
        return out


@dataclass
class RunResult:
    verdict: Verdict
    reasons: list[str]
    target_rate: float
    duration_s: float
    scheduled: int
    sent: int
    endpoints: dict[str, EndpointStats]
    thresholds: list[ThresholdResult]
    generator: dict[str, Any]
    notes: list[str]

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value, "exit_code": self.exit_code, "reasons": self.reasons,
            "target_rate": self.target_rate, "duration_s": self.duration_s,
            "scheduled": self.scheduled, "sent": self.sent,
            "offered_rate": round(self.sent / self.duration_s, 3) if self.duration_s else 0.0,
            "endpoints": {k: v.to_json() for k, v in self.endpoints.items()},
            "thresholds": [t.to_json() for t in self.thresholds],
            "generator": self.generator, "notes": self.notes,
            "histogram_edges_ms": HIST_EDGES_MS,
            "latency_definition": "completion time minus intended send time (queueing delay of late "
                                  "slots included); percentiles nearest-rank over every request",
        }


# --- the record as results.json holds it (kind "load") ---------------------------------------------

def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class EndpointRecord:
    """One endpoint's exact statistics as ``results.json`` holds them (:meth:`EndpointStats.to_json`)."""

    count: int = 0
    rate_achieved: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None
    error_ratio: float = 0.0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    protocol_checked: int = 0
    protocol_violations: dict[str, int] = field(default_factory=dict)
    histogram_counts: tuple[int, ...] = ()

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> EndpointRecord:
        return cls(int(raw.get("count") or 0), float(raw.get("rate_achieved") or 0.0),
                   p50_ms=_opt_float(raw.get("p50_ms")), p95_ms=_opt_float(raw.get("p95_ms")),
                   p99_ms=_opt_float(raw.get("p99_ms")), max_ms=_opt_float(raw.get("max_ms")),
                   mean_ms=_opt_float(raw.get("mean_ms")),
                   error_ratio=float(raw.get("error_ratio") or 0.0),
                   errors_by_kind={str(k): int(v) for k, v in (raw.get("errors_by_kind") or {}).items()},
                   protocol_checked=int(raw.get("protocol_checked") or 0),
                   protocol_violations={str(k): int(v) for k, v in
                                        (raw.get("protocol_violations") or {}).items()},
                   histogram_counts=tuple(int(c) for c in raw.get("histogram_counts") or ()))

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "rate_achieved": self.rate_achieved, "p50_ms": self.p50_ms,
                "p95_ms": self.p95_ms, "p99_ms": self.p99_ms, "max_ms": self.max_ms,
                "mean_ms": self.mean_ms, "error_ratio": self.error_ratio,
                "errors_by_kind": dict(self.errors_by_kind), "protocol_checked": self.protocol_checked,
                "protocol_violations": dict(self.protocol_violations),
                "histogram_counts": list(self.histogram_counts)}


@dataclass(frozen=True)
class ThresholdRecord:
    """One judged threshold as ``results.json`` holds it (:meth:`ThresholdResult.to_json`)."""

    requirement: str
    endpoint: str
    expression: str
    verdict: Verdict
    metric: str = ""
    op: str = ""
    limit: float | None = None
    measured: float | None = None
    #: The protocol row only: answers checked, violations, and violations by requirement id.
    protocol: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ThresholdRecord:
        protocol: dict[str, Any] = {k: raw[k] for k in ("sampled", "violations", "requirements")
                                    if k in raw}
        return cls(str(raw["requirement"]), str(raw["endpoint"]), str(raw["expression"]),
                   Verdict.parse(str(raw["verdict"])), str(raw.get("metric", "")), str(raw.get("op", "")),
                   _opt_float(raw.get("limit")), _opt_float(raw.get("measured")), protocol or None)

    def to_json(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "endpoint": self.endpoint, "metric": self.metric,
                "op": self.op, "limit": self.limit, "expression": self.expression,
                "measured": self.measured, "verdict": self.verdict.value, **(self.protocol or {})}


#: Context fields of a load run's record that the command adds (absent from a partial record).
_CONTEXT = ("target", "operator", "sla_source", "reproduce", "interrupted", "latency_definition")


@resultfile.reads
@dataclass(frozen=True)
class LoadResults:
    """A load run as ``results.json`` holds it: what reports and ``yzt check`` read.

    A run cut short before the generator recorded anything holds only its verdict, reasons and
    context: the counts are then None and the tables empty."""

    KIND: ClassVar[str] = "load"
    SCHEMA_VERSION: ClassVar[int] = 1

    verdict: Verdict
    reasons: tuple[str, ...] = ()
    target_rate: float | None = None
    duration_s: float | None = None
    scheduled: int | None = None
    sent: int | None = None
    offered_rate: float | None = None
    endpoints: dict[str, EndpointRecord] = field(default_factory=dict)
    thresholds: tuple[ThresholdRecord, ...] = ()
    notes: tuple[str, ...] = ()
    histogram_edges_ms: tuple[float, ...] = ()
    #: The generator's processes and health (:func:`generator_health`), as recorded.
    generator: dict[str, Any] | None = None
    shape: dict[str, Any] | None = None
    locust_elapsed_s: float | None = None
    #: ``target``, ``operator``, ``sla_source``, ``reproduce``, ``interrupted``, ...: as recorded.
    context: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def says(self, name: str) -> str:
        """A context field (``target``, ``reproduce`` ...), ``""`` when the record has none."""
        return self.context.get(name, "")

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> LoadResults:
        def opt_int(key: str) -> int | None:
            return None if document.get(key) is None else int(document[key])

        return cls(
            verdict=Verdict.parse(str(document["verdict"])),
            reasons=tuple(str(r) for r in document.get("reasons") or ()),
            target_rate=_opt_float(document.get("target_rate")),
            duration_s=_opt_float(document.get("duration_s")),
            scheduled=opt_int("scheduled"), sent=opt_int("sent"),
            offered_rate=_opt_float(document.get("offered_rate")),
            endpoints={str(k): EndpointRecord.from_json(v)
                       for k, v in (document.get("endpoints") or {}).items()},
            thresholds=tuple(ThresholdRecord.from_json(t) for t in document.get("thresholds") or ()),
            notes=tuple(str(n) for n in document.get("notes") or ()),
            histogram_edges_ms=tuple(float(e) for e in document.get("histogram_edges_ms") or ()),
            generator=document.get("generator"), shape=document.get("shape"),
            locust_elapsed_s=_opt_float(document.get("locust_elapsed_s")),
            context={k: str(document[k]) for k in _CONTEXT if document.get(k) is not None})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict.value, "exit_code": self.exit_code,
                               "reasons": list(self.reasons)}
        for key in ("target_rate", "duration_s", "scheduled", "sent", "offered_rate", "generator",
                    "shape", "locust_elapsed_s"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.endpoints or self.thresholds or self.sent is not None:
            out.update(endpoints={k: v.to_json() for k, v in self.endpoints.items()},
                       thresholds=[t.to_json() for t in self.thresholds], notes=list(self.notes),
                       histogram_edges_ms=list(self.histogram_edges_ms))
        return {**out, **self.context}


def write_results(path: Path, document: dict[str, Any]) -> Path:
    """Write a load run's record (:meth:`RunResult.to_json` and its context) as ``results.json``,
    stamped with its kind and schema version (:mod:`yzt.resultfile`)."""
    return resultfile.write(path, LoadResults.KIND, LoadResults.SCHEMA_VERSION, document)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def percentile(values: np.ndarray, pct: float) -> float:
    """Nearest-rank percentile: the smallest observed value with at least ``pct`` % at or below it."""
    if values.size == 0:
        raise ValueError("no values")
    ordered = np.sort(values)
    rank = max(1, math.ceil(pct / 100 * ordered.size))
    return float(ordered[rank - 1])


def _read_rows(path: Path) -> np.ndarray:
    array: np.ndarray = np.load(path)
    array = array.reshape(-1, array.shape[-1] if array.ndim == 2 else len(COLUMNS))
    if array.shape[1] < len(COLUMNS):  # records written before the protocol column existed
        array = np.pad(array, ((0, 0), (0, len(COLUMNS) - array.shape[1])))
    return array


def load_raw(raw_dir: Path) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """All raw records of a run and the generator processes' summaries."""
    arrays = [_read_rows(p) for p in sorted(raw_dir.glob("rows-*.npy"))]
    rows = np.concatenate(arrays) if arrays else np.empty((0, len(COLUMNS)))
    gens = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(raw_dir.glob("gen-*.json"))]
    return rows, gens


def endpoint_stats(name: str, rows: np.ndarray, duration_s: float) -> EndpointStats:
    lat_ms = rows[:, Col.LATENCY_S] * 1000.0
    kinds = rows[:, Col.KIND].astype(int)
    by_kind = {k: int(np.sum(kinds == i)) for i, k in enumerate(KINDS)}
    errors = sum(by_kind[k] for k in ERROR_KINDS)
    n = int(rows.shape[0])
    hist, _ = np.histogram(np.clip(lat_ms, HIST_EDGES_MS[0], HIST_EDGES_MS[-1]), bins=HIST_EDGES_MS)
    protocol = rows[:, Col.PROTOCOL].astype(int)
    violations = {req: int(np.sum(protocol == PROTOCOL_VIOLATION + k))
                  for k, req in enumerate(PROTOCOL_REQUIREMENTS)}
    return EndpointStats(
        endpoint=name, count=n, rate=n / duration_s if duration_s else 0.0,
        p50_ms=percentile(lat_ms, 50) if n else None, p95_ms=percentile(lat_ms, 95) if n else None,
        p99_ms=percentile(lat_ms, 99) if n else None, max_ms=float(lat_ms.max()) if n else None,
        mean_ms=float(lat_ms.mean()) if n else None, error_ratio=errors / n if n else 0.0,
        by_kind=by_kind, histogram=[int(c) for c in hist], latencies_ms=lat_ms,
        protocol_checked=int(np.sum(protocol >= PROTOCOL_VALID)),
        protocol_violations={k: v for k, v in violations.items() if v})


def judge(thresholds: Iterable[Threshold], stats: dict[str, EndpointStats]) -> list[ThresholdResult]:
    out = []
    for t in thresholds:
        s = stats.get(t.endpoint)
        measured = s.metric(t.metric) if s is not None else None
        passed = None if measured is None else t.holds(measured)
        if t.metric == "protocol_violations" and s is not None:
            out.append(ThresholdResult(t, measured, passed, s.protocol_checked,
                                       tuple(sorted(s.protocol_violations.items()))))
        else:
            out.append(ThresholdResult(t, measured, passed))
    return out


def endpoint_bound(rows: np.ndarray, gens: Sequence[dict[str, Any]], target_rate: float) -> str | None:
    """Why the target rate could not be offered when the endpoint, not the generator, held it back
    (``None`` when it did not): its answers took so long that every user was waiting on one.

    A user sends its next slot only once its previous request has ended, so ``users`` users whose
    requests each take ``s`` seconds send at most ``users / s`` requests a second (Little's law).
    When that is below the target rate, the slots left unsent are the endpoint's doing; adding
    generator processes would only add more users waiting.
    """
    users = sum(int(g.get("users", 0)) for g in gens)
    if not users or rows.shape[0] == 0 or target_rate <= 0:
        return None
    took = rows[:, Col.LATENCY_S] - rows[:, Col.SEND_LAG_S]  # send to answer (or timeout), seconds
    mean = float(took.mean())
    if mean <= 0 or users / mean >= ENDPOINT_BOUND_SHARE * target_rate:
        return None
    timeouts = int(np.sum(rows[:, Col.KIND].astype(int) == KINDS.index("timeout")))
    timed_out = f"; {timeouts} of {rows.shape[0]} timed out" if timeouts else ""
    return (f"the endpoint answered too slowly for the target rate: its answers took {mean:.1f} s on "
            f"average (median {percentile(took, 50):.1f} s{timed_out}), so all {users} users were "
            f"waiting on it and at most {users / mean:.1f} of the target {target_rate:g} req/s could "
            "be sent — the endpoint's slowness, not the load generator, held the rate back "
            "(--users raises the number of users, to offer the full rate anyway)")


def generator_health(rows: np.ndarray, gens: Sequence[dict[str, Any]], target_rate: float,
                     duration_s: float) -> tuple[list[str], dict[str, Any]]:
    """Reasons the generator's run cannot be trusted (empty when it can), and its numbers.

    A rate not offered because the endpoint kept every user waiting is no fault of the generator:
    it is not among the reasons but in ``info["endpoint_bound"]`` (see :func:`endpoint_bound`).
    """
    reasons: list[str] = []
    scheduled = sum(int(g["scheduled"]) for g in gens)
    sent = int(rows.shape[0])
    offered_rate = sent / duration_s if duration_s else 0.0
    short = scheduled and sent < MIN_OFFERED * scheduled
    if short:
        reasons.append(
            f"the generator offered only {offered_rate:.1f} req/s of the target {target_rate:g} req/s "
            f"({sent} of {scheduled} scheduled requests sent): it cannot generate this rate — add "
            "--workers or machines, or lower --rate")
    for g in gens:
        cpu = max(float(g["cpu_fraction"]), 0.0)
        if cpu >= CPU_SATURATED:
            reasons.append(f"generator process {g['tag']} used {cpu * 100:.0f} % of a CPU core: it was "
                           "saturated, so latencies include the generator's own delay")
    ahead = rows[rows[:, Col.AHEAD] > 0.5, Col.SEND_LAG_S] if sent else np.empty(0)
    wake_lag = percentile(ahead, 95) if ahead.size else 0.0
    if ahead.size >= 20 and wake_lag > MAX_WAKE_LAG_S:
        reasons.append(f"the generator's event loop sent on-time slots {wake_lag * 1000:.0f} ms late "
                       f"(p95 > {MAX_WAKE_LAG_S * 1000:.0f} ms): it was starved of CPU")
    late_picked = int(np.sum(rows[:, Col.AHEAD] < 0.5)) if sent else 0
    slow = endpoint_bound(rows, gens, target_rate) if short and len(reasons) == 1 else None
    if slow:  # the only problem was the unsent slots, and the endpoint's slowness explains them
        reasons.clear()
    info = {
        "processes": list(gens), "scheduled": scheduled, "sent": sent,
        "offered_rate": round(offered_rate, 3),
        "offered_share": round(sent / scheduled, 4) if scheduled else None,
        "wake_lag_p95_ms": round(wake_lag * 1000, 3),
        "slots_taken_late": late_picked,
        "cpu_fraction_max": max((float(g["cpu_fraction"]) for g in gens), default=0.0),
    }
    if slow:
        info["endpoint_bound"] = slow
    return reasons, info


def evaluate(raw_dir: Path, thresholds: Sequence[Threshold], target_rate: float,
             duration_s: float) -> RunResult:
    """Read a finished run's raw records and decide pass, fail or incomplete."""
    rows, gens = load_raw(raw_dir)
    if not gens:
        raise RuntimeError(f"no generator records in {raw_dir}: the generator did not finish")
    stats: dict[str, EndpointStats] = {}
    for i, name in enumerate(ENDPOINT_NAMES):
        stats[name] = endpoint_stats(name, rows[rows[:, Col.ENDPOINT] == i], duration_s)
    stats["all"] = endpoint_stats("all", rows, duration_s)
    results = judge(thresholds, stats)
    reasons, info = generator_health(rows, gens, target_rate, duration_s)
    notes: list[str] = []
    if not all(g.get("schema_validation") for g in gens):
        notes.append("schema validation off: yzt.conformance.schemas is not available")
    checked = stats["all"].protocol_checked
    notes.append(f"{checked} responses validated against the JSON Schemas")
    examples = [e for g in gens for e in g.get("schema_examples", [])]
    notes += [f"schema problem: {e}" for e in examples[:5]]
    verdict = decide(results, reasons)
    if verdict is Verdict.FAIL:
        reasons = [r.describe()[2:] if r.threshold.metric == "protocol_violations"
                   else f"{r.describe()[2:].replace(': ', ' breached — measured ', 1)}"
                   for r in results if r.verdict is Verdict.FAIL]
    slow = info.get("endpoint_bound")
    if slow:  # judged on what was sent; never a pass with the target rate not offered
        verdict = Verdict.FAIL if verdict is Verdict.FAIL else Verdict.INCOMPLETE
        reasons.append(str(slow))
    return RunResult(verdict, reasons, target_rate, duration_s, info["scheduled"], info["sent"],
                     stats, results, info, notes)


def decide(results: Sequence[ThresholdResult], untrusted: Sequence[str]) -> Verdict:
    """The run's verdict: ``incomplete`` when the generator cannot be trusted (``untrusted`` holds
    why), else the worst threshold, thresholds with nothing to judge left out (:func:`run_verdict`)."""
    if untrusted:
        return Verdict.INCOMPLETE
    return run_verdict(r.verdict for r in results)


def reproduce_command(target: str, operator: str, key_id: str, fixtures: Sequence[str], rate: float,
                      duration_s: float, out: str, extra: Sequence[str] = ()) -> str:
    """One command that repeats a load run against the same target: the same operator, key id,
    fixtures, rate and duration (``extra``: the flags that differ from the defaults). The secret is
    never on the line: the command reads YZT_SECRET (or the ``--secret-file`` in ``extra``)."""
    return shlex.join(["yzt", "load", target, "--operator", operator, "--key-id", key_id, *fixtures,
                       "--rate", f"{rate:g}", "--duration", f"{duration_s:g}s", *extra, "--out", out])


def auth_reject_share(result: RunResult) -> float:
    total = result.endpoints["all"]
    return total.by_kind.get("http_401_403", 0) / total.count if total.count else 0.0


def console_summary(result: RunResult) -> str:
    """The k6-like block printed after a run."""
    lines = [f"{'endpoint':<14} {'count':>7} {'req/s':>8} {'p50':>9} {'p95':>9} {'p99':>9} "
             f"{'max':>9} {'errors':>8}"]
    for name, s in result.endpoints.items():
        if s.count == 0 and name != "all":
            continue

        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}ms"

        lines.append(f"{name:<14} {s.count:>7} {s.rate:>8.1f} {ms(s.p50_ms):>9} {ms(s.p95_ms):>9} "
                     f"{ms(s.p99_ms):>9} {ms(s.max_ms):>9} {s.error_ratio * 100:>7.2f}%")
    lines.append("")
    lines += [r.describe() for r in result.thresholds]
    g = result.generator
    lines.append("")
    lines.append(f"generator: sent {g['sent']} of {g['scheduled']} scheduled requests "
                 f"({g['offered_rate']:.1f} req/s; target mean {result.target_rate:.1f} req/s), CPU max "
                 f"{g['cpu_fraction_max'] * 100:.0f} % of a core, wake lag p95 {g['wake_lag_p95_ms']:.1f} ms")
    lines += [f"note: {n}" for n in result.notes]
    lines.append("")
    lines.append(f"verdict: {result.verdict.value.upper()}")
    lines += [f"  - {r}" for r in result.reasons]
    return "\n".join(lines)

