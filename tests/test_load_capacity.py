"""The capacity finder converges by bisection: checked against endpoints whose breaking rate is known."""

from __future__ import annotations

import pytest

from yzt.loadtests.capacity import find_capacity
from yzt.verdict import Verdict


def shedding_at(limit: float, *, generator_max: float = float("inf")):
    """A probe for an endpoint that holds every SLA below ``limit`` req/s and breaks one above."""
    def probe(rate: float, phase: str) -> tuple[Verdict, tuple[str, ...]]:
        if rate > generator_max:
            return Verdict.INCOMPLETE, ("generator saturated",)
        return (Verdict.PASS, ()) if rate <= limit else (Verdict.FAIL, ("SLA-ERR-1 breached",))
    return probe


@pytest.mark.parametrize("limit", [150.0, 37.0, 99.0, 1000.0, 12.5])
def test_converges_within_ten_percent_of_the_breaking_rate(limit):
    cap = find_capacity(shedding_at(limit), 25.0)
    assert cap.converged and cap.verdict == (Verdict.PASS if limit >= 25.0 else Verdict.FAIL)
    assert cap.highest_sustainable_rate is not None and cap.lowest_breaking_rate is not None
    assert limit / 1.1 <= cap.highest_sustainable_rate <= limit < cap.lowest_breaking_rate
    assert cap.lowest_breaking_rate <= 1.1 * cap.highest_sustainable_rate
    assert any(p.phase == "bisect" for p in cap.probes) or cap.highest_sustainable_rate == limit


def test_the_endpoint_that_sheds_at_150_is_not_reported_as_100():
    """Doubling from 25 passes 100 and fails 200; bisection goes on to ≥ 136 (150 / 1.1)."""
    cap = find_capacity(shedding_at(150.0), 25.0)
    assert [p.rate for p in cap.probes[:4]] == [25.0, 50.0, 100.0, 200.0]
    assert cap.highest_sustainable_rate is not None and cap.highest_sustainable_rate >= 150 / 1.1


def test_first_rate_failing_searches_downwards_and_fails_the_gate():
    """The endpoint cannot hold the required rate: the capacity is measured, and the run fails."""
    cap = find_capacity(shedding_at(30.0), 100.0)
    assert cap.probes[0].verdict == Verdict.FAIL and cap.probes[1].phase == "shrink"
    assert cap.converged and 30 / 1.1 <= (cap.highest_sustainable_rate or 0) <= 30
    assert cap.verdict == Verdict.FAIL


def test_nothing_holds_is_a_fail_within_the_budget():
    cap = find_capacity(shedding_at(0.001), 100.0, max_probes=4)
    assert cap.verdict == Verdict.FAIL and cap.highest_sustainable_rate is None
    assert len(cap.probes) == 4 and "every rate tried broke" in cap.stopped


def test_generator_limit_stops_the_search_at_least_above_the_required_rate():
    """An endpoint faster than the generator holds the required rate: a pass, "at least" 100."""
    cap = find_capacity(shedding_at(500.0, generator_max=120.0), 25.0)
    assert cap.verdict == Verdict.PASS and cap.highest_sustainable_rate == 100.0
    assert not cap.converged and "at least" in cap.stopped


def test_a_generator_that_cannot_offer_the_required_rate_is_incomplete():
    cap = find_capacity(shedding_at(500.0, generator_max=10.0), 25.0)
    assert cap.verdict == Verdict.INCOMPLETE and cap.highest_sustainable_rate is None


def test_budget_bounds_the_search_and_the_gate_still_holds():
    cap = find_capacity(shedding_at(150.0), 25.0, max_probes=5)
    assert len(cap.probes) == 5 and not cap.converged and cap.verdict == Verdict.PASS
    assert cap.required_rate == 25.0 and "budget" in cap.stopped
