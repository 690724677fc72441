"""SLA profiles: every target sourced or marked, and the least agents under GB/T 33358-2016.

The must-show of the profiles at the theory level: with ``gbt-33358-2016`` (≥ 95 % of calls answered
within 15 s, abandonment ≤ 5 %), the least agents c of a single M/M/c+M hotline that the planner's
Erlang A search gives equals

- a brute-force scan c = 1, 2, … computed independently: the truncated birth-death generator solved
  as a linear system (numpy), and P(answered within 15 s | k callers ahead) by integrating the
  tagged caller's backward equations (scipy's DOP853), not the product form and uniformisation of
  yzt.sim.theory — both agree to 1e-9 on the service level and the abandonment;
- the SimPy hotline: at c the 99 % Student-t interval of the simulated service level lies above
  95 %, at c − 1 below it, and Erlang A's value lies inside both intervals (40 replications of
  48 simulated hours, the first hour dropped as warm-up; seeds fixed).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import simpy

from yzt.domain.topology import load_topology
from yzt.errors import UserError
from yzt.sim.callcentre import HotlineDesk
from yzt.sim.profiles import ASSUMPTION, PROFILES, markdown_table, profile
from yzt.sim.rng import Streams
from yzt.sim.scenario import Hotline, Shift
from yzt.sim.stats import estimate
from yzt.sim.theory import erlang_a

integrate = pytest.importorskip("scipy.integrate")

GBT = profile("gbt-33358-2016")

# (calls per hour, mean handle time s, mean patience s)
PARAMETER_SETS = [(30, 300.0, 600.0), (60, 180.0, 120.0), (200, 240.0, 300.0), (500, 180.0, 90.0)]
SIMULATED_SETS = PARAMETER_SETS[:3]


# -- the profile table -----------------------------------------------------------------------------
def test_profiles_carry_the_published_numbers() -> None:
    assert set(PROFILES) == {"gbt-33358-2016", "miit-3g-2009", "assumption"}
    gbt = GBT.hotline_sla()
    assert (gbt.answer_within_s, gbt.answered_share_min, gbt.abandonment_max) == (15.0, 0.95, 0.05)
    assert "15秒" in GBT.answer_within_s.source.quote
    assert "95%" in GBT.answered_share_min.source.quote
    assert "GB/T 33358-2016" in GBT.answered_share_min.source.document
    miit = profile("miit-3g-2009")
    assert miit.answer_within_s.value == 15.0
    assert "人工服务的应答时限最长为15秒" in miit.answer_within_s.source.quote


def test_every_target_is_quoted_or_marked_as_an_assumption() -> None:
    for p in PROFILES.values():
        for t in p.targets:
            s = t.source
            assert s.document, (p.name, t.field)
            if s.quote:
                assert s.quoted_from and s.clause, (p.name, t.field)
            else:
                assert ASSUMPTION in s.note and s.is_assumption, (p.name, t.field)
    # the MIIT document gives a longest time, not a share: its share must not pass as sourced
    assert profile("miit-3g-2009").answered_share_min.source.is_assumption
    assert not GBT.answered_share_min.source.is_assumption


def test_the_assumption_profile_is_the_topology_default() -> None:
    default = load_topology().get("CMCC").sla
    assert profile("assumption").hotline_sla() == default.hotline


def test_apply_replaces_only_the_hotline_target() -> None:
    base = load_topology().get("R01").sla
    applied = GBT.apply(base)
    assert applied.hotline == GBT.hotline_sla()
    assert applied != base
    assert applied.e2e_reply_hours == base.e2e_reply_hours and applied.card_count == base.card_count


def test_unknown_profile_names_the_choices() -> None:
    with pytest.raises(UserError, match=r"unknown SLA profile 'gbt-2016': use one of gbt-33358-2016, "
                                        r"miit-3g-2009, assumption"):
        profile("gbt-2016")


def test_markdown_table_lists_each_target_with_its_source() -> None:
    table = markdown_table()
    rows = [r for r in table.splitlines() if r.startswith("| `")]
    assert len(rows) == 3 * len(PROFILES)
    assert "「连续24小时内呼叫接通率应大于等于95%」" in table
    assert table.count(ASSUMPTION) >= 4
    docs = (Path(__file__).resolve().parents[1] / "docs" / "planning.md").read_text(encoding="utf-8")
    assert table in docs, "docs/planning.md: regenerate the table with `python -m yzt.sim.profiles`"


# -- least agents: Erlang A against brute force ---------------------------------------------------
def _brute_service_level(c: int, lam: float, mu: float, theta: float, t: float) -> tuple[float, float]:
    """(P(answered within t), P(abandon)) of M/M/c+M by linear algebra and an ODE solver."""
    n = c + math.ceil(max(0.0, lam - c * mu) / theta) + 80
    q = np.zeros((n, n))
    for i in range(n):
        if i + 1 < n:
            q[i, i + 1] = lam
        if i > 0:
            q[i, i - 1] = min(i, c) * mu + max(i - c, 0) * theta
        q[i, i] = -q[i].sum()
    lhs = q.T.copy()
    lhs[-1] = 1.0  # pi Q = 0 with one balance equation replaced by sum(pi) = 1
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    pi = np.linalg.solve(lhs, rhs)
    assert pi[-1] < 1e-12, "truncation too short"
    # u_k(s) = P(served within s | k callers ahead), backward equation of the tagged caller's chain:
    # u_k' = (c·mu + k·theta)(u_{k-1} - u_k) - theta·u_k, with u_{-1} = 1 (served), u_k(0) = 0.
    ahead = np.arange(n - c)
    moves = c * mu + ahead * theta

    def backward(_s: float, u: np.ndarray) -> np.ndarray:
        before = np.concatenate(([1.0], u[:-1]))
        out: np.ndarray = moves * (before - u) - theta * u
        return out

    sol = integrate.solve_ivp(backward, (0.0, t), np.zeros(n - c), method="DOP853",
                              rtol=1e-12, atol=1e-14)
    served = sol.y[:, -1]
    sl = float(pi[:c].sum() + (pi[c:] * served).sum())
    lq = float((pi * np.maximum(np.arange(n) - c, 0)).sum())
    return sl, theta * lq / lam


def _brute_least_agents(calls: float, handle: float, patience: float) -> int:
    target = GBT.hotline_sla()
    c = 1
    while True:
        sl, ab = _brute_service_level(c, calls / 3600.0, 1.0 / handle, 1.0 / patience,
                                      target.answer_within_s)
        if sl >= target.answered_share_min and ab <= target.abandonment_max:
            return c
        c += 1


@pytest.mark.parametrize(("calls", "handle", "patience"), PARAMETER_SETS)
def test_least_agents_under_gbt_equals_brute_force(calls: float, handle: float, patience: float) -> None:
    c = GBT.required_agents(calls, handle, patience)
    assert c == _brute_least_agents(calls, handle, patience)
    lam = calls / 3600.0
    at_c = erlang_a(c, lam, handle, patience, 15.0)
    below = erlang_a(c - 1, lam, handle, patience, 15.0)
    assert at_c.service_level >= 0.95 > below.service_level
    for k, theory in ((c, at_c), (c - 1, below)):
        sl, ab = _brute_service_level(k, lam, 1.0 / handle, 1.0 / patience, 15.0)
        assert sl == pytest.approx(theory.service_level, abs=1e-9)
        assert ab == pytest.approx(theory.p_abandon, abs=1e-9)


def test_the_profile_changes_the_answer() -> None:
    """The 95 % of GB/T asks for more agents than the 85 % assumption on the same line."""
    assert GBT.required_agents(200, 240.0, 300.0) > profile("assumption").required_agents(200, 240.0, 300.0)


# -- least agents: the SimPy hotline at c and c - 1 -----------------------------------------------
def _simulated_service_level(agents: int, calls: float, handle: float, patience: float,
                             rep: int, hours: float = 48.0) -> float:
    env = simpy.Environment()
    params = Hotline(enabled=True, shifts=(Shift(0.0, 24.0, agents),), handle_time_mean_s=handle,
                     handle_time_sigma=None, patience_mean_s=patience, background_calls_per_h=calls,
                     repeat_call_share=0.0, repeat_delay_mean_min=60.0)
    target = GBT.hotline_sla().answer_within_s
    desk = HotlineDesk(env, "T", params, target, Streams(19, rep), until=hours * 3600.0)
    env.run(until=(hours + 2.0) * 3600.0)
    log = desk.log
    keep = [i for i, t in enumerate(log.arrived) if t >= 3600.0]
    return sum(log.answered[i] and log.wait[i] <= target for i in keep) / len(keep)


@pytest.mark.parametrize(("calls", "handle", "patience"), SIMULATED_SETS)
def test_simulation_meets_gbt_at_c_and_fails_at_c_minus_one(calls: float, handle: float,
                                                           patience: float) -> None:
    c = GBT.required_agents(calls, handle, patience)
    share = GBT.hotline_sla().answered_share_min
    for k, meets in ((c, True), (c - 1, False)):
        est = estimate([_simulated_service_level(k, calls, handle, patience, r) for r in range(40)],
                       confidence=0.99)
        theory = erlang_a(k, calls / 3600.0, handle, patience, 15.0).service_level
        assert est.contains(theory), f"c={k}: Erlang A {theory:.4f} outside the 99 % CI {est}"
        if meets:
            assert est.low > share, f"c={k} should meet 95 % within 15 s: {est}"
        else:
            assert est.high < share, f"c={k} should fail 95 % within 15 s: {est}"
