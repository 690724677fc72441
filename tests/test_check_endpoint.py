"""``yzt check TARGET_URL`` against a ``yzt serve`` started by hand: every step, one report.

The clean reference (rate-limited at 40 req/s, so that the capacity finder has something to find)
passes through preflight, conformance, load, capacity and the calibrated simulation; the same
endpoint with a seeded masking defect exits 1 and names OIF-DET-2 first; a wrong secret stops at
the preflight with exit 2, naming key id, secret and the clocks; a second check on the sandbox
the first one's conformance step moved days ahead passes too (its steps find the clock through the
clock memory, not through the HTTP Date header, which is real time). The first check of the
clean endpoint's fresh sandbox serves both the every-step test and the second-check test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from yzt.server.testing import DEFAULT_SECRET, running_server

pytestmark = pytest.mark.integration

SERVER = {"operator": "R12", "seed": 7, "subjects": 200}


def _check(url: str, out: Path, *args: str, secret: bytes = DEFAULT_SECRET,
           timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "yzt", "check", url, "--operator", "R12", "--key-id", "k1",
           "--seed", "7", "--subjects", "200", "--load-rate", "10", "--load-duration", "4s",
           "--replications", "2", "--out", str(out), *args]
    env = dict(os.environ, YZT_SECRET=secret.decode())
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


Checked = tuple[str, Path, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    """The clean endpoint and the first check of its fresh sandbox (every step); the second check
    of the same sandbox runs against it later."""
    with running_server(**SERVER, extra_args=("--rate-limit", "40")) as url:
        out = tmp_path_factory.mktemp("first")
        yield url, out, _check(url, out, "--capacity-duration", "2s", "--capacity-runs", "8",
                               timeout=880)


@pytest.mark.timeout(900)
def test_every_step_against_a_clean_endpoint(clean):
    url, tmp_path, proc = clean
    # the capacity gate is the load rate: an endpoint that holds it passes, however far the search
    # got beyond it (a generator slowed by CPU contention only leaves the bracket open)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "preflight: health ok, operator R12" in proc.stderr
    report = _report(tmp_path)
    assert [s["key"] for s in report["sections"]] == ["conform", "load", "capacity", "sim"]
    verdicts = {s["key"]: s["verdict"] for s in report["sections"]}
    assert verdicts == {"conform": "pass", "load": "pass", "capacity": "pass", "sim": "pass"}
    assert report["verdict"] == "pass"
    capacity = json.loads((tmp_path / "capacity" / "capacity.json").read_text(encoding="utf-8"))
    assert capacity["highest_sustainable_rate"] >= 20
    if capacity["converged"]:
        assert any(s["phase"] == "bisect" for s in capacity["steps"])
    else:
        assert "at least" in capacity["stopped"] or "budget" in capacity["stopped"]
    calibration = json.loads((tmp_path / "sim" / "calibration.json").read_text(encoding="utf-8"))
    assert calibration["calibration"]["capacity_rps"] == capacity["highest_sustainable_rate"]
    assert "R12" in calibration["scenario_changes"]["operators"]
    sim = report["sections"][3]
    assert "R12 measured: median" in sim["summary"]
    assert any(r["requirement"] == "SLA-E2E-1" for r in sim["rows"])
    assert (tmp_path / "report.html").stat().st_size > 0
    # titled by operator and target; junit.xml validates and holds the report's cases
    from junit_helpers import load_junit_schema, same_cases

    assert report["title"] == f"yzt check — R12 at {url}"
    _, cases = same_cases(tmp_path, load_junit_schema())
    assert {c["kind"] for c in cases} <= {"passed", "skipped"}
    check = json.loads((tmp_path / "check.json").read_text(encoding="utf-8"))
    assert all(step["duration_s"] > 0 and step["command"].startswith("yzt ")
               for step in check["steps"].values())


def test_a_seeded_defect_fails_and_is_named_first(tmp_path):
    with running_server(**SERVER, defects=("bad-msisdn-mask",)) as url:
        proc = _check(url, tmp_path, "--skip", "capacity", "--skip", "sim")
    assert proc.returncode == 1, proc.stderr[-3000:]
    report = _report(tmp_path)
    assert report["verdict"] == "fail"
    first = report["fixes"][0]  # "what to fix", which the page opens with
    assert first["requirement"] == "OIF-DET-2" and first["primary"], report["fixes"][:3]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.index("What to fix") < page.index("OIF-DET-2")
    # under load the same defect is a protocol violation, not an SLA-ERR-1 error ratio
    load = json.loads((tmp_path / "load" / "results.json").read_text(encoding="utf-8"))
    row = next(t for t in load["thresholds"] if t["metric"] == "protocol_violations")
    assert row["verdict"] == "fail" and "OIF-DET-2" in row["requirements"]
    assert all(t["verdict"] != "fail" for t in load["thresholds"] if t["requirement"] == "SLA-ERR-1")


@pytest.mark.timeout(900)
def test_a_second_check_on_the_same_sandbox_passes(clean, tmp_path):
    """conform moves the clock ~6 days; the load step after it, and every step of a second check,
    sign on the moved clock (not one 401), found through the clock memory. The first check is the
    one ``test_every_step_against_a_clean_endpoint`` judges."""
    url, first_out, first = clean
    second = _check(url, tmp_path / "second", "--skip", "capacity", "--skip", "sim")
    runs = [first, second]
    for run, out in zip(runs, (first_out, tmp_path / "second"), strict=True):
        assert run.returncode == 0, (out.name, run.stderr[-3000:])
        load = json.loads((out / "load" / "results.json").read_text(encoding="utf-8"))
        assert load["endpoints"]["all"]["errors_by_kind"] == {}, load["endpoints"]["all"]
        assert load["notes"][0].startswith("sandbox clock: +"), load["notes"][0]
    assert "sandbox clock: +5" in runs[1].stderr  # the second preflight read the moved clock


def test_wrong_secret_stops_at_the_preflight_in_check_and_load(tmp_path):
    with running_server(**SERVER) as url:
        check = _check(url, tmp_path / "check", secret=b"not-the-secret")
        load = subprocess.run(
            [sys.executable, "-m", "yzt", "load", url, "--operator", "R12", "--key-id", "k1", "--seed",
             "7", "--subjects", "200", "--rate", "5", "--duration", "2s", "--out", str(tmp_path / "load")],
            capture_output=True, text=True, timeout=120, check=False,
            env=dict(os.environ, YZT_SECRET="not-the-secret"))
    for proc in (check, load):
        assert proc.returncode == 2, proc.stderr
        assert "preflight signed request" in proc.stderr
        for word in ("key id", "secret", "clock"):
            assert word in proc.stderr, (word, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "load" / "results.json").exists()
