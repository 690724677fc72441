"""Reports: what the writers put in each format, and the HTML as headless Chromium renders it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from yzt.errors import UserError
from yzt.reports import fmt, plots
from yzt.reports.model import Plot, Report, Requirement, Row, Section
from yzt.reports.readers import read_load, read_sim, requirements
from yzt.reports.render import fixes, render_html, render_markdown, write_report
from yzt.verdict import Verdict

PII_MESSAGE = "Received 11010519491231002X / 13812345678 in detail"
P, F = Verdict.PASS, Verdict.FAIL


def _report(lang: str = "en") -> Report:
    png = plots.stacked_bars("t", ["a", "b"], {"x": [1.0, 2.0]}, ylabel="n")
    good = Section(key="conform", title="Conformance", verdict=Verdict.FAIL, summary="4 checks",
                   rows=(Row("OIF-AUTH-3", "replayed_nonce", P),
                         Row("OIF-AUTH-3", "replayed_nonce_again", P),
                         Row("OIF-PII-1", "pii_scan", Verdict.WAIVED, message=PII_MESSAGE),
                         Row("OIF-CNT-2", "count_after_failure", F, primary=False),
                         Row("OIF-VER-1", "verification_missing", F, severity="critical",
                             message="Received 200 / Expected 403")),
                   plots=(Plot("Statuses", png, "bar chart of statuses"),))
    bad = Section(key="load", title="Load", verdict=Verdict.FAIL, summary="<script>alert(1)</script>",
                  rows=(Row("SLA-LAT-1", "card-count p95", F, "812 ms", "≤ 300 ms", "<b>bold</b>"),))
    return Report(title="yzt test report", version="0.0", lang=lang,  # type: ignore[arg-type]
                  sections=(good, bad), requirements=requirements(lang))  # type: ignore[arg-type]


def test_overall_verdict_is_the_worst() -> None:
    assert _report().verdict is Verdict.FAIL


def test_what_to_fix_lists_primary_failures_first_with_requirement_and_regulation() -> None:
    report = _report()
    order = [(f.row.requirement, f.row.name) for f in fixes(report)]
    # critical before major, consequences last; waived and passed items are not to fix
    assert order == [("OIF-VER-1", "verification_missing"), ("SLA-LAT-1", "card-count p95"),
                     ("OIF-CNT-2", "count_after_failure")]
    first = fixes(report)[0].requirement
    assert first is not None and "身份验证不合规" in first.regulation
    md = render_markdown(report)
    assert "身份验证不合规" in md and "follows from a failure above" in md


def test_writers_mask_pii_everywhere(tmp_path: Path) -> None:
    paths = write_report(_report(), tmp_path)
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        assert "11010519491231002X" not in text, path
        assert "13812345678" not in text, path
        assert "138****5678" in text, path


def test_json_and_junit_carry_verdicts(tmp_path: Path) -> None:
    paths = write_report(_report(), tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["verdict"] == "fail" and data["exit_code"] == 1
    assert data["sections"][0]["rows"][2]["verdict"] == "waived"
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None
    # one writer maps every verdict with Verdict.junit: 3 failures, the waiver a skip
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("6", "3", "1")
    names = [c.get("name") for c in suite.iter("testcase")]
    assert names[0] == "OIF-AUTH-3 replayed_nonce"


def test_chinese_report_speaks_chinese() -> None:
    html = render_html(_report("zh"))
    assert 'lang="zh-CN"' in html
    for word in ("需要整改的问题", "总体结论", "不通过", "监管要求"):
        assert word in html
    assert "What to fix" not in html and "Overall verdict" not in html


@pytest.mark.parametrize(("share", "shown"), [
    (0.9777084743, "97.8%"), (1.0, "100%"), (0.0, "0%"), (0.99951, "99.95%"), (0.0088, "0.88%"),
    (0.5, "50%"), (None, "–"),
])
def test_percentages_have_sensible_precision(share: float | None, shown: str) -> None:
    assert fmt.pct(share) == shown


def test_a_share_carries_its_interval_clipped_to_zero_and_one() -> None:
    assert fmt.pct_ci(0.9777, 0.969, 0.986, "en") == "97.8% (95% CI 96.9–98.6%)"
    assert fmt.pct_ci(0.0088, -0.07, 0.09, "en") == "0.88% (95% CI 0.00–9.00%)"
    assert fmt.pct_ci(1.0, 1.0, 1.0, "en") == "100%"
    low, high = fmt.wilson(0, 200)
    assert low == 0 and 0.015 < high < 0.02  # zero errors in 200 is not "0 % for sure"


def _sim_doc(series: dict[str, list[float]]) -> dict[str, Any]:
    hot = [{"requirement": "SLA-HOT-1", "name": f"R{i:02d}", "verdict": "pass" if i != 3 else "fail",
            "expected": "≥ 85% answered within 15 s, abandonment ≤ 5%", "value": 0.97 if i != 3 else 0.7,
            "ci_low": 0.95 if i != 3 else 0.65, "ci_high": 0.99 if i != 3 else 0.75,
            "abandonment": 0.01, "abandonment_ci_low": 0.0, "abandonment_ci_high": 0.02,
            "target": 0.85, "abandonment_max": 0.05} for i in range(1, 40)]
    return {"verdict": "fail", "scenario": {"name": "baseline"}, "replications": 4, "seed": 7,
            "sampling": {"one_in": 1}, "sla": hot, "timeseries": {"t_hours": [0.0, 1.0, 2.0], **series}}


def test_hotline_rows_become_a_chart_and_a_table_of_breaches_only() -> None:
    section = read_sim(_sim_doc({}), "en")
    assert [p.title for p in section.plots] == ["Hotline service level and abandonment per operator"]
    report = Report("t", "0", "en", (section,), requirements("en"))
    html = render_html(report)
    problems = html.split('<table class="problems">')[1].split("</table>")[0]
    assert problems.count("<tr class=") == 1 and "R03" in problems
    assert "R04" not in html.split('<table class="problems">')[1]  # passing operators: in the chart
    assert "70% (95% CI 65–75%)" in problems


def test_flat_plots_become_one_sentence() -> None:
    section = read_sim(_sim_doc({"fanout_queue": [0.0, 0.0, 0.0], "sms_backlog": [0.0, 2.0, 1.0]}), "en")
    assert [p.title for p in section.plots][1:] == ["SMS backlog"]
    assert section.quiet == ("fan-out queue stayed at 0 over all 2 simulated hours.",)
    load = read_load({"verdict": "pass", "thresholds": [], "histogram_edges_ms": [1, 2, 3],
                      "endpoints": {"all": {"count": 0, "histogram_counts": [0, 0]}}}, "zh")
    assert load.plots == () and load.quiet == ("没有完成的请求，因此没有可展示的时延。",)


def test_free_tables_are_shown_escaped_and_masked() -> None:
    from dataclasses import replace

    from yzt.reports.model import Table

    table = Table("Staffing", ("hour", "agents"), (("08", "12"), ("09", "<i>13</i> 13812345678")),
                  marks=("", "changed"))
    report = _report()
    report = replace(report, sections=(replace(report.sections[0], tables=(table,)),
                                       *report.sections[1:]))
    html = render_html(report)
    assert '<tr class="m-changed"><td>09</td><td>&lt;i&gt;13&lt;/i&gt; 138****5678</td></tr>' in html
    assert "| **09** | **&lt;i&gt;13&lt;/i&gt; 138****5678** |" in render_markdown(report)


def test_a_bad_verdict_word_names_the_field() -> None:
    row = {"requirement": "SLA-LAT-1", "endpoint": "card-count", "expression": "p95 < 300ms",
           "verdict": "ok"}
    with pytest.raises(UserError, match=r"results.json: thresholds\[0\].verdict: 'ok' is not one of "
                                        r"\['pass', 'warning', 'waived', 'not_applicable'"):
        read_load({"verdict": "pass", "thresholds": [row], "endpoints": {}}, "en")


def test_html_renders_in_chromium(tmp_path: Path, chromium: Any) -> None:
    path = tmp_path / "report.html"
    path.write_text(render_html(_report()), encoding="utf-8")
    page = chromium.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
    page.goto(path.as_uri())
    assert page.title() == "yzt test report — FAIL"
    assert page.inner_text("#overall") == "FAIL"
    assert page.locator("section#load").get_attribute("data-verdict") == "fail"
    assert page.locator("#fix li.fix").count() == 3
    # passed checks are folded by requirement: present, but hidden until expanded
    folded = page.locator("section#conform details.req[data-requirement='OIF-AUTH-3']")
    assert folded.count() == 1 and not page.locator("text=replayed_nonce_again").is_visible()
    # Injected markup is shown as text, never run or rendered.
    assert "<script>alert(1)</script>" in page.inner_text("section#load .summary")
    assert page.locator("section#load td b").count() == 0
    width = page.eval_on_selector("section#conform figure img", "img => img.naturalWidth")
    assert width > 100
    body = page.inner_text("body")
    assert "11010519491231002X" not in body and "13812345678" not in body
    assert problems == []
    page.close()


def test_requirement_texts_fall_back_to_english_only_where_no_chinese_exists() -> None:
    zh, en = requirements("zh"), requirements("en")
    assert zh.keys() == en.keys() and len(zh) > 40
    from yzt.conformance.requirements import load_requirements

    for rid, req in load_requirements().items():
        text_zh = getattr(req, "text_zh", None)
        assert zh[rid].text == (text_zh or req.text)
    assert isinstance(zh["OIF-VER-1"], Requirement)
