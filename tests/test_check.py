"""``yzt check`` end to end: every step against the embedded reference, one report, in Chromium.

The check runs once, with ``--lang zh``; ``yzt report`` then renders the same folder again (it must
give the same files) and in English. Both pages are screenshotted in headless Chromium; with
``YZT_UPDATE_SCREENSHOTS=1`` the screenshots replace docs/img/report-zh.png and report-en.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from yzt.domain.masking import find_pii

pytestmark = pytest.mark.integration

DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
CJK = re.compile(r"[\u4e00-\u9fff]")
REPORT_FILES = ("report.html", "report.md", "report.json", "junit.xml")


def _yzt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yzt", *args], capture_output=True, text=True,
                          timeout=600, check=False)


def _check(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _yzt("check", "--out", str(out), *args)


@pytest.fixture(scope="module")
def check_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("check")
    return out, _check(out, "--subjects", "150", "--load-duration", "6s", "--replications", "2",
                       "--lang", "zh")


@pytest.fixture(scope="module")
def english(check_run: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out, _ = check_run
    en = tmp_path_factory.mktemp("check-en")
    proc = _yzt("report", str(out), "--out", str(en), "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    return en


def test_check_passes_on_the_reference_and_writes_every_format(check_run) -> None:
    out, proc = check_run
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "pass" and report["lang"] == "zh"
    assert [s["key"] for s in report["sections"]] == ["conform", "load", "sim"]
    assert all(s["verdict"] == "pass" for s in report["sections"])
    conform_rows = report["sections"][0]["rows"]
    assert len(conform_rows) > 50 and all(r["verdict"] == "pass" for r in conform_rows)
    assert any(r["requirement"] == "SLA-LAT-1" for r in report["sections"][1]["rows"])
    assert any(r["requirement"] == "SLA-E2E-1" for r in report["sections"][2]["rows"])
    for name in ("report.html", "report.md", "junit.xml", "conform/results.json", "load/results.json",
                 "sim/sim-results.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert not find_pii(text), f"personal data in {name}"


def test_yzt_report_on_the_check_folder_reproduces_its_report(check_run, tmp_path: Path) -> None:
    out, proc = check_run
    assert proc.returncode == 0, proc.stderr
    before = {name: (out / name).read_bytes() for name in REPORT_FILES}
    again = _yzt("report", str(out), "--lang", "zh")
    assert again.returncode == 0, again.stderr
    for name in REPORT_FILES:
        assert (out / name).read_bytes() == before[name], f"{name} differs when re-rendered"
    # the three step folders given one by one make the same sections with the same rows
    parts = _yzt("report", str(out / "conform"), str(out / "load"), str(out / "sim"), "--out",
                 str(tmp_path), "--lang", "zh")
    assert parts.returncode == 0, parts.stderr
    whole = json.loads(before["report.json"])
    split = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [(s["key"], s["verdict"], s["rows"]) for s in split["sections"]] == \
        [(s["key"], s["verdict"], s["rows"]) for s in whole["sections"]]


def _open(chromium: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """The page, with console errors and every request that left the file (there must be none)."""
    page = chromium.new_page(viewport={"width": 1100, "height": 1500})
    errors: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else external.append(r.url))
    page.goto(path.as_uri())
    return page, errors, external


def _cjk_glyphs(page: Any, selector: str) -> tuple[int, int]:
    """(CJK characters in the element's text, glyphs Chromium drew for it from a CJK font)."""
    text = page.inner_text(selector)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    drawn = sum(f["glyphCount"] for f in fonts if "CJK" in f["familyName"])
    return len(CJK.findall(text)), drawn


def _shoot(page: Any, name: str, tmp: Path) -> Path:
    shot = tmp / name
    page.screenshot(path=str(shot))
    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert image.size == (1100, 1500)
        assert colours is None or len(colours) > 50  # a rendered page, not a blank one
    if os.environ.get("YZT_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMG / name)
    return shot


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_check_report_renders_in_chromium(check_run, english: Path, chromium: Any, lang: str,
                                          tmp_path: Path) -> None:
    out, proc = check_run
    assert proc.returncode == 0, proc.stderr
    folder = out if lang == "zh" else english
    page, errors, external = _open(chromium, folder / "report.html")
    assert page.locator("#overall").get_attribute("data-verdict") == "pass"
    assert page.inner_text("#overall") == ("通过" if lang == "zh" else "PASS")
    assert page.locator("main > section").count() == 4  # what to fix, then the three steps
    assert page.inner_text("#fix h2") == ("需要整改的问题" if lang == "zh" else "What to fix")
    widths = page.eval_on_selector_all("figure img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) >= 3 and min(widths) > 100
    # passed checks are folded: their rows exist but are hidden until a reader expands them
    assert page.locator("section#conform details.req").count() >= 20
    assert not page.locator("section#conform details.req table").first.is_visible()
    # the 39 hotline rows became one chart; no hotline row is listed when none breached
    assert page.locator("text=SLA-HOT-1").count() == 0
    # self-contained: every src and href is data: or a relative file of the run
    links = page.eval_on_selector_all("[src], [href]",
                                      "els => els.map(e => e.getAttribute('src') || e.getAttribute('href'))")
    assert all(not re.match(r"^[a-z]+://", link) for link in links), links
    _shoot(page, f"report-{lang}.png", tmp_path)
    # checked before the font inspection below: DevTools' CSS domain logs its own file: warning
    assert errors == [] and external == []
    if lang == "zh":
        chars, drawn = _cjk_glyphs(page, "h1")
        assert chars > 5 and drawn >= chars, "Chinese heading drawn without a CJK font (tofu)"
        chars, drawn = _cjk_glyphs(page, "#fix")
        assert drawn >= chars
    page.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_committed_screenshots_are_there_and_small(lang: str) -> None:
    shot = DOCS_IMG / f"report-{lang}.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size < 400_000


def test_bad_flag_is_a_usage_error(tmp_path: Path) -> None:
    proc = _check(tmp_path, "--load-rate", "500", "--rate-limit", "100")
    assert proc.returncode == 2
    assert "--load-rate (500) must stay below --rate-limit (100)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_report_of_a_folder_that_holds_no_results_is_a_usage_error(tmp_path: Path) -> None:
    proc = _yzt("report", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not a result directory of yzt check, conform, load, sim or plan" in proc.stderr
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


def test_junit_of_a_clean_run_validates_and_holds_the_reports_cases(check_run) -> None:
    from junit_helpers import load_junit_schema, same_cases

    out, proc = check_run
    assert proc.returncode == 0, proc.stderr
    report, cases = same_cases(out, load_junit_schema())
    assert len(cases) > 50 and {c["kind"] for c in cases} <= {"passed", "skipped"}
    assert "参考运营商接口，内置默认配置" in report["title"]  # the embedded run, and only it
    assert f'<testsuite name="{report["title"]}"' in (out / "junit.xml").read_text(encoding="utf-8")
    assert "what to fix" not in proc.stderr  # nothing failed: no list on screen
