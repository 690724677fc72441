"""``yzt report`` reads results files it did not write: a size cap before parsing, summaries
instead of copies, and text from the inputs escaped in Markdown and HTML.

Before: a 248 MB results.json took 1.75 GB RSS and was copied whole into report.json, and
report.md carried an operator id or a note as raw HTML (``<script>`` ran when the Markdown was
rendered). Each case runs the real ``yzt report`` in a child process (:mod:`bounded_child`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bounded_child import run_yzt

pytestmark = pytest.mark.integration

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def _conform(directory: Path, *, operator: str = "R07", note: str = "n", message: str = "m",
             checks: int = 1) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rows = [{"requirement": "OIF-AUTH-1", "check": f"check_{i}", "verdict": "pass",
             "message": "", "severity": "critical"} for i in range(checks - 1)]
    rows.append({"requirement": "OIF-AUTH-1", "check": "signature_checked", "verdict": "fail",
                 "message": message, "severity": "critical", "evidence": [message]})
    doc = {"kind": "conform", "schema_version": 1, "verdict": "fail", "operator_id": operator,
           "checks": rows, "notes": [note]}
    (directory / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return directory


def _check(directory: Path, operator: str) -> Path:
    """A ``yzt check`` folder whose conform step is ``_conform``'s."""
    _conform(directory / "conform", operator=operator)
    (directory / "check.json").write_text(json.dumps(
        {"kind": "check", "schema_version": 1, "operator": operator,
         "steps": {"conform": {"verdict": "fail"}}}), encoding="utf-8")
    return directory


@pytest.mark.parametrize("where", ["conform", "check"])
def test_an_oversized_results_file_is_refused_before_parsing(tmp_path: Path, where: str) -> None:
    """A valid JSON results file of 80 MiB (a note of 80 million characters): exit 2 naming the
    file and the cap, in seconds and without parsing it."""
    run = tmp_path / "run"
    target = run / "conform" if where == "check" else run
    if where == "check":
        _check(run, "R07")
    _conform(target, note="x" * (80 << 20))
    child = run_yzt(["report", str(run), "--out", str(tmp_path / "report")], tmp_path)
    assert child.status == 2, child.stderr[-2000:]
    assert str(target / "results.json") in child.stderr and "64 MiB" in child.stderr
    assert "Traceback" not in child.stderr
    assert child.seconds < 30, child.seconds
    assert child.max_rss_mib < 250, child.max_rss_mib
    assert not (tmp_path / "report" / "report.json").exists()


def test_the_report_summarises_its_inputs_instead_of_copying_them(tmp_path: Path) -> None:
    """A 20 MB results file (a 4 MB note, a 4 MB message with its evidence, 20 000 checks):
    report.json keeps the head of each text and the first rows, and says where the rest is."""
    run = _conform(tmp_path / "run", note="n" * (4 << 20), message="m" * (4 << 20), checks=20_000)
    size = (run / "results.json").stat().st_size
    child = run_yzt(["report", str(run), "--out", str(tmp_path / "report")], tmp_path)
    assert child.status == 1, child.stderr[-2000:]  # the run's verdict: fail
    report = tmp_path / "report" / "report.json"
    assert report.stat().st_size < size / 10, (report.stat().st_size, size)
    data = json.loads(report.read_text("utf-8"))
    section = data["sections"][0]
    assert len(section["rows"]) == 2000
    assert section["rows"][0]["verdict"] == "fail"  # problems are kept first
    assert any("more rows in" in n for n in section["notes"])
    assert any("more characters in the results file" in n for n in section["notes"])
    for name in ("report.md", "report.html"):
        assert (tmp_path / "report" / name).stat().st_size < size / 10, name


@pytest.mark.parametrize("where", ["conform", "check"])
def test_operator_ids_and_notes_are_escaped_in_markdown_and_html(tmp_path: Path,
                                                                 where: str) -> None:
    run = tmp_path / "run"
    if where == "check":
        _check(run, SCRIPT)
        _conform(run / "conform", operator=SCRIPT, note=IMG, message=f"[x](javascript:{IMG})")
    else:
        _conform(run, operator=SCRIPT, note=IMG, message=f"[x](javascript:{IMG})")
    child = run_yzt(["report", str(run), "--out", str(tmp_path / "report")], tmp_path)
    assert child.status == 1, child.stderr[-2000:]
    md = (tmp_path / "report" / "report.md").read_text("utf-8")
    page = (tmp_path / "report" / "report.html").read_text("utf-8")
    assert "<img" not in md
    assert "<img src=x" not in page  # the page's own <img> are the embedded charts
    for text in (md, page):
        assert "<script" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # shown, as text
        assert "&lt;img src=x onerror=" in text
    assert "[x](javascript:" not in md and "\\[x\\](javascript:" in md  # no link either
