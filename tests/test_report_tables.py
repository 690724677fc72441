"""Report tables show the columns their rows fill; the capacity sentence agrees with its rows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from yzt.loadtests.capacity import find_capacity
from yzt.reports.model import Report, Row, Section, Table
from yzt.reports.readers import read_capacity, requirements
from yzt.reports.render import render_html, render_markdown
from yzt.verdict import Verdict


def _report(*sections: Section, lang: str = "en") -> Report:
    return Report(title="t", version="0", lang=lang, sections=sections,  # type: ignore[arg-type]
                  requirements=requirements(lang))  # type: ignore[arg-type]


def _headers(page: str, table_class: str) -> list[list[str]]:
    return [re.findall(r"<th>(.*?)</th>", head) for head in
            re.findall(rf'<table class="{table_class}">\s*<thead><tr>(.*?)</tr></thead>', page)]


def test_columns_no_row_fills_are_dropped_in_html_and_markdown() -> None:
    conform = Section(key="conform", title="Conformance", verdict=Verdict.FAIL, summary="",
                      rows=(Row("OIF-VER-1", "verification_missing", Verdict.FAIL,
                                message="Received: 200 / Expected: 403 verification_required"),
                            Row("OIF-VER-1", "details_verification_missing", Verdict.FAIL,
                                message="Received: 200 / Expected: 403 verification_required")))
    load = Section(key="load", title="Load", verdict=Verdict.FAIL, summary="",
                   rows=(Row("SLA-LAT-1", "card-count p95", Verdict.FAIL, "812 ms", "≤ 300 ms"),),
                   tables=(Table("free", ("a", "empty", "c"), (("1", "", "3"), ("4", "", ""))),))
    report = _report(conform, load)
    page = render_html(report)
    assert _headers(page, "problems") == [["Requirement", "Item", "Verdict", "Details"],
                                          ["Requirement", "Item", "Verdict", "Measured", "Expected"]]
    assert _headers(page, "free") == [["a", "c"]]
    assert "<td>1</td><td>3</td>" in page
    md = render_markdown(report)
    assert "| Requirement | Item | Verdict | Details |\n|---|---|---|---|\n" in md
    assert "| Requirement | Item | Verdict | Measured | Expected |\n|---|---|---|---|---|\n" in md
    assert "| OIF-VER-1 | verification_missing | fail | Received: 200" in md
    assert "| a | c |\n|---|---|\n| 1 | 3 |\n| 4 |  |" in md


def _capacity(limit: float, start: float = 25.0, runs: int = 10) -> dict[str, Any]:
    """A capacity search's record against an endpoint that breaks above ``limit`` req/s."""
    def probe(rate: float, phase: str) -> tuple[Verdict, tuple[str, ...]]:
        return (Verdict.PASS, ()) if rate <= limit else (Verdict.FAIL, ("p95 over SLA-LAT-1",))
    return find_capacity(probe, start, max_probes=runs).to_json()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_capacity_where_every_rate_held_says_so_above_rows_that_held(lang: str) -> None:
    data = _capacity(limit=1e9)
    assert len(data["steps"]) == 10 and {s["verdict"] for s in data["steps"]} == {"pass"}
    section = read_capacity(data, lang)  # type: ignore[arg-type]
    # no rate broke: the capacity is a lower bound, above the rate the endpoint must hold (a pass)
    assert section.verdict is Verdict.PASS
    best = data["highest_sustainable_rate"]
    assert {r.verdict for r in section.rows} == {Verdict.PASS}
    if lang == "en":
        assert section.summary == (f"Highest sustainable rate: {best:g} req/s. No SLA broke in 10 "
                                   "runs: the capacity is at least this rate.")
    else:
        assert section.summary.startswith(f"可持续的最高速率：{best:g} 次/秒。10 轮中没有 SLA 未达标")
    md = render_markdown(_report(section, lang=lang))
    assert "No rate held" not in md and "没有任何速率达标" not in md


def test_a_capacity_where_no_rate_held_fails_every_row_and_shows_the_rate() -> None:
    data = _capacity(limit=0.0)
    assert data["highest_sustainable_rate"] is None and data["verdict"] == "fail"
    section = read_capacity(data, "en")
    lowest = data["lowest_breaking_rate"]
    assert 0 < lowest < 0.05  # halved ten times from 25 req/s
    assert section.summary == (f"No rate held. Each of the 10 runs broke an SLA, down to "
                               f"{lowest:.3g} req/s.")
    assert "0.0 req/s" not in section.summary
    # no row says "pass" under a sentence that says nothing held
    assert {r.verdict for r in section.rows} == {Verdict.FAIL}
    md = render_markdown(_report(section))
    assert "| capacity | run 10 (shrink) | fail | 0.049 req/s: broke an SLA | p95 over SLA-LAT-1 |" in md
    # one run to fix (the slowest rate); the faster ones follow from it
    assert [r.name for r in section.rows if r.primary] == ["run 10 (shrink)"]


def test_a_converged_capacity_leaves_the_runs_above_it_out_of_the_verdict() -> None:
    data = _capacity(limit=140.0)
    section = read_capacity(data, "en")
    assert section.verdict is Verdict.PASS and data["converged"]
    assert section.summary.startswith(f"Highest sustainable rate: {data['highest_sustainable_rate']:.3g}"
                                      f" req/s. Converged: ")
    held = [r for r in section.rows if "held every SLA" in r.measured]
    broke = [r for r in section.rows if "broke an SLA" in r.measured]
    assert held and broke
    assert {r.verdict for r in held} == {Verdict.PASS}
    assert {r.verdict for r in broke} == {Verdict.NOT_APPLICABLE}
