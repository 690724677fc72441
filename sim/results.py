"""From records to metrics, confidence intervals, SLA verdicts, JSON and the console summary.

Reports read records and nothing else. Counts are scaled by ``one_in`` back to the full stream;
shares and times are of the sampled stream. The JSON holds no wall-clock time, so one seed gives
byte-identical output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from yzt import __version__, resultfile
from yzt.sim import stages
from yzt.sim.records import ReplicationRecords
from yzt.sim.scenario import Scenario
from yzt.sim.stages import Metrics
from yzt.sim.stats import estimate
from yzt.verdict import Verdict, run_verdict

__all__ = ["Metrics", "breached", "build_results", "dumps", "is_objective", "mean_timeseries",
           "missed", "profile_sources", "replication_metrics",
           "replication_output", "sla_run_verdict", "sla_verdicts", "summarise", "summary_text"]

def replication_metrics(rec: ReplicationRecords, distributions: bool = True,
                        sc: Scenario | None = None) -> Metrics:
    """The metrics of one replication: each stage's, in flow order, then the values of ``sc``'s
    service objectives (``objective:<id>``).

    ``distributions=False`` leaves out the quantiles and lateness buckets (sorting every query's
    reply time): what :func:`sla_verdicts` reads is all there, which is what ``yzt plan`` needs
    for each of its candidates."""
    out: Metrics = {stages.PLATFORM: {}, **{op_id: {} for op_id in rec.operators}}
    for st in stages.stages():
        if st.metrics is not None:
            st.metrics(rec, out, distributions)
    if sc is not None:
        stages.objective_values(sc, rec, out)
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


def sla_verdicts(sc: Scenario, summary: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One verdict per SLA and scope, judged on the mean over replications: each stage's rows,
    in flow order, then the service objectives' rows (``kind`` ``objective``)."""
    reader = stages.Reader(summary)
    return [*(r for st in stages.stages() if st.sla_rows is not None for r in st.sla_rows(sc, reader)),
            *stages.objective_rows(sc, reader)]


def is_objective(r: dict[str, Any]) -> bool:
    """Is ``r`` a service objective's row (else an SLA's)?"""
    return r.get("kind") == stages.OBJECTIVE


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
    rows = sla_verdicts(sc, summary)
    sla = [r for r in rows if not is_objective(r)]
    objectives = [r for r in rows if is_objective(r)]
    failed = sum(Verdict.parse(r["verdict"]) is Verdict.FAIL for r in sla)
    missed = sum(Verdict.parse(r["verdict"]) is Verdict.FAIL for r in objectives)
    series = mean_timeseries([r["timeseries"] for r in per_rep])
    series["t_hours"] = series.pop("t_h")
    out: dict[str, Any] = {
        "summary": f"{len(per_rep)} replications, {engine} engine, sampling 1 in {sc.one_in}: "
                   + (f"{failed} SLA row(s) breached" if failed else "all SLAs hold")
                   + ((f", {missed} objective row(s) missed" if missed else ", all objectives hold")
                      if objectives else ""),
        "verdict": sla_run_verdict(rows).value,
        "yzt_version": __version__,
        "scenario": {"name": sc.name, "description": sc.description, "document": sc.document},
        "seed": seed,
        "replications": len(per_rep),
        "engine": engine,
        "engine_note": engine_note,
        "sampling": {
            "one_in": sc.one_in,
            "note": stages.sampling_note(),
        },
        "confidence": 0.95,
        "metrics": {"platform": summary["platform"],
                    "operators": {k: v for k, v in summary.items() if k != "platform"}},
        "sla": sla,
        "timeseries": series,
        "model": {"events_per_replication": [r["events"] for r in per_rep]},
    }
    if sc.objectives:  # absent otherwise: results of scenarios without objectives keep their bytes
        out["objectives"] = objectives
    if sc.sla_profile is not None:
        out["sla_profile"] = profile_sources(sc.sla_profile)
    return out


def profile_sources(name: str) -> dict[str, Any]:
    """The named SLA profile with the standard and clause of each target (what reports cite)."""
    from yzt.sim.profiles import profile

    p = profile(name)
    return {"name": p.name, "title": p.title, "targets": [
        {"field": t.field, "value": t.value, "document": t.source.document,
         "clause": t.source.clause, "quote": t.source.quote, "note": t.source.note,
         "assumption": t.source.is_assumption} for t in p.targets]}


def replication_output(rec: ReplicationRecords, sc: Scenario | None = None) -> dict[str, Any]:
    """What a worker sends back: metrics (with ``sc``'s objectives), time series, event count
    (small to pickle)."""
    return {"metrics": replication_metrics(rec, sc=sc), "timeseries": rec.timeseries,
            "events": rec.events}


def dumps(results: dict[str, Any]) -> str:
    """The text of ``sim-results.json``, kind ``sim`` (:mod:`yzt.resultfile`)."""
    return resultfile.dumps_kind("sim", results)



