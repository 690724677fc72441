"""``yzt report DIR``: a report in another language never replaces the one in DIR unless asked, and
a report rendered elsewhere links to files that exist."""

from __future__ import annotations

import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_helpers import yzt_in_process

from yzt import resultfile

CONFORM = {"verdict": "fail", "operator_id": "R07", "target": "http://127.0.0.1:9", "requests": 2,
           "checks": [{"requirement": "OIF-AUTH-1", "check": "bad_signature", "verdict": "pass"},
                      {"requirement": "OIF-VER-1", "check": "verification_missing", "verdict": "fail",
                       "message": "Received: 200 / Expected: 403 verification_required"}]}
SIM = {"verdict": "pass", "replications": 2, "seed": 1, "scenario": {"name": "launch"},
       "sampling": {"one_in": 1}, "timeseries": {"t_hours": [0, 1], "hotline_queue": [0, 3]},
       "sla": [{"requirement": "SLA-E2E-1", "name": "R07 end to end", "verdict": "pass", "value": 0.99,
                "expected": ">= 95%"}]}
CALIBRATION = {"calibration": {"operator": "R07", "median_ms": 9.0, "sigma": 0.3, "error_ratio": 0.0,
                               "capacity_rps": 120.0}, "outlook": {"meaning": "fine"}}


def _yzt(*args: str) -> subprocess.CompletedProcess[str]:
    """``yzt report ARGS``, in this process: what it prints, writes and returns, not its process."""
    return yzt_in_process("report", *args)


@pytest.fixture
def check_dir(tmp_path: Path) -> Path:
    """A ``yzt check`` folder: check.json, and the conform and sim steps' records beside it."""
    out = tmp_path / "runs" / "check"
    for sub, name, kind, doc in (("conform", "results.json", "conform", CONFORM),
                                 ("sim", "sim-results.json", "sim", SIM),
                                 ("sim", "calibration.json", "calibration", CALIBRATION)):
        (out / sub).mkdir(parents=True, exist_ok=True)
        resultfile.write(out / sub / name, kind, 1, doc)
    resultfile.write(out / "check.json", "check", 1, {
        "operator": "R07", "steps": {"conform": {"verdict": "fail"}, "sim": {"verdict": "pass"}}})
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append(value)


def _local_links(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return [link for link in parser.found if not link.startswith(("data:", "#", "http://", "https://"))]


@pytest.mark.parametrize("where", ["elsewhere", "deeper/still", "../outside"])
def test_links_of_a_report_rendered_elsewhere_resolve(check_dir: Path, where: str) -> None:
    out = (check_dir.parent / where).resolve()
    done = _yzt(str(check_dir), "--out", str(out), "--lang", "en")
    assert done.returncode == 1, done.stderr
    links = _local_links(out / "report.html")
    assert len(links) >= 3  # conform results, sim results, the calibration
    for link in links:
        assert (out / link).is_file(), f"{link} does not resolve from {out}"
    assert any(link.endswith("sim/calibration.json") for link in links)


def test_a_report_in_another_language_is_written_beside_the_one_in_the_folder(check_dir: Path) -> None:
    first = _yzt(str(check_dir), "--lang", "en")
    assert first.returncode == 1, first.stderr
    english = {name: (check_dir / name).read_bytes() for name in
               ("report.html", "report.md", "report.json", "junit.xml")}
    done = _yzt(str(check_dir), "--lang", "zh")
    assert done.returncode == 1, done.stderr
    assert {name: (check_dir / name).read_bytes() for name in english} == english  # left as it was
    assert f"give --out {check_dir} to replace it" in done.stderr
    zh = check_dir / "report.zh.html"
    assert 'lang="zh-CN"' in zh.read_text(encoding="utf-8")
    assert json.loads((check_dir / "report.zh.json").read_text(encoding="utf-8"))["lang"] == "zh"
    assert (check_dir / "report.zh.md").is_file() and (check_dir / "junit.zh.xml").is_file()
    for link in _local_links(zh):
        assert (check_dir / link).is_file(), link
    # the same language again is re-rendered in place; asked with --out, the zh one replaces it
    assert _yzt(str(check_dir), "--lang", "en").returncode == 1
    assert not (check_dir / "report.en.html").exists()
    assert _yzt(str(check_dir), "--lang", "zh", "--out", str(check_dir)).returncode == 1
    assert 'lang="zh-CN"' in (check_dir / "report.html").read_text(encoding="utf-8")
