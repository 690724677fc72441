"""Readers: the records a run left in its directory → report :class:`~yzt.reports.model.Section`.

One reader per results format, and nothing else reads them: ``results.json`` of ``yzt conform``
(it has ``checks``), ``results.json`` of ``yzt load`` (it has ``thresholds``), ``sim-results.json``
of ``yzt sim``, and ``check.json`` of ``yzt check`` (which names the steps whose directories sit
beside it). A missing optional part gives a partial section, never a crash.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from yzt.errors import UserError
from yzt.reports import fmt, plots
from yzt.reports.i18n import MESSAGES, Lang, say, tr, verdict_word
from yzt.reports.model import Plot, Report, Requirement, Row, Section, Table
from yzt.sim import stages as sim_stages
from yzt.sim.stages import Curve, Stage
from yzt.verdict import Verdict

#: The record file of each kind of result directory.
RECORD_FILES = {"check": "check.json", "conform": "results.json", "load": "results.json",
                "sim": "sim-results.json", "plan": "plan.json", "capacity": "capacity.json"}
#: Where ``yzt check`` puts each step's results, below its --out.
CHECK_STEPS = {"conform": "conform", "load": "load", "capacity": "capacity", "sim": "sim"}


@dataclass(frozen=True)
class Source:
    """One result directory to read, and how its files are named from the report's folder."""

    kind: str
    path: Path
    shown_as: str


#: The largest results file a report reads, checked before parsing (parsed JSON takes about 7
#: times its size: a 248 MB file once took 1.75 GB). Those yzt writes are far smaller.
MAX_RESULTS_BYTES = 64 << 20


