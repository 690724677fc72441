"""Readers: the records a run left in its directory → report :class:`~yzt.reports.model.Section`.

One reader per results kind, and nothing else reads them. Every results file names its ``kind``
(:mod:`yzt.resultfile`): a folder is read by the kind of the record it holds (``check.json`` of
``yzt check``, which names the steps whose folders sit beside it; ``sim-results.json``;
``plan.json``; ``results.json`` of ``yzt conform`` or ``yzt load``; ``capacity.json``), through
the writers' typed classes, never by guessing from keys. A file of unknown kind, without a kind or
breaking its kind's schema is refused, naming the file and the field. A missing optional part
gives a partial section, never a crash.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from yzt import resultfile
from yzt.errors import UserError
from yzt.pipeline.results import CalibrationResults, CheckResults, CheckStep, PreflightResults
from yzt.reports import fmt, plots
from yzt.reports.i18n import MESSAGES, Lang, say, tr, verdict_word
from yzt.reports.model import Plot, Report, Requirement, Row, Section, Table
from yzt.reports.twin import read_twin
from yzt.sim import stages as sim_stages
from yzt.sim.stages import Curve, Stage
from yzt.verdict import Verdict

if TYPE_CHECKING:
    from yzt.conformance.results import ConformResults
    from yzt.loadtests.capacity import CapacityResults
    from yzt.loadtests.results import LoadResults
    from yzt.sim.resultfiles import Estimate, PlanItem, PlanResults, SimResults, SlaRow

#: The results file a folder of each kind holds, searched in this order (a ``yzt check`` folder
#: holds its steps' folders, and ``results.json`` is conform's or load's: its ``kind`` says which).
FOLDER_RECORDS = ("check.json", "sim-results.json", "plan.json", "results.json", "capacity.json",
                  "twin.json", "federation.json")
#: Each step of ``yzt check`` (but the preflight): its folder below the check's --out and the kind
#: of the record it leaves there.
CHECK_STEPS = {"conform": "conform", "load": "load", "capacity": "capacity", "sim": "sim"}
#: The kinds read only as part of a ``yzt check`` folder (they have no section of their own).
CHECK_PARTS = ("preflight", "calibration")
#: The largest results file a report reads (:data:`yzt.resultfile.MAX_BYTES`).
MAX_RESULTS_BYTES = resultfile.MAX_BYTES

R = TypeVar("R", bound=resultfile.Typed)


def _typed(data: Any, cls: type[R], shown_as: str) -> R:
    """``data`` as ``cls``: a record already typed, or a document validated against the kind's
    schema (an in-memory document without ``kind`` is taken to be of ``cls``'s kind)."""
    if isinstance(data, cls):
        return data
    if isinstance(data, dict) and "kind" not in data:
        data = resultfile.stamp(cls.KIND, cls.SCHEMA_VERSION, data)
    record = resultfile.parse(data, shown_as)
    if not isinstance(record, cls):
        raise UserError(f"{shown_as}: a {record.KIND!r} results file where a {cls.KIND!r} one is "
                        "expected")
    return record


def record_path(path: Path) -> Path:
    """The results file to read for ``path``: the file itself, or the record of the folder."""
    if path.is_file():
        return path
    for name in FOLDER_RECORDS:
        if (path / name).is_file():
            return path / name
    raise UserError(f"{path}: not a result directory of yzt check, conform, load, sim or plan "
                    f"(it needs one of {', '.join(FOLDER_RECORDS)}); give the folder a command "
                    "wrote with --out")


def kind_of(path: Path) -> str:
    """The ``kind`` of the results ``path`` holds (a folder's record, or the file itself)."""
    return resultfile.kind_of(resultfile.load(record_path(path)), str(record_path(path))).name


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

def read_conform(data: ConformResults | dict[str, Any], lang: Lang,
                 shown_as: str = "results.json") -> Section:
    """``yzt conform`` results (conform's own reader, :class:`yzt.conformance.results.ConformResults`):
    one row per check, consequences of another failure marked, a chart of verdicts by area."""
    from yzt.conformance.results import ConformResults

    run = _typed(data, ConformResults, shown_as)
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

def read_load(data: LoadResults | dict[str, Any], lang: Lang,
              shown_as: str = "results.json") -> Section:
    """``yzt load`` results: a row per threshold with its exact value, the offered load, a histogram."""
    from yzt.loadtests.results import EndpointRecord, LoadResults

    run = _typed(data, LoadResults, shown_as)
    rows: list[Row] = []
    for t in run.thresholds:
        count = run.endpoints.get(t.endpoint, EndpointRecord()).count
        if t.measured is None or not count:
            shown = tr("load.no_requests", lang)
        elif t.metric == "error_ratio":
            low, high = fmt.wilson(round(t.measured * count), count)
            shown = fmt.pct_ci(t.measured, low, high, lang)
        else:
            shown = f"{fmt.ms(t.measured)} ({tr('load.exact', lang, n=count)})"
        rows.append(Row(
            requirement=t.requirement, name=f"{t.endpoint} {t.expression}".strip(),
            verdict=t.verdict, measured=shown, expected=t.expression,
            message=tr("load.no_traffic", lang) if t.verdict is Verdict.NOT_APPLICABLE else "",
            reproduce=run.says("reproduce") if t.verdict is Verdict.FAIL else ""))

    def known(value: float | int | None) -> object:
        return "?" if value is None else value

    offered = Verdict.INCOMPLETE if run.verdict is Verdict.INCOMPLETE else Verdict.PASS
    rows.append(Row(requirement="LOAD-GEN", name="offered load", verdict=offered,
                    measured=f"{known(run.offered_rate)} req/s",
                    expected=f"{known(run.target_rate)} req/s",
                    message="; ".join(run.reasons) if offered is Verdict.INCOMPLETE else ""))
    plot_lang = _plot_lang(lang)
    edges = list(run.histogram_edges_ms)
    counts = list(run.endpoints.get("all", EndpointRecord()).histogram_counts)
    chart: tuple[Plot, ...] = ()
    quiet: tuple[str, ...] = ()
    if edges and len(counts) == len(edges) - 1 and any(counts):
        title = tr("load.hist", plot_lang)
        chart = (Plot(title, plots.histogram(title, edges, counts, xlabel=tr("load.hist.x", plot_lang),
                                             ylabel=tr("load.hist.y", plot_lang), log_x=True),
                      tr("load.hist.alt", lang)),)
    else:
        quiet = (tr("load.hist.empty", lang),)
    summary = tr("load.summary", lang, rate=known(run.target_rate), duration=known(run.duration_s),
                 sent=known(run.sent), scheduled=known(run.scheduled), offered=known(run.offered_rate))
    return Section(key="load", title=tr("section.load", lang), verdict=run.verdict, summary=summary,
                   rows=tuple(rows), plots=chart, quiet=quiet, artifacts=(shown_as,),
                   notes=run.notes)


# --- sim -----------------------------------------------------------------------------------------

def _late(s: SlaRow, run: SimResults, lang: Lang) -> str:
    """A 100 % row that fails, as the count of the late (``4 of 1.36 M replies after 48 h``): a
    share of 99.9997 % hides how few or how many that is. The only 100 % row is the reply
    deadline's (SLA-E2E-1), over the verified queries."""
    from yzt.sim.results import late_count

    doc = run.document
    total = ((doc.get("metrics") or {}).get("platform") or {}).get("queries_verified") or {}
    deadline = (((doc.get("scenario") or {}).get("document") or {}).get("platform") or {}).get(
        "deadline_h")
    if (s.target != 1.0 or s.value is None or s.value >= 1.0 or total.get("mean") is None
            or deadline is None):
        return ""
    return tr("sim.late", lang, late=f"{late_count(s.value, total['mean']):,}",
              total=fmt.count(total["mean"], lang), deadline=format(deadline, "g"))


def _sim_row(s: SlaRow, lang: Lang, run: SimResults | None = None) -> Row:
    measured = (tr("sim.no_cases", lang) if s.value is None
                else fmt.pct_ci(s.value, s.ci_low, s.ci_high, lang))
    late = _late(s, run, lang) if run is not None else ""
    if late:
        measured += "; " + late
    if s.abandonment is not None:
        shown = fmt.pct_ci(s.abandonment, s.abandonment_ci_low, s.abandonment_ci_high, lang)
        measured += "; " + tr("sim.abandonment", lang, value=shown)
    message = ("" if s.verdict is Verdict.PASS else tr("sim.nothing", lang)
               if s.verdict is Verdict.NOT_APPLICABLE else tr("sim.breached", lang))
    return Row(requirement=s.requirement, name=s.name, verdict=s.verdict,
               measured=measured, expected=s.expected, message=message)


def _stage_chart(st: Stage, sla: Sequence[SlaRow], lang: Lang) -> tuple[Plot, ...]:
    """A stage's bar charts of its rows (:class:`yzt.sim.stages.Chart`): value against target,
    and the second measure against its limit."""
    ch = st.chart
    if ch is None:
        return ()
    rows = [s for s in sla if s.requirement == ch.requirement and s.value is not None
            and s.target is not None and (not ch.second or getattr(s, ch.second) is not None)]
    if not rows:
        return ()

    def word(key: str, in_lang: Lang) -> str:
        return tr(f"stage.{st.name}.{key}", in_lang)

    def triple(s: SlaRow, key: str, prefix: str) -> tuple[float, float, float]:
        mean = float(getattr(s, key) or 0.0)
        low, high = getattr(s, f"{prefix}ci_low"), getattr(s, f"{prefix}ci_high")
        return mean, mean if low is None else float(low), mean if high is None else float(high)

    plot_lang = _plot_lang(lang)
    title = word("chart", plot_lang)
    panels = [(word("chart.value", plot_lang), [triple(s, "value", "") for s in rows],
               [float(s.target or 0.0) for s in rows], word("chart.target", plot_lang), True)]
    if ch.second:
        panels.append((word("chart.second", plot_lang),
                       [triple(s, ch.second, f"{ch.second}_") for s in rows],
                       [float(getattr(s, ch.second_limit) or 0.0) for s in rows],
                       word("chart.limit", plot_lang), False))
    png = plots.share_panels(title, [s.name for s in rows], panels)
    return (Plot(title, png, word("chart.alt", lang)),)


def _objective_table(run: SimResults, lang: Lang) -> tuple[Table, ...]:
    """The service objectives' rows, in a table of their own (they are not SLAs)."""
    if not run.objectives:
        return ()
    declared = sim_stages.objective_metrics()

    def measured(s: SlaRow) -> str:
        spec = declared.get(s.metric)
        if s.value is None:
            return tr("sim.no_cases", lang)
        if spec is None or spec.share:
            return fmt.pct_ci(s.value, s.ci_low, s.ci_high, lang)
        ci = ("" if s.ci_low is None or s.ci_high is None
              else f" ({tr('ci', lang)} {fmt.number(s.ci_low)}–{fmt.number(s.ci_high)} s)")
        return f"{fmt.number(s.value)} s{ci}"

    rows = tuple((s.requirement, s.name, measured(s), s.expected, verdict_word(s.verdict.value, lang),
                  s.source) for s in run.objectives)
    marks = tuple("" if s.verdict is not Verdict.FAIL else "changed" for s in run.objectives)
    return (Table(title=tr("sim.table.objectives", lang),
                  columns=tuple(tr("sim.col.objectives", lang).split("|")), rows=rows, marks=marks),)


def _profile_table(run: SimResults, lang: Lang) -> tuple[Table, ...]:
    """Where each target of the SLA profile comes from: the standard and clause (or
    ``[ASSUMPTION]``)."""
    if not run.sla_profile:
        return ()
    rows = tuple((t.field, fmt.number(t.value) + " s" if t.field.endswith("_s") else fmt.pct(t.value),
                  t.document, t.clause, f"「{t.quote}」" if t.quote else "—")
                 for t in run.profile_targets)
    return (Table(title=tr("sim.table.profile", lang, name=run.sla_profile),
                  columns=tuple(tr("sim.col.profile", lang).split("|")), rows=rows),)


def read_sim(data: SimResults | dict[str, Any], lang: Lang,
             shown_as: str = "sim-results.json") -> Section:
    """``yzt sim`` results: SLA rows with CIs, each stage's chart, one plot per queue that moved."""
    from yzt.sim.resultfiles import SimResults

    run = _typed(data, SimResults, shown_as)
    rows = tuple(_sim_row(s, lang, run) for s in run.sla)
    charts = [p for st in sim_stages.stages() for p in _stage_chart(st, run.sla, lang)]
    quiet: list[str] = []
    plot_lang = _plot_lang(lang)
    t = [float(h or 0.0) for h in run.hours]
    hours = fmt.number(t[-1]) if t else "0"
    for name, series in sorted(run.timeseries.items()):
        values = [float("nan") if v is None else v for v in series]
        if name == "t_hours" or not values or not t:
            continue
        key = f"series.{name}"
        what = tr(key, lang) if key in _series_keys() else name.replace("_", " ")
        if plots.is_flat(values):
            quiet.append(tr("sim.flat", lang, what=what, value=fmt.number(values[0]), hours=hours))
            continue
        shown = tr(key, plot_lang) if key in _series_keys() else what
        charts.append(Plot(shown, plots.line_chart(shown, t, {shown: values},
                                                   xlabel=tr("sim.series.x", plot_lang),
                                                   ylabel=tr("sim.series.y", plot_lang),
                                                   clock_x=True),
                           tr("sim.series.alt", lang, what=what)))
    summary = tr("sim.summary", lang, reps=run.replications, scenario=run.scenario or "?",
                 seed=run.seed, one_in="?" if run.one_in is None else run.one_in)
    return Section(key="sim", title=tr("section.sim", lang, scenario=run.scenario).replace(" )", ")"),
                   verdict=run.verdict, summary=summary, rows=rows, plots=tuple(charts),
                   quiet=tuple(quiet), artifacts=(shown_as,),
                   tables=_objective_table(run, lang) + _profile_table(run, lang),
                   charted=tuple(st.chart.requirement for st in sim_stages.stages() if st.chart))


# --- yzt plan (tables and curves) ---------------------------------------------------------------

def _plan_pct(e: Estimate | None) -> str:
    if e is None or e.mean is None:
        return "-"
    if e.ci_low is None or e.ci_high is None:
        return f"{e.mean:.2%}"
    return f"{e.mean:.2%} [{e.ci_low:.2%}, {e.ci_high:.2%}]"


def _plan_values(v: Sequence[int] | None) -> str:
    return "-" if v is None else ",".join(str(x) for x in v)


def _plan_metrics(metrics: dict[str, Estimate | None]) -> str:
    return "; ".join(f"{k} {_plan_pct(v)}" for k, v in metrics.items())


def read_plan(data: PlanResults | dict[str, Any], lang: Lang, shown_as: str = "plan.json") -> Section:
    """``yzt plan`` results: capacity table (current against planned), staffing curves, hour-by-hour
    SIPP table with occupancy, the cost of the last points of service level, what-if table."""
    from yzt.sim.resultfiles import PlanResults

    plan = _typed(data, PlanResults, shown_as)
    items = plan.items
    rows = []
    cap_rows, cap_marks = [], []
    for e in items:
        name = f"{e.operator} {e.label}"
        inf = e.infeasible
        measured = _plan_metrics(e.at_planned.metrics)
        rows.append(Row(requirement="/".join((*e.slas, *e.objectives)), name=name, verdict=e.verdict,
                        measured=tr("plan.planned", lang, values=_plan_values(e.planned),
                                    metrics=measured),
                        expected=tr("plan.current", lang, values=_plan_values(e.current)),
                        message=inf.reason + tr("plan.best", lang, values=_plan_values(inf.best_value))
                        if inf else ""))
        less_txt = "; ".join(f"{_plan_values(x.value)}: " + ", ".join(
                                 f"{k} {_plan_pct(v)}" for k, v in x.metrics.items())
                             for x in e.one_unit_less) or (tr("plan.at_minimum", lang) if e.at_minimum
                                                           else "-")
        cap_rows.append((e.operator, e.label, _plan_values(e.current), _plan_values(e.planned),
                         ",".join(f"{d:+d}" for d in e.difference),
                         _plan_values(e.analytic_guess), measured or "-", less_txt,
                         ", ".join(e.binding) or "-"))
        cap_marks.append("changed" if e.changed else "")
    tables = [Table(title=tr("plan.table.capacity", lang),
                    columns=tuple(tr("plan.col.capacity", lang).split("|")),
                    rows=tuple(cap_rows), marks=tuple(cap_marks))]
    charts: list[Plot] = []
    for e in sorted((e for e in items if e.hourly), key=lambda e: -sum(r.calls for r in e.hourly))[:6]:
        st = _owner(e.resource)
        curve = _resource_curve(e.resource)
        if st is not None and curve is not None:
            charts += _plan_curve(e, st, curve, lang)
        hourly = [r for r in e.hourly if r.calls > 0 or r.planned_agents]
        t_rows = tuple((fmt.day_clock(r.hour), f"{r.calls:.1f}", f"{r.load_erlangs:.2f}",
                        str(r.required), "" if r.current_agents is None else str(r.current_agents),
                        "" if r.planned_agents is None else str(r.planned_agents),
                        "-" if r.occupancy is None else f"{r.occupancy:.0%}"
                        + (tr("plan.over90", lang) if r.occupancy > 0.9 else ""))
                       for r in hourly)
        marks = tuple("warning" if (r.occupancy or 0) > 0.9 else "" for r in hourly)
        tables.append(Table(title=_entry_title(e, "hourly", lang),
                            columns=tuple(tr("plan.col.hourly", lang).split("|")),
                            rows=t_rows, marks=marks))
        if e.service_level_cost:
            money = any(c.cost is not None for c in e.service_level_cost)
            tables.append(Table(
                title=_entry_title(e, "service_level_cost", lang),
                columns=(*tr("plan.col.cost", lang).split("|"),
                         *(tr("plan.col.cost_money", lang, currency=_currency(plan)).split("|")
                           if money else ())),
                rows=tuple((f"{c.service_level:.0%}", f"{c.agent_hours:g}",
                            "-" if c.extra_agent_hours is None else f"{c.extra_agent_hours:g}",
                            str(c.peak_agents),
                            *((f"{c.cost:,.2f}" if c.cost is not None else "-",
                               f"{c.extra_cost:+,.2f}" if c.extra_cost is not None else "-")
                              if money else ()))
                           for c in e.service_level_cost)))
    rostered = [e for e in items if e.roster is not None]
    def moved(e: PlanItem) -> tuple[float, float]:  # rosters that differ most from the windows first
        r = e.roster
        return (0.0, 0.0) if r is None else (-abs(r.agent_hours - r.fixed_window_agent_hours),
                                             -r.agent_hours)

    for e in sorted(rostered, key=moved)[:6]:
        charts += _plan_roster(e, lang)
    if rostered:
        tables.append(Table(title=tr("plan.table.roster", lang),
                            columns=tuple(tr("plan.col.roster", lang).split("|")),
                            rows=tuple((f"{e.operator} {e.label}", f"{e.roster.agent_hours:g}",
                                        f"{e.roster.fixed_window_agent_hours:g}",
                                        f"{e.roster.agent_hours - e.roster.fixed_window_agent_hours:+g}",
                                        "-" if e.roster.same_target_agent_hours is None
                                        else f"{e.roster.same_target_agent_hours:g}",
                                        tr("plan.yes", lang) if e.roster.holds else tr("plan.no", lang))
                                       for e in rostered if e.roster is not None)))
    if plan.what_if:
        first = plan.what_if[0]
        w_rows = tuple((item.label, *(_plan_values(w.items[j].planned) + (tr("plan.infeasible", lang)
                                                                          if w.items[j].infeasible else "")
                                      for w in plan.what_if))
                       for j, item in enumerate(first.items))
        tables.append(Table(title=tr("plan.table.what_if", lang),
                            columns=(tr("plan.item", lang),
                                     *(tr("plan.load", lang, factor=f"{w.load:g}") for w in plan.what_if)),
                            rows=w_rows))
    notes = [plan.rule]
    costs = plan.document.get("costs")
    if costs:
        notes.append(tr("plan.costs", lang, current=f"{costs['current']:,.2f}",
                        planned=f"{costs['planned']:,.2f}", currency=_currency(plan),
                        what_if="; ".join(f"×{w['load']:g}: {w['cost']:,.2f}"
                                          for w in plan.document.get("what_if") or () if "cost" in w)
                        or "-"))
    for c in plan.calibration:
        notes.append(tr("plan.calibrated", lang, operator=c.operator, samples=c.samples,
                        median=f"{c.median_ms:.1f}", sigma=f"{c.sigma:.3f}",
                        errors=f"{c.error_ratio:.4f}", meaning=c.meaning))
    changed = sum(1 for m in cap_marks if m)
    infeasible = sum(1 for e in items if e.infeasible)
    summary = (tr("plan.summary", lang, n=len(items), scenario=plan.scenario or "?",
                  reps=plan.replications, seed=plan.seed, sims=plan.simulations, changed=changed)
               + (tr("plan.summary.infeasible", lang, n=infeasible) if infeasible else "")
               + tr("plan.summary.verdict", lang, verdict=verdict_word(plan.verdict.value, lang)))
    return Section(key="plan", title=tr("section.plan", lang, scenario=plan.scenario),
                   verdict=plan.verdict, summary=summary, rows=tuple(rows), plots=tuple(charts),
                   notes=tuple(notes), tables=tuple(tables),
                   artifacts=(shown_as, str(Path(shown_as).with_name("planned.yaml"))))


def _capacity_summary(run: CapacityResults, lang: Lang) -> str:
    """What the search found, from its numbers (never a rate shown as ``0.0``): the highest rate
    that held, or that none did and the lowest rate tried; then how the search ended."""
    best, broke = run.highest_sustainable_rate, run.lowest_breaking_rate
    runs = len(run.steps)
    if best is not None and broke is not None and run.converged:
        stopped = tr("capacity.converged", lang, held=fmt.number(best), broke=fmt.number(broke))
    elif best is not None and broke is None and all(s.verdict is Verdict.PASS for s in run.steps):
        stopped = tr("capacity.unbroken", lang, n=runs)
    elif best is None and broke is not None and all(s.verdict is Verdict.FAIL for s in run.steps):
        stopped = tr("capacity.all_broke", lang, n=runs, rate=fmt.number(broke))
    else:  # the generator or the run budget ended the search: its own words
        stopped = run.stopped
    if best is not None:
        return tr("capacity.best", lang, rate=fmt.number(best), stopped=stopped)
    return tr("capacity.none", lang, stopped=stopped)


def read_capacity(data: CapacityResults | dict[str, Any], lang: Lang,
                  shown_as: str = "capacity.json") -> Section:
    """``yzt load --find-capacity``: one row per load run of the search.

    Breaking an SLA above the capacity is what the search looks for, not a failure of the
    endpoint: when some rate held, such a run is not applicable to the verdict (its row says it
    broke an SLA); when none held, every run that broke is a failure, as the section is. A run the
    generator could not judge is incomplete. The rows and the sentence above them tell one story."""
    from yzt.loadtests.capacity import CapacityResults

    run = _typed(data, CapacityResults, shown_as)
    held = run.highest_sustainable_rate is not None

    def run_verdict(verdict: Verdict) -> Verdict:
        if verdict is Verdict.PASS:
            return Verdict.PASS
        if verdict is Verdict.FAIL:
            return Verdict.NOT_APPLICABLE if held else Verdict.FAIL
        return Verdict.INCOMPLETE

    words = {Verdict.PASS: tr("capacity.held", lang), Verdict.FAIL: tr("capacity.broke", lang)}
    # when nothing held, the run at the lowest rate is the one to fix; the faster ones follow from it
    lowest = min((s.rate for s in run.steps if s.verdict is Verdict.FAIL), default=None)
    rows = tuple(Row(requirement="capacity", name=tr("capacity.run", lang, i=i, phase=s.phase),
                     verdict=run_verdict(s.verdict),
                     measured=f"{fmt.number(s.rate)} req/s: {words.get(s.verdict, s.verdict.value)}",
                     message="; ".join(s.reasons[:2]),
                     primary=held or s.verdict is not Verdict.FAIL or s.rate == lowest)
                 for i, s in enumerate(run.steps, 1))
    return Section(key="capacity", title=tr("section.capacity", lang), verdict=run.verdict,
                   summary=_capacity_summary(run, lang), rows=rows, artifacts=(shown_as,))


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


def _entry_title(e: PlanItem, table: str, lang: Lang) -> str:
    """The title of a table a plan entry carries: its stage's ``table.<field>`` message, else the
    entry's label."""
    st = _owner(e.resource)
    key = f"stage.{st.name}.table.{table}" if st is not None else ""
    if key in MESSAGES:
        return tr(key, lang, operator=e.operator)
    return f"{e.operator} {e.resource}: {table}"


def _plan_curve(e: PlanItem, st: Stage, curve: Curve, lang: Lang) -> list[Plot]:
    """A planned item's curve: each line's metric against the summed capacity."""
    first = curve.lines[0][0]
    pts = sorted((p for p in e.curve if p.metrics.get(first) and p.value),
                 key=lambda p: sum(p.value or ()))
    if len(pts) < 2:
        return []
    plot_lang = _plot_lang(lang)

    def word(key: str, in_lang: Lang, **fields: object) -> str:
        return tr(f"stage.{st.name}.{key}", in_lang, **fields)

    def mean(p: Any, metric: str) -> float:
        found = p.metrics.get(metric)
        return float(found.mean or 0.0) if found is not None else 0.0

    x = [float(sum(p.value or ())) for p in pts]
    title = word("curve", plot_lang, operator=e.operator)
    series = {word(label, plot_lang): [mean(p, metric) for p in pts] for metric, label in curve.lines}
    return [Plot(title, alt=tr("plan.curve.alt", lang, title=title, values=_plan_values(e.planned)),
                 png=plots.line_chart(title, x, series, xlabel=word("curve.x", plot_lang),
                                      ylabel=word("curve.y", plot_lang), integer_x=True))]


def _currency(plan: Any) -> str:
    return str((plan.document.get("costs") or {}).get("currency") or "")


def _plan_roster(e: PlanItem, lang: Lang) -> list[Plot]:
    """A designed roster: head count per hour of the day, required against planned and the
    fixed-window plan, as steps on an integer axis (words: the stage's ``roster`` messages)."""
    st = _owner(e.resource)
    if st is None or e.roster is None or f"stage.{st.name}.roster" not in MESSAGES:
        return []
    plot_lang = _plot_lang(lang)

    def word(key: str, in_lang: Lang, **fields: object) -> str:
        return tr(f"stage.{st.name}.{key}", in_lang, **fields)

    hours = e.roster.hours
    x = [h.hour for h in hours] + [24]
    series = {word(k, plot_lang): [*(getattr(h, f) for h in hours), getattr(hours[-1], f)]
              for k, f in (("roster.required", "required"), ("roster.planned", "planned"),
                           ("roster.fixed", "fixed_window"))}
    title = word("roster", plot_lang, operator=e.operator)
    return [Plot(title, alt=tr("plan.roster.alt", lang, title=title,
                               designed=f"{e.roster.agent_hours:g}",
                               fixed=f"{e.roster.fixed_window_agent_hours:g}"),
                 png=plots.step_chart(title, x, series, xlabel=word("roster.x", plot_lang),
                                      ylabel=word("roster.y", plot_lang)))]


def _series_keys() -> frozenset[str]:
    from yzt.reports.i18n import MESSAGES

    return frozenset(k for k in MESSAGES if k.startswith("series."))


# --- directories → report ------------------------------------------------------------------------

#: The section of each results kind a report shows on its own (a check folder counts as its steps).
_READERS: dict[str, Callable[[Any, Lang, str], Section]] = {
    "conform": read_conform, "load": read_load, "sim": read_sim, "plan": read_plan,
    "capacity": read_capacity, "twin": read_twin}


def _shown(path: Path, out_dir: Path | None) -> str:
    if out_dir is None:
        return path.name
    return Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix()


def _with_calibration(section: Section, record: CalibrationResults, operator: str, lang: Lang,
                      shown_as: str = "sim/calibration.json") -> Section:
    """The simulation of ``yzt check URL`` says which measured endpoint it stands for."""
    cal = record.calibration
    capacity = (tr("check.capacity", lang, rate=fmt.number(cal.capacity_rps)) if cal.capacity_rps
                else tr("check.no_capacity", lang))
    note = tr("check.calibrated", lang, operator=operator,
              median=fmt.number(cal.median_ms), sigma=f"{cal.sigma:.2f}",
              errors=f"{cal.error_ratio * 100:.3f} %", capacity=capacity, meaning=record.meaning)
    return replace(section, summary=f"{note} {section.summary}",
                   artifacts=(*section.artifacts, shown_as))


def check_title(check: CheckResults, lang: Lang) -> str:
    """A URL run is titled by operator and target; the embedded run by its reference operator."""
    if not check.target:
        return tr("title.check", lang, operator=check.operator)
    return tr("title.check_url", lang, operator=check.operator, target=shown_target(check.target))


def shown_target(url: str) -> str:
    """A target URL as reports show it: without any user:password part."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _preflight_notes(directory: Path) -> tuple[str, ...]:
    """The notes a check run's preflight left in ``preflight.json``."""
    path = directory / "preflight.json"
    if not path.is_file():
        return ()
    return resultfile.read_as(path, PreflightResults).all_notes


def _with_step_reproduce(section: Section, step: CheckStep) -> Section:
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


def _check_sections(directory: Path, check: CheckResults, lang: Lang,
                    out_dir: Path | None) -> list[Section]:
    """The sections of a ``yzt check`` folder: each step's records, read by their kind."""
    sections: list[Section] = []
    for name, step in check.steps.items():
        if name == "preflight":  # a step only when it stopped the run
            sections.append(missing_section(name, step.verdict, "preflight.json", lang,
                                            step.message, step.command))
            continue
        kind = resultfile.KINDS[CHECK_STEPS[name]]
        sub = directory / name
        record = sub / Path(kind.file).name
        if record.is_file() and not step.skipped:
            found = resultfile.read(record)
            if kind.name != found.KIND:
                raise UserError(f"{record}: a {found.KIND!r} results file where "
                                f"check.json's step {name!r} leaves a {kind.name!r} one")
            section = _READERS[kind.name](found, lang, _shown(record, out_dir))
            calibration = sub / "calibration.json"
            if name == "sim" and calibration.is_file():
                section = _with_calibration(section, resultfile.read_as(calibration, CalibrationResults),
                                            check.operator, lang, _shown(calibration, out_dir))
            sections.append(_with_step_reproduce(section, step))
        else:
            sections.append(missing_section(name, step.verdict, Path(kind.file).name, lang,
                                            step.message, step.command, skipped=step.skipped))
    if check.interrupted:
        sections.append(Section(
            key="interrupted", title=tr("section.interrupted", lang), verdict=Verdict.INCOMPLETE,
            summary=tr("check.interrupted", lang, signal=check.interrupted)))
    return sections


def _load_readers() -> None:
    """Import every runner's results module: each registers the typed class of the files it
    writes (:func:`yzt.resultfile.reads`), which :func:`yzt.resultfile.read` dispatches to."""
    import yzt.conformance.results
    import yzt.loadtests.capacity
    import yzt.loadtests.results
    import yzt.sim.resultfiles
    import yzt.twin.results  # noqa: F401


def read_dirs(dirs: Sequence[Path], lang: Lang, out_dir: Path | None = None) -> Report:
    """One report over any set of result directories or results files, each read by its ``kind``
    (a ``yzt check`` folder counts as its steps)."""
    _load_readers()
    sections: list[Section] = []
    titles: list[str] = []
    notes: list[str] = []
    checks = 0
    for given in dirs:
        path = record_path(given)
        record = resultfile.read(path)
        if isinstance(record, CheckResults):
            checks += 1
            titles.append(check_title(record, lang))
            notes += _preflight_notes(path.parent)
            sections += _check_sections(path.parent, record, lang, out_dir)
            continue
        kind = record.KIND
        if kind not in _READERS and kind not in CHECK_PARTS:
            raise UserError(f"{path}: a {kind!r} results file ({resultfile.KINDS[kind].written_by}) "
                            "has no report yet: read it as JSON (docs/results.md describes it)")
        if kind not in _READERS:
            raise UserError(f"{path}: a {kind!r} results file is part of a yzt check folder; give "
                            "the folder that holds its check.json")
        sections.append(_READERS[kind](record, lang, _shown(path, out_dir)))
        titles.append(kind)
    title = titles[0] if len(dirs) == 1 and checks == 1 else \
        tr("title.report", lang, parts=", ".join(titles))
    return _report(title, lang, sections, notes=tuple(dict.fromkeys(notes)))
