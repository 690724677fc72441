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
from yzt.twin.fanout import OK, TIMEOUT, LiveRecords, window_offsets


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


def test_a_live_node_answer_runs_from_its_first_call_and_the_fanout_from_its_start() -> None:
    """The platform calls the nodes of a fan-out one after the other: R04's first attempt was
    queued 30 ms after the fan-out started (the model has no such gap). R04's answer time is its
    own call, 20 ms; R03's runs from its first attempt's call through a timeout and a retry to its
    second answer; the fan-out's answer time still counts from its start to the last answer."""
    rec = LiveRecords(q_scheduled=[0.0], q_start=[1.0], q_last=[1.5], q_complete=[True])
    rec.add_request("R04", 0, 1, 1.030, 1.030, 1.050, OK, 200)
    rec.add_request("R03", 0, 1, 1.001, 1.001, 1.201, TIMEOUT, None)
    rec.add_request("R03", 0, 2, 1.301, 1.302, 1.500, OK, 200)
    w = compare.live_window(rec)
    assert w.node_answer_s["R04"] == [pytest.approx(0.020)]
    assert w.node_answer_s["R03"] == [pytest.approx(0.499)]
    assert w.fanout_s == [pytest.approx(0.5)]
    assert w.timeouts == 1 and w.retries == 1


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
    (["--repeats", "0"], "--repeats"),
    (["--start-h", "30"], "--start-h"),
    (["--live", "x.json", "--topology", "fed"], "without --topology"),
])
def test_twin_usage_errors_name_the_flag(flags: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["twin", "baseline", *flags]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("metric", "live", "model", "ci", "verdict"), [
    ("fanout_p95_s", 1.09, 1.0, (0.99, 1.01), "pass"),         # within 10 %
    ("fanout_p95_s", 1.2, 1.0, (0.7, 1.3), "pass"),            # inside the model's CI
    ("fanout_p95_s", 1.2, 1.0, (0.9, 1.1), "fail"),            # neither
    ("answer_p95_s", 0.029, 0.020, (0.019, 0.021), "pass"),    # below the 10 ms resolution
    ("answer_p95_s", 0.031, 0.020, (0.019, 0.021), "fail"),
    ("retries_per_query", 0.005, 0.0, (0.0, 0.0), "pass"),     # below 0.01 a query
    ("retries_per_query", 1.0, 0.0, (0.0, 0.0), "fail"),
    ("fanout_p50_s", math.nan, 1.0, (0.9, 1.1), "incomplete"),  # nothing measured live
])
def test_the_agreement_rule(metric: str, live: float, model: float, ci: tuple[float, float],
                            verdict: str) -> None:
    assert compare.judge(metric, live, model, *ci).value == verdict


def test_the_models_interval_is_taken_on_the_live_traces() -> None:
    """Both sides vary together with the trace (window to window); the paired interval keeps only
    what differs between them, so a model steadily 20 % low is caught although each side's own
    interval is wide."""
    live = [1.0, 2.0, 3.0, 4.0]
    model = [0.8, 1.62, 2.39, 3.21]
    mean, low, high = compare.paired_ci(live, model)
    assert mean == pytest.approx(2.005)
    assert not low <= float(np.mean(live)) <= high
    own_low, own_high = compare.mean_ci(model)[1:]
    assert own_low <= float(np.mean(live)) <= own_high


def test_a_saturated_machine_makes_the_run_incomplete_not_a_failure() -> None:
    from yzt.twin import saturation

    quiet = dict.fromkeys(saturation.LIMITS, 0.01)
    busy = {**quiet, "server_loop_lag_p99_s": 0.35}
    machine = saturation.summary([quiet, busy])
    assert machine["saturated"] == ["server_loop_lag_p99_s 0.35 > 0.1"]
    assert machine["signals"]["server_loop_lag_p99_s"]["saturated"]
    failed = [{"metric": "fanout_p95_s", "scope": "fanout", "live": 2.0, "model": 1.0,
               "model_ci_low": 0.9, "model_ci_high": 1.1, "error_pct": 100.0, "verdict": "fail"}]
    verdict, why = compare.verdict_of(failed, machine["saturated"])
    assert verdict.value == "incomplete" and verdict.exit_code == 3
    assert "server_loop_lag_p99_s" in why and "not testable" in why
    verdict, why = compare.verdict_of(failed, saturation.summary([quiet])["saturated"])
    assert verdict.value == "fail" and "fanout_p95_s (fanout)" in why