def _load(path: Path) -> Any:
    from yzt.validation import parse_json

    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            raw = b"" if size > MAX_RESULTS_BYTES else f.read(MAX_RESULTS_BYTES + 1)
        if size > MAX_RESULTS_BYTES or len(raw) > MAX_RESULTS_BYTES:
            raise UserError(f"{path}: {max(size, len(raw)) / 2**20:.1f} MiB, over the "
                            f"{MAX_RESULTS_BYTES >> 20} MiB a results file may have (yzt report "
                            "reads the results yzt writes: give the folder of a run)")
        return parse_json(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the results ({exc})") from None


def _verdict(word: object, where: str) -> Verdict:
    try:
        return Verdict.parse(str(word))
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None


def kind_of(directory: Path) -> str:
    """What wrote ``directory``: ``check``, ``conform``, ``load``, ``sim`` or ``plan`` (UserError
    otherwise)."""
    if (directory / "check.json").is_file():
        return "check"
    if (directory / "sim-results.json").is_file():
        return "sim"
    if (directory / "plan.json").is_file():
        return "plan"
    results = directory / "results.json"
    if results.is_file():
        data = _load(results)
        if isinstance(data, dict) and "checks" in data:
            return "conform"
        if isinstance(data, dict) and "thresholds" in data:
            return "load"
    if (directory / "capacity.json").is_file():
        return "capacity"
    raise UserError(f"{directory}: not a result directory of yzt check, conform, load, sim or plan "
                    "(it needs check.json, results.json, sim-results.json, plan.json or "
                    "capacity.json); give the folder a command wrote with --out")


def requirements(lang: Lang) -> dict[str, Requirement]:
    """Every requirement the report may cite, with its text in ``lang`` (English where no Chinese)."""
    from yzt.conformance.requirements import load_requirements, load_unnumbered

    out: dict[str, Requirement] = {}
    for rid, req in {**load_requirements(), **load_unnumbered()}.items():
        text_zh = getattr(req, "text_zh", None)
        text = text_zh if lang == "zh" and text_zh else req.text
        out[rid] = Requirement(rid, text, tuple(req.regulation))
    return out


def _plot_lang(lang: Lang) -> Lang:
    """Plots speak ``lang`` when a CJK font is installed; English labels beat boxes otherwise."""
    return lang if lang == "en" or plots.cjk_font() else "en"


def missing_section(key: str, verdict: Verdict, file: str, lang: Lang, message: str = "",
                    command: str = "", skipped: bool = False) -> Section:
    """A step that left no records: one row that carries the step's own error (or, for a step
    skipped because of an earlier one, the reason), so that "what to fix" and JUnit say it.

    A skipped step is ``incomplete`` (it judged nothing, and never passes); any other step without
    records is an ``error``, whatever its exit status said."""
    title = tr(f"section.{key}", lang, scenario="").replace(" )", ")")
    shown = Verdict.INCOMPLETE if skipped else Verdict.ERROR
    said = message or tr("step.no_message", lang, step=key)
    summary = (tr("step.skipped", lang, step=key, reason=said) if skipped else said if key == "preflight"
               else tr("section.missing", lang, step=key, verdict=verdict_word(verdict.value, lang),
                       file=file))
    row = Row(requirement="", name=title, verdict=shown, message=said,
              reproduce=command if shown is Verdict.ERROR else "")
    return Section(key=key, title=title, verdict=shown, summary=summary, rows=(row,))


# --- conform -------------------------------------------------------------------------------------

def read_conform(data: dict[str, Any], lang: Lang, shown_as: str = "results.json") -> Section:
    """``yzt conform`` results (parsed by conform's own reader, :mod:`yzt.conformance.results`):
    one row per check, consequences of another failure marked, a chart of verdicts by area."""
    from yzt.conformance.results import parse_results

    run = parse_results(data, shown_as)
    rows = tuple(
        Row(requirement=c.requirement, name=c.check, verdict=c.verdict,
            message=say(c.said, lang, c.message) if c.said is not None else c.message,
            primary=not c.consequence_of, severity=c.severity,
            evidence=json.dumps(list(c.evidence), ensure_ascii=False, indent=1) if c.evidence else "",
            reproduce=c.reproduce)
        for c in run.checks)
    by_verdict = Counter(r.verdict for r in rows)
    counts = ", ".join(f"{by_verdict[v]} {verdict_word(v.value, lang)}" for v in Verdict if by_verdict[v])
    plot_lang = _plot_lang(lang)
    areas = sorted({r.requirement.rsplit("-", 1)[0] for r in rows if "-" in r.requirement})
    groups = {tr("conform.group.ok", plot_lang): (Verdict.PASS, Verdict.WARNING, Verdict.WAIVED),
              tr("conform.group.bad", plot_lang): (Verdict.FAIL, Verdict.ERROR),
              tr("conform.group.unjudged", plot_lang): (Verdict.INCOMPLETE, Verdict.NOT_APPLICABLE)}
    series = {label: [sum(1 for r in rows if r.requirement.startswith(a + "-") and r.verdict in kinds)
                      for a in areas]
              for label, kinds in groups.items()}
    chart: tuple[Plot, ...] = ()
    if areas:
        title = tr("conform.chart", plot_lang)
        chart = (Plot(title, plots.stacked_bars(title, areas, series,
                                                ylabel=tr("conform.chart.ylabel", plot_lang)),
                      tr("conform.chart.alt", lang)),)
    summary = tr("conform.summary", lang, n=len(rows), operator=run.operator_id or "?",
                 counts=counts or "–", requests=run.requests, seconds=fmt.number(run.duration_s))
    return Section(key="conform", title=tr("section.conform", lang), verdict=run.verdict,
                   summary=summary, rows=rows, plots=chart, artifacts=(shown_as,),
                   notes=tuple(say(n, lang, str(recorded)) for n, recorded in
                               zip(run.notes_said, run.notes, strict=False))
                   if len(run.notes_said) == len(run.notes) else run.notes)


# --- load ----------------------------------------------------------------------------------------

def read_load(data: dict[str, Any], lang: Lang, shown_as: str = "results.json") -> Section:
    """``yzt load`` results: a row per threshold with its exact value, the offered load, a histogram."""
    endpoints = data.get("endpoints", {})
    verdict = _verdict(data.get("verdict", "error"), f"{shown_as}: verdict")
    rows: list[Row] = []
    for i, t in enumerate(data.get("thresholds", [])):
        measured = t.get("measured")
        count = int((endpoints.get(t.get("endpoint")) or {}).get("count") or 0)
        if measured is None or not count:
            shown = tr("load.no_requests", lang)
        elif t.get("metric") == "error_ratio":
            low, high = fmt.wilson(round(measured * count), count)
            shown = fmt.pct_ci(measured, low, high, lang)
        else:
            shown = f"{fmt.ms(measured)} ({tr('load.exact', lang, n=count)})"
        row_verdict = _verdict(t.get("verdict", "error"), f"{shown_as}: thresholds[{i}].verdict")
        rows.append(Row(
            requirement=str(t.get("requirement", "")),
            name=f"{t.get('endpoint', '')} {t.get('expression', '')}".strip(),
            verdict=row_verdict, measured=shown, expected=str(t.get("expression", "")),
            message=tr("load.no_traffic", lang) if row_verdict is Verdict.NOT_APPLICABLE else "",
            reproduce=str(data.get("reproduce") or "") if row_verdict is Verdict.FAIL else ""))
    offered = Verdict.INCOMPLETE if verdict is Verdict.INCOMPLETE else Verdict.PASS
    rows.append(Row(requirement="LOAD-GEN", name="offered load", verdict=offered,
                    measured=f"{data.get('offered_rate', '?')} req/s",
                    expected=f"{data.get('target_rate', '?')} req/s",
                    message="; ".join(str(r) for r in data.get("reasons", []))
                    if offered is Verdict.INCOMPLETE else ""))
    plot_lang = _plot_lang(lang)
    edges = data.get("histogram_edges_ms") or []
    counts = (endpoints.get("all") or {}).get("histogram_counts") or []
    chart: tuple[Plot, ...] = ()
    quiet: tuple[str, ...] = ()
    if edges and len(counts) == len(edges) - 1 and any(counts):
        title = tr("load.hist", plot_lang)
        chart = (Plot(title, plots.histogram(title, edges, counts, xlabel=tr("load.hist.x", plot_lang),
                                             ylabel=tr("load.hist.y", plot_lang), log_x=True),
                      tr("load.hist.alt", lang)),)
    else:
        quiet = (tr("load.hist.empty", lang),)
    summary = tr("load.summary", lang, rate=data.get("target_rate", "?"),
                 duration=data.get("duration_s", "?"), sent=data.get("sent", "?"),
                 scheduled=data.get("scheduled", "?"), offered=data.get("offered_rate", "?"))
    return Section(key="load", title=tr("section.load", lang), verdict=verdict, summary=summary,
                   rows=tuple(rows), plots=chart, quiet=quiet, artifacts=(shown_as,),
                   notes=tuple(str(n) for n in data.get("notes", [])))


# --- sim -----------------------------------------------------------------------------------------

def _sim_row(s: dict[str, Any], i: int, lang: Lang, shown_as: str) -> Row:
    verdict = _verdict(s.get("verdict", "error"), f"{shown_as}: sla[{i}].verdict")
    if s.get("value") is None:
        measured = tr("sim.no_cases", lang)
    else:
        measured = fmt.pct_ci(s["value"], s.get("ci_low"), s.get("ci_high"), lang)
    if s.get("abandonment") is not None:
        shown = fmt.pct_ci(s["abandonment"], s.get("abandonment_ci_low"), s.get("abandonment_ci_high"),
                           lang)
        measured += "; " + tr("sim.abandonment", lang, value=shown)
    message = ("" if verdict is Verdict.PASS else tr("sim.nothing", lang)
               if verdict is Verdict.NOT_APPLICABLE else tr("sim.breached", lang))
    return Row(requirement=str(s.get("requirement", "")), name=str(s.get("name", "")), verdict=verdict,
               measured=measured, expected=str(s.get("expected", "")), message=message)


def _stage_chart(st: Stage, sla: Sequence[dict[str, Any]], lang: Lang) -> tuple[Plot, ...]:
    """A stage's bar charts of its rows (:class:`yzt.sim.stages.Chart`): value against target,
    and the second measure against its limit."""
    ch = st.chart
    if ch is None:
        return ()
    rows = [s for s in sla if s.get("requirement") == ch.requirement and s.get("value") is not None
            and s.get("target") is not None and (not ch.second or s.get(ch.second) is not None)]
    if not rows:
        return ()

    def word(key: str, in_lang: Lang) -> str:
        return tr(f"stage.{st.name}.{key}", in_lang)

    def triple(s: dict[str, Any], key: str, prefix: str) -> tuple[float, float, float]:
        mean = float(s[key])
        low, high = s.get(f"{prefix}ci_low"), s.get(f"{prefix}ci_high")
        return mean, mean if low is None else float(low), mean if high is None else float(high)

    plot_lang = _plot_lang(lang)
    title = word("chart", plot_lang)
    panels = [(word("chart.value", plot_lang), [triple(s, "value", "") for s in rows],
               [float(s["target"]) for s in rows], word("chart.target", plot_lang), True)]
    if ch.second:
        panels.append((word("chart.second", plot_lang),
                       [triple(s, ch.second, f"{ch.second}_") for s in rows],
                       [float(s[ch.second_limit]) for s in rows], word("chart.limit", plot_lang),
                       False))
    png = plots.share_panels(title, [str(s["name"]) for s in rows], panels)
    return (Plot(title, png, word("chart.alt", lang)),)


def read_sim(data: dict[str, Any], lang: Lang, shown_as: str = "sim-results.json") -> Section:
    """``yzt sim`` results: SLA rows with CIs, each stage's chart, one plot per queue that moved."""
    sla = data.get("sla", [])
    rows = tuple(_sim_row(s, i, lang, shown_as) for i, s in enumerate(sla))
    charts = [p for st in sim_stages.stages() for p in _stage_chart(st, sla, lang)]
    quiet: list[str] = []
    plot_lang = _plot_lang(lang)
    series = data.get("timeseries") or {}
    t = series.get("t_hours") or []
    hours = fmt.number(t[-1]) if t else "0"
    for name, values in sorted(series.items()):
        if name == "t_hours" or not isinstance(values, list) or not values or not t:
            continue
        key = f"series.{name}"
        what = tr(key, lang) if key in _series_keys() else name.replace("_", " ")
        if plots.is_flat(values):
            quiet.append(tr("sim.flat", lang, what=what, value=fmt.number(values[0]), hours=hours))
            continue
        shown = tr(key, plot_lang) if key in _series_keys() else what
        charts.append(Plot(shown, plots.line_chart(shown, t, {shown: values},
                                                   xlabel=tr("sim.series.x", plot_lang),
                                                   ylabel=tr("sim.series.y", plot_lang)),
                           tr("sim.series.alt", lang, what=what)))
    scenario = (data.get("scenario") or {}).get("name", "")
    summary = tr("sim.summary", lang, reps=data.get("replications", "?"), scenario=scenario or "?",
                 seed=data.get("seed", "?"), one_in=(data.get("sampling") or {}).get("one_in", "?"))
    return Section(key="sim", title=tr("section.sim", lang, scenario=scenario).replace(" )", ")"),
                   verdict=_verdict(data.get("verdict", "error"), f"{shown_as}: verdict"),
                   summary=summary, rows=rows, plots=tuple(charts), quiet=tuple(quiet),
                   artifacts=(shown_as,),
                   charted=tuple(st.chart.requirement for st in sim_stages.stages() if st.chart))


# --- yzt plan (tables and curves) ---------------------------------------------------------------

def _plan_pct(e: dict[str, Any] | None) -> str:
    if not e or e.get("mean") is None:
        return "-"
    if e.get("ci_low") is None:
        return f"{e['mean']:.2%}"
    return f"{e['mean']:.2%} [{e['ci_low']:.2%}, {e['ci_high']:.2%}]"


def _plan_values(v: list[int] | None) -> str:
    return "-" if v is None else ",".join(str(x) for x in v)


def read_plan(data: dict[str, Any], lang: Lang, shown_as: str = "plan.json") -> Section:
    """``yzt plan`` results: capacity table (current against planned), staffing curves, hour-by-hour
    SIPP table with occupancy, the cost of the last points of service level, what-if table."""
    items = data.get("items", [])
    rows = []
    cap_rows, cap_marks = [], []
    for e in items:
        name = f"{e['operator']} {e['resource']}" + (f".{e['part']}" if e.get("part") else "")
        inf = e.get("infeasible")
        at = e.get("at_planned") or {}
        measured = "; ".join(f"{k} {_plan_pct(v)}" for k, v in (at.get("metrics") or {}).items())
        rows.append(Row(requirement="/".join(e.get("slas", [])), name=name,
                        verdict=_verdict(e.get("verdict", "error"), f"{shown_as}: items"),
                        measured=tr("plan.planned", lang, values=_plan_values(e.get("planned")),
                                    metrics=measured),
                        expected=tr("plan.current", lang, values=_plan_values(e.get("current"))),
                        message=inf["reason"] + tr("plan.best", lang,
                                                   values=_plan_values(inf.get("best_value")))
                        if inf else ""))
        less = e.get("one_unit_less") or []
        less_txt = "; ".join(f"{_plan_values(x.get('value'))}: "
                             + ", ".join(f"{k} {_plan_pct(v)}" for k, v in (x.get("metrics") or {}).items())
                             for x in less) or (tr("plan.at_minimum", lang) if e.get("at_minimum") else "-")
        cap_rows.append((e["operator"], e["resource"] + (f".{e['part']}" if e.get("part") else ""),
                         _plan_values(e.get("current")), _plan_values(e.get("planned")),
                         ",".join(f"{d:+d}" for d in e.get("difference", [])),
                         _plan_values(e.get("analytic_guess")), measured or "-", less_txt))
        cap_marks.append("changed" if any(e.get("difference", [])) else "")
    tables = [Table(title=tr("plan.table.capacity", lang),
                    columns=tuple(tr("plan.col.capacity", lang).split("|")),
                    rows=tuple(cap_rows), marks=tuple(cap_marks))]
    charts: list[Plot] = []
    for e in sorted((e for e in items if e.get("hourly")),
                    key=lambda e: -sum(r["calls"] for r in e["hourly"]))[:6]:
        st = _owner(e["resource"])
        curve = _resource_curve(e["resource"])
        if st is not None and curve is not None:
            charts += _plan_curve(e, st, curve, lang)
        hourly = [r for r in e["hourly"] if r["calls"] > 0 or r.get("planned_agents")]
        t_rows = tuple((str(r["hour"]), f"{r['calls']:.1f}", f"{r['load_erlangs']:.2f}",
                        str(r["required"]), str(r.get("current_agents", "")),
                        str(r.get("planned_agents", "")),
                        "-" if r.get("occupancy") is None else f"{r['occupancy']:.0%}"
                        + (tr("plan.over90", lang) if r["occupancy"] > 0.9 else ""))
                       for r in hourly)
        marks = tuple("warning" if (r.get("occupancy") or 0) > 0.9 else "" for r in hourly)
        tables.append(Table(title=_entry_title(e, "hourly", lang),
                            columns=tuple(tr("plan.col.hourly", lang).split("|")),
                            rows=t_rows, marks=marks))
        cost = e.get("service_level_cost") or []
        if cost:
            tables.append(Table(
                title=_entry_title(e, "service_level_cost", lang),
                columns=tuple(tr("plan.col.cost", lang).split("|")),
                rows=tuple((f"{c['service_level']:.0%}", str(c["agent_hours"]),
                            str(c.get("extra_agent_hours", "-")), str(c["peak_agents"]))
                           for c in cost)))
    what = data.get("what_if") or []
    if what:
        labels = [f"{i['operator']} {i['resource']}" + (f".{i['part']}" if i.get("part") else "")
                  for i in what[0]["items"]]
        w_rows = tuple((lab, *(_plan_values(w["items"][j]["planned"]) + (tr("plan.infeasible", lang) if
                                                                     w["items"][j]["infeasible"] else "")
                               for w in what)) for j, lab in enumerate(labels))
        tables.append(Table(title=tr("plan.table.what_if", lang),
                            columns=(tr("plan.item", lang),
                                     *(tr("plan.load", lang, factor=f"{w['load']:g}") for w in what)),
                            rows=w_rows))
    notes = [str(data.get("rule", ""))]
    for c in data.get("calibration", []):
        notes.append(tr("plan.calibrated", lang, operator=c["operator"], samples=c["samples"],
                        median=f"{c['median_ms']:.1f}", sigma=f"{c['sigma']:.3f}",
                        errors=f"{c['error_ratio']:.4f}", meaning=c["outlook"].get("meaning", "")))
    verdict = _verdict(data.get("verdict", "error"), f"{shown_as}: verdict")
    changed = sum(1 for m in cap_marks if m)
    infeasible = sum(1 for e in items if e.get("infeasible"))
    scenario = data.get("scenario", {}).get("name", "")
    summary = (tr("plan.summary", lang, n=len(items), scenario=scenario or "?",
                  reps=data.get("replications"), seed=data.get("seed"), sims=data.get("simulations"),
                  changed=changed)
               + (tr("plan.summary.infeasible", lang, n=infeasible) if infeasible else "")
               + tr("plan.summary.verdict", lang, verdict=verdict_word(verdict.value, lang)))
    return Section(key="plan", title=tr("section.plan", lang, scenario=scenario),
                   verdict=verdict, summary=summary, rows=tuple(rows), plots=tuple(charts),
                   notes=tuple(notes), tables=tuple(tables),
                   artifacts=(shown_as, str(Path(shown_as).with_name("planned.yaml"))))


def _capacity_summary(data: dict[str, Any], lang: Lang) -> str:
    """What the search found, from its numbers (never a rate shown as ``0.0``): the highest rate
    that held, or that none did and the lowest rate tried; then how the search ended."""
    best, broke = data.get("highest_sustainable_rate"), data.get("lowest_breaking_rate")
    runs = len(data.get("steps", []))
    if best is not None and broke is not None and data.get("converged"):
        stopped = tr("capacity.converged", lang, held=fmt.number(best), broke=fmt.number(broke))
    elif best is not None and broke is None and all(s.get("verdict") == "pass"
                                                    for s in data.get("steps", [])):
        stopped = tr("capacity.unbroken", lang, n=runs)
    elif best is None and broke is not None and all(s.get("verdict") == "fail"
                                                    for s in data.get("steps", [])):
        stopped = tr("capacity.all_broke", lang, n=runs, rate=fmt.number(broke))
    else:  # the generator or the run budget ended the search: its own words
        stopped = str(data.get("stopped", ""))
    if best is not None:
        return tr("capacity.best", lang, rate=fmt.number(best), stopped=stopped)
    return tr("capacity.none", lang, stopped=stopped)


def read_capacity(data: dict[str, Any], lang: Lang, shown_as: str = "capacity.json") -> Section:
    """``yzt load --find-capacity``: one row per load run of the search.

    Breaking an SLA above the capacity is what the search looks for, not a failure of the
    endpoint: when some rate held, such a run is not applicable to the verdict (its row says it
    broke an SLA); when none held, every run that broke is a failure, as the section is. A run the
    generator could not judge is incomplete. The rows and the sentence above them tell one story."""
    section_verdict = _verdict(data.get("verdict", "incomplete"), f"{shown_as}: verdict")
    held = data.get("highest_sustainable_rate") is not None

    def run_verdict(word: str) -> Verdict:
        if word == "pass":
            return Verdict.PASS
        if word == "fail":
            return Verdict.NOT_APPLICABLE if held else Verdict.FAIL
        return Verdict.INCOMPLETE

    words = {"pass": tr("capacity.held", lang), "fail": tr("capacity.broke", lang)}
    steps = data.get("steps", [])
    # when nothing held, the run at the lowest rate is the one to fix; the faster ones follow from it
    lowest = min((float(s["rate"]) for s in steps if s["verdict"] == "fail"), default=None)
    rows = tuple(Row(requirement="capacity", name=tr("capacity.run", lang, i=i, phase=s["phase"]),
                     verdict=run_verdict(str(s["verdict"])),
                     measured=f"{fmt.number(s['rate'])} req/s: {words.get(s['verdict'], s['verdict'])}",
                     message="; ".join(s.get("reasons", [])[:2]),
                     primary=held or s["verdict"] != "fail" or float(s["rate"]) == lowest)
                 for i, s in enumerate(steps, 1))
    return Section(key="capacity", title=tr("section.capacity", lang), verdict=section_verdict,
                   summary=_capacity_summary(data, lang), rows=rows, artifacts=(shown_as,))


def _owner(resource: str) -> Stage | None:
    """The stage of a plan entry's resource (``None``: not registered here)."""
    try:
        return sim_stages.owner(resource)
    except KeyError:
        return None


def _resource_curve(resource: str) -> Curve | None:
    try:
        return sim_stages.resource(resource).curve
    except KeyError:
        return None


def _entry_title(e: dict[str, Any], table: str, lang: Lang) -> str:
    """The title of a table a plan entry carries: its stage's ``table.<field>`` message, else the
    entry's label."""
    st = _owner(e["resource"])
    key = f"stage.{st.name}.table.{table}" if st is not None else ""
    if key in MESSAGES:
        return tr(key, lang, operator=e["operator"])
    return f"{e['operator']} {e['resource']}: {table}"


def _plan_curve(e: dict[str, Any], st: Stage, curve: Curve, lang: Lang) -> list[Plot]:
    """A planned item's curve: each line's metric against the summed capacity."""
    first = curve.lines[0][0]
    pts = sorted((p for p in e.get("curve", []) if p["metrics"].get(first)),
                 key=lambda p: sum(p["value"]))
    if len(pts) < 2:
        return []
    plot_lang = _plot_lang(lang)

    def word(key: str, in_lang: Lang, **fields: object) -> str:
        return tr(f"stage.{st.name}.{key}", in_lang, **fields)

    x = [float(sum(p["value"])) for p in pts]
    title = word("curve", plot_lang, operator=e["operator"])
    series = {word(label, plot_lang): [p["metrics"][metric]["mean"] or 0.0 for p in pts]
              for metric, label in curve.lines}
    return [Plot(title, alt=tr("plan.curve.alt", lang, title=title, values=_plan_values(e["planned"])),
                 png=plots.line_chart(title, x, series, xlabel=word("curve.x", plot_lang),
                                      ylabel=word("curve.y", plot_lang)))]


def _series_keys() -> frozenset[str]:
    from yzt.reports.i18n import MESSAGES

    return frozenset(k for k in MESSAGES if k.startswith("series."))


# --- directories → report ------------------------------------------------------------------------

_READERS = {"conform": read_conform, "load": read_load, "sim": read_sim, "plan": read_plan,
            "capacity": read_capacity}


def _shown(path: Path, out_dir: Path | None) -> str:
    if out_dir is None:
        return path.name
    return Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix()


def _with_calibration(section: Section, doc: dict[str, Any], operator: str, lang: Lang,
                      shown_as: str = "sim/calibration.json") -> Section:
    """The simulation of ``yzt check URL`` says which measured endpoint it stands for."""
    cal = doc.get("calibration") or {}
    rate = cal.get("capacity_rps")
    capacity = (tr("check.capacity", lang, rate=fmt.number(rate)) if rate
                else tr("check.no_capacity", lang))
    note = tr("check.calibrated", lang, operator=operator,
              median=fmt.number(cal.get("median_ms", 0.0)), sigma=f"{cal.get('sigma', 0.0):.2f}",
              errors=f"{cal.get('error_ratio', 0.0) * 100:.3f} %", capacity=capacity,
              meaning=(doc.get("outlook") or {}).get("meaning", ""))
    return replace(section, summary=f"{note} {section.summary}",
                   artifacts=(*section.artifacts, shown_as))


@dataclass(frozen=True)
class Step:
    """One step of a ``yzt check`` run as ``check.json`` records it."""

    verdict: Verdict
    #: ``ran``, or ``skipped`` when an earlier step's outcome left it nothing to run on.
    state: str = "ran"
    duration_s: float | None = None
    #: The step's own error (or why it was skipped), scrubbed; empty when it ran through.
    message: str = ""
    #: The command the step ran, as a user would type it (no secret on the line).
    command: str = ""


def read_step(value: object, where: str) -> Step:
    """A step of ``check.json``: a verdict word (older records) or an object."""
    if isinstance(value, str):
        return Step(_verdict(value, where))
    if not isinstance(value, dict):
        raise UserError(f"{where}: a step is a verdict word or an object with \"verdict\"")
    duration = value.get("duration_s")
    return Step(_verdict(value.get("verdict", "error"), f"{where}.verdict"),
                str(value.get("state") or "ran"),
                float(duration) if isinstance(duration, int | float) else None,
                str(value.get("message") or ""), str(value.get("command") or ""))


def check_title(check: dict[str, Any], lang: Lang) -> str:
    """A URL run is titled by operator and target; the embedded run by its reference operator."""
    operator = str(check.get("operator", "?"))
    target = check.get("target")
    if not target:
        return tr("title.check", lang, operator=operator)
    return tr("title.check_url", lang, operator=operator, target=shown_target(str(target)))


def shown_target(url: str) -> str:
    """A target URL as reports show it: without any user:password part."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _preflight_notes(directory: Path) -> tuple[str, ...]:
    """The notes a check run's preflight left in ``preflight.json`` (``note`` and ``notes``)."""
    path = directory / "preflight.json"
    if not path.is_file():
        return ()
    data = _load(path)
    if not isinstance(data, dict):
        return ()
    notes = [data["note"]] if isinstance(data.get("note"), str) else []
    notes += [str(n) for n in data.get("notes") or () if str(n) not in notes]
    return tuple(n for n in notes if n)


def _with_step_reproduce(section: Section, step: Step) -> Section:
    """Failures and errors of a step's section that name no command of their own get the step's."""
    if not step.command:
        return section
    rows = tuple(replace(r, reproduce=r.reproduce or step.command)
                 if r.verdict in (Verdict.FAIL, Verdict.ERROR) else r for r in section.rows)
    return replace(section, rows=rows)


def report_of(sections: Sequence[Section], lang: Lang, title: str) -> Report:
    """A report over sections read in memory (a command rendering its own records as it ends)."""

    return _report(title, lang, sections)


def _report(title: str, lang: Lang, sections: Sequence[Section], *,
            notes: tuple[str, ...] = ()) -> Report:
    """The report over ``sections``, saying which font drew its plots and, when a Chinese report's
    plots had to fall back to English labels, why (in each section that has plots)."""
    from yzt import __version__

    drawn = any(s.plots for s in sections)
    if drawn and lang != _plot_lang(lang):
        note = tr("plots.fallback", lang, families=", ".join(plots.CJK_FAMILIES))
        sections = [replace(s, notes=(*s.notes, note)) if s.plots else s for s in sections]
    return Report(title=title, version=__version__, lang=lang, sections=tuple(sections),
                  requirements=requirements(lang), plot_font=plots.family() if drawn else "",
                  notes=notes)


def read_dirs(dirs: Sequence[Path], lang: Lang, out_dir: Path | None = None) -> Report:
    """One report over any set of result directories (a ``yzt check`` folder counts as its steps)."""

    sections: list[Section] = []
    titles: list[str] = []
    notes: list[str] = []
    for directory in dirs:
        kind = kind_of(directory)
        if kind == "check":
            check = _load(directory / "check.json")
            titles.append(check_title(check, lang))
            notes += _preflight_notes(directory)
            for name, value in (check.get("steps") or {}).items():
                if name != "preflight" and name not in CHECK_STEPS:
                    raise UserError(f"{directory / 'check.json'}: unknown step {name!r}")
                step = read_step(value, f"check.json: steps.{name}")
                if name == "preflight":  # a step only when it stopped the run
                    sections.append(missing_section(name, step.verdict, "preflight.json", lang,
                                                    step.message, step.command))
                    continue
                sub = directory / CHECK_STEPS[name]
                record = sub / RECORD_FILES[name]
                if record.is_file() and step.state != "skipped":
                    section = _READERS[name](_load(record), lang, _shown(record, out_dir))
                    calibration = sub / "calibration.json"
                    if name == "sim" and calibration.is_file():
                        section = _with_calibration(section, _load(calibration),
                                                    str(check.get("operator", "?")), lang,
                                                    _shown(calibration, out_dir))
                    sections.append(_with_step_reproduce(section, step))
                else:
                    sections.append(missing_section(name, step.verdict, RECORD_FILES[name], lang,
                                                    step.message, step.command,
                                                    skipped=step.state == "skipped"))
            if check.get("interrupted"):
                sections.append(Section(
                    key="interrupted", title=tr("section.interrupted", lang), verdict=Verdict.INCOMPLETE,
                    summary=tr("check.interrupted", lang, signal=check["interrupted"])))
            continue
        record = directory / RECORD_FILES[kind]
        sections.append(_READERS[kind](_load(record), lang, _shown(record, out_dir)))
        titles.append(kind)
    title = titles[0] if len(dirs) == 1 and kind_of(dirs[0]) == "check" else \
        tr("title.report", lang, parts=", ".join(titles))
    return _report(title, lang, sections, notes=tuple(dict.fromkeys(notes)))
