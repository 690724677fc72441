"""Fault injection over real HTTP: latency, 503 + Retry-After, 429 rate limit, outages; the profile
file is validated with field paths."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
from server_helpers import client, query, subject_with

from yzt.errors import InputFileError
from yzt.server.faults import FaultInjector, Latency, load_profile
from yzt.server.testing import running_server

pytestmark = pytest.mark.integration


def test_latency_error_ratio_and_health_exempt(tmp_path: Path) -> None:
    profile = tmp_path / "faults.yaml"
    profile.write_text("seed: 3\nlatency: {p50_ms: 40, p99_ms: 80}\n"
                       "error_ratio: {ratio: 0.3, statuses: [503]}\nretry_after_s: 2\n")
    with running_server(subjects=20, extra_args=["--faults", str(profile)]) as url, client(url) as c:
        s = subject_with(1)
        answers = [c.send("POST", "/v1/card-count", body=query(c, s)) for _ in range(30)]
        unavailable = [a for a in answers if a.status == 503]
        assert 3 <= len(unavailable) <= 18
        assert all(a.response_headers["retry-after"] == "2" for a in unavailable)
        assert all(a.problem_code == "unavailable" for a in unavailable)
        assert statistics.median(a.elapsed_s for a in answers) >= 0.035
        started = time.perf_counter()
        assert all(c.send("GET", "/v1/health", sign=False).status == 200 for _ in range(10))
        assert time.perf_counter() - started < 0.35  # no injected latency on health


def test_rate_limit_answers_429_with_retry_after() -> None:
    with running_server(subjects=20, extra_args=["--rate-limit", "5"]) as url, client(url) as c:
        statuses = [c.send("GET", "/v1/service-info", sign=False) for _ in range(15)]
        limited = [e for e in statuses if e.status == 429]
        assert 5 <= len(limited) <= 11
        assert all(e.problem_code == "rate_limited" and e.response_headers["retry-after"].isdigit()
                   for e in limited)


def test_outage_window_then_recovery() -> None:
    with running_server(subjects=20, extra_args=["--outage", "0:2.5"]) as url, client(url) as c:
        e = c.send("POST", "/v1/card-count", body=query(c, subject_with(1)))
        assert e.status == 503 and int(e.response_headers["retry-after"]) >= 1
        assert e.problem_code == "unavailable"
        assert c.send("GET", "/v1/health", sign=False).json() == {"status": "degraded"}
        deadline = time.monotonic() + 5
        while c.send("GET", "/v1/health", sign=False).json()["status"] != "ok":
            assert time.monotonic() < deadline, "the outage never ended"
            time.sleep(0.1)
        assert c.send("POST", "/v1/card-count", body=query(c, subject_with(1))).status == 200
        assert c.send("GET", "/v1/health", sign=False).json() == {"status": "ok"}


def test_profile_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("latency: {p50_ms: -1, p99_ms: 10}\nerror_ratio: {ratio: 2}\nrate_limt: {rps: 1}\n")
    with pytest.raises(InputFileError) as info:
        load_profile(bad)
    text = "\n".join(info.value.problems)
    assert "latency.p50_ms" in text and "error_ratio.ratio" in text and "rate_limt" in text


def test_lognormal_percentiles_match_the_profile() -> None:
    from yzt.server.faults import FaultProfile

    injector = FaultInjector(FaultProfile(latency=Latency(20, 200), seed=1))
    draws = sorted(injector.latency_s("card-count") * 1000 for _ in range(20000))
    assert draws[10000] == pytest.approx(20, rel=0.08)
    assert draws[19800] == pytest.approx(200, rel=0.15)
