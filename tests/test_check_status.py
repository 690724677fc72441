"""``yzt check``'s exit status, check.json and what its report and junit.xml say.

Unit tests stage a check folder as the steps leave it (records, check.json) and render it; the
integration tests run ``yzt check URL`` against a real ``yzt serve``: a slow endpoint (a fault
profile) exits 1 with SLA-LAT-1 in "what to fix" and in JUnit and the simulation skipped with its
reason; a cancellation-refusing endpoint exits 1 although the later steps end in error; a wrong
secret exits 2 with the preflight's message as a JUnit error; an endpoint without a rate limit
exits 3, the report names the checks and the waiver that finishes them, and that waiver passes.
Every junit.xml is validated against the JUnit schema CI servers read (tests/data/junit-jenkins.xsd)
and holds the cases the report holds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from junit_helpers import load_junit_schema, same_cases

from yzt import resultfile
from yzt.domain.masking import find_pii
from yzt.reports.readers import read_dirs
from yzt.reports.render import WAIVER_EXPIRY_PLACEHOLDER, write_report
from yzt.server.testing import DEFAULT_SECRET, running_server
from yzt.verdict import Verdict, combine_run

SERVER = {"operator": "R12", "seed": 7, "subjects": 200}


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return load_junit_schema()


# --- staged folders ------------------------------------------------------------------------------

def _conform_doc(verdicts: dict[str, str]) -> dict[str, Any]:
    checks = [{"requirement": "OIF-ERR-2" if v == "incomplete" else "OIF-CXL-1", "check": name,
               "verdict": v, "message": f"{name} said so",
               "reproduce": f"yzt conform http://127.0.0.1:1 --only {name}" if v == "fail" else ""}
              for name, v in verdicts.items()]
    verdict = combine_run(Verdict.parse(v) for v in verdicts.values())
    return {"verdict": verdict.value, "operator_id": "R12", "checks": checks, "requests": 3,
            "duration_s": 1.0, "notes": []}


def _stage(out: Path, steps: dict[str, Any], conform: dict[str, str] | None = None,
           target: str | None = "http://user:pw@127.0.0.1:8700") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    resultfile.write(out / "check.json", "check", 1, {"operator": "R12", "target": target, "steps": steps})
    resultfile.write(out / "preflight.json", "preflight", 1, {
        "verdict": "pass", "note": "preflight: health ok",
        "notes": ["card-count differs from the fixtures"]})
    if conform is not None:
        (out / "conform").mkdir(exist_ok=True)
        resultfile.write(out / "conform" / "results.json", "conform", 1, _conform_doc(conform))
    return out


def _step(verdict: str, **fields: Any) -> dict[str, Any]:
    return {"verdict": verdict, "state": "ran", "duration_s": 1.5, "message": "", "command": "", **fields}


def test_a_later_error_and_a_skipped_step_never_outrank_a_failure(tmp_path: Path, junit_schema) -> None:
    out = _stage(tmp_path, {
        "conform": _step("fail", command="yzt conform http://127.0.0.1:8700 --operator R12"),
        "load": _step("error", message="preflight signed request: 401 timestamp_skew",
                      command="yzt load http://127.0.0.1:8700 --operator R12 --rate 2"),
        "sim": {"verdict": "incomplete", "state": "skipped",
                "message": "no calibration: only 4 successful requests; a fit needs at least 30"},
    }, conform={"remote_cancellation_accepted": "fail", "card_count": "pass"})
    report = read_dirs([out], "en", out_dir=out)
    assert report.verdict is Verdict.FAIL and report.verdict.exit_code == 1
    write_report(report, out)
    data, cases = same_cases(out, junit_schema)
    # the failure leads "what to fix", with its own reproduce command; the load step's own error
    # and the skipped simulation's reason follow, never an empty row
    fixes = data["fixes"]
    assert fixes[0]["requirement"] == "OIF-CXL-1"
    assert fixes[0]["reproduce"].endswith("--only remote_cancellation_accepted")
    load = next(f for f in fixes if f["section"] == "load")
    assert load["verdict"] == "error" and "401 timestamp_skew" in load["message"]
    assert load["reproduce"] == "yzt load http://127.0.0.1:8700 --operator R12 --rate 2"
    sim = next(f for f in fixes if f["section"] == "sim")
    assert sim["verdict"] == "incomplete" and "only 4 successful requests" in sim["message"]
    assert all(f["message"] for f in fixes)  # the failed step's own error, the skip's reason
    error = next(c for c in cases if c["classname"] == "yzt.load")
    assert error["kind"] == "error" and "401 timestamp_skew" in error["text"]
    assert "reproduce: yzt load http://127.0.0.1:8700" in error["text"]
    failure = next(c for c in cases if c["kind"] == "failure")
    assert "reproduce: yzt conform" in failure["text"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "`yzt conform http://127.0.0.1:1 --only remote_cancellation_accepted`" in md
    assert "401 timestamp_skew" in md and "Load test (yzt load): ." not in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('class="reproduce"') >= 2


def test_errors_alone_make_an_error_run_and_some_passes_an_incomplete_one(tmp_path: Path,
                                                                         junit_schema) -> None:
    error = _stage(tmp_path / "e", {"preflight": _step("error", message="preflight signed request: "
                                                       "401 signature_invalid — check the key id")})
    report = read_dirs([error], "en", out_dir=error)
    assert report.verdict is Verdict.ERROR
    write_report(report, error)
    data, cases = same_cases(error, junit_schema)
    assert [c["kind"] for c in cases] == ["error"] and "signature_invalid" in cases[0]["text"]
    assert data["exit_code"] == 2
    partial = _stage(tmp_path / "p", {"conform": _step("pass"), "load": _step("error", message="boom")},
                     conform={"card_count": "pass"})
    assert read_dirs([partial], "en").verdict is Verdict.INCOMPLETE


def test_title_names_operator_and_target_in_both_languages(tmp_path: Path, junit_schema) -> None:
    out = _stage(tmp_path, {"conform": _step("pass")}, conform={"card_count": "pass"})
    for lang, words in (("en", "yzt check — R12 at http://127.0.0.1:8700"),
                        ("zh", "yzt 检查 — R12（http://127.0.0.1:8700）")):
        report = read_dirs([out], lang, out_dir=out)  # type: ignore[arg-type]
        assert report.title == words and "pw" not in report.title
        assert "embedded" not in report.title and "内置" not in report.title
        write_report(report, out)
        suite = re.search(r'<testsuite name="([^"]+)"', (out / "junit.xml").read_text("utf-8"))
        assert suite and suite.group(1) == words
        same_cases(out, junit_schema)
        # the preflight's notes open the report
        assert report.notes == ("preflight: health ok", "card-count differs from the fixtures")
        assert "card-count differs from the fixtures" in (out / "report.html").read_text("utf-8")
    embedded = _stage(tmp_path / "emb", {"conform": _step("pass")}, conform={"card_count": "pass"},
                      target=None)
    assert "reference operator, embedded defaults" in read_dirs([embedded], "en").title


def test_unfinished_checks_are_named_with_a_waiver_that_loads(tmp_path: Path) -> None:
    from yzt.conformance.waivers import load_waivers

    out = _stage(tmp_path, {"conform": _step("incomplete")},
                 conform={"card_count": "pass", "overload_has_retry_after": "incomplete"})
    for lang in ("en", "zh"):
        report = read_dirs([out], lang, out_dir=out)  # type: ignore[arg-type]
        write_report(report, out)
        data = json.loads((out / "report.json").read_text(encoding="utf-8"))
        left = data["unfinished"]
        assert [(c["requirement"], c["check"]) for c in left["checks"]] == \
            [("OIF-ERR-2", "overload_has_retry_after")]
        assert "rate limit" in left["sandbox"] or "限流" in left["sandbox"]
        for name in ("report.md", "report.html"):
            text = (out / name).read_text(encoding="utf-8")
            assert "check: overload_has_retry_after" in text and "--waivers" in text
        waiver = tmp_path / f"waivers-{lang}.yaml"
        waiver.write_text(left["waiver_file"].replace(WAIVER_EXPIRY_PLACEHOLDER, "2099-12-31"),
                          encoding="utf-8")
        [loaded] = load_waivers(waiver)
        assert (loaded.requirement, loaded.check) == ("OIF-ERR-2", "overload_has_retry_after")


def test_a_step_error_is_read_from_its_log_and_scrubbed(tmp_path: Path) -> None:
    from yzt.pipeline.check import shown_command, step_error

    log = tmp_path / "load.log"
    log.write_text("yzt load: constant 2 req/s\nyzt load: error: preflight signed request: 401 "
                   "timestamp_skew for 110101199003077777 at 13800138000\n  fix: sign with the "
                   "sandbox clock\n", encoding="utf-8")
    message = step_error(log, "load")
    assert message.startswith("preflight signed request: 401 timestamp_skew")
    assert "fix: sign with the sandbox clock" in message
    assert not find_pii(message) and "13800138000" not in message
    crash = tmp_path / "sim.log"
    crash.write_text("Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad\n",
                     encoding="utf-8")
    assert step_error(crash, "sim").endswith("ValueError: bad")
    assert shown_command([sys.executable, "-m", "yzt", "load", "http://h:1", "--rate", "2"]) == \
        "yzt load http://h:1 --rate 2"
    from yzt.spawn import yzt_command

    assert shown_command(yzt_command("load", "http://h:1", "--rate", "2")) == "yzt load http://h:1 --rate 2"
    # the step's own sub-command names the "yzt load: error:" line its log is searched for
    from yzt.pipeline.check import _yzt_args

    assert _yzt_args(yzt_command("load", "http://h:1"))[0] == "load"


# --- against a real yzt serve --------------------------------------------------------------------

def _check(url: str, out: Path, *args: str, secret: bytes = DEFAULT_SECRET,
           timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "yzt", "check", url, "--operator", "R12", "--key-id", "k1",
           "--seed", "7", "--subjects", "200", "--replications", "2", "--out", str(out), *args]
    env = dict(os.environ, YZT_SECRET=secret.decode())
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def _no_pii(out: Path) -> None:
    for name in ("report.html", "report.md", "report.json", "junit.xml", "check.json"):
        assert not find_pii((out / name).read_text(encoding="utf-8")), f"personal data in {name}"


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_slow_endpoint_fails_sla_lat_1_and_the_simulation_is_skipped(tmp_path: Path,
                                                                      junit_schema) -> None:
    """card-count p95 well over SLA-LAT-1's 300 ms; the load run is so short that the calibrated
    simulation has too few requests to fit: it is skipped with that reason, and the run exits 1.

    The profile (p50 400 ms, p99 500 ms) puts a card-count under 300 ms about once in 700 answers;
    a slower one only lengthens the conformance step, which waits on each card-count in turn."""
    faults = tmp_path / "slow.yaml"
    faults.write_text("latency:\n  endpoints:\n    card-count: {p50_ms: 400, p99_ms: 500}\n"
                      "rate_limit: {rps: 150}\n", encoding="utf-8")
    out = tmp_path / "out"
    with running_server(**SERVER, extra_args=("--faults", str(faults))) as url:
        proc = _check(url, out, "--load-rate", "2", "--load-duration", "2s", "--skip", "capacity",
                      timeout=580)
    assert proc.returncode == 1, proc.stderr[-3000:]
    report, cases = same_cases(out, junit_schema)
    assert report["verdict"] == "fail"
    lat = next(f for f in report["fixes"] if f["requirement"] == "SLA-LAT-1")
    assert lat["verdict"] == "fail" and lat["section"] == "load" and "card-count" in lat["name"]
    assert " ms (exact over " in lat["measured"]
    assert lat["expected"] == "p95<=300ms"
    assert re.fullmatch(rf"yzt load {re.escape(url)} --operator R12 --key-id k1 --seed 7 --subjects 200 "
                        r"--rate 2 --duration 2s --schema-sample all --out \S+/load", lat["reproduce"])
    assert "YZT_SECRET" not in lat["reproduce"] and DEFAULT_SECRET.decode() not in proc.stderr
    junit = next(c for c in cases if c["kind"] == "failure" and c["name"].startswith("SLA-LAT-1 card-count"))
    assert "reproduce: yzt load" in junit["text"]
    # on screen: the failure and its reproduce command
    assert "FAIL SLA-LAT-1 card-count p95<=300ms: measured" in proc.stderr
    assert f"reproduce: yzt load {url}" in proc.stderr
    check = json.loads((out / "check.json").read_text(encoding="utf-8"))
    sim = check["steps"]["sim"]
    assert sim["state"] == "skipped" and sim["verdict"] == "incomplete"
    assert "successful requests; a fit needs at least 30" in sim["message"]
    assert "after the load step failed" in sim["message"]
    assert check["steps"]["load"]["verdict"] == "fail" and check["steps"]["load"]["duration_s"] > 0
    assert [s["key"] for s in report["sections"]] == ["conform", "load", "sim"]
    _no_pii(out)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_refused_cancellation_exits_1_though_the_later_steps_end_in_error(tmp_path: Path,
                                                                           junit_schema) -> None:
    """OIF-CXL-1 fails in conformance; then the endpoint goes away (the test stops it as soon as
    the conformance step has written its results), so the load and capacity steps end in error:
    the run is still a failure (exit 1), and each step's own error is a JUnit error."""
    out = tmp_path / "out"
    env = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())
    with running_server(**SERVER, defects=("refuse-remote-cancellation",),
                        extra_args=("--rate-limit", "150")) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "yzt", "check", url, "--operator", "R12", "--key-id", "k1", "--seed",
             "7", "--subjects", "200", "--load-rate", "5", "--load-duration", "3s", "--capacity-runs",
             "2", "--capacity-duration", "2s", "--replications", "2", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 300
        while not (out / "conform" / "results.json").exists() and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.02)
    _, stderr = proc.communicate(timeout=500)
    check = json.loads((out / "check.json").read_text(encoding="utf-8"))
    steps = check["steps"]
    assert steps["conform"]["verdict"] == "fail", stderr[-3000:]
    assert steps["load"]["verdict"] == steps["capacity"]["verdict"] == "error", stderr[-3000:]
    assert proc.returncode == 1, stderr[-3000:]
    assert "cannot reach" in steps["load"]["message"], steps["load"]
    assert steps["sim"]["state"] == "skipped" and "no calibration" in steps["sim"]["message"]
    report, cases = same_cases(out, junit_schema)
    assert report["verdict"] == "fail"
    assert report["fixes"][0]["requirement"] == "OIF-CXL-1" and report["fixes"][0]["primary"]
    load = next(f for f in report["fixes"] if f["section"] == "load")
    assert load["verdict"] == "error" and "cannot reach" in load["message"]
    error = next(c for c in cases if c["classname"] == "yzt.load")
    assert error["kind"] == "error" and "cannot reach" in error["text"]
    assert "reproduce: yzt load" in error["text"]
    assert "ERROR Load test (yzt load): " in stderr and "cannot reach" in stderr
    _no_pii(out)


