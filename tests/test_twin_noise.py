"""The model held against itself and a live run taken apart (yzt.twin.noise), without processes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from yzt.sim.scenario import load_scenario
from yzt.twin.fanout import OK, LiveRecords
from yzt.twin.noise import fcfs_deviation, service_quantiles, study


def _records(rows: list[tuple[str, float, float, float]]) -> LiveRecords:
    """(node, enqueued, start, end) rows, every one a successful first attempt of query 0."""
    rec = LiveRecords()
    for node, enq, start, end in rows:
        rec.add_request(node, 0, 1, enq, start, end, OK, 200)
    return rec


def test_a_pool_that_serves_in_order_shows_no_gap() -> None:
    rec = _records([("R01", 0.0, 0.0, 1.0), ("R01", 0.5, 1.0, 1.5), ("R01", 0.6, 1.5, 3.0),
                    ("CMCC", 0.0, 0.0, 0.2), ("CMCC", 0.1, 0.1, 0.3)])
    gaps = fcfs_deviation(rec, {"R01": 1, "CMCC": None})
    assert gaps == {"R01": 0.0, "CMCC": 0.0}


def test_a_pool_that_jumps_the_queue_or_overlaps_is_caught() -> None:
    # the second call started at once although the single connection was busy until 1.0
    overlap = _records([("R01", 0.0, 0.0, 1.0), ("R01", 0.5, 0.5, 1.5)])
    assert fcfs_deviation(overlap, {"R01": 1})["R01"] == pytest.approx(0.5)
    # with two connections the same records are first come, first served
    assert fcfs_deviation(overlap, {"R01": 2})["R01"] == 0.0
    # the later caller was served first
    jumped = _records([("R01", 0.0, 0.0, 1.0), ("R01", 0.2, 2.0, 2.5), ("R01", 0.3, 1.0, 2.0)])
    assert fcfs_deviation(jumped, {"R01": 1})["R01"] == pytest.approx(1.0)


def test_call_durations_are_set_against_the_scenarios_lognormal() -> None:
    sc = load_scenario("twin-pools-1")
    lat = sc.operator("R01").latency
    rng = np.random.default_rng(7)
    draws = lat.median * np.exp(lat.sigma * rng.standard_normal(20_000))
    exact = _records([("R01", 0.0, 0.0, float(d)) for d in draws])
    slow = _records([("R01", 0.0, 0.0, float(d) * 1.2) for d in draws])
    ops = {"R01": "R01"}
    fair = service_quantiles([exact], ops, sc)["reseller"]
    assert fair["calls"] == 20_000
    assert all(abs(r - 1) < 0.05 for r in fair["ratio"])
    assert fair["mean_live_s"] == pytest.approx(fair["mean_model_s"], rel=0.03)
    assert all(abs(r - 1.2) < 0.06 for r in service_quantiles([slow], ops, sc)["reseller"]["ratio"])


def test_more_queries_a_window_narrow_the_models_own_noise() -> None:
    """The claim behind twin-pools-4: at the same pool utilisation (about 0.6), four connections
    at four times the scale give a fan-out p95 that a perfect model (another draw of itself)
    misses by far less than with one connection."""
    common = {"windows": 2, "window_s": 60.0, "trials": 6, "draws": 3}
    one = study(load_scenario("twin-pools-1"), scale=5.4, **common)
    four = study(load_scenario("twin-pools-4"), scale=21.6, **common)
    assert four["queries"] > 3.5 * one["queries"]
    sd1 = one["metrics"]["fanout_p95_s"]["error_sd_pct"]
    sd4 = four["metrics"]["fanout_p95_s"]["error_sd_pct"]
    assert math.isfinite(sd1) and sd1 > 0  # the pseudo-live draws are not the model's own
    assert sd4 < 0.6 * sd1
    assert four["nodes"]["error_sd_pct"] < one["nodes"]["error_sd_pct"]


def test_the_calls_excess_over_the_scenarios_latency_is_measured() -> None:
    from yzt.twin.compare import LiveRun, call_excess

    sc = load_scenario("twin-pools-1")
    lat = sc.operator("R01").latency
    draws = lat.median * np.exp(lat.sigma * np.random.default_rng(3).standard_normal(20_000))
    for factor, lo, hi in ((1.0, -3.0, 3.0), (1.2, 16.0, 24.0)):
        run = LiveRun(records=[_records([("R01", 0.0, 0.0, float(d) * factor) for d in draws])],
                      operators={"R01": "R01"})
        got = call_excess(sc, run)["reseller"]
        assert lo < got["excess_pct"] < hi
        assert got["calls"] == 20_000


def _fcfs_run(factor: float, seed: int) -> Any:
    """Six one-minute windows at one reseller with one connection (a query every 0.7 s: the pool
    about half busy), served first come first served with lognormal calls × ``factor``."""
    from yzt.twin.compare import LiveRun

    sc = load_scenario("twin-pools-1")
    lat = sc.operator("R01").latency
    rng = np.random.default_rng(seed)
    run = LiveRun(operators={"R01": "R01"})
    for _ in range(6):
        rec = LiveRecords()
        offsets = [0.7 * q for q in range(90)]
        rec.q_scheduled, rec.q_start = list(offsets), list(offsets)
        rec.q_last, rec.q_complete = [], []
        free = 0.0
        for q, t in enumerate(offsets):
            start = max(t, free)
            free = start + factor * lat.median * math.exp(lat.sigma * rng.standard_normal())
            rec.add_request("R01", q, 1, t, start, free, OK, 200)
            rec.q_last.append(free)
            rec.q_complete.append(True)
        run.records.append(rec)
        run.offsets.append(offsets)
        run.model_start_h.append(10.0)
        run.machine.append({})
    return run


def test_a_failing_verdict_names_calls_longer_than_the_scenarios_latency(tmp_path: Path) -> None:
    from yzt.twin.compare import judge_run

    sc = load_scenario("twin-pools-1")
    slow = judge_run(sc, _fcfs_run(1.4, 5), seed=1, out=tmp_path / "slow")
    assert slow["verdict"] == "fail"
    assert "pool_wait_mean_s" in slow["verdict_reason"]
    assert "the live calls took longer than the scenario's latency (resellers +" in \
        slow["verdict_reason"]
    assert 30.0 < slow["machine"]["calls"]["reseller"]["excess_pct"] < 50.0
    fair = judge_run(sc, _fcfs_run(1.0, 5), seed=1, out=tmp_path / "fair")
    assert "the live calls took longer" not in fair["verdict_reason"]
    assert abs(fair["machine"]["calls"]["reseller"]["excess_pct"]) < 8.0
