"""A FAIL run's findings, worded in the report's language, and personal data named by its shape.

One real reference operator with three seeded defects (a full MSISDN in ``msisdn_masked``, the ID
number echoed in problem details, answers without verification) is judged once by ``yzt conform
--lang zh``; the records are then rendered again in English with ``yzt report``.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from server_helpers import subjects

from yzt.conformance.registry import SAID_EN, Said, failed
from yzt.reports.i18n import SAID_ZH, say, tr
from yzt.server.testing import DEFAULT_SECRET, running_server
from yzt.verdict import Verdict

pytestmark = pytest.mark.integration

DEFECTS = ("unmasked-msisdn", "echo-id-number", "no-verification-required")
ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
#: The English words yzt itself writes around findings and in its notes.
ENGLISH = re.compile(r"\b(Received|Expected|profile|preflight|consequence of|as expected|no sandbox "
                     r"clock|run seed|an 11-digit|an 18-character|the subject's name)\b")


def _yzt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yzt", *args], capture_output=True, text=True,
                          timeout=300, check=False,
                          env=dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode()))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("conform-zh")
    with running_server(defects=DEFECTS) as url:
        done = _yzt("conform", url, "--operator", "R07", "--key-id", "k1", "--seed", "7",
                    "--subjects", "200", "--out", str(out), "--junit", str(out / "junit.xml"),
                    "--lang", "zh", "--run-seed", "3")
    return out, done


def _checks(out: Path) -> dict[str, dict[str, object]]:
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {c["check"]: c for c in data["checks"]}


def _secrets() -> tuple[list[str], list[str]]:
    """Every MSISDN and ID number of the fixtures, in full and as masked (both must stay out)."""
    msisdns = [c.msisdn for s in subjects() for c in s.cards]
    ids = [s.id_number for s in subjects()]
    shown = [f"{m[:3]}****{m[-4:]}" for m in msisdns] + [f"{i[:6]}{'*' * 11}{i[-1]}" for i in ids]
    return msisdns + ids, shown


def test_the_run_fails_on_the_seeded_requirements(run) -> None:
    out, done = run
    assert done.returncode == 1, done.stdout + done.stderr
    checks = _checks(out)
    assert checks["every_msisdn_masked_3_4_4"]["verdict"] == "fail"
    assert checks["no_pii_in_responses"]["verdict"] == "fail"


def test_an_unmasked_number_is_named_by_its_shape_never_reprinted(run) -> None:
    out, done = run
    checks = _checks(out)
    for name in ("every_msisdn_masked_3_4_4", "msisdn_masked_3_4_4"):
        message = str(checks[name]["message"])
        assert message.startswith("Received: msisdn_masked an 11-digit number with no mask / "), message
        assert not re.search(r"[0-9]{3}\*{4}[0-9]{4}", message.split(" / Expected")[0]), message
    pii = str(checks["no_pii_in_responses"]["message"])
    assert "an 18-character ID number" in pii and "an 11-digit number with no mask" in pii, pii
    full, shown = _secrets()
    judged = ("OIF-DET-2", "OIF-PII-1")
    # every writer's words about these findings: none reprints a leaked value, neither whole nor
    # masked into a compliant-looking form
    said: dict[str, str] = {
        "console": "\n".join(line for line in done.stdout.splitlines() if any(j in line for j in judged)),
        "results.json": json.dumps([{k: c.get(k) for k in ("message", "said")}
                                    for c in checks.values() if c["requirement"] in judged],
                                   ensure_ascii=False),
        "report.json": json.dumps([{k: v for k, v in r.items() if k != "evidence"}  # masked bodies
                                   for s in json.loads((out / "report.json").read_text("utf-8"))
                                   ["sections"] for r in s["rows"] if r["requirement"] in judged],
                                  ensure_ascii=False),
        "junit.xml": "\n".join(ET.tostring(case, encoding="unicode") for case in
                               ET.parse(out / "junit.xml").getroot().iter("testcase")
                               if str(case.get("name")).startswith(judged)),
        "report.html": "\n".join(re.findall(r"<tr class=\"r-fail\"><td>OIF-(?:DET-2|PII-1)</td>.*?"
                                            r"(?=<details|</tr>)", (out / "report.html")
                                            .read_text("utf-8"), flags=re.S)),
    }
    for where, text in said.items():
        assert text.count("<td>") >= 2 if where == "report.html" else text, where
        for value in [*full, *shown]:
            assert value not in text, (where, value)
    for path in out.iterdir():
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not any(value in text for value in full), path.name


def test_a_chinese_report_of_a_fail_run_has_no_english_phrases(run) -> None:
    out, _ = run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in page and "不通过" in page
    # the words outside evidence excerpts and commands (what was sent and received, and what to
    # type, as they are on the wire and in a shell)
    words = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(pre|style|code)>.*?</\1>", "", page,
                                                         flags=re.S)))
    assert not ENGLISH.search(words), ENGLISH.findall(words)
    assert "收到：" in words and "应为：" in words and "一个未脱敏的 11 位号码" in words
    assert "预检：" in words and "配置 sandbox" in words
    # wire values are quoted as they were: a status and problem code, the schema's name
    assert "403 verification_required" in words


def test_the_same_records_rendered_in_english_say_it_in_english(run, tmp_path: Path) -> None:
    out, _ = run
    done = _yzt("report", str(out), "--lang", "en", "--out", str(tmp_path))
    assert done.returncode == 1, done.stderr
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Received: msisdn_masked an 11-digit number with no mask" in md
    assert "preflight: health ok" in md and "> profile sandbox" in md


# --- units: the structure behind the words --------------------------------------------------------

def test_every_said_key_is_worded_in_both_languages_and_english_matches_the_records() -> None:
    assert set(SAID_ZH) == set(SAID_EN)
    for key, english in SAID_EN.items():
        assert tr(f"said.{key}", "en") == english
        assert CJK.search(SAID_ZH[key]), key


def test_every_said_key_is_used_by_the_code() -> None:
    code = "\n".join(p.read_text(encoding="utf-8") for folder in ("conformance", "yzt")
                     for p in (ROOT / folder).rglob("*.py"))
    unused = [k for k in SAID_EN if f'"{k}"' not in code and k not in ("verdict_fail", "verdict_error",
                                                                        "verdict_incomplete")]
    assert unused == []
    assert 'f"verdict_{verdict.value}"' in code


def test_a_finding_keeps_its_values_and_is_worded_from_the_catalogue() -> None:
    finding = failed("200", "403 verification_required")
    assert finding.status is Verdict.FAIL
    assert finding.message == "Received: 200 / Expected: 403 verification_required"
    assert finding.said is not None
    again = Said.from_json(json.loads(json.dumps(finding.said.to_json())))
    assert again == finding.said
    assert say(again, "zh") == "收到：200；应为：403 verification_required"
    assert say(again, "en") == finding.message
    nested = Said.of("consequence", cause="OIF-VER-1 x", said=Said.join([again, "free text"]))
    assert say(nested, "zh") == "由 OIF-VER-1 x 导致：收到：200；应为：403 verification_required；free text"
    with pytest.raises(KeyError):
        Said.of("no-such-key")


def test_a_key_this_catalogue_does_not_know_is_shown_as_the_run_recorded_it() -> None:
    newer = Said("said_by_a_newer_yzt", (("value", "200"),))
    assert say(newer, "zh", "Received: 200 somehow") == "Received: 200 somehow"
