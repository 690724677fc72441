"""From records to metrics, confidence intervals, SLA verdicts, JSON and the console summary.

Reports read records and nothing else. Counts are scaled by ``one_in`` back to the full stream;
shares and times are of the sampled stream. The JSON holds no wall-clock time, so one seed gives
byte-identical output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from yzt import __version__, resultfile
from yzt.sim.records import ReplicationRecords
from yzt.sim.scenario import Scenario
from yzt.sim.stats import estimate
from yzt.verdict import Verdict, run_verdict

Metrics = dict[str, dict[str, float]]
"""Scope ("platform" or an operator id) → metric name → value of one replication."""

#: Buckets of the reply time (hours) for the lateness distribution; the last is "later or never".
E2E_BUCKETS_H = (1.0, 6.0, 24.0, 48.0, 72.0)

_NAN = math.nan


def _share(num: float, den: float) -> float:
    return num / den if den else _NAN


def _quantiles(xs: np.ndarray, qs: Sequence[float]) -> list[float]:
    if xs.size == 0:
        return [_NAN] * len(qs)
    return [float(v) for v in np.quantile(xs, qs, method="inverted_cdf")]


def _distributions(p: dict[str, float], rec: ReplicationRecords, verified: np.ndarray,
                   fanout: np.ndarray, complete: np.ndarray, judged: np.ndarray, e2e: np.ndarray,
                   n_judged: int) -> None:
    """Quantiles of the reply and fan-out times and the lateness buckets, into ``p``."""
    done = e2e[judged & ~np.isnan(e2e)]
    for q, v in zip((0.5, 0.95, 0.99, 1.0), _quantiles(done, (0.5, 0.95, 0.99, 1.0)), strict=True):
        p[f"e2e_{'max' if q == 1.0 else f'p{round(q * 100)}'}_s"] = v
    late = done[done > rec.deadline_s] - rec.deadline_s
    p["lateness_mean_h"] = float(late.mean() / 3600.0) if late.size else 0.0
    e2e_j = np.where(np.isnan(e2e[judged]), np.inf, e2e[judged]) / 3600.0
    lo = 0.0
    for hi in (*E2E_BUCKETS_H, math.inf):
        name = f"e2e_share_{lo:g}_{hi:g}h" if hi < math.inf else f"e2e_share_over_{lo:g}h_or_never"
        p[name] = _share(int(((e2e_j > lo) & (e2e_j <= hi)).sum()) if lo else int((e2e_j <= hi).sum()),
                         n_judged)
        lo = hi
    fo = (fanout - verified)[complete & ~np.isnan(fanout)]
    for q, v in zip((0.5, 0.95, 0.99), _quantiles(fo, (0.5, 0.95, 0.99)), strict=True):
        p[f"fanout_p{round(q * 100)}_s"] = v


def replication_metrics(rec: ReplicationRecords, distributions: bool = True) -> Metrics:
    """The metrics of one replication.

    ``distributions=False`` leaves out the platform's quantiles and lateness buckets (sorting
    every query's reply time): what :func:`sla_verdicts` reads is all there, which is what
    ``yzt plan`` needs for each of its candidates."""
    scale = rec.one_in
    verified = np.asarray(rec.verified_at)
    delivered = np.asarray(rec.sms_delivered)
    fanout = np.asarray(rec.fanout_done)
    complete = np.asarray(rec.complete, dtype=bool)
    judged = verified + rec.deadline_s <= rec.end_s
    e2e = delivered - verified  # NaN when never delivered
    n_judged = int(judged.sum())
    within = judged & (e2e <= rec.deadline_s)
    p: dict[str, float] = {
        "query_attempts": rec.attempts * scale,
        "queries_verified": verified.size * scale,
        "verification_gave_up_share": _share(rec.gave_up_verification, rec.attempts),
        "verification_failed_share": _share(rec.failed_verification, rec.attempts),
        "refused_24h": rec.refused_24h * scale,
        "e2e_within_deadline_share": _share(int(within.sum()), n_judged),
        "incomplete_share": _share(int((~complete & judged).sum()), n_judged),
    }
    if distributions:
        _distributions(p, rec, verified, fanout, complete, judged, e2e, n_judged)
    stations = {s.name: s for s in rec.stations}
    sms = stations["sms"]
    p["sms_wait_mean_s"] = sms.mean_wait
    p["sms_backlog_max"] = float(sms.max_queue)
    p["sms_failures"] = rec.sms_failures * scale

    out: Metrics = {"platform": p}
    n_q = verified.size
    all_offered = all_in_target = all_abandoned = 0
    all_d = all_d_ok = all_c = all_c_ok = 0
    for op_id, o in rec.operators.items():
        st = stations.get(f"{op_id}/fanout")
        m: dict[str, float] = {
            "attempts_per_query": _share(o.attempts, n_q),
            "error_share": _share(o.errors + o.timeouts + o.outage_failures, o.attempts),
            "timeouts": o.timeouts * scale,
            "outage_failures": o.outage_failures * scale,
            "gave_up_queries": o.gave_up * scale,
            "retries": o.retries * scale,  # the extra load retries put on the operator
            "latency_mean_ms": _share(o.latency_sum, o.successes) * 1000.0,
        }
        if st is not None:
            m["fanout_wait_mean_s"] = st.mean_wait
            m["fanout_in_flight_mean"] = st.busy_area / st.duration_s
        h = rec.hotlines.get(op_id)
        if h is not None:
            wait = np.asarray(h.wait)
            ans = np.asarray(h.answered, dtype=bool)
            offered = int(wait.size)
            in_target = int((ans & (wait <= h.target_s)).sum())
            abandoned = offered - int(ans.sum())
            first = offered - int(np.sum(h.repeat))
            m.update({
                "hotline_offered": float(offered),
                "hotline_from_platform": float(np.sum(h.platform)),
                "hotline_service_level": _share(in_target, offered),
                "hotline_abandonment": _share(abandoned, offered),
                "hotline_p_wait": _share(int((wait > 0).sum()), offered),
                "hotline_asa_s": float(wait.mean()) if offered else _NAN,
                "hotline_repeat_share": _share(offered - first, first),
            })
            all_offered += offered
            all_in_target += in_target
            all_abandoned += abandoned
        c = rec.cases.get(op_id)
        if c is None:  # records that stop before the back offices (``yzt plan``'s platform stage)
            out[op_id] = m
            continue
        kind = np.asarray(c.kind)
        took = np.asarray(c.closed) - np.asarray(c.raised)
        took = np.where(np.isnan(took), np.inf, took)
        d, x = kind == "dispute", kind == "cancellation"
        d_ok = int((took[d] <= c.dispute_deadline_s).sum())
        c_ok = int((took[x] <= c.cancellation_deadline_s).sum())
        m.update({
            "disputes": float(d.sum()),
            "dispute_within_deadline_share": _share(d_ok, int(d.sum())),
            "dispute_p95_h": _quantiles(took[d], (0.95,))[0] / 3600.0,
            "cancellations": float(x.sum()),
            "cancellation_within_deadline_share": _share(c_ok, int(x.sum())),
            "cancellation_p95_h": _quantiles(took[x], (0.95,))[0] / 3600.0,
        })
        all_d += int(d.sum())
        all_d_ok += d_ok
        all_c += int(x.sum())
        all_c_ok += c_ok
        out[op_id] = m
    p["hotline_offered"] = float(all_offered)
    p["hotline_service_level"] = _share(all_in_target, all_offered)
    p["hotline_abandonment"] = _share(all_abandoned, all_offered)
    p["disputes"] = float(all_d)
    p["dispute_within_deadline_share"] = _share(all_d_ok, all_d)
    p["cancellations"] = float(all_c)
    p["cancellation_within_deadline_share"] = _share(all_c_ok, all_c)
    return out


def summarise(per_rep: Sequence[Metrics]) -> dict[str, dict[str, dict[str, Any]]]:
    """Scope → metric → mean and 95 % CI over replications."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for scope in per_rep[0]:
        out[scope] = {
            name: estimate([r[scope][name] for r in per_rep]).as_dict()
            for name in per_rep[0][scope]
        }
    return out