def test_each_seeded_defect_changes_the_model() -> None:
    """Without processes: a node always past its timeout (two attempts, one connection) and one
    that queues. ``retries-ignored`` makes one attempt; ``timeouts-release`` frees the connection
    at once (the answer comes after the back-off only); ``pool-one-smaller`` queues longer."""
    sc = load_scenario("baseline")
    slow = replace(_no_faults(sc.operator("R01"), 3.0, 0.1), id="R03", concurrency=1, timeout_s=0.2,
                   retry=replace(sc.operator("R01").retry, backoff_initial_s=0.1, backoff_factor=1,
                                 backoff_max_s=0.1, jitter=0, max_attempts=2))
    busy = replace(_no_faults(sc.operator("R01"), 0.3, 0.1), concurrency=2)
    nodes = [("R01", busy), ("R03", slow)]
    offsets = [i * 0.25 for i in range(40)]

    def run(defect: str | None) -> compare.WindowResult:
        return compare.simulate_window(nodes, offsets, start_h=1, deadline_s=3600, seed=1,
                                       replication=0, defect=defect)

    clean = run(None)
    assert clean.timeouts == 80 and clean.retries == 40
    assert run("retries-ignored").retries == 0
    released = run("timeouts-release")
    assert max(released.node_answer_s["R03"]) == pytest.approx(0.1)
    assert np.percentile(clean.node_answer_s["R03"], 50) > 0.5  # held: 0.5 s and queueing
    assert (np.percentile(run("pool-one-smaller").node_answer_s["R01"], 95)
            > 2 * np.percentile(clean.node_answer_s["R01"], 95))
    with pytest.raises(ValueError, match="unknown model defect"):
        run("pool-two-smaller")


def test_progress_is_shown_on_a_terminal_only() -> None:
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert compare.progress_printer(io.StringIO()) is None
    tty = Tty()
    show = compare.progress_printer(tty)
    assert show is not None
    show("live window 1/3: 5/60 s")
    assert tty.getvalue() == "\r\033[K" + "live window 1/3: 5/60 s"


def test_one_window_has_no_interval_and_only_the_tolerance_judges() -> None:
    """A single live window (``--repeats 1``): no interval on either side, so a row passes only
    within 10 % or the resolution, never by an infinite interval; outside them it cannot tell
    noise from disagreement: incomplete, and the sentence says to repeat."""
    mean, low, high = compare.paired_ci([1.3], [1.0])
    assert mean == 1.0 and math.isnan(low) and math.isnan(high)
    assert compare.judge("fanout_p95_s", 1.3, mean, low, high).value == "incomplete"
    assert compare.judge("fanout_p95_s", 1.05, mean, low, high).value == "pass"
    row = {"metric": "fanout_p95_s", "scope": "fanout", "live": 1.3, "model": mean,
           "model_ci_low": low, "model_ci_high": high, "error_pct": 30.0,
           "verdict": "incomplete"}
    verdict, why = compare.verdict_of([row], [])
    assert verdict.value == "incomplete" and "[no interval]" in why and "--repeats 2" in why


def test_the_verdict_names_a_few_metrics_and_counts_the_rest() -> None:
    rows = [{"metric": "answer_p95_s", "scope": f"R{i:02d}", "live": 2.0, "model": 1.0,
             "model_ci_low": 0.9, "model_ci_high": 1.1, "error_pct": 100.0, "verdict": "fail"}
            for i in range(1, 8)]
    verdict, why = compare.verdict_of(rows, [])
    assert verdict.value == "fail"
    assert "answer_p95_s (R04)" in why and "R05" not in why
    assert why.endswith("and 3 more node(s) (twin.json)")
