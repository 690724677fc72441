"""Shift design (set covering by scipy's milp/HiGHS) against brute force, its errors, and the waste of
fixed windows.

Brute force enumerates every head-count vector 0 … max requirement per pattern (the same bound the
program uses, which loses no optimum) and keeps the cheapest that covers every hour: the program's
cost must equal it, and its roster must cover every hour.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from yzt.errors import UserError
from yzt.sim.callcentre import agents_at
from yzt.sim.scenario import Shift
from yzt.sim.shifts import (
    Roster,
    ShiftPattern,
    demo,
    design,
    hour_label,
    main,
    pattern_grid,
    patterns_of,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "planning.md"


def _brute(required: list[int], patterns: list[ShiftPattern], *, repeat_daily: bool,
           night_premium: float = 0.0, night: tuple[int, int] = (22, 6)) -> float:
    """Least cost by enumerating every head-count vector (one variable per pattern and day)."""
    horizon = len(required)
    days = -(-horizon // 24)
    cols, costs = [], []
    for p in patterns:
        night_h = sum(((p.start_h + o) % 24 >= night[0]) or ((p.start_h + o) % 24 < night[1])
                      for o in p.worked)
        for day in ([None] if repeat_daily else range(days)):
            col = np.zeros(horizon)
            for o in p.worked:
                if day is None:
                    for d in range(days):
                        col[(p.start_h + o) % 24 + 24 * d] = 1
                elif 24 * day + p.start_h + o < horizon:
                    col[24 * day + p.start_h + o] = 1
            cols.append(col)
            costs.append(len(p.worked) + night_h * night_premium)
    a = np.array(cols).T
    req = np.array(required)
    ubs = [int(max((req[h] for h in range(horizon) if a[h, j]), default=0)) for j in range(a.shape[1])]
    best = np.inf
    for x in itertools.product(*(range(u + 1) for u in ubs)):
        xv = np.array(x)
        if np.all(a @ xv >= req):
            best = min(best, float(np.dot(costs, xv)) * (days if repeat_daily else 1))
    return best


def _covers(roster: Roster) -> bool:
    return all(h.planned >= h.required for h in roster.hours)


@pytest.mark.parametrize("seed", range(12))
def test_milp_equals_brute_force_on_small_cases(seed: int) -> None:
    rng = np.random.default_rng(seed)
    horizon = int(rng.integers(6, 11))
    required = [int(v) for v in rng.integers(0, 4, size=horizon)]
    patterns = []
    while len(patterns) < int(rng.integers(3, 6)):
        start = int(rng.integers(0, horizon - 1))
        length = int(rng.integers(2, 6))
        brk = (1,) if length >= 4 and rng.random() < 0.5 else ()
        p = ShiftPattern(start, length, brk)
        if p not in patterns:
            patterns.append(p)
    # every hour with demand must be coverable, else the case is the infeasible one tested below
    worked = {p.start_h + o for p in patterns for o in p.worked}
    required = [r if h in worked else 0 for h, r in enumerate(required)]
    roster = design(required, patterns, repeat_daily=False)
    assert roster.optimal
    assert _covers(roster)
    assert roster.cost == pytest.approx(_brute(required, patterns, repeat_daily=False))
    assert roster.agent_hours == sum(a.paid_hours * a.agents for a in roster.assignments)


def test_milp_equals_brute_force_over_midnight_with_a_night_premium() -> None:
    """A daily roster with shifts over midnight, at several night premiums."""
    required = [1] * 6 + [0] * 2 + [2, 3, 3, 2, 2, 3, 3, 2] + [1] * 8
    patterns = [ShiftPattern(22, 8), ShiftPattern(0, 6), ShiftPattern(8, 8, (4,)),
                ShiftPattern(12, 4), ShiftPattern(16, 8), ShiftPattern(18, 6), ShiftPattern(20, 10)]
    for premium in (0.0, 0.5, 3.0):
        roster = design(required, patterns, night_premium_per_h=premium)
        assert _covers(roster)
        assert roster.cost == pytest.approx(_brute(required, patterns, repeat_daily=True,
                                                   night_premium=premium))


def test_a_night_premium_moves_the_cover_to_day_hours() -> None:
    """19:00–23:00 is the shortest cover of 19–21 h but pays one night hour; 15:00–22:00 pays
    three more day hours. Without a premium the short shift wins, with 4 per night hour the long."""
    required = [0] * 19 + [1, 1, 1] + [0] * 2
    patterns = [ShiftPattern(19, 4), ShiftPattern(15, 7)]
    plain = design(required, patterns)
    assert [(a.pattern, a.agents) for a in plain.assignments] == [(ShiftPattern(19, 4), 1)]
    assert plain.cost == 4
    dear = design(required, patterns, night_premium_per_h=4.0)
    assert [(a.pattern, a.agents) for a in dear.assignments] == [(ShiftPattern(15, 7), 1)]
    assert dear.cost == 7 == _brute(required, patterns, repeat_daily=True, night_premium=4.0)


def test_a_roster_repeats_every_day_of_a_longer_horizon() -> None:
    day = [0] * 8 + [2, 3, 4, 4, 3, 2, 2, 1] + [0] * 8
    busier = [2 * r for r in day]
    roster = design(day + busier, pattern_grid(range(8, 16), (4, 8), break_after_h=4))
    assert _covers(roster)
    for h in roster.hours[:24]:
        assert h.planned == roster.hours[h.hour + 24].planned  # the same head counts each day
    per_day = design(day + busier, pattern_grid(range(8, 16), (4, 8), break_after_h=4),
                     repeat_daily=False)
    assert _covers(per_day)
    assert per_day.agent_hours < roster.agent_hours  # the first day need not carry the second's


def test_designed_shifts_waste_fewer_agent_hours_than_a_fixed_window() -> None:
    """The issue's R01: one 09:00–21:00 window carries its peak of 7 through quiet hours."""
    required = [0] * 24
    for i, need in enumerate([1, 2, 4, 6, 7, 7, 6, 5, 4, 3, 2, 1]):
        required[9 + i] = need
    fixed = design(required, patterns_of([Shift(9.0, 21.0, 1)]))
    designed = design(required, pattern_grid(range(9, 21), (4, 6, 8), break_after_h=4,
                                             opening=(9, 21)), opening=(9, 21))
    assert fixed.agent_hours == 84 == 12 * max(required)
    assert designed.agent_hours == 48 == sum(required)  # the lower bound: no hour over-staffed
    assert designed.cost < fixed.cost


