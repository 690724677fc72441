"""``yzt check`` end to end: every step against the embedded reference, one report, in Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from yzt.domain.masking import find_pii

pytestmark = pytest.mark.integration


def _check(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yzt", "check", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def check_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("check")
    return out, _check(out, "--subjects", "150", "--load-duration", "6s", "--replications", "2")


def test_check_passes_on_the_reference_and_writes_every_format(check_run) -> None:
    out, proc = check_run
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "pass"
    assert [s["key"] for s in report["sections"]] == ["conform", "load", "sim"]
    assert all(s["verdict"] == "pass" for s in report["sections"])
    conform_rows = report["sections"][0]["rows"]
    assert len(conform_rows) > 50 and all(r["status"] == "pass" for r in conform_rows)
    assert any(r["requirement"] == "SLA-LAT-1" for r in report["sections"][1]["rows"])
    assert any(r["requirement"] == "SLA-E2E-1" for r in report["sections"][2]["rows"])
    for name in ("report.html", "report.md", "junit.xml", "conform/results.json", "load/results.json",
                 "sim/sim-results.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert not find_pii(text), f"personal data in {name}"


def test_check_report_renders_in_chromium(check_run, chromium: Any) -> None:
    out, proc = check_run
    assert proc.returncode == 0, proc.stderr
    page = chromium.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((out / "report.html").as_uri())
    assert page.inner_text("#overall") == "PASS"
    assert page.locator("section").count() == 3
    widths = page.eval_on_selector_all("figure img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) >= 3 and min(widths) > 100
    assert errors == []
    page.close()


def test_bad_flag_is_a_usage_error(tmp_path: Path) -> None:
    proc = _check(tmp_path, "--load-rate", "500", "--rate-limit", "100")
    assert proc.returncode == 2
    assert "--load-rate (500) must stay below --rate-limit (100)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_no_file_check_writes_holds_a_full_id_number_or_msisdn(check_run) -> None:
    """Every file under --out, binary ones included, searched for every fixture ID number and MSISDN:
    fixtures and the database live in the private work folder, which is gone after the run."""
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures

    out, proc = check_run
    assert proc.returncode == 0, proc.stderr
    fixtures = generate_fixtures(load_topology().get("R07"), 7, 150)
    secrets = {c.id_number for c in fixtures.cards} | {c.msisdn for c in fixtures.cards}
    assert len(secrets) > 300
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 10 and not any(p.name in ("fixtures.jsonl", "operator.sqlite") for p in files)
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="ignore")
        found = [s[:3] + "…" for s in secrets if s in text]
        assert not found, f"{path.relative_to(out)} holds {len(found)} fixture values"
