"""Hostile endpoints against the platform client and ``yzt conform``: every exchange ends by its
deadline, every run ends with a verdict within a stated bound, nothing hangs or raises.

The endpoints are real processes on loopback (client_hostile_server.py): one that drips its body a
byte every 2 s, one that drips even its headers, one with an endless chunked body, one with a 10 MB
body and one with JSON nested 200,000 deep.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from client_hostile_server import running

from yzt.client import MAX_RESPONSE_BYTES, PlatformClient
from yzt.conformance.context import MAX_EXCHANGES, MAX_TIMEOUTS
from yzt.conformance.registry import load_checks

pytestmark = pytest.mark.integration

#: Seconds a yzt process needs to start and write its results, on top of the stated bound (a busy
#: shared machine: generous on purpose; the bound itself is what the assertions are about).
STARTUP_SLACK_S = 20.0


@pytest.mark.parametrize("mode", ["drip", "drip-headers"])
def test_a_dripping_answer_times_out_at_the_exchange_deadline(mode: str) -> None:
    with running(mode) as url, PlatformClient(url, "k", b"s", timeout=1.0) as client:
        started = time.monotonic()
        exchange = client.send("GET", "/v1/health", sign=False)
        took = time.monotonic() - started
    assert exchange.error == "timed out"
    assert took < 1.0 + 0.5  # the whole exchange, not one read, is bounded by the timeout


@pytest.mark.parametrize("mode", ["endless", "big"])
def test_an_endless_or_huge_body_is_cut_and_recorded(mode: str) -> None:
    with running(mode) as url, PlatformClient(url, "k", b"s", timeout=5.0) as client:
        exchange = client.send("GET", "/v1/health", sign=False)
    assert exchange.status == 200
    assert exchange.error == f"body too large (over {MAX_RESPONSE_BYTES} bytes)"
    assert len(exchange.response_body) == MAX_RESPONSE_BYTES
    assert exchange.json() is None


def test_json_nested_200k_deep_is_not_json_to_the_client() -> None:
    with running("deep") as url, PlatformClient(url, "k", b"s", timeout=5.0) as client:
        exchange = client.send("GET", "/v1/health", sign=False)
    assert exchange.status == 200 and exchange.error is None
    assert exchange.json() is None  # no RecursionError


def test_a_malformed_target_is_recorded_not_raised() -> None:
    with PlatformClient("http://[::1", "k", b"s", timeout=1.0) as client:
        exchange = client.send("GET", "/v1/health", sign=False)
    assert exchange.status is None and exchange.error


def _conform(url: str, out: Path, timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "YZT_SECRET": "hostile-test-secret"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "yzt", "conform", url, "--operator", "R07", "--key-id", "k",
         "--seed", "7", "--subjects", "40", "--timeout", str(timeout), "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=600)
    return done, time.monotonic() - started


@pytest.mark.parametrize("mode", ["drip", "endless", "big", "deep"])
def test_conform_stops_at_the_preflight_of_a_hostile_endpoint(mode: str, tmp_path: Path) -> None:
    """``yzt conform`` first asks for health: a hostile answer ends the run there, exit 2, naming
    the target and what went wrong, within a few exchange deadlines."""
    timeout = 1.0
    with running(mode) as url:
        done, took = _conform(url, tmp_path, timeout)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert url in done.stderr
    assert took <= MAX_TIMEOUTS * timeout + STARTUP_SLACK_S


@pytest.mark.parametrize("mode", ["drip", "endless", "big", "deep"])
def test_the_whole_suite_judges_a_hostile_endpoint_within_the_stated_bound(mode: str) -> None:
    """The bound (docs/conformance.md): a run sends at most MAX_EXCHANGES requests, each ended within
    --timeout; an endpoint that never answers in time is given up after MAX_TIMEOUTS timeouts. The
    preflight is skipped here so that every check meets the hostile answers."""
    from yzt.conformance.session import open_context, run_suite
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures
    from yzt.verdict import Verdict

    timeout = 1.0
    fixtures = generate_fixtures(load_topology().get("R07"), 7, 40)
    with running(mode) as url:
        started = time.monotonic()
        ctx = open_context(url, "R07", "k", b"hostile-test-secret", fixtures, timeout=timeout,
                           run_seed=1, check_first=False)
        try:
            finished = run_suite(ctx, target=url)
        finally:
            ctx.client.close()
        took = time.monotonic() - started
    sent = len(ctx.client.recorded)
    assert sent <= MAX_EXCHANGES
    assert took <= sent * timeout + STARTUP_SLACK_S
    if mode == "drip":  # nothing ever arrives in time: given up after a few timeouts
        assert took <= MAX_TIMEOUTS * timeout + STARTUP_SLACK_S
    assert finished.verdict is Verdict.FAIL
    verdicts = {r.verdict for r in finished.results}
    assert Verdict.ERROR not in verdicts  # no check crashed on what it was given
    assert len(finished.results) == len(load_checks().select())