def test_to_shifts_gives_the_planned_head_count_every_hour() -> None:
    required = [1] * 6 + [0] * 2 + [2, 3, 3, 2, 2, 3, 3, 2] + [1] * 8
    patterns = [ShiftPattern(22, 8, (3,)), ShiftPattern(8, 9, (4,)), ShiftPattern(12, 4),
                ShiftPattern(16, 8), ShiftPattern(0, 6)]
    roster = design(required, patterns)
    shifts = roster.to_shifts()
    assert all(0 <= s.start_h < s.end_h <= 24 for s in shifts)
    for h in roster.hours:
        assert agents_at(shifts, h.hour * 3600.0 + 1800.0) == h.planned, h.label
    with pytest.raises(ValueError, match="every day"):
        design(required, patterns, repeat_daily=False).to_shifts()


def test_an_hour_no_pattern_covers_is_named() -> None:
    required = [0] * 24
    required[3] = 2
    required[10] = 1
    with pytest.raises(UserError, match=r"no allowed pattern covers D1 03:00 \(needs 2\): add a "
                                        r"pattern that works that hour"):
        design(required, [ShiftPattern(8, 8)])
    with pytest.raises(UserError, match=r"D2 03:00 \(needs 2\)"):
        design([0] * 24 + required, [ShiftPattern(8, 8)], repeat_daily=False)


