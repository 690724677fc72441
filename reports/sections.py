"""Readers: a run's JSON records → a report :class:`~yzt.reports.model.Section` (rows and plots).

Each reader reads only the records file a command wrote (``results.json`` of ``yzt conform`` and
``yzt load``, ``sim-results.json`` of ``yzt sim``) and tolerates missing optional parts, so a
partial run still gives a partial report.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from yzt.reports import plots
from yzt.reports.model import Plot, Row, Section, verdict_of, worst


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def missing_section(key: str, verdict: str, path: Path) -> Section:
    """A step that left no records: its verdict is an error, and the report says where to look."""
    return Section(key=key, title=key.capitalize(), verdict="error",
                   summary=f"The {key} step ended '{verdict}' and wrote no {path.name}; see logs/{key}.log.")


def _fmt(value: Any, unit: str = "") -> str:
    if isinstance(value, float):
        return f"{value:.4g}{unit}"
    return "" if value is None else f"{value}{unit}"


def conform_section(path: Path) -> Section:
    """``yzt conform`` results: one row per check (primary failures first), a chart by area."""
    from yzt.conformance.results import read_results

    run = read_results(path)
    rows = tuple(
        Row(requirement=c.requirement, name=c.check, status=c.verdict.value,
            message=(c.message if c.primary or not c.consequence_of
                     else f"(consequence) {c.message}"))
        for c in run.checks)
    by_status = Counter(r.status for r in rows)
    areas = sorted({r.requirement.rsplit("-", 1)[0] for r in rows})
    groups = {"passed, warned or waived": ("pass", "warning", "waived", "not_applicable"),
              "failed or error": ("fail", "error"), "not testable": ("incomplete",)}
    counts = {label: [sum(1 for r in rows if r.requirement.startswith(a + "-") and r.status in kinds)
                      for a in areas] for label, kinds in groups.items()}
    chart = plots.stacked_bars("Checks by protocol area", areas, counts, ylabel="checks") if areas else None
    summary = (f"{len(rows)} checks: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
               + f" ({len(run.primary_failures)} primary failures, "
               f"{len(run.consequential_failures)} consequences). Verdict: {run.verdict.value}.")
    return Section(
        key="conform", title="Conformance (yzt conform)",
        verdict=verdict_of(run.verdict.value), summary=summary, rows=rows,
        plots=_plot(chart, "Checks by protocol area",
                    "Stacked bar chart of passed, failed and not testable checks in each protocol area"),
        artifacts=("conform/results.json",))


def _plot(png: bytes | None, title: str, alt: str) -> tuple[Plot, ...]:
    return (Plot(title=title, png=png, alt=alt),) if png else ()


def load_section(path: Path) -> Section:
    """``yzt load`` results: one row per threshold (✓/✗ with the exact measured value), histogram."""
    data = _load(path)
    rows: list[Row] = []
    for t in data.get("thresholds", []):
        measured = t.get("measured")
        if measured is None:
            shown = "no requests"
        elif t.get("metric") == "error_ratio":
            shown = f"{measured * 100:.3f} %"
        else:
            shown = f"{measured:.1f} ms"
        rows.append(Row(
            requirement=str(t.get("requirement", "")),
            name=f"{t.get('endpoint', '')} {t.get('metric', '')}".strip(),
            status={"pass": "passed", "fail": "failed"}.get(str(t.get("verdict")), "not_testable"),
            measured=shown, expected=str(t.get("expression", ""))))
    edges = data.get("histogram_edges_ms") or []
    counts = (data.get("endpoints", {}).get("all") or {}).get("histogram_counts") or []
    chart = None
    if edges and len(counts) == len(edges) - 1:
        chart = plots.histogram("Latency from intended send time, all endpoints", edges, counts,
                                xlabel="ms (log scale)", log_x=True)
    verdict = verdict_of(str(data.get("verdict", "error")))
    summary = (f"Target {data.get('target_rate', '?')} req/s for {data.get('duration_s', '?')} s: "
               f"{data.get('sent', '?')} of {data.get('scheduled', '?')} scheduled requests sent "
               f"({data.get('offered_rate', '?')} req/s offered). Verdict: {data.get('verdict', '?')}.")
    notes = tuple(str(n) for n in [*data.get("reasons", []), *data.get("notes", [])])
    return Section(key="load", title="Load test (yzt load)", verdict=verdict, summary=summary,
                   rows=tuple(rows), notes=notes,
                   plots=_plot(chart, "Latency histogram", "Histogram of request latencies in ms"),
                   artifacts=("load/results.json",))


def sim_section(path: Path) -> Section:
    """``yzt sim`` results: one row per simulated SLA, one time-series plot per queue.

    Rows with nothing to judge (no disputes drawn at a small reseller, say) are shown but do not
    make the section incomplete: the model ran, there was simply no such event.
    """
    data = _load(path)
    rows = tuple(
        Row(requirement=str(s.get("requirement", "")), name=str(s.get("name", "")),
            status=str(s.get("status", "error")), measured=_fmt(s.get("measured")),
            expected=str(s.get("expected", "")), message=str(s.get("message", "")))
        for s in data.get("sla", []))
    charts: list[Plot] = []
    series = data.get("timeseries") or {}
    t = series.get("t_hours") or []
    for name, values in sorted(series.items()):
        if name == "t_hours" or not isinstance(values, list) or not values or not t:
            continue
        title = name.replace("_", " ")
        charts.append(Plot(title=title, alt=f"Line chart of {title} over the simulated hours",
                           png=plots.line_chart(title, t, {title: values}, xlabel="hour",
                                                ylabel="mean over replications")))
    judged = [verdict_of(r.status) for r in rows if r.status != "not_testable"]
    verdict = worst(judged) if judged else "incomplete"
    scenario = (data.get("scenario") or {}).get("name", "")
    return Section(key="sim", title=f"Simulation (yzt sim {scenario})".replace(" )", ")"),
                   verdict=verdict, summary=str(data.get("summary", "")), rows=rows,
                   plots=tuple(charts), artifacts=("sim/sim-results.json",))
