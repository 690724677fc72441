"""Writers for a :class:`~yzt.reports.model.Report`: HTML (plots embedded), Markdown, JSON, JUnit.

Every text goes through :func:`yzt.domain.masking.scrub` on the way out, so a record that slipped a
full ID number or phone number through still never reaches a file. The HTML is self-contained (no
network, no scripts) so it opens from a CI artifact store as it is. The page opens with the verdict
and what to fix; passed items are folded by requirement.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from yzt.domain.masking import scrub, scrub_obj
from yzt.reports.i18n import MESSAGES, Lang, tr, verdict_word
from yzt.reports.junit import Case, to_xml, write_junit
from yzt.reports.model import Report, Requirement, Row, Section
from yzt.verdict import Verdict

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("yzt.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
#: At most this many items in "what to fix"; the rest are counted.
MAX_FIXES = 15
#: Verdicts listed under "what to fix", in this order of urgency after primary-before-consequence.
_FIX_ORDER = {Verdict.ERROR: 0, Verdict.FAIL: 0, Verdict.INCOMPLETE: 1, Verdict.WARNING: 2}
#: Verdicts folded away with the passes (nothing to act on).
_QUIET = (Verdict.PASS, Verdict.NOT_APPLICABLE)


@dataclass(frozen=True)
class Fix:
    """One item of "what to fix": the row, where it came from and the requirement it breaks."""

    section: Section
    row: Row
    requirement: Requirement | None


#: The most of one text from the inputs a report copies (a note, a message, a row's evidence);
#: the rest is cut, and the results file the section names keeps it whole.
MAX_TEXT = 16 << 10
#: Rows a section copies; the rest (problems kept first) are counted in a note.
MAX_ROWS = 2000


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]} … ({len(text) - MAX_TEXT} more characters in the results file)"


def _bounded(report: Report) -> Report:
    """``report`` with every text from the inputs at most :data:`MAX_TEXT` long and at most
    :data:`MAX_ROWS` rows a section: a report summarises its inputs, it does not copy them."""
    def row(r: Row) -> Row:
        return replace(r, requirement=_clip(r.requirement), name=_clip(r.name),
                       measured=_clip(r.measured), expected=_clip(r.expected),
                       message=_clip(r.message), evidence=_clip(r.evidence))

    def section(s: Section) -> Section:
        rows, notes = s.rows, tuple(_clip(n) for n in s.notes[:MAX_ROWS])
        if len(rows) > MAX_ROWS:
            rows = tuple(sorted(rows, key=lambda r: r.verdict in _QUIET))[:MAX_ROWS]
            notes += (f"{len(s.rows) - MAX_ROWS} more rows in {', '.join(s.artifacts)}",)
        if len(s.notes) > MAX_ROWS:
            notes += (f"{len(s.notes) - MAX_ROWS} more notes in {', '.join(s.artifacts)}",)
        return replace(s, title=_clip(s.title), summary=_clip(s.summary),
                       rows=tuple(row(r) for r in rows), notes=notes,
                       quiet=tuple(_clip(q) for q in s.quiet),
                       artifacts=tuple(_clip(a) for a in s.artifacts),
                       tables=tuple(replace(t, title=_clip(t.title), rows=tuple(
                           tuple(_clip(c) for c in r) for r in t.rows[:MAX_ROWS]))
                           for t in s.tables))

    return replace(report, title=_clip(report.title),
                   sections=tuple(section(s) for s in report.sections))


def _scrubbed(report: Report) -> Report:
    report = _bounded(report)

    def row(r: Row) -> Row:
        return replace(r, name=scrub(r.name), measured=scrub(r.measured), expected=scrub(r.expected),
                       message=scrub(r.message), evidence=scrub(r.evidence),
                       reproduce=scrub(r.reproduce))

    sections = tuple(
        replace(s, summary=scrub(s.summary), rows=tuple(row(r) for r in s.rows),
                notes=tuple(scrub(n) for n in s.notes),
                tables=tuple(replace(t, title=scrub(t.title),
                                     rows=tuple(tuple(scrub(c) for c in r) for r in t.rows))
                             for t in s.tables))
        for s in report.sections)
    return replace(report, sections=sections, notes=tuple(scrub(n) for n in report.notes))


def fixes(report: Report) -> list[Fix]:
    """What to fix, most urgent first: primary before consequence, failures before the unjudged,
    critical before major, then in report order."""
    found: list[tuple[tuple[int, ...], Fix]] = []
    for si, section in enumerate(report.sections):
        if not section.rows and section.verdict in _FIX_ORDER:
            missing = Row(requirement="", name=section.title, verdict=section.verdict,
                          message=section.summary)
            found.append(((0, _FIX_ORDER[section.verdict], 1, si, 0), Fix(section, missing, None)))
        for ri, r in enumerate(section.rows):
            if r.verdict in _FIX_ORDER:
                key = (int(not r.primary), _FIX_ORDER[r.verdict], int(r.severity != "critical"), si, ri)
                found.append((key, Fix(section, r, report.requirements.get(r.requirement))))
    return [f for _, f in sorted(found, key=lambda kf: kf[0])]


#: A waiver's expiry as the snippet shows it: the approver fills in a real date.
WAIVER_EXPIRY_PLACEHOLDER = "YYYY-MM-DD"


def unfinished(report: Report) -> dict[str, Any] | None:
    """The conformance checks that could not be judged against this target, and the two ways to
    finish them (make the sandbox able to run them, or a dated waiver), with the waiver file they
    would need; ``None`` when every check could be judged. Built from the run's rows."""
    rows = [r for s in report.sections if s.key == "conform" for r in s.rows
            if r.verdict is Verdict.INCOMPLETE]
    if not rows:
        return None
    lang = report.lang
    lines = ["waivers:"]
    for r in rows:
        lines += [f"  - requirement: {r.requirement}", f"    check: {r.name}",
                  f"    reason: {json.dumps(tr('waiver.reason', lang), ensure_ascii=False)}",
                  f"    approver: {json.dumps(tr('waiver.approver', lang), ensure_ascii=False)}",
                  f"    expires: {WAIVER_EXPIRY_PLACEHOLDER}"]
    return {"title": tr("unfinished.title", lang), "intro": tr("unfinished.intro", lang, n=len(rows)),
            "checks": [{"requirement": r.requirement, "check": r.name, "message": r.message}
                       for r in rows],
            "ways": tr("unfinished.ways", lang), "sandbox": tr("unfinished.sandbox", lang),
            "waiver": tr("unfinished.waiver", lang), "waiver_file": "\n".join(lines) + "\n"}