def sla_run_verdict(sla: Sequence[dict[str, Any]]) -> Verdict:
    """The run's verdict: the worst SLA row, rows with nothing to judge left out
    (:func:`yzt.verdict.run_verdict`)."""
    return run_verdict(Verdict.parse(r["verdict"]) for r in sla)


def breached(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The SLA rows that failed."""
    return [r for r in results["sla"] if Verdict.parse(r["verdict"]) is Verdict.FAIL]


def missed(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The objective rows that failed."""
    return [r for r in results.get("objectives", []) if Verdict.parse(r["verdict"]) is Verdict.FAIL]


def late_count(share: float, total: float) -> int:
    """How many of ``total`` miss a 100 % row that ``share`` of them met: at least one whenever
    the share is short of 100 % (the row fails), so a failure never reads as none."""
    return 0 if share >= 1.0 else max(1, round((1.0 - share) * total))


def _late_line(results: dict[str, Any], r: dict[str, Any]) -> str | None:
    """A failing 100 % row (the reply deadline's) as a count: ``4 of 1.36 M replies after 48 h``."""
    total = results["metrics"]["platform"].get("queries_verified", {}).get("mean")
    deadline = results["scenario"].get("document", {}).get("platform", {}).get("deadline_h")
    v = r.get("value")
    if r.get("target") != 1.0 or v is None or v >= 1.0 or total is None or deadline is None:
        return None
    shown = f"{total / 1e6:.3g} M" if total >= 1e6 else f"{total:,.0f}"
    return (f"  {'':<10} {'':<9} {late_count(v, total):,} of {shown} replies after "
            f"{deadline:g} h")


def summary_text(results: dict[str, Any]) -> str:
    """The console summary: each stage's key platform metrics with CIs, then one line per SLA
    verdict (a stage's rows with ``collapse_rows`` only when they fail, then counted)."""
    con = stages.Console(results["metrics"]["platform"])
    lines = [
        f"scenario {results['scenario']['name']}: {results['replications']} replications, "
        f"seed {results['seed']}, {results.get('engine', 'simpy')} engine, "
        f"sampling 1 in {results['sampling']['one_in']} (95 % CI)",
        *(line for st in stages.stages() if st.console is not None for line in st.console(con)),
        "",
        f"  {'SLA':<10} {'scope':<9} {'value':>8} {'abandon':>8}  verdict  target",
    ]
    rows = results["sla"]
    collapsed = [req for st in stages.stages() if st.collapse_rows for req in st.requirements]
    shown = {Verdict.PASS: Verdict.PASS.value, Verdict.FAIL: Verdict.FAIL.value.upper()}
    for r in rows:
        verdict = Verdict.parse(r["verdict"])
        if r["requirement"] in collapsed and verdict is not Verdict.FAIL:
            continue
        lines.append(f"  {r['requirement']:<10} {r['name']:<9} {stages.fmt(r['value']):>8} "
                     f"{stages.fmt(r.get('abandonment')) if 'abandonment' in r else '':>8}  "
                     f"{shown.get(verdict, 'n/a'):<7}  {r['expected']}")
        late = _late_line(results, r) if verdict is Verdict.FAIL else None
        if late:
            lines.append(late)
    for sla in collapsed:
        mine = [Verdict.parse(r["verdict"]) for r in rows if r["requirement"] == sla]
        ok = mine.count(Verdict.PASS)
        na = mine.count(Verdict.NOT_APPLICABLE)
        lines.append(f"  {sla:<10} {'all':<9} {ok} pass, {len(mine) - ok - na} FAIL, {na} n/a "
                     "(no cases) of the operators")
    objectives = results.get("objectives", [])
    if objectives:
        lines += ["", f"  {'objective':<12} {'scope':<9} {'value':>10}  verdict  target (source)"]
        for r in objectives:
            verdict = Verdict.parse(r["verdict"])
            pct = r["metric"] in {k for k, v in stages.objective_metrics().items() if v.share}
            lines.append(f"  {r['requirement']:<12} {r['name']:<9} "
                         f"{stages.fmt(r['value'], pct) + ('' if pct else ' s'):>10}  "
                         f"{shown.get(verdict, 'n/a'):<7}  {r['expected']} ({r['source']})")
    prof = results.get("sla_profile")
    if prof:
        lines.append(f"  targets from SLA profile {prof['name']}: " + "; ".join(
            f"{t['field']} {t['value']:g} ({t['document']}, {t['clause']})" for t in prof["targets"]))
    bad = breached(results)
    lines.append("")
    lines.append(f"SLA breached: {len(bad)} row(s)" if bad else "all SLAs hold")
    if objectives:
        miss = missed(results)
        lines.append(f"objectives missed: {len(miss)} row(s)" if miss else "all objectives hold")
    return "\n".join(lines)
