"""The event model: fan-out against the max-of-latencies law, Little's law on every queue,
seed → identical JSON, common random numbers, and the executors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from yzt.sim.engine import run_replication
from yzt.sim.fast import run_replication_fast
from yzt.sim.replicate import run_replications
from yzt.sim.results import build_results, dumps
from yzt.sim.scenario import Scenario, load_scenario, with_overrides
from yzt.sim.stages import fanout, frontdoor
from yzt.sim.theory import lognormal_cdf, max_cdf


def _short(name: str = "baseline", hours: float = 2.0, **changes: Any) -> Scenario:
    return with_overrides(load_scenario(name), horizon_h=hours, **changes)


def _ideal_fanout() -> Scenario:
    """No failures, no connection limit, no timeout within reach: pure max of latencies."""
    ideal = {"failure_ratio": 0.0, "concurrency": None, "timeout_s": 1e6, "outages": []}
    return _short(hours=2.0, drain_h=60.0, arrivals={"queries_per_day": 100000},
                  operators={"defaults": {"carrier": ideal, "reseller": ideal}})


ENGINES = pytest.mark.parametrize("run", [run_replication, run_replication_fast],
                                  ids=["simpy", "fast"])


@ENGINES
def test_fanout_completion_follows_max_of_latencies(run: Any) -> None:
    # Tolerance: Kolmogorov-Smirnov p-value > 0.01 on ~2 000 queries, and the 50/90/99 %
    # quantiles within 3 % of the analytic ones.
    stats = pytest.importorskip("scipy.stats")
    sc = _ideal_fanout()
    rec = run(sc, seed=11, replication=0)
    t = np.asarray(fanout.of(rec).fanout_done) - np.asarray(frontdoor.of(rec).verified_at)
    assert t.size > 1000 and not np.isnan(t).any()
    cdfs = [lognormal_cdf(op.latency.median, op.latency.sigma) for op in sc.operators]
    cdf = np.vectorize(lambda x: max_cdf(cdfs, x))
    result = stats.kstest(t, cdf)
    assert result.pvalue > 0.01, result
    for q in (0.5, 0.9, 0.99):
        lo, hi = 0.0, 100.0
        for _ in range(60):  # invert the analytic CDF by bisection
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if max_cdf(cdfs, mid) < q else (lo, mid)
        assert np.quantile(t, q) == pytest.approx(lo, rel=0.03), q


@ENGINES
def test_littles_law_on_every_queue(run: Any) -> None:
    # The outage scenario queues at R07's connections, the SMS gateway, hotlines and back offices.
    # L (time-average queue from the area under the queue length) must equal λ·W (arrivals per
    # second × mean wait of the jobs, recorded one by one): relative tolerance 1 %, or 1e-6
    # absolute for queues that are nearly always empty. Queues with no waits at all are skipped.
    sc = _short("reseller-outage", hours=12.0, sms={"rate_per_s": 0.5, "channels": 1})
    rec = run(sc, seed=3, replication=0)
    checked = 0
    kinds: set[str] = set()
    for st in rec.stations:
        if st.arrivals == 0 or st.wait_sum == 0:
            continue
        assert st.left_queue == st.arrivals, f"{st.name}: jobs still queued at the end"
        lhs = st.mean_queue
        rhs = st.arrival_rate * st.mean_wait
        assert lhs == pytest.approx(rhs, rel=1e-2, abs=1e-6), st.name
        checked += 1
        kinds.add(st.name.split("/")[-1])
    assert {"fanout", "sms", "hotline", "backoffice"} <= kinds, kinds
    assert checked >= 10


@ENGINES
def test_outage_delays_only_the_down_reseller_and_retries_recover(run: Any) -> None:
    sc = _short("reseller-outage", hours=14.0)
    rec = run(sc, seed=5, replication=0)
    r07, r08 = fanout.of(rec).operators["R07"], fanout.of(rec).operators["R08"]
    assert r07.outage_failures > 0 and r08.outage_failures == 0
    assert r07.retries > r08.retries
    assert r07.gave_up == 0  # 6 h outage, 48 h deadline: every query is answered in time
    assert all(fanout.of(rec).complete)


def test_same_seed_gives_identical_json_and_other_seed_differs() -> None:
    sc = _short(hours=1.0)
    a = dumps(build_results(sc, 9, run_replications(sc, 9, 2, "serial")))
    b = dumps(build_results(sc, 9, run_replications(sc, 9, 2, "processes:2")))
    c = dumps(build_results(sc, 10, run_replications(sc, 10, 2, "serial")))
    assert a == b
    assert a != c


@ENGINES
def test_common_random_numbers_changing_r07_leaves_others_untouched(run: Any) -> None:
    base = _short(hours=1.0)
    slower = _short(hours=1.0, operators={"R07": {"latency": {"median_ms": 900, "sigma": 0.8}}})
    r1 = run(base, seed=4, replication=0)
    r2 = run(slower, seed=4, replication=0)
    for other in ("CMCC", "R01", "R08", "R39"):
        assert fanout.of(r1).operators[other].durations == fanout.of(r2).operators[other].durations, other
    assert fanout.of(r1).operators["R07"].durations != fanout.of(r2).operators["R07"].durations
    assert frontdoor.of(r1).verified_at == frontdoor.of(r2).verified_at


def test_sampling_scales_counts_back() -> None:
    full = _short(hours=2.0)
    sampled = _short(hours=2.0, sampling={"one_in": 10})
    outs_full = run_replications(full, 1, 2, "serial")
    outs_s = run_replications(sampled, 1, 2, "serial")
    q_full = np.mean([o["metrics"]["platform"]["queries_verified"] for o in outs_full])
    q_s = np.mean([o["metrics"]["platform"]["queries_verified"] for o in outs_s])
    assert q_s == pytest.approx(q_full, rel=0.15)
    assert all(math.isclose(o["metrics"]["platform"]["queries_verified"] % 10, 0) for o in outs_s)


def test_arrival_rate_is_the_diurnal_rate_times_every_surge_from_its_start() -> None:
    """The thinning rate against its formula written point by point, at times before, at and
    after each surge's start (the rate computes a surge's term only from its start on)."""
    from yzt.sim.arrivals import rate_per_s

    arr = load_scenario("launch-day").arrivals
    starts = [s.start_h * 3600.0 for s in arr.surges]
    t = np.sort(np.concatenate([np.linspace(0.0, 86_399.0, 997), starts,
                                np.nextafter(starts, 0.0), np.nextafter(starts, math.inf)]))

    def formula(x: float) -> float:
        boost = 1.0 + sum((s.peak_multiplier - 1.0) * math.exp(-(x - s.start_h * 3600.0)
                                                               / (s.decay_h * 3600.0))
                          for s in arr.surges if x >= s.start_h * 3600.0)
        return arr.queries_per_day / 86_400.0 * arr.diurnal[int(x // 3600.0) % 24] * boost

    assert len(arr.surges) >= 2
    np.testing.assert_allclose(rate_per_s(arr, t), [formula(x) for x in t], rtol=1e-12)