def _folded(report: Report, section: Section) -> list[dict[str, Any]]:
    groups: dict[str, list[Row]] = {}
    for r in section.rows:
        if r.verdict in _QUIET and not (r.requirement in section.charted and r.verdict is Verdict.PASS):
            groups.setdefault(r.requirement, []).append(r)
    out = []
    for rid, rows in groups.items():
        req = report.requirements.get(rid)
        counts = {v: sum(1 for r in rows if r.verdict is v) for v in _QUIET}
        shown = ", ".join(f"{n} {verdict_word(v.value, report.lang)}" for v, n in counts.items() if n)
        out.append({"requirement": rid, "text": req.text if req else "", "rows": rows, "counts": shown})
    return out


#: The columns of a table of rows, in order; ``measured``, ``expected`` and ``message`` are shown
#: only when a row of the table fills them.
ROW_COLUMNS = ("requirement", "item", "verdict", "measured", "expected", "message")
_OPTIONAL = ("measured", "expected", "message")


def filled_columns(rows: list[Row], columns: tuple[str, ...] = ROW_COLUMNS) -> list[str]:
    """``columns`` without the optional ones that no row fills (a conformance row has no
    measurement: an empty Measured column says nothing)."""
    def filled(name: str) -> bool:
        return any(getattr(r, name) or (name == "message" and r.evidence) for r in rows)
    return [c for c in columns if c not in _OPTIONAL or filled(c)]


