"""What a report holds: sections of verdict rows and plots, built from the records of runs.

Readers (``reports/sections.py``) turn a run's JSON records into a :class:`Section`; writers
(``reports/render.py``) turn a :class:`Report` into HTML, Markdown, JSON and JUnit. Neither side knows
the other, and neither knows how the runs were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Verdict words, worst first: the overall verdict is the worst of its parts.
VERDICT_ORDER = ("fail", "error", "incomplete", "pass")
_ROW_TO_VERDICT = {
    "failed": "fail", "fail": "fail", "breached": "fail", "error": "error",
    "not_testable": "incomplete", "inconclusive": "incomplete", "incomplete": "incomplete",
    "passed": "pass", "pass": "pass", "waived": "pass", "ok": "pass", "warning": "pass",
    "not_applicable": "pass",
}


def verdict_of(status: str) -> str:
    """Map a row or run status to one of :data:`VERDICT_ORDER` (unknown words are errors)."""
    return _ROW_TO_VERDICT.get(status, "error")


def worst(verdicts: list[str]) -> str:
    """The worst verdict of a list; ``incomplete`` for an empty list (nothing was shown)."""
    if not verdicts:
        return "incomplete"
    return min(verdicts, key=VERDICT_ORDER.index)


@dataclass(frozen=True)
class Row:
    """One judged item: a conformance check, an SLA threshold, a simulated SLA."""

    requirement: str
    name: str
    status: str
    measured: str = ""
    expected: str = ""
    message: str = ""


@dataclass(frozen=True)
class Plot:
    """A rendered figure (PNG bytes) with the text a screen reader gets."""

    title: str
    png: bytes
    alt: str


@dataclass(frozen=True)
class Table:
    """A free table of a section (a capacity plan, an hour-by-hour staffing table).

    ``marks`` holds one CSS-like word per row (``""``, ``changed``, ``warning``) that the writers
    show as a highlight (HTML row class) or a marker (Markdown ``**``).
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """The part of a report that one run produced."""

    key: str
    title: str
    verdict: str
    summary: str
    rows: tuple[Row, ...] = ()
    plots: tuple[Plot, ...] = ()
    artifacts: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Report:
    """A whole report: its sections and the verdict over them."""

    title: str
    version: str
    sections: tuple[Section, ...]

    @property
    def verdict(self) -> str:
        return worst([s.verdict for s in self.sections])
