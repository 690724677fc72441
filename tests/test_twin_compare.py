"""The model side of ``yzt twin`` (no processes): the model's own operator nodes on a given trace,
held to theory, and the command's usage errors."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from yzt.cli import main
from yzt.sim.scenario import load_scenario
from yzt.twin import compare
from yzt.twin.fanout import window_offsets


def _no_faults(op, median_s: float, sigma: float):
    return replace(op, latency=replace(op.latency, median=median_s, sigma=sigma), failure_ratio=0.0,
                   concurrency=None, outages=())


def test_simulated_window_follows_the_max_of_latencies_law() -> None:
    """Two nodes, lognormal median 0.2 s, σ 0.5, no failures or limits, 3000 queries: a node's
    median answer is its latency median and the fan-out median is m·exp(σ·z) with Φ(z) = √0.5
    (the max of two), each within 5 % (the sample median's standard error is about 1.5 %)."""
    sc = load_scenario("baseline")
    op = _no_faults(sc.operator("R01"), 0.2, 0.5)
    nodes = [("R01", op), ("R02", replace(op, id="R02"))]
    offsets = [i * 0.5 for i in range(3000)]
    res = compare.simulate_window(nodes, offsets, start_h=1, deadline_s=3600, seed=2, replication=0)
    assert np.median(res.node_answer_s["R01"]) == pytest.approx(0.2, rel=0.05)
    z = 0.5448716  # standard normal quantile of sqrt(0.5)
    assert np.median(res.fanout_s) == pytest.approx(0.2 * math.exp(0.5 * z), rel=0.05)


def test_a_pool_one_smaller_changes_the_simulated_tail() -> None:
    """Arrivals faster than one connection can serve: the model queues, so its p95 grows."""
    sc = load_scenario("baseline")
    op = replace(_no_faults(sc.operator("R01"), 0.3, 0.1), concurrency=2)
    offsets = [i * 0.2 for i in range(200)]
    two = compare.simulate_window([("R01", op)], offsets, start_h=1, deadline_s=3600, seed=1,
                                  replication=0)
    one = compare.simulate_window([("R01", replace(op, concurrency=1))], offsets, start_h=1,
                                  deadline_s=3600, seed=1, replication=0)
    p95 = [float(np.percentile(r.node_answer_s["R01"], 95)) for r in (two, one)]
    assert p95[0] < 0.45 < 5.0 < p95[1]


def test_window_offsets_are_the_models_front_door_cut_to_the_window() -> None:
    sc = load_scenario("baseline")
    offs = window_offsets(sc, seed=1, start_h=10, duration_s=600, scale=10)
    assert offs == sorted(offs) and all(0 <= t < 600 for t in offs)
    # 20 000/day × 10 × the 10:00 weight (1.4 over a mean of ~0.98) ≈ 3.3 arrivals/s, ~90 %
    # verified, plus repeats: about 1 900 in 600 s (Poisson: ± 45 a standard deviation)
    assert 1500 < len(offs) < 2400
    assert offs == window_offsets(sc, seed=1, start_h=10, duration_s=600, scale=10)
    assert offs != window_offsets(sc, seed=2, start_h=10, duration_s=600, scale=10)


def test_the_model_window_starts_where_the_federations_outage_clock_stands() -> None:
    """A federation whose epoch is hour 8 and a replay 30 min later: the model simulates from
    hour 8.5, so an outage the federation plays at 08:30 is one the model sees at 08:30 too."""
    topo = {"epoch": 1000.0, "origin_h": 8.0, "time_factor": 1.0}
    assert compare._model_start_h(topo, 1000.0 + 1800.0, 10.0) == pytest.approx(8.5)
    assert compare._model_start_h({**topo, "time_factor": 0.5}, 2800.0, 10.0) == 10.0


@pytest.mark.parametrize(("flags", "message"), [
    (["--window", "ten"], "--window 'ten'"),
    (["--window", "2h"], "at most 1h"),
    (["--scale", "0"], "--scale"),
    (["--repeats", "1"], "--repeats"),
    (["--start-h", "30"], "--start-h"),
])
def test_twin_usage_errors_name_the_flag(flags: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["twin", "baseline", *flags]) == 2
    assert message in capsys.readouterr().err