def _free_table(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> tuple[list[str],
                                                                                        list[list[str]]]:
    """A free table without the columns that no row fills."""
    keep = [i for i in range(len(columns)) if any(i < len(r) and r[i] for r in rows)] if rows \
        else list(range(len(columns)))
    return [columns[i] for i in keep], [[r[i] if i < len(r) else "" for i in keep] for r in rows]


def _labels(report: Report) -> dict[str, str]:
    plain = [k for k, (en, _) in MESSAGES.items() if "{" not in en]
    return {k.replace(".", "_"): tr(k, report.lang) for k in plain}


def view(report: Report) -> dict[str, Any]:
    """The plain data the HTML template shows (texts already in the report's language)."""
    lang = report.lang
    found = fixes(report)
    sections = []
    for s in report.sections:
        problems = [r for r in s.rows if r.verdict not in _QUIET]
        folded = _folded(report, s)
        tables = [(t, *_free_table(t.columns, t.rows)) for t in s.tables]
        sections.append({
            "key": s.key, "title": s.title, "verdict": s.verdict.value,
            "verdict_word": verdict_word(s.verdict.value, lang), "summary": s.summary,
            "notes": s.notes, "quiet": s.quiet, "artifacts": s.artifacts, "problems": problems,
            "columns": filled_columns(problems),
            "folded_columns": filled_columns([r for g in folded for r in g["rows"]], ROW_COLUMNS[1:]),
            "problems_title": tr("breaches", lang) if s.charted or s.key == "load"
            else tr("problems", lang),
            "no_problems": tr("breaches.none", lang) if s.charted and not problems else "",
            "folded": folded,
            "folded_title": tr("passed_folded", lang, n=sum(len(g["rows"]) for g in folded),
                               m=len(folded)),
            "plots": [{"title": p.title, "alt": p.alt,
                       "png_b64": base64.b64encode(p.png).decode("ascii")} for p in s.plots],
            "tables": [{"title": t.title, "columns": columns,
                        "rows": [{"cells": r, "mark": t.marks[i] if i < len(t.marks) else ""}
                                 for i, r in enumerate(rows)]} for t, columns, rows in tables],
        })
    return {
        "lang": lang, "html_lang": "zh-CN" if lang == "zh" else "en", "title": report.title,
        "notes": report.notes, "unfinished": unfinished(report),
        "verdict": report.verdict.value, "verdict_word": verdict_word(report.verdict.value, lang),
        "label": _labels(report),
        "fixes": [{"section": f.section.title, "requirement": f.row.requirement,
                   "text": f.requirement.text if f.requirement else "",
                   "regulation": f.requirement.regulation if f.requirement else (),
                   "name": f.row.name, "verdict": f.row.verdict.value,
                   "verdict_word": verdict_word(f.row.verdict.value, lang), "message": f.row.message,
                   "measured": f.row.measured, "primary": f.row.primary,
                   "reproduce": f.row.reproduce} for f in found[:MAX_FIXES]],
        "more": tr("to_fix.more", lang, n=len(found) - MAX_FIXES) if len(found) > MAX_FIXES else "",
        "verdict_words": {v.value: verdict_word(v.value, lang) for v in Verdict},
        "sections": sections,
        "footer": tr("footer", lang, version=report.version),
    }


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    return _ENV.get_template("report.html").render(report=view(_scrubbed(report)))


_MD_SPECIAL = str.maketrans({"|": "\\|", "[": "\\[", "]": "\\]", "`": "\\`", "\\": "\\\\",
                             "\n": " ", "\r": " "})


def _md_cell(text: str) -> str:
    """Text from the inputs as Markdown shows it literally: HTML characters as entities (a
    renderer passes raw HTML through, so ``<script>`` in an operator id would run), link and
    code brackets escaped, one line."""
    return html.escape(text, quote=False).translate(_MD_SPECIAL)


def render_markdown(report: Report) -> str:
    """The report as Markdown (plots are left to the HTML): verdict, what to fix, each section."""
    report = _scrubbed(report)
    lang = report.lang
    v = view(report)
    out = [f"# {_md_cell(report.title)}", "", f"**{tr('overall', lang)}: {v['verdict_word']}**", ""]
    out += [f"> {_md_cell(n)}" for n in v["notes"]] + ([""] if v["notes"] else [])
    out += [f"## {tr('to_fix', lang)}", ""]
    for f in v["fixes"]:
        reg = (f" — {tr('regulation', lang)}: {_md_cell('；'.join(f['regulation']))}"
               if f["regulation"] else "")
        cons = f" ({tr('to_fix.consequence', lang)})" if not f["primary"] else ""
        text = f"{_md_cell(f['text'])}{reg}. " if f["text"] or reg else ""
        out.append(f"- **{f['verdict_word']}** {_md_cell(f['requirement'])} {_md_cell(f['name'])}{cons}: "
                   f"{text}{_md_cell(f['message'])}".rstrip())
        if f["reproduce"]:
            out.append(f"  {tr('reproduce', lang)}: `{f['reproduce']}`")
    if not v["fixes"]:
        out.append(tr("to_fix.none", lang))
    if v["more"]:
        out.append(f"- {v['more']}")
    out.append("")
    if v["unfinished"]:
        u = v["unfinished"]
        out += [f"## {u['title']}", "", u["intro"], ""]
        out += [f"- {c['requirement']} {c['check']}: {_md_cell(c['message'])}" for c in u["checks"]]
        out += ["", u["ways"], "", f"1. {u['sandbox']}", f"2. {u['waiver']}", "", "```yaml",
                u["waiver_file"].rstrip("\n"), "```", ""]
    def cell(r: Row, column: str) -> str:
        if column == "verdict":
            return verdict_word(r.verdict.value, lang)
        return _md_cell(str(getattr(r, "name" if column == "item" else column)))
    for s in v["sections"]:
        out += [f"## {_md_cell(s['title'])} — {s['verdict_word']}", "", _md_cell(s["summary"]), ""]
        out += [f"> {_md_cell(n)}" for n in s["notes"]]
        out += [f"> {_md_cell(q)}" for q in s["quiet"]]
        for t in s["tables"]:
            out += ["", f"### {_md_cell(t['title'])}", "",
                    "| " + " | ".join(_md_cell(c) for c in t["columns"]) + " |",
                    "|" + "---|" * len(t["columns"])]
            out += ["| " + " | ".join(f"**{_md_cell(c)}**" if r["mark"] and c else _md_cell(c)
                                      for c in r["cells"]) + " |" for r in t["rows"]]
        if s["problems"]:
            cols = s["columns"]
            out += ["", f"### {s['problems_title']}", "",
                    "| " + " | ".join(tr(c, lang) for c in cols) + " |", "|" + "---|" * len(cols)]
            out += ["| " + " | ".join(cell(r, c) for c in cols) + " |" for r in s["problems"]]
        if s["folded"]:
            out += ["", f"### {s['folded_title']}", ""]
            out += [f"- {_md_cell(g['requirement'])} {_md_cell(g['text'])}: {g['counts']}"
                    for g in s["folded"]]
        out.append("")
    return "\n".join(out) + "\n"


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (plots omitted); verdicts are :class:`Verdict` values."""
    def row(r: Row) -> dict[str, Any]:
        return {**asdict(r), "verdict": r.verdict.value}

    report = _bounded(report)
    data = {
        "title": report.title, "version": report.version, "lang": report.lang,
        "verdict": report.verdict.value, "exit_code": report.verdict.exit_code,
        "plot_font": report.plot_font,
        # what the page opens with: most urgent first, primary failures before their consequences
        "fixes": [{"section": f.section.key, "requirement": f.row.requirement, "name": f.row.name,
                   "verdict": f.row.verdict.value, "primary": f.row.primary,
                   "message": f.row.message, "measured": f.row.measured, "expected": f.row.expected,
                   "reproduce": f.row.reproduce} for f in fixes(report)],
        "notes": list(report.notes),
        "unfinished": unfinished(report),
        "sections": [
            {"key": s.key, "title": s.title, "verdict": s.verdict.value, "summary": s.summary,
             "notes": list(s.notes), "quiet": list(s.quiet), "artifacts": list(s.artifacts),
             "rows": [row(r) for r in s.rows]}
            for s in report.sections
        ],
    }
    scrubbed: dict[str, Any] = scrub_obj(data)
    return scrubbed


def junit_cases(report: Report) -> Iterator[Case]:
    """One JUnit case a row, named by requirement id first; a step that could not run is its
    section's one row (an ``<error>`` with the step's own message); a failure's or an error's text
    ends with the command that reproduces it."""
    for s in _bounded(report).sections:
        for r in s.rows:
            details = [f"measured: {r.measured}", f"expected: {r.expected}"] \
                if r.measured or r.expected else []
            if r.message and r.verdict.junit in ("failure", "error"):
                details.insert(0, r.message)
            if r.reproduce:
                details.append(f"reproduce: {r.reproduce}")
            yield Case(name=f"{r.requirement} {r.name}".strip(), classname=f"yzt.{s.key}",
                       verdict=r.verdict,
                       message=r.message or f"{r.requirement} {r.name}: measured {r.measured}, "
                       f"expected {r.expected}",
                       details="\n".join(details))


def conform_report(document: dict[str, Any], lang: Lang, title: str) -> Report:
    """One conform run's report, from its ``results.json`` document."""
    from yzt.reports.readers import read_conform, report_of

    return report_of([read_conform(document, lang)], lang, title)


def conform_pages(report: Report) -> dict[str, bytes]:
    """``report.html`` and ``junit.xml`` of one conform run's report (for the certification bundle,
    which holds them beside the records)."""
    return {"report.html": render_html(report).encode("utf-8"),
            "junit.xml": to_xml(report.title, junit_cases(report))}


def write_report(report: Report, out_dir: Path, stem: str = "report") -> dict[str, Path]:
    """Write ``stem``.html/.md/.json and JUnit XML into ``out_dir``; return their paths.

    The JUnit file is ``junit.xml`` beside ``report.*``, and ``junit.zh.xml`` beside
    ``report.zh.*`` (a report in a second language does not replace the first one's)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = stem.partition(".")[2]
    paths = {
        "html": out_dir / f"{stem}.html",
        "markdown": out_dir / f"{stem}.md",
        "json": out_dir / f"{stem}.json",
        "junit": out_dir / (f"junit.{suffix}.xml" if suffix else "junit.xml"),
    }
    paths["html"].write_text(render_html(report), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    paths["json"].write_text(json.dumps(report_json(report), ensure_ascii=False, indent=2) + "\n",
                             encoding="utf-8")
    write_junit(paths["junit"], report.title, junit_cases(report))
    return paths
