"""Reports: what the writers put in each format, and the HTML as headless Chromium renders it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from yzt.reports import plots
from yzt.reports.model import Plot, Report, Row, Section, worst
from yzt.reports.render import render_html, write_report

PII_MESSAGE = "Received 11010519491231002X / 13812345678 in detail"


def _report() -> Report:
    png = plots.bar_chart("t", ["a", "b"], [1.0, 2.0], ylabel="n", threshold=1.5)
    good = Section(key="conform", title="Conformance", verdict="pass", summary="2 checks",
                   rows=(Row("OIF-AUTH-3", "replayed_nonce", "passed"),
                         Row("OIF-PII-1", "pii_scan", "waived", message=PII_MESSAGE)),
                   plots=(Plot("Statuses", png, "bar chart of statuses"),))
    bad = Section(key="load", title="Load", verdict="fail", summary="<script>alert(1)</script>",
                  rows=(Row("SLA-LAT-1", "card-count p95", "failed", "812 ms", "≤ 300 ms",
                            "<b>bold</b>"),))
    return Report(title="yzt test report", version="0.0", sections=(good, bad))


def test_overall_verdict_is_the_worst() -> None:
    assert _report().verdict == "fail"
    assert worst(["pass", "incomplete"]) == "incomplete"
    assert worst([]) == "incomplete"


def test_writers_mask_pii_everywhere(tmp_path: Path) -> None:
    paths = write_report(_report(), tmp_path)
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        assert "11010519491231002X" not in text, path
        assert "13812345678" not in text, path
        assert "138****5678" in text, path


def test_json_and_junit_carry_the_rows(tmp_path: Path) -> None:
    paths = write_report(_report(), tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["verdict"] == "fail"
    assert [s["verdict"] for s in data["sections"]] == ["pass", "fail"]
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    names = [c.get("name") for c in suite.iter("testcase")]
    assert names[0] == "OIF-AUTH-3 replayed_nonce"
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "| SLA-LAT-1 | card-count p95 | failed | 812 ms | ≤ 300 ms |" in md


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
    assert page.locator("tr.s-failed").count() == 1
    # Injected markup is shown as text, never run or rendered.
    assert "<script>alert(1)</script>" in page.inner_text("section#load .summary")
    assert page.locator("section#load td b").count() == 0
    # The embedded plot decodes to a real image.
    width = page.eval_on_selector("section#conform figure img", "img => img.naturalWidth")
    assert width > 100
    body = page.inner_text("body")
    assert "11010519491231002X" not in body and "13812345678" not in body
    assert problems == []
    page.close()
