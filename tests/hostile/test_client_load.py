"""Hostile endpoints do not hang ``yzt load``: a short run ends with a verdict within a stated bound.

Each Locust request has one deadline for connect, headers and body (``--timeout``), and bodies are
read up to 1 MiB, so a dripping, endless or 10 MB answer is a failed request, never a stuck user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from client_hostile_server import running

pytestmark = pytest.mark.integration

DURATION_S = 3.0
TIMEOUT_S = 1.0
#: Locust's start-up, its grace after the send window and yzt's own start and evaluation: the run
#: limit of loadtests/runner.py (lead + duration + grace + 30 s start-up slack) plus process start.
BOUND_S = DURATION_S + (TIMEOUT_S + 2.0) + 30.0 + 15.0


def _load(url: str, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "YZT_SECRET": "hostile-test-secret"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k",
         "--seed", "7", "--subjects", "40", "--rate", "5", "--duration", f"{DURATION_S:g}s",
         "--timeout", f"{TIMEOUT_S:g}s", "--out", str(out), "--skip-preflight", *extra],
        env=env, capture_output=True, text=True, timeout=300)
    return done, time.monotonic() - started


@pytest.mark.parametrize("mode", ["drip", "endless", "big"])
def test_load_ends_with_a_verdict_against_a_hostile_endpoint(mode: str, tmp_path: Path) -> None:
    with running(mode, health_ok=True) as url:
        done, took = _load(url, tmp_path)
    assert took < BOUND_S
    assert done.returncode == 1, done.stderr[-2000:]  # judged: a threshold breached
    assert "Traceback" not in done.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["verdict"] == "fail"
    # a dripping body times out (SLA-ERR-1); an endless or huge one is cut at 1 MiB and judged a
    # protocol violation on its own row, not an error of the operator's availability
    expected = "SLA-ERR-1" if mode == "drip" else "protocol under load"
    assert any(expected in reason for reason in results["reasons"]), results["reasons"]


def test_load_refuses_a_target_whose_health_probe_drips(tmp_path: Path) -> None:
    """The health probe before any load has the same whole-exchange deadline (3 s)."""
    with running("drip") as url:
        done, took = _load(url, tmp_path)
    assert done.returncode == 2
    assert "cannot reach" in done.stderr and "timed out" in done.stderr
    assert took < 3.0 + 15.0


def test_a_dripping_endpoint_is_blamed_for_the_rate_not_the_generator(tmp_path: Path) -> None:
    """Every answer drips until the 5 s timeout: the 40 users (2 s of arrivals at 20 req/s) are all
    waiting, so only about 8 req/s go out. That is the endpoint's slowness, judged as such (exit 1,
    SLA breaches plus the reason), never "the generator cannot generate this rate — add --workers"."""
    with running("drip", health_ok=True) as url:
        env = {**os.environ, "YZT_SECRET": "hostile-test-secret"}
        done = subprocess.run(
            [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k", "--seed", "7",
             "--subjects", "40", "--rate", "20", "--duration", "4s", "--out", str(tmp_path),
             "--skip-preflight"], env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["sent"] < 0.95 * results["scheduled"]  # the rate was indeed not offered
    assert done.returncode == 1, (done.stdout[-2000:], done.stderr[-2000:])
    assert results["verdict"] == "fail"
    reasons = " | ".join(results["reasons"])
    assert "--workers" not in reasons and "cannot generate" not in reasons, reasons
    slow = next(r for r in results["reasons"] if r.startswith("the endpoint answered too slowly"))
    assert "all 40 users were waiting on it" in slow and "timed out" in slow
    assert results["generator"]["endpoint_bound"] == slow
    assert slow in done.stdout  # the console says it too
