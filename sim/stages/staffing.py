"""Head counts per shift: the planner's value of a staffed stage (a hotline, a back office).

A shift value is searched as one offset over the analytic guess, then refined shift by shift
(:class:`yzt.sim.plan.Item`); these helpers read and write it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from yzt.sim.scenario import Shift
from yzt.sim.stages.contract import Value


def covers(shift: Shift, hour: int) -> bool:
    """Is ``shift`` staffed in the middle of hour ``hour`` (of any day)?"""
    return shift.start_h <= (hour % 24) + 0.5 < shift.end_h


def shift_guess(shifts: tuple[Shift, ...], required: Sequence[int]) -> Value:
    """Head count per shift: the largest hourly requirement each shift covers, net of the others."""
    guess = [0] * len(shifts)
    for _ in range(3):
        for s, shift in enumerate(shifts):
            needs = [required[hr] - sum(guess[o] for o, other in enumerate(shifts)
                                        if o != s and covers(other, hr))
                     for hr in range(len(required)) if covers(shift, hr)]
            guess[s] = max([1, *needs])
    return tuple(guess)


def agents_by_hour(shifts: tuple[Shift, ...], value: Value, hours: int) -> list[int]:
    """Agents on duty in each hour under ``value`` (head count per shift)."""
    return [sum(v for s, v in zip(shifts, value, strict=True) if covers(s, hr)) for hr in range(hours)]


def shifts_doc(shifts: tuple[Shift, ...], value: Value) -> list[dict[str, Any]]:
    """The scenario's ``shifts`` list with ``value`` as head counts."""
    return [{"start_h": s.start_h, "end_h": s.end_h, "agents": int(v)}
            for s, v in zip(shifts, value, strict=True)]


def first_step(guess: Value) -> int:
    """The first search step over a shift guess: the analytic guess is within about sqrt(R) of
    the answer (square-root staffing)."""
    return max(1, math.ceil(math.sqrt(max(max(guess), 1)) / 2))


def search_bound(guess: Value, current: Value) -> int:
    """Largest offset the search may try: four times the guess, at least 50 more, at least the
    current head counts."""
    return max(4 * max(guess), max(guess) + 50, *current)
