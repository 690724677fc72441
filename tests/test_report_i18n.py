"""The report speaks English and Chinese from one catalogue; Chinese plot labels are glyphs, not boxes."""

from __future__ import annotations

import os
import re
import string
import warnings
from pathlib import Path

import pytest

from yzt.reports import i18n, plots
from yzt.verdict import Verdict

REPORTS = Path(i18n.__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Keys built at run time from a prefix and a name.
DYNAMIC = ("verdict.", "series.", "section.", "said.", "stage.", "twin.metric.")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_exists_in_both_languages_with_the_same_fields(key: str) -> None:
    en, zh = i18n.MESSAGES[key]
    assert en.strip() and zh.strip()
    assert _fields(en) == _fields(zh), key
    assert CJK.search(zh), f"{key}: the Chinese text is not Chinese: {zh!r}"
    assert not CJK.search(en), f"{key}: the English text has Chinese in it: {en!r}"


def _sources() -> str:
    files = [*REPORTS.glob("*.py"), *REPORTS.glob("templates/*.html")]
    return "\n".join(p.read_text(encoding="utf-8") for p in files if p.name != "i18n.py")


def test_every_key_the_code_asks_for_exists_and_every_message_is_used() -> None:
    code = _sources()
    asked = set(re.findall(r"""\btr\(\s*["']([a-z0-9_.]+)["']""", code))
    labels = set(re.findall(r"report\.label\.([a-z_]+)", code))
    known_labels = {k.replace(".", "_") for k in i18n.MESSAGES}
    assert asked and labels
    assert asked - set(i18n.MESSAGES) == set()
    assert labels - known_labels == set()
    for v in Verdict:
        assert f"verdict.{v.value}" in i18n.MESSAGES
    for key in ("conform", "load", "sim"):
        assert f"section.{key}" in i18n.MESSAGES
    unused = [k for k in i18n.MESSAGES
              if not k.startswith(DYNAMIC) and k not in asked and k.replace(".", "_") not in labels]
    assert unused == []


@pytest.mark.parametrize(("env", "lang"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"), ({}, "en"),
    ({"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"), ({"LC_MESSAGES": "zh_TW", "LANG": "C"}, "zh"),
])
def test_the_default_language_follows_the_locale(env: dict[str, str], lang: str) -> None:
    assert i18n.default_lang(env) == lang


def _cjk_family() -> str:
    family = plots.cjk_font()
    if family is None:
        if os.environ.get("YZT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("a CJK font is required: apt-get install fonts-noto-cjk")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    return family


def _missing_glyph_warnings(draw: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = draw()  # type: ignore[operator]
    assert png[:4] == b"\x89PNG"
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_chinese_plot_labels_are_drawn_with_a_cjk_font_not_boxes() -> None:
    family = _cjk_family()
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert "DejaVu" not in path
    font = FT2Font(path)
    label = "各运营商客服热线服务水平与放弃率"
    assert all(font.get_char_index(ord(c)) for c in label)  # every character has a glyph
    def draw() -> bytes:
        return plots.line_chart(label, [0, 1], {"短信积压量": [0.0, 1.0]}, xlabel="小时", ylabel="均值")
    assert _missing_glyph_warnings(draw) == []


def test_the_glyph_check_catches_a_font_without_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seeded defect: DejaVu Sans only. matplotlib then draws boxes and says so."""
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    def draw() -> bytes:
        return plots.line_chart("短信积压量", [0, 1], {"x": [0.0, 1.0]}, xlabel="小时", ylabel="y")
    assert _missing_glyph_warnings(draw)
