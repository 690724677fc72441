"""The call-centre model against Erlang C and Erlang A, and the theory module against references.

Reference values (docs/simulation.md): 100 calls per 30 min, AHT 180 s, target 20 s; Erlang C
c=11: P(wait)=0.6821, ASA=122.78 s, SL=0.3896; c=14: 0.1741 / 7.84 s / 0.8884. Erlang A, c=14,
exponential patience mean 5 min: P(wait)=0.14526, P(abandon)=0.013984, SL=0.916792.

Simulation tolerance: the reference must lie inside the 99 % Student-t confidence interval of
20 replications of 24 simulated hours each (first hour discarded as warm-up). Seeds are fixed, so
the test is deterministic; a wrong model moves the means by far more than the half-widths
(bounded at ±0.06 below).
"""

from __future__ import annotations

import math

import pytest
import simpy

from yzt.sim.callcentre import HotlineDesk
from yzt.sim.rng import Streams
from yzt.sim.scenario import Hotline, Shift
from yzt.sim.stats import estimate
from yzt.sim.theory import (
    erlang_a,
    erlang_b,
    erlang_c,
    little_l,
    lognormal_cdf,
    max_cdf,
    t_quantile,
)

LAM = 100 / 1800.0
AHT = 180.0
TARGET = 20.0


def test_erlang_c_reference_values() -> None:
    c11 = erlang_c(11, LAM, AHT, TARGET)
    assert c11.p_wait == pytest.approx(0.6821, abs=1e-3)
    assert c11.asa == pytest.approx(122.78, abs=1e-1)
    assert c11.service_level == pytest.approx(0.3896, abs=1e-3)
    c14 = erlang_c(14, LAM, AHT, TARGET)
    assert c14.p_wait == pytest.approx(0.1741, abs=1e-3)
    assert c14.asa == pytest.approx(7.84, abs=1e-2)
    assert c14.service_level == pytest.approx(0.8884, abs=1e-3)


def test_erlang_a_reference_values() -> None:
    a = erlang_a(14, LAM, AHT, 300.0, TARGET)
    assert a.p_wait == pytest.approx(0.14526, abs=1e-3)
    assert a.p_abandon == pytest.approx(0.013984, abs=1e-3)
    assert a.service_level == pytest.approx(0.916792, abs=1e-3)


def test_erlang_a_tends_to_erlang_c_with_endless_patience() -> None:
    a = erlang_a(14, LAM, AHT, 1e6, TARGET)
    c = erlang_c(14, LAM, AHT, TARGET)
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-3)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-3)


def test_erlang_b_recursion_is_stable_for_thousands_of_servers() -> None:
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert 0.0 < erlang_b(5000, 4900.0) < 0.05


def test_erlang_c_rejects_unstable_load() -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(10, LAM, AHT, TARGET)


def test_max_of_lognormals_and_little() -> None:
    f = lognormal_cdf(1.0, 0.5)
    assert f(1.0) == pytest.approx(0.5)
    assert max_cdf([f, f], 1.0) == pytest.approx(0.25)
    assert little_l(2.0, 3.0) == 6.0


def test_t_quantiles_match_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 4, 19, 30, 31, 60, 200):
        assert t_quantile(0.95, df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-3)
        assert t_quantile(0.99, df) == pytest.approx(stats.t.ppf(0.995, df), abs=5e-3)


def _hotline_replication(agents: int, patience: float | None, rep: int) -> tuple[float, float, float]:
    env = simpy.Environment()
    hours = 24.0
    params = Hotline(enabled=True, shifts=(Shift(0.0, 24.0, agents),), handle_time_mean_s=AHT,
                     handle_time_sigma=None, patience_mean_s=patience,
                     background_calls_per_h=LAM * 3600.0, repeat_call_share=0.0,
                     repeat_delay_mean_min=60.0)
    desk = HotlineDesk(env, "T", params, TARGET, Streams(2024, rep), until=hours * 3600.0)
    env.run(until=(hours + 2.0) * 3600.0)
    log = desk.log
    keep = [i for i, t in enumerate(log.arrived) if t >= 3600.0]
    n = len(keep)
    waited = sum(log.wait[i] > 0 for i in keep) / n
    sl = sum(log.answered[i] and log.wait[i] <= TARGET for i in keep) / n
    abandoned = sum(not log.answered[i] for i in keep) / n
    return waited, sl, abandoned


@pytest.mark.parametrize(
    ("agents", "patience"), [(11, None), (14, None), (14, 300.0)], ids=["C-c11", "C-c14", "A-c14"]
)
def test_hotline_simulation_matches_erlang(agents: int, patience: float | None) -> None:
    reps = [_hotline_replication(agents, patience, r) for r in range(20)]
    if patience is None:
        theory = erlang_c(agents, LAM, AHT, TARGET)
    else:
        theory = erlang_a(agents, LAM, AHT, patience, TARGET)
    for k, (name, expected) in enumerate(
        (("P(wait)", theory.p_wait), ("SL", theory.service_level), ("P(abandon)", theory.p_abandon))
    ):
        est = estimate([r[k] for r in reps], confidence=0.99)
        if expected == 0.0:
            assert est.mean == 0.0, name
            continue
        assert est.contains(expected), f"{name}: theory {expected:.4f} outside 99 % CI {est}"
        assert est.half_width < 0.06, f"{name}: CI too wide to mean anything ({est})"
    assert not math.isnan(reps[0][0])
