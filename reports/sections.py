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
from yzt.reports.model import Plot, Row, Section, Table, verdict_of, worst


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


def _pct(e: dict[str, Any] | None) -> str:
    if not e or e.get("mean") is None:
        return "-"
    if e.get("ci_low") is None:
        return f"{e['mean']:.2%}"
    return f"{e['mean']:.2%} [{e['ci_low']:.2%}, {e['ci_high']:.2%}]"


def _values(v: list[int] | None) -> str:
    return "-" if v is None else ",".join(str(x) for x in v)


def plan_section(path: Path) -> Section:
    """``yzt plan`` results: capacity table (current against planned), staffing curves, hour-by-hour
    SIPP table with occupancy, the cost of the last points of service level, what-if table."""
    data = _load(path)
    items = data.get("items", [])
    rows = []
    cap_rows, cap_marks = [], []
    for e in items:
        name = f"{e['operator']} {e['resource']}" + (f".{e['part']}" if e.get("part") else "")
        inf = e.get("infeasible")
        at = e.get("at_planned") or {}
        measured = "; ".join(f"{k} {_pct(v)}" for k, v in (at.get("metrics") or {}).items())
        rows.append(Row(requirement="/".join(e.get("slas", [])), name=name,
                        status=str(e.get("verdict", "error")),
                        measured=f"planned {_values(e.get('planned'))}: {measured}",
                        expected=f"current {_values(e.get('current'))}",
                        message=inf["reason"] + f"; best value reached {_values(inf.get('best_value'))}"
                        if inf else ""))
        less = e.get("one_unit_less") or []
        less_txt = "; ".join(f"{_values(x.get('value'))}: "
                             + ", ".join(f"{k} {_pct(v)}" for k, v in (x.get("metrics") or {}).items())
                             for x in less) or ("at its minimum" if e.get("at_minimum") else "-")
        cap_rows.append((e["operator"], e["resource"] + (f".{e['part']}" if e.get("part") else ""),
                         _values(e.get("current")), _values(e.get("planned")),
                         ",".join(f"{d:+d}" for d in e.get("difference", [])),
                         _values(e.get("analytic_guess")), measured or "-", less_txt))
        cap_marks.append("changed" if any(e.get("difference", [])) else "")
    tables = [Table(title="Capacity: current against planned (changed rows highlighted)",
                    columns=("operator", "resource", "current", "planned", "difference",
                             "analytic guess", "metric at plan (95 % CI)", "one unit less"),
                    rows=tuple(cap_rows), marks=tuple(cap_marks))]
    charts: list[Plot] = []
    hotlines = sorted((e for e in items if e["resource"] == "hotline" and e.get("hourly")),
                      key=lambda e: -sum(r["calls"] for r in e["hourly"]))
    for e in hotlines[:6]:
        pts = sorted((p for p in e.get("curve", []) if p["metrics"].get("hotline_service_level")),
                     key=lambda p: sum(p["value"]))
        if len(pts) >= 2:
            x = [float(sum(p["value"])) for p in pts]
            sl = [p["metrics"]["hotline_service_level"]["mean"] or 0.0 for p in pts]
            ab = [p["metrics"]["hotline_abandonment"]["mean"] or 0.0 for p in pts]
            title = f"{e['operator']} hotline: service level and abandonment against agents"
            charts.append(Plot(title=title, alt=f"Line chart of {title}; planned "
                               f"{_values(e['planned'])}",
                               png=plots.line_chart(title, x, {"service level": sl, "abandonment": ab},
                                                    xlabel="agents (sum over shifts)",
                                                    ylabel="share of offered calls")))
        hourly = [r for r in e["hourly"] if r["calls"] > 0 or r.get("planned_agents")]
        t_rows = tuple((str(r["hour"]), f"{r['calls']:.1f}", f"{r['load_erlangs']:.2f}",
                        str(r["required"]), str(r.get("current_agents", "")),
                        str(r.get("planned_agents", "")),
                        "-" if r.get("occupancy") is None else f"{r['occupancy']:.0%}"
                        + (" ⚠ above 90 %" if r["occupancy"] > 0.9 else ""))
                       for r in hourly)
        marks = tuple("warning" if (r.get("occupancy") or 0) > 0.9 else "" for r in hourly)
        tables.append(Table(title=f"{e['operator']} hotline hour by hour: SIPP requirement (Erlang A) "
                                  "beside the shift plan", columns=(
                                      "hour", "calls", "load (erlangs)", "required (SIPP)",
                                      "current agents", "planned agents", "occupancy"),
                            rows=t_rows, marks=marks))
        cost = e.get("service_level_cost") or []
        if cost:
            tables.append(Table(
                title=f"{e['operator']} hotline: cost of the last points of service level (SIPP)",
                columns=("service level", "agent-hours a day", "extra agent-hours", "peak agents"),
                rows=tuple((f"{c['service_level']:.0%}", str(c["agent_hours"]),
                            str(c.get("extra_agent_hours", "-")), str(c["peak_agents"]))
                           for c in cost)))
    what = data.get("what_if") or []
    if what:
        labels = [f"{i['operator']} {i['resource']}" + (f".{i['part']}" if i.get("part") else "")
                  for i in what[0]["items"]]
        w_rows = tuple((lab, *(_values(w["items"][j]["planned"]) + (" (infeasible)" if
                                                                     w["items"][j]["infeasible"] else "")
                               for w in what)) for j, lab in enumerate(labels))
        tables.append(Table(title="What if: planned capacity at scaled volumes",
                            columns=("item", *(f"load ×{w['load']:g}" for w in what)), rows=w_rows))
    notes = [str(data.get("rule", ""))]
    for c in data.get("calibration", []):
        notes.append(f"calibrated {c['operator']} from {c['samples']} requests: median "
                     f"{c['median_ms']:.1f} ms, sigma {c['sigma']:.3f}, error ratio "
                     f"{c['error_ratio']:.4f}; {c['outlook'].get('meaning', '')}")
    verdict = verdict_of(str(data.get("verdict", "error")))
    changed = sum(1 for m in cap_marks if m)
    infeasible = sum(1 for e in items if e.get("infeasible"))
    summary = (f"{len(items)} capacities planned for {data.get('scenario', {}).get('name', '?')} "
               f"({data.get('replications')} replications, seed {data.get('seed')}, "
               f"{data.get('simulations')} simulations): {changed} differ from the scenario"
               + (f", {infeasible} cannot meet their SLA" if infeasible else "")
               + f". Verdict: {data.get('verdict')}.")
    return Section(key="plan", title=f"Capacity plan (yzt plan {data.get('scenario', {}).get('name', '')})",
                   verdict=verdict, summary=summary, rows=tuple(rows), plots=tuple(charts),
                   notes=tuple(notes), tables=tuple(tables),
                   artifacts=("plan.json", "planned.yaml"))
