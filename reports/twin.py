"""The ``yzt twin`` section of a report: each metric live against the model, judged, the machine's
own saturation, and a quantile–quantile plot of the query answer time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from yzt.reports import fmt, plots
from yzt.reports.i18n import MESSAGES, Lang, tr, verdict_word
from yzt.reports.model import Plot, Row, Section, Table
from yzt.verdict import Verdict


def _metric_name(metric: str, scope: str, lang: Lang) -> str:
    if metric == "answer_p95_s":
        return tr("twin.metric.answer_p95_s", lang, node=scope)
    key = f"twin.metric.{metric}"  # the metric names are the twin's own, read from its records
    return tr(key, lang) if key in MESSAGES else metric


def _value(metric: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return fmt.ms(value * 1000.0) if metric.endswith("_s") else fmt.number(value)


def _ci(metric: str, low: float | None, high: float | None, lang: Lang) -> str:
    if low is None or high is None:
        return f"{tr('ci', lang)} –"
    low = max(low, 0.0)  # a time or a count is never negative, whatever the t-interval says
    return f"{tr('ci', lang)} {_value(metric, low)}–{_value(metric, high)}"


def _error(error: float | None) -> str:
    return "–" if error is None else f"{error:+.1f}%"


def qq_chart(title: str, live: Sequence[float | None], model: Sequence[float | None], *,
             xlabel: str, ylabel: str, equal: str) -> bytes:
    """Live quantiles against the model's, with the line where they are equal."""
    pairs = [(m, v) for m, v in zip(model, live, strict=True) if m is not None and v is not None]
    fig, ax = plots._figure(5.2, 4.4)
    if pairs:
        xs, ys = zip(*pairs, strict=True)
        ax.plot(xs, ys, "o", markersize=3)
        lo, hi = min(min(xs), min(ys)), max(max(xs), max(ys))
        ax.plot([lo, hi], [lo, hi], "--", color="grey", linewidth=1, label=equal)
        ax.legend(fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return plots._png(fig)


def read_twin(data: Any, lang: Lang, shown_as: str = "twin.json") -> Section:
    """``yzt twin``: one judged row a metric, the comparison as a table, the machine's signals,
    the quantile–quantile plot. A file from before verdicts (no ``verdict``) is incomplete."""
    from yzt.reports.readers import _plot_lang, _typed
    from yzt.twin.results import TwinComparison

    run = _typed(data, TwinComparison, shown_as)
    info = run.run
    verdict = Verdict(info.get("verdict", Verdict.INCOMPLETE.value))
    rows = []
    table = []
    for r in run.rows:
        name = _metric_name(r.metric, r.scope, lang)
        live = _value(r.metric, r.live)
        model = _value(r.metric, r.model)
        row_verdict = Verdict(r.verdict) if r.verdict else Verdict.INCOMPLETE
        if verdict is Verdict.INCOMPLETE and row_verdict is Verdict.FAIL:
            row_verdict = Verdict.INCOMPLETE  # a saturated machine judges nothing
        rows.append(Row(
            requirement="twin", name=name, verdict=row_verdict,
            measured=tr("twin.measured", lang, live=live,
                        ci=_ci(r.metric, r.live_ci_low, r.live_ci_high, lang)),
            expected=tr("twin.expected", lang, model=model,
                        ci=_ci(r.metric, r.model_ci_low, r.model_ci_high, lang)),
            message=tr("twin.error", lang, error=_error(r.error_pct))))
        table.append((name, f"{live} ({_ci(r.metric, r.live_ci_low, r.live_ci_high, lang)})",
                      f"{model} ({_ci(r.metric, r.model_ci_low, r.model_ci_high, lang)})",
                      _error(r.error_pct), verdict_word(row_verdict.value, lang)))
    load = info.get("load_average", {})
    before, after = (load.get("before") or [None])[0], (load.get("after") or [None])[0]
    summary = tr("twin.summary", lang, windows=info.get("windows", 1),
                 window=fmt.number(info.get("window_s")), scale=fmt.number(info.get("scale")),
                 queries=info.get("queries", 0), requests=info.get("requests", 0),
                 load_before=fmt.number(before), load_after=fmt.number(after),
                 rule=tr("twin.rule", lang, tolerance=10))
    notes = []
    machine = info.get("machine") or {}
    signals = machine.get("signals") or {}
    shown = ", ".join(f"{k} {fmt.number(v['value'])} / {fmt.number(v['limit'])}"
                      for k, v in signals.items())
    if machine.get("saturated"):
        notes.append(tr("twin.saturated", lang, signals="; ".join(machine["saturated"])))
    elif shown:
        notes.append(tr("twin.machine", lang, signals=shown))
    if info.get("model_defect"):
        notes.append(tr("twin.defect", lang, defect=info["model_defect"]))
    calibration = info.get("calibration")
    if calibration:
        fitted = [op for op, f in calibration.get("operators", {}).items() if "median_ms" in f]
        notes.append(tr("twin.calibrated", lang, file=calibration.get("file", ""),
                        operators=", ".join(fitted) or "–"))
    charts = []
    qq = info.get("qq") or {}
    if qq.get("live") and qq.get("model"):
        plot_lang = _plot_lang(lang)
        title = tr("twin.qq.title", plot_lang)
        mid = len(qq["p"]) // 2
        png = qq_chart(title, qq["live"], qq["model"], xlabel=tr("twin.qq.x", plot_lang),
                       ylabel=tr("twin.qq.y", plot_lang), equal=tr("twin.qq.equal", plot_lang))
        charts.append(Plot(tr("twin.qq.title", lang), png,
                           tr("twin.qq.alt", lang, live=fmt.number(qq["live"][mid]),
                              model=fmt.number(qq["model"][mid]))))
    columns = (tr("twin.col.metric", lang), tr("twin.col.live", lang), tr("twin.col.model", lang),
               tr("twin.col.error", lang), tr("twin.col.verdict", lang))
    marks = tuple("warning" if row[-1] != verdict_word("pass", lang) else "" for row in table)
    return Section(key="twin", title=tr("section.twin", lang, scenario=info.get("scenario", "?")),
                   verdict=verdict, summary=summary, rows=tuple(rows), plots=tuple(charts),
                   artifacts=(shown_as,), notes=tuple(notes),
                   tables=(Table(tr("twin.table", lang), columns, tuple(table), marks),))