@pytest.mark.integration
@pytest.mark.parametrize("defect", ["refuse-remote-cancellation", "refuse-remote-cancellation-at-submit"])
def test_yzt_conform_exits_1_on_a_refused_cancellation(defect: str) -> None:
    with running_server(**SERVER, defects=(defect,), extra_args=("--rate-limit", "150")) as url:
        proc = subprocess.run(
            [sys.executable, "-m", "yzt", "conform", url, "--operator", "R12", "--key-id", "k1", "--seed",
             "7", "--subjects", "200"], capture_output=True, text=True, timeout=300,
            check=False, env=dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode()))
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "FAIL  OIF-CXL-1   remote_cancellation_accepted" in proc.stdout


@pytest.mark.integration
def test_a_wrong_secret_is_exit_2_with_the_preflight_error_in_junit(tmp_path: Path, junit_schema) -> None:
    with running_server(**SERVER) as url:
        proc = _check(url, tmp_path, secret=b"not-the-secret")
    assert proc.returncode == 2, proc.stderr
    assert "preflight signed request" in proc.stderr and "Traceback" not in proc.stderr
    report, cases = same_cases(tmp_path, junit_schema)
    assert report["verdict"] == "error" and report["exit_code"] == 2
    assert [c["kind"] for c in cases] == ["error"] and "preflight signed request" in cases[0]["text"]


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_without_a_rate_limit_the_report_says_how_to_finish_and_the_waiver_does(tmp_path: Path,
                                                                               junit_schema) -> None:
    with running_server(**SERVER) as url:  # no --rate-limit: overload cannot be provoked
        proc = _check(url, tmp_path / "first", "--skip", "load", "--skip", "capacity", "--skip", "sim")
        assert proc.returncode == 3, proc.stderr[-3000:]
        report, _ = same_cases(tmp_path / "first", junit_schema)
        left = report["unfinished"]
        assert [(c["requirement"], c["check"]) for c in left["checks"]] == \
            [("OIF-ERR-2", "overload_has_retry_after")]
        assert "could not complete: OIF-ERR-2 overload_has_retry_after" in proc.stderr
        waiver = tmp_path / "waivers.yaml"
        waiver.write_text(left["waiver_file"].replace(WAIVER_EXPIRY_PLACEHOLDER, "2099-12-31"),
                          encoding="utf-8")
    with running_server(**SERVER) as url:  # a fresh sandbox: the first run used its subjects
        again = _check(url, tmp_path / "second", "--skip", "load", "--skip", "capacity", "--skip", "sim",
                       "--waivers", str(waiver))
    assert again.returncode == 0, again.stderr[-3000:]
    report, _ = same_cases(tmp_path / "second", junit_schema)
    assert report["unfinished"] is None
    waived = [r for s in report["sections"] for r in s["rows"] if r["verdict"] == "waived"]
    assert [r["name"] for r in waived] == ["overload_has_retry_after"]
