"""The Chinese report stays Chinese when matplotlib's font cache predates the CJK font, and says so
when its plots must fall back to English labels."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from yzt import resultfile
from yzt.reports import plots
from yzt.reports.readers import read_dirs

CJK = re.compile(r"[\u4e00-\u9fff]")
RESULTS = {"verdict": "fail", "operator_id": "R07", "target": "http://127.0.0.1:9", "requests": 3,
           "checks": [{"requirement": "OIF-AUTH-1", "check": "bad_signature", "verdict": "pass"},
                      {"requirement": "OIF-DET-2", "check": "msisdn_masked_3_4_4", "verdict": "fail",
                       "message": "Received: 200 / Expected: 403 verification_required"}]}
#: Writes a font cache into MPLCONFIGDIR as matplotlib's first run would have before fonts-noto-cjk
#: was installed: every installed font but the CJK ones.
STALE_CACHE = """
import sys
from pathlib import Path
import matplotlib
from matplotlib import font_manager as fm
manager = fm.FontManager()
manager.ttflist = [f for f in manager.ttflist if "CJK" not in f.name and f.name not in sys.argv[1:]]
fm.json_dump(manager, Path(matplotlib.get_cachedir(), f"fontlist-v{fm.FontManager.__version__}.json"))
"""
FINDS_CJK = """
import sys
from matplotlib import font_manager as fm
try:
    fm.findfont(fm.FontProperties(family=sys.argv[1]), fallback_to_default=False)
except ValueError:
    print("hidden")
else:
    print("found")
"""


def _cjk_installed() -> None:
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                            check=False).stdout
    if not any(family in listed for family in plots.CJK_FAMILIES):
        if os.environ.get("YZT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("a CJK font is required: apt-get install fonts-noto-cjk")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")


def _results(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    resultfile.write(run / "results.json", "conform", 1, RESULTS)
    return run


def _py(code: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_stale_font_cache_is_rescanned_and_the_plots_speak_chinese(tmp_path: Path) -> None:
    _cjk_installed()
    env = dict(os.environ, MPLCONFIGDIR=str(tmp_path / "mpl"))
    _py(STALE_CACHE, *plots.CJK_FAMILIES, env=env)
    # the seeded situation: with this cache, matplotlib does not see the installed CJK font
    assert _py(FINDS_CJK, plots.CJK_FAMILIES[0], env=env) == "hidden"
    done = subprocess.run([sys.executable, "-m", "yzt", "report", str(_results(tmp_path)), "--lang",
                           "zh", "--out", str(tmp_path / "zh")], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    report = json.loads((tmp_path / "zh" / "report.json").read_text(encoding="utf-8"))
    assert report["plot_font"] in plots.CJK_FAMILIES
    page = (tmp_path / "zh" / "report.html").read_text(encoding="utf-8")
    titles = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="[^"]*" title="([^"]*)"', page)
    assert titles and all(CJK.search(t) for t in titles), titles
    assert "图表使用英文标注" not in page
    # the rescan was written back: the next run finds the font from the cache alone
    assert _py(FINDS_CJK, report["plot_font"], env=env) == "found"


@pytest.fixture
def no_cjk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No family of the list is installed (as on a machine without fonts-noto-cjk)."""
    monkeypatch.setattr(plots, "CJK_FAMILIES", ("No Such Sans CJK",))
    plots.cjk_font.cache_clear()
    yield
    plots.cjk_font.cache_clear()


def test_plots_that_fall_back_to_english_say_so_and_why(tmp_path: Path, no_cjk: None) -> None:
    report = read_dirs([_results(tmp_path)], "zh")
    assert report.plot_font == plots.LATIN_FAMILY
    (section,) = report.sections
    assert section.plots and not CJK.search(section.plots[0].title)
    (note,) = [n for n in section.notes if "图表使用英文标注" in n]
    assert "No Such Sans CJK" in note and "apt-get install fonts-noto-cjk" in note
    # an English report has nothing to fall back from
    assert not [n for s in read_dirs([tmp_path / "run"], "en").sections for n in s.notes]
