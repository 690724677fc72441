"""Writers for a :class:`~yzt.reports.model.Report`: HTML (plots embedded), Markdown, JSON, JUnit.

Every text goes through :func:`yzt.domain.masking.scrub` on the way out, so a record that slipped a
full ID number or phone number through still never reaches a file. The HTML is self-contained (no
network, no scripts) so it opens from a CI artifact store as it is.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import jinja2

from yzt.domain.masking import scrub, scrub_obj
from yzt.reports.junit import Case, write_junit
from yzt.reports.model import Report, Row, Section

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("yzt.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def _scrub_row(row: Row) -> Row:
    return Row(**{k: scrub(v) for k, v in asdict(row).items()})


def _scrubbed(report: Report) -> Report:
    sections = tuple(
        replace(s, summary=scrub(s.summary), rows=tuple(_scrub_row(r) for r in s.rows),
                notes=tuple(scrub(n) for n in s.notes),
                tables=tuple(replace(t, title=scrub(t.title),
                                     rows=tuple(tuple(scrub(c) for c in row) for row in t.rows))
                             for t in s.tables))
        for s in report.sections)
    return replace(report, sections=sections)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    report = _scrubbed(report)
    sections = [
        {**{k: getattr(s, k) for k in ("key", "title", "verdict", "summary", "rows", "artifacts",
                                        "notes")},
         "tables": [{"title": t.title, "columns": t.columns,
                     "rows": [{"cells": row, "mark": t.marks[i] if i < len(t.marks) else ""}
                              for i, row in enumerate(t.rows)]} for t in s.tables],
         "plots": [{"title": p.title, "alt": p.alt,
                    "png_b64": base64.b64encode(p.png).decode("ascii")} for p in s.plots]}
        for s in report.sections
    ]
    view = {"title": report.title, "verdict": report.verdict, "version": report.version,
            "sections": sections}
    return _ENV.get_template("report.html").render(report=view)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """The report as Markdown (plots are referenced, not embedded)."""
    report = _scrubbed(report)
    out = [f"# {report.title}", "", f"**Overall verdict: {report.verdict.upper()}**", ""]
    for s in report.sections:
        out += [f"## {s.title} — {s.verdict.upper()}", "", s.summary, ""]
        out += [f"> {n}" for n in s.notes]
        if s.rows:
            out += ["| requirement | item | status | measured | expected | message |",
                    "|---|---|---|---|---|---|"]
            out += [f"| {r.requirement} | {_md_cell(r.name)} | {r.status} | {_md_cell(r.measured)} | "
                    f"{_md_cell(r.expected)} | {_md_cell(r.message)} |" for r in s.rows]
            out.append("")
        for t in s.tables:
            out += [f"### {t.title}", "", "| " + " | ".join(t.columns) + " |",
                    "|" + "---|" * len(t.columns)]
            for i, row in enumerate(t.rows):
                mark = t.marks[i] if i < len(t.marks) else ""
                cells = [f"**{_md_cell(c)}**" if mark and c else _md_cell(c) for c in row]
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
    return "\n".join(out) + "\n"


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (plots omitted)."""
    data = {
        "title": report.title, "version": report.version, "verdict": report.verdict,
        "sections": [
            {"key": s.key, "title": s.title, "verdict": s.verdict, "summary": s.summary,
             "notes": list(s.notes), "artifacts": list(s.artifacts),
             "rows": [asdict(r) for r in s.rows]}
            for s in report.sections
        ],
    }
    scrubbed: dict[str, Any] = scrub_obj(data)
    return scrubbed


def junit_cases(section: Section) -> list[Case]:
    """One JUnit case a row, named by requirement id first."""
    return [Case(name=f"{r.requirement} {r.name}".strip(), classname=f"yzt.{section.key}",
                 status=r.status, message=r.message or f"measured {r.measured}, expected {r.expected}",
                 details=f"measured: {r.measured}\nexpected: {r.expected}") for r in section.rows]


def write_report(report: Report, out_dir: Path, stem: str = "report") -> dict[str, Path]:
    """Write ``stem``.html/.md/.json and ``junit.xml`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out_dir / f"{stem}.html",
        "markdown": out_dir / f"{stem}.md",
        "json": out_dir / f"{stem}.json",
        "junit": out_dir / "junit.xml",
    }
    paths["html"].write_text(render_html(report), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    paths["json"].write_text(json.dumps(report_json(report), ensure_ascii=False, indent=2) + "\n",
                             encoding="utf-8")
    write_junit(paths["junit"], report.title, [c for s in report.sections for c in junit_cases(s)])
    return paths
