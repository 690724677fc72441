"""What a report holds: sections of judged rows and plots, built from the records of runs.

Readers (``reports/readers.py``) turn a run's records into a :class:`Section` in one language;
writers (``reports/render.py``) turn a :class:`Report` into HTML, Markdown, JSON and JUnit. Every
verdict is a :class:`~yzt.verdict.Verdict`: there is no other status word to translate.
"""

from __future__ import annotations

from dataclasses import dataclass

from yzt.reports.i18n import Lang
from yzt.verdict import Verdict, combine_run


@dataclass(frozen=True)
class Row:
    """One judged item: a conformance check, an SLA threshold, a simulated SLA of one operator."""

    requirement: str
    name: str
    verdict: Verdict
    measured: str = ""
    expected: str = ""
    message: str = ""
    #: False when the item fails only because of another failure (fix that one first).
    primary: bool = True
    #: ``critical`` items (authentication, verification, personal data) lead the list to fix.
    severity: str = ""
    #: What was sent and received (masked), shown with the items that did not pass.
    evidence: str = ""
    #: One command that re-runs this item alone (no secret on the line), for failures and errors.
    reproduce: str = ""


@dataclass(frozen=True)
class Plot:
    """A rendered figure (PNG bytes) with the text a screen reader gets."""

    title: str
    png: bytes
    alt: str


@dataclass(frozen=True)
class Table:
    """A free table of a section (a capacity plan, an hour-by-hour staffing table); ``marks`` holds
    one word per row (``""``, ``changed``, ``warning``) that writers show as a highlight."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """The part of a report that one run produced."""

    key: str
    title: str
    verdict: Verdict
    summary: str
    rows: tuple[Row, ...] = ()
    plots: tuple[Plot, ...] = ()
    #: One sentence each for plots that had nothing to show (a flat line at zero).
    quiet: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: Requirements whose passing rows a plot already shows: the page lists only their breaches.
    charted: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Requirement:
    """A requirement as the report cites it: text in the report's language, regulation phrases."""

    id: str
    text: str
    regulation: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """A whole report: its sections, in one language, and the verdict over them."""

    title: str
    version: str
    lang: Lang
    sections: tuple[Section, ...]
    requirements: dict[str, Requirement]
    #: Notes about the whole run, shown under the title (the preflight's findings).
    notes: tuple[str, ...] = ()
    #: The font family that drew the plots' labels ("" without plots).
    plot_font: str = ""

    @property
    def verdict(self) -> Verdict:
        """The sections combined by :func:`~yzt.verdict.combine_run`: a failure anywhere is a
        failure, an error only when no section could be judged."""
        return combine_run(s.verdict for s in self.sections)