def test_bad_inputs_name_the_field() -> None:
    day = [0] * 8 + [1] * 14 + [0] * 2
    with pytest.raises(UserError, match=r"required: D1 02:00 needs 1 but the opening hours are "
                                        r"08:00–22:00"):
        design([0, 0, 1, *day[3:]], [ShiftPattern(8, 8)], opening=(8, 22))
    with pytest.raises(UserError, match=r"patterns\[1\] \(18, 8 h\): works 22:00, outside the "
                                        r"opening hours 08:00–22:00"):
        design(day, [ShiftPattern(8, 8), ShiftPattern(18, 8)], opening=(8, 22))
    with pytest.raises(UserError, match=r"patterns\[0\] \(8, 8 h\)\.breaks: 7 is not inside"):
        design(day, [ShiftPattern(8, 8, (7,))])
    with pytest.raises(UserError, match=r"required: 30 hours is not whole days"):
        design([1] * 30, [ShiftPattern(0, 8)])
    with pytest.raises(UserError, match=r"required\[2\] \(D1 02:00\): 1.5 is not a whole number"):
        design([0, 0, 1.5], [ShiftPattern(0, 3)], repeat_daily=False)  # type: ignore[list-item]
    with pytest.raises(UserError, match=r"patterns: no shift pattern"):
        design(day, [])
    with pytest.raises(UserError, match=r"shifts\[0\]: 8.5–17.0 h is not in whole hours"):
        patterns_of([Shift(8.5, 17.0, 3)])


def test_hour_labels_give_day_and_clock() -> None:
    assert [hour_label(h) for h in (0, 9, 33, 71)] == ["D1 00:00", "D1 09:00", "D2 09:00", "D3 23:00"]


def test_demo_prints_the_numbers_of_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    designed, fixed, required = demo()
    assert _covers(designed) and _covers(fixed)
    assert designed.agent_hours == sum(required)  # every hour exactly at its requirement
    assert fixed.agent_hours == 14 * max(required)
    assert main([]) == 0
    out = capsys.readouterr().out
    line = (f"agent-hours: designed {designed.agent_hours:g}, fixed 08:00–22:00 window "
            f"{fixed.agent_hours:g}")
    assert line in out
    docs = DOCS.read_text(encoding="utf-8")
    assert line in docs, "docs/planning.md quotes other numbers than `python -m yzt.sim.shifts`"
    assert re.search(r"python -m yzt\.sim\.shifts", docs)


def test_a_roster_of_given_counts_costs_what_the_program_costs() -> None:
    from yzt.sim.shifts import roster_of

    required = [0] * 8 + [1, 2, 3, 3, 2, 1, 1, 1] + [0] * 8
    patterns = list(pattern_grid(range(8, 13), (4, 8), break_after_h=4, opening=(8, 16)))
    best = design(required, patterns, night_premium_per_h=0.5, night_hours=(14, 16))
    again = roster_of({a.pattern: a.agents for a in best.assignments}, required,
                      night_premium_per_h=0.5, night_hours=(14, 16))
    assert again.agent_hours == best.agent_hours
    assert again.cost == pytest.approx(best.cost)
    assert [h.planned for h in again.hours] == [h.planned for h in best.hours]
    assert again.optimal is False  # given, not proven least


def test_trimming_moves_keep_every_open_hour_staffed_and_prune_inside_a_failed_move() -> None:
    from yzt.sim.stages.staffing import apply_move, cover24, inside, trim_moves

    window = ShiftPattern(9, 12)
    allowed = [window, *pattern_grid(range(9, 18), (4, 8), break_after_h=4, opening=(9, 21))]
    open_hours = frozenset(range(9, 21))
    # one agent on the window: nothing may go (an open hour would be empty)
    assert trim_moves({window: 1}, allowed, open_hours) == []
    moves = trim_moves({window: 2}, allowed, open_hours)
    assert moves[0].add is None and moves[0].saves == 12  # the most hours saved first
    assert [m.saves for m in moves] == sorted((m.saves for m in moves), reverse=True)
    for m in moves:
        after = apply_move({window: 2}, m)
        assert min(cover24(after)[9:21]) >= 1
        assert sum(len(p.worked) * n for p, n in after.items()) == 24 - m.saves
    # a move to 09:00-17:00 (break 13:00) that breaks the row: every move to an allowed pattern
    # inside it (09:00-13:00 here) and one agent less break it too
    eight = ShiftPattern(9, 8, (4,))
    (failed,) = [m for m in moves if m.add == eight]
    pruned = inside(failed, allowed)
    assert any(m.add is None for m in pruned)
    assert {m.add for m in pruned if m.add is not None} == {ShiftPattern(9, 4)}
    assert all(m.drop == window for m in pruned)
    # moving several agents at once is bounded by the open hours
    assert failed.most({window: 3}, open_hours) == 2
