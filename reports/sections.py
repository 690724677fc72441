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
    """``yzt conform`` results: one row per check, a chart of statuses by protocol area."""
    data = _load(path)
    checks = data.get("checks", [])
    rows = tuple(
        Row(requirement=str(c.get("requirement", "")), name=str(c.get("check", "")),
            status=str(c.get("status", "error")), message=str(c.get("message", "")))
        for c in checks)
    by_status = Counter(r.status for r in rows)
    areas = sorted({r.requirement.rsplit("-", 1)[0] for r in rows})
    bad = {a: sum(1 for r in rows if r.requirement.startswith(a + "-") and r.status != "passed")
           for a in areas}
    chart = plots.bar_chart("Checks not passed, by protocol area", areas, [bad[a] for a in areas],
                            ylabel="checks") if areas else None
    summary = (f"{len(rows)} checks: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
               + f". Verdict: {data.get('verdict', 'unknown')}.")
    return Section(
        key="conform", title="Conformance (yzt conform)",
        verdict=verdict_of(str(data.get("verdict", "error"))), summary=summary, rows=rows,
        plots=_plot(chart, "Checks not passed by area",
                    "Bar chart of the number of checks not passed in each protocol area"),
        artifacts=("conform/results.json",))


def _plot(png: bytes | None, title: str, alt: str) -> tuple[Plot, ...]:
    return (Plot(title=title, png=png, alt=alt),) if png else ()


def load_section(path: Path) -> Section:
    """``yzt load`` results: one row per threshold, the latency histogram."""
    data = _load(path)
    rows: list[Row] = []
    for endpoint, stats in sorted((data.get("endpoints") or {}).items()):
        for t in stats.get("thresholds", []):
            rows.append(Row(
                requirement=str(t.get("requirement", "")),
                name=f"{endpoint} {t.get('metric', t.get('name', ''))}".strip(),
                status="passed" if t.get("passed", t.get("verdict") == "pass") else "failed",
                measured=_fmt(t.get("measured")), expected=str(t.get("threshold", t.get("limit", ""))),
                message=str(t.get("message", ""))))
    hist = data.get("histogram") or {}
    chart = None
    if hist.get("edges_ms") and hist.get("counts"):
        chart = plots.histogram("Latency from intended send time (all endpoints)", hist["edges_ms"],
                                hist["counts"], xlabel="ms")
    verdict = verdict_of(str(data.get("verdict", "error")))
    summary = str(data.get("summary") or
                  f"Load test at {data.get('rate', '?')} req/s for {data.get('duration', '?')}: "
                  f"verdict {data.get('verdict', 'unknown')}.")
    notes = tuple(str(n) for n in data.get("notes", []))
    return Section(key="load", title="Load test (yzt load)", verdict=verdict, summary=summary,
                   rows=tuple(rows), notes=notes,
                   plots=_plot(chart, "Latency histogram", "Histogram of request latencies in ms"),
                   artifacts=("load/results.json",))


def sim_section(path: Path) -> Section:
    """``yzt sim`` results: one row per simulated SLA, time-series plots."""
    data = _load(path)
    rows: list[Row] = []
    for s in data.get("sla", []):
        rows.append(Row(requirement=str(s.get("requirement", "")), name=str(s.get("name", "")),
                        status=str(s.get("status", "error")), measured=str(s.get("measured", "")),
                        expected=str(s.get("expected", "")), message=str(s.get("message", ""))))
    charts = []
    series = data.get("timeseries") or {}
    t = series.get("t_hours")
    if t:
        named = {k: v for k, v in series.items() if k != "t_hours" and isinstance(v, list) and v}
        if named:
            charts.append(Plot(title="Queues over the simulated day", alt="Line chart of queue lengths",
                               png=plots.line_chart("Queues over the simulated day", t, named,
                                                    xlabel="hour", ylabel="length")))
    verdict = worst([verdict_of(r.status) for r in rows]) if rows else "incomplete"
    return Section(key="sim", title=f"Simulation (yzt sim {data.get('scenario', {}).get('name', '')})",
                   verdict=verdict, summary=str(data.get("summary", "")), rows=tuple(rows),
                   plots=tuple(charts), artifacts=("sim/sim-results.json",))
