"""``yzt load`` end to end: real Locust processes against the reference operator on loopback.

Budget: about a minute and a half on 2 cores (each run is a few seconds of load plus Locust's start).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from yzt.server.testing import DEFAULT_SECRET, running_server

pytestmark = pytest.mark.integration


def yzt_load(url: str, out: Path, *args: str, rate: float = 20, duration: str = "8s",
             timeout: float = 90) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k1",
           "--seed", "7", "--subjects", "200", "--rate", str(rate), "--duration", duration,
           "--out", str(out), *args]
    env = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def plain_server():
    with running_server() as url:
        yield url


def test_passes_at_a_modest_rate_and_writes_every_output(plain_server, tmp_path):
    run = yzt_load(plain_server, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "verdict: PASS" in run.stdout
    assert "✓ SLA-LAT-1 card-count p95<=300ms" in run.stdout
    doc = results(tmp_path)
    assert doc["verdict"] == "pass"
    cc = doc["endpoints"]["card-count"]
    assert cc["count"] > 80 and cc["errors_by_kind"] == {}
    assert 8 <= doc["offered_rate"] <= 30
    assert doc["generator"]["offered_share"] == 1.0
    assert doc["notes"][0].endswith("responses validated against the JSON Schemas")
    for name in ("latency.png", "junit.xml", "locust/report.html", "locust/locust_stats.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert 'name="SLA-LAT-1 card-count p95&lt;=300ms"' in junit and "<failure" not in junit
    # no personal data in what yzt writes
    from yzt.domain.masking import find_pii

    assert not find_pii((tmp_path / "results.json").read_text(encoding="utf-8"))


def test_inconclusive_far_beyond_the_generator(plain_server, tmp_path):
    run = yzt_load(plain_server, tmp_path, rate=20000, duration="3s")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "verdict: INCONCLUSIVE" in run.stdout and "PASS" not in run.stdout
    doc = results(tmp_path)
    assert doc["verdict"] == "inconclusive"
    assert "cannot generate this rate" in doc["reasons"][0]


def test_distributed_master_and_two_workers(plain_server, tmp_path):
    run = yzt_load(plain_server, tmp_path, "--workers", "2", rate=30, duration="4s")
    assert run.returncode == 0, run.stdout + run.stderr
    doc = results(tmp_path)
    procs = doc["generator"]["processes"]
    assert len(procs) == 2 and {p["index"] for p in procs} == {0, 1}
    assert doc["generator"]["sent"] == doc["generator"]["scheduled"] > 60


def test_slow_operator_fails_naming_sla_lat_1(tmp_path):
    with running_server(defects=("slow",)) as url:
        run = yzt_load(url, tmp_path, duration="6s")
        cap = yzt_load(url, tmp_path / "cap", "--find-capacity", "--capacity-steps", "2",
                       rate=10, duration="3s")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "✗ SLA-LAT-1 card-count p95<=300ms" in run.stdout
    doc = results(tmp_path)
    assert doc["verdict"] == "fail"
    assert any(r.startswith("SLA-LAT-1 card-count p95<=300ms breached") for r in doc["reasons"])
    assert doc["endpoints"]["card-count"]["p50_ms"] > 1000
    assert '<failure message="SLA-LAT-1 card-count p95' in (tmp_path / "junit.xml").read_text("utf-8")
    assert cap.returncode == 1, cap.stdout + cap.stderr
    capacity = json.loads((tmp_path / "cap" / "capacity.json").read_text(encoding="utf-8"))
    assert capacity["highest_sustainable_rate"] is None
    assert capacity["steps"][0]["verdict"] == "fail"


def test_error_ratio_over_budget_fails_naming_sla_err_1(tmp_path):
    with running_server(extra_args=("--error-ratio", "0.05")) as url:
        run = yzt_load(url, tmp_path, duration="6s")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "✗ SLA-ERR-1 all error_ratio<=0.1%" in run.stdout
    doc = results(tmp_path)
    assert doc["endpoints"]["all"]["errors_by_kind"].get("http_5xx", 0) > 0
    assert all(not r.startswith("SLA-LAT") for r in doc["reasons"])


def test_follows_a_sandbox_clock_moved_ahead(tmp_path):
    """After a conformance run moved the sandbox clock days ahead, signatures still pass."""
    from yzt.client import PlatformClient

    with running_server() as url:
        with PlatformClient(url, "k1", DEFAULT_SECRET) as client:
            assert client.advance_clock(3 * 86400).status == 200
        run = yzt_load(url, tmp_path, rate=10, duration="4s")
    assert run.returncode == 0, run.stdout + run.stderr
    doc = results(tmp_path)
    assert doc["endpoints"]["card-count"]["count"] > 10
    assert doc["endpoints"]["all"]["errors_by_kind"] == {}