def _verdict(ok: bool | None) -> Verdict:
    """``not_applicable`` when the scenario drew no such event (nothing to judge), else pass/fail."""
    return Verdict.NOT_APPLICABLE if ok is None else (Verdict.PASS if ok else Verdict.FAIL)


def _row(sla: str, scope: str, expected: str, value: float | None, ok: bool | None,
         ci: tuple[float | None, float | None] = (None, None), **extra: float | None
         ) -> dict[str, Any]:
    """One SLA row: requirement, scope, verdict, the mean with its 95 % CI, the target."""
    verdict = _verdict(ok)
    return {"requirement": sla, "name": scope, "verdict": verdict.value, "expected": expected,
            "value": value, "ci_low": ci[0], "ci_high": ci[1], **extra}


def sla_verdicts(sc: Scenario, summary: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One verdict per SLA and scope, judged on the mean over replications."""

    def mean(scope: str, name: str) -> float | None:
        if name not in summary.get(scope, {}):  # a stage the records stopped before
            return None
        v = summary[scope][name]["mean"]
        return None if v is None or math.isnan(v) else float(v)

    def ci(scope: str, name: str) -> tuple[float | None, float | None]:
        e = summary.get(scope, {}).get(name, {})
        low, high = e.get("ci_low"), e.get("ci_high")
        if low is None or high is None or math.isnan(low) or math.isnan(high):
            return None, None
        return float(low), float(high)

    rows: list[dict[str, Any]] = []
    e2e = mean("platform", "e2e_within_deadline_share")
    rows.append(_row("SLA-E2E-1", "platform", f"100 % replied within {sc.deadline_h:g} h", e2e,
                     None if e2e is None else e2e >= 1.0, ci("platform", "e2e_within_deadline_share"),
                     target=1.0))
    for op in sc.operators:
        if not op.hotline.enabled:
            continue
        sl = mean(op.id, "hotline_service_level")
        ab = mean(op.id, "hotline_abandonment")
        hot = op.sla.hotline
        ok = None if sl is None or ab is None else (
            sl >= hot.answered_share_min and ab <= hot.abandonment_max)
        ab_low, ab_high = ci(op.id, "hotline_abandonment")
        rows.append(_row("SLA-HOT-1", op.id,
                         f"≥ {hot.answered_share_min:.0%} answered within {hot.answer_within_s:g} s,"
                         f" abandonment ≤ {hot.abandonment_max:.0%}", sl, ok,
                         ci(op.id, "hotline_service_level"), abandonment=ab,
                         abandonment_ci_low=ab_low, abandonment_ci_high=ab_high,
                         target=hot.answered_share_min, abandonment_max=hot.abandonment_max))
    for sla, metric, what in (("SLA-DSP-1", "dispute_within_deadline_share", "disputes"),
                              ("SLA-CXL-1", "cancellation_within_deadline_share", "cancellations")):
        for op in sc.operators:
            v = mean(op.id, metric)
            limit = (f"{op.sla.dispute_days:g} days" if sla == "SLA-DSP-1"
                     else f"{op.sla.cancellation_hours:g} h")
            rows.append(_row(sla, op.id, f"100 % of {what} within {limit}", v,
                             None if v is None else v >= 1.0, ci(op.id, metric), target=1.0))
    return rows


def mean_timeseries(series: Sequence[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Point-by-point mean over replications (sample times are the same in every one)."""
    n = min(len(s["t_h"]) for s in series)
    return {
        k: [float(f"{v:.10g}") for v in np.mean([s[k][:n] for s in series], axis=0)]
        for k in series[0]
    }


def build_results(sc: Scenario, seed: int, per_rep: Sequence[dict[str, Any]],
                  engine: str = "simpy", engine_note: str = "") -> dict[str, Any]:
    """The JSON document of a run (``per_rep``: outputs of :func:`replication_output`).

    ``engine``: which engine produced the records (``fast`` or ``simpy``); ``engine_note`` says
    why ``auto`` did not use the fast one."""
    summary = summarise([r["metrics"] for r in per_rep])
    sla = sla_verdicts(sc, summary)
    failed = sum(r["verdict"] == Verdict.FAIL.value for r in sla)
    series = mean_timeseries([r["timeseries"] for r in per_rep])
    series["t_hours"] = series.pop("t_h")
    return {
        "summary": f"{len(per_rep)} replications, {engine} engine, sampling 1 in {sc.one_in}: "
                   + (f"{failed} SLA row(s) breached" if failed else "all SLAs hold"),
        "verdict": sla_run_verdict(sla).value,
        "yzt_version": __version__,
        "scenario": {"name": sc.name, "description": sc.description, "document": sc.document},
        "seed": seed,
        "replications": len(per_rep),
        "engine": engine,
        "engine_note": engine_note,
        "sampling": {
            "one_in": sc.one_in,
            "note": "fan-out and SMS simulate 1 query in one_in with connections and SMS rate "
                    "divided by one_in; counts are scaled back; hotline and back office run at "
                    "full scale",
        },
        "confidence": 0.95,
        "metrics": {"platform": summary["platform"],
                    "operators": {k: v for k, v in summary.items() if k != "platform"}},
        "sla": sla,
        "timeseries": series,
        "model": {"events_per_replication": [r["events"] for r in per_rep]},
    }


def replication_output(rec: ReplicationRecords) -> dict[str, Any]:
    """What a worker sends back: metrics, time series, event count (small to pickle)."""
    return {"metrics": replication_metrics(rec), "timeseries": rec.timeseries, "events": rec.events}


#: ``kind`` and ``schema_version`` of ``sim-results.json`` (schema: ``sim.schema.json``).
KIND, SCHEMA_VERSION = "sim", 1


def dumps(results: dict[str, Any]) -> str:
    """The results file's text (:mod:`yzt.resultfile`: sorted keys, NaN as null)."""
    return resultfile.dumps(resultfile.stamp(KIND, SCHEMA_VERSION, results))



def sla_run_verdict(sla: Sequence[dict[str, Any]]) -> Verdict:
    """The run's verdict: the worst SLA row, rows with nothing to judge left out
    (:func:`yzt.verdict.run_verdict`)."""
    return run_verdict(Verdict.parse(r["verdict"]) for r in sla)


def breached(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The SLA rows that failed."""
    return [r for r in results["sla"] if r["verdict"] == Verdict.FAIL.value]


def _fmt(v: float | None, pct: bool = True) -> str:
    if v is None:
        return "-"
    return f"{v:.2%}" if pct else f"{v:.4g}"


def summary_text(results: dict[str, Any]) -> str:
    """The console summary: key platform metrics with CIs, then one line per SLA verdict."""
    m = results["metrics"]["platform"]

    def ci(name: str, pct: bool = True, unit: str = "") -> str:
        e = m[name]
        if e["ci_low"] is None:
            return f"{_fmt(e['mean'], pct)}{unit}"
        return f"{_fmt(e['mean'], pct)}{unit} [{_fmt(e['ci_low'], pct)}, {_fmt(e['ci_high'], pct)}]"

    lines = [
        f"scenario {results['scenario']['name']}: {results['replications']} replications, "
        f"seed {results['seed']}, {results.get('engine', 'simpy')} engine, "
        f"sampling 1 in {results['sampling']['one_in']} (95 % CI)",
        f"  queries verified/day      {ci('queries_verified', False)}",
        f"  replied within deadline   {ci('e2e_within_deadline_share')}",
        f"  reply time p95 / max      {_fmt(m['e2e_p95_s']['mean'], False)} s / "
        f"{_fmt(m['e2e_max_s']['mean'], False)} s",
        f"  fan-out p99               {ci('fanout_p99_s', False, ' s')}",
        f"  hotline service level     {ci('hotline_service_level')}",
        f"  hotline abandonment       {ci('hotline_abandonment')}",
        f"  disputes within deadline  {ci('dispute_within_deadline_share')}",
        f"  cancellations in deadline {ci('cancellation_within_deadline_share')}",
        "",
        f"  {'SLA':<10} {'scope':<9} {'value':>8} {'abandon':>8}  verdict  target",
    ]
    rows = results["sla"]
    for r in rows:
        if r["requirement"] in ("SLA-DSP-1", "SLA-CXL-1") and r["verdict"] != "fail":
            continue
        shown = {"pass": "pass", "fail": "FAIL"}.get(r["verdict"], "n/a")  # n/a: not_applicable
        lines.append(f"  {r['requirement']:<10} {r['name']:<9} {_fmt(r['value']):>8} "
                     f"{_fmt(r.get('abandonment')) if 'abandonment' in r else '':>8}  "
                     f"{shown:<7}  {r['expected']}")
    for sla in ("SLA-DSP-1", "SLA-CXL-1"):
        mine = [r for r in rows if r["requirement"] == sla]
        ok = sum(r["verdict"] == "pass" for r in mine)
        na = sum(r["verdict"] == Verdict.NOT_APPLICABLE.value for r in mine)
        lines.append(f"  {sla:<10} {'all':<9} {ok} pass, {len(mine) - ok - na} FAIL, {na} n/a "
                     "(no cases) of the operators")
    bad = breached(results)
    lines.append("")
    lines.append(f"SLA breached: {len(bad)} row(s)" if bad else "all SLAs hold")
    return "\n".join(lines)
