"""Head counts per shift: the planner's value of a staffed stage (a hotline, a back office).

A shift value is searched as one offset over the analytic guess, then refined shift by shift
(:class:`yzt.sim.plan.Item`); these helpers read and write it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from yzt.errors import UserError
from yzt.sim.scenario import Patterns, Scenario, Shift
from yzt.sim.shifts import Roster, ShiftPattern, design, pattern_grid, roster_of
from yzt.sim.stages.contract import ItemKey, Value


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


# -- shift design (``yzt plan --design-shifts``) ---------------------------------------------------
#: Rounds of simulate-and-adjust (ISA) at most, per plan.
ISA_ROUNDS = 10
#: ``--shift-target run``: the hourly target's share is searched on a grid of this many steps
#: (bisection: 6 rounds), then the roster is trimmed for at most :data:`TRIM_ROUNDS` rounds, each
#: trying up to :data:`TRIM_WIDTH` moves per item (one simulation each, every item at once).
TARGET_STEPS = 64
#: When the full hourly target does not hold the rows, every open hour gets up to this many more.
TARGET_EXTRA_MAX = 64
TRIM_ROUNDS = 16
TRIM_WIDTH = 4


@dataclass(frozen=True)
class Rostering:
    """A staffed resource's hooks for designing its shifts instead of sizing fixed windows.

    ``requirement(sc, key, details, hours, planned)``: head count needed in each hour of the
    horizon, from the replications' ``details`` (the resource's ``details`` hook) and the
    fixed-window plan ``planned``. ``hour_check(sc, key, details, hours)``: per hour of the
    horizon, does the simulated hour hold (``None``: too little traffic to judge it alone)?
    ``worst_hour`` picks the hour of the day to raise when the item's rows fail though no hour
    does; ``requirement_at`` lowers the hourly target (``--shift-target run``). ``section`` is
    the operator's scenario key holding ``shifts`` and ``patterns``; ``unit_cost`` the ``costs:``
    key of one paid hour."""

    section: str
    unit_cost: str
    requirement: Callable[[Scenario, ItemKey, list[Any], int, Value], list[int]]
    hour_check: Callable[[Scenario, ItemKey, list[Any], int], list[bool | None]] | None = None
    worst_hour: Callable[[Scenario, ItemKey, list[Any], int, frozenset[int]], int | None] | None = None
    requirement_at: Callable[[Scenario, ItemKey, list[Any], int, Value, float], list[int]] | None = None
    """As ``requirement`` with every hour held to a share (0…1) of the resource's target: the
    hourly target searched by ``--shift-target run`` (``None``: the requirement has no target to
    lower, as a back office's, and the roster is only trimmed)."""

    def shifts(self, sc: Scenario, key: ItemKey) -> tuple[Shift, ...]:
        shifts: tuple[Shift, ...] = getattr(sc.operator(key.operator), self.section).shifts
        return shifts

    def patterns(self, sc: Scenario, key: ItemKey) -> tuple[tuple[ShiftPattern, ...], frozenset[int]]:
        """The allowed patterns and the open hours of the day: the scenario's ``patterns:`` or the
        defaults (every start hour inside the opening hours, 4, 6 or 8 hours, a break after 4 in
        shifts of 6 or more, and the scenario's own windows); opening hours default to those the
        scenario's shifts cover."""
        p: Patterns = getattr(sc.operator(key.operator), self.section).patterns or Patterns()
        if p.opening is not None:
            o, c = p.opening
            open_hours = frozenset(h for h in range(24) if (o <= h < c if o < c else (h >= o or h < c)))
        else:
            open_hours = frozenset(h for h in range(24)
                                   if any(s.agents > 0 and covers(s, h) for s in self.shifts(sc, key)))
        starts = p.starts if p.starts is not None else sorted(open_hours)
        grid = pattern_grid(starts, p.lengths, break_after_h=p.break_after_h)
        if p.starts is None:  # the scenario's own windows stay allowed: a design never costs more
            own = [ShiftPattern(int(s.start_h), int(s.end_h - s.start_h)) for s in self.shifts(sc, key)
                   if s.start_h == int(s.start_h) and s.end_h == int(s.end_h)]
            grid = tuple(dict.fromkeys([*grid, *own]))
        allowed = tuple(g for g in grid if all((g.start_h + o) % 24 in open_hours for o in g.worked))
        where = f"operators.{key.operator}.{self.section}.patterns"
        if not allowed:
            raise UserError(f"{where}: no allowed pattern fits the opening hours "
                            f"{_hours_text(open_hours)} (add shorter lengths or other starts)")
        return allowed, open_hours


def _hours_text(hours: frozenset[int]) -> str:
    return ", ".join(f"{h:02d}:00" for h in sorted(hours)) or "none"


def fold(required: Sequence[int], open_hours: frozenset[int]) -> list[int]:
    """A requirement over several days folded to one day (the scenario's shifts repeat every
    day): the largest requirement of each hour of the day; at least one on every open hour (the
    opening hours are kept), none when closed."""
    out = [0] * 24
    for h, r in enumerate(required):
        out[h % 24] = max(out[h % 24], int(r))
    return [max(1, r) if h in open_hours else 0 for h, r in enumerate(out)]


def day_agent_hours(shifts: Sequence[Shift], value: Value | None = None) -> float:
    """Paid agent-hours of one day of ``shifts`` (head counts ``value``, else the shifts' own)."""
    counts = value if value is not None else tuple(s.agents for s in shifts)
    return float(sum((s.end_h - s.start_h) * v for s, v in zip(shifts, counts, strict=True)))


def design_day(rostering: Rostering, sc: Scenario, key: ItemKey, required24: Sequence[int]) -> Roster:
    """The least-cost daily roster over the item's allowed patterns that covers ``required24``
    (cost in agent-hours, plus the pattern's night premium)."""
    patterns, _ = rostering.patterns(sc, key)
    p: Patterns = getattr(sc.operator(key.operator), rostering.section).patterns or Patterns()
    return design(required24, patterns, night_premium_per_h=p.night_premium_per_h)


def roster_override(rostering: Rostering, key: ItemKey, roster: Roster, doc: dict[str, Any]) -> None:
    """Write the roster as the item's ``shifts`` into a scenario override document."""
    ops = doc.setdefault("operators", {}).setdefault(key.operator, {})
    ops.setdefault(rostering.section, {})["shifts"] = [
        {"start_h": s.start_h, "end_h": s.end_h, "agents": s.agents} for s in roster.to_shifts()]


def design_counts(rostering: Rostering, sc: Scenario, key: ItemKey, counts: Mapping[ShiftPattern, int],
                  required24: Sequence[int]) -> Roster:
    """A roster of given head counts per pattern (a trimmed one), costed like :func:`design_day`."""
    p: Patterns = getattr(sc.operator(key.operator), rostering.section).patterns or Patterns()
    return roster_of(counts, required24, night_premium_per_h=p.night_premium_per_h)


def window_counts(shifts: Sequence[Shift], value: Value) -> dict[ShiftPattern, int] | None:
    """The fixed-window plan as head counts per pattern (``None`` when a window is not in whole
    hours, so not a pattern)."""
    out: dict[ShiftPattern, int] = {}
    for s, v in zip(shifts, value, strict=True):
        if s.start_h != int(s.start_h) or s.end_h != int(s.end_h):
            return None
        if v > 0:
            pat = ShiftPattern(int(s.start_h), int(s.end_h - s.start_h))
            out[pat] = out.get(pat, 0) + int(v)
    return out


@dataclass(frozen=True)
class Move:
    """One step of trimming a roster: ``count`` agents less on ``drop``, or moved to the shorter
    ``add`` (a pattern working a subset of ``drop``'s hours)."""

    drop: ShiftPattern
    add: ShiftPattern | None
    saves: int
    """Paid hours a day saved per agent."""
    count: int = 1

    @property
    def unit(self) -> Move:
        return Move(self.drop, self.add, self.saves)

    @property
    def label(self) -> str:
        who = "one agent" if self.count == 1 else f"{self.count} agents"
        if self.add is None:
            return f"{who} less on {self.drop.label}"
        return f"{who} from {self.drop.label} to {self.add.label}"

    def most(self, counts: Mapping[ShiftPattern, int], open_hours: frozenset[int]) -> int:
        """The most agents this move can take and keep one person on every open hour."""
        cover = cover24(counts)
        freed = _hours_of(self.drop) - (_hours_of(self.add) if self.add is not None else frozenset())
        spare = [cover[h] - 1 for h in freed if h in open_hours]
        return max(0, min([counts.get(self.drop, 0), *spare]))


def _hours_of(p: ShiftPattern) -> frozenset[int]:
    return frozenset((p.start_h + o) % 24 for o in p.worked)


def cover24(counts: Mapping[ShiftPattern, int]) -> list[int]:
    """Head count in each hour of the day."""
    out = [0] * 24
    for p, n in counts.items():
        for h in _hours_of(p):
            out[h] += n
    return out


def trim_moves(counts: Mapping[ShiftPattern, int], allowed: Sequence[ShiftPattern],
               open_hours: frozenset[int]) -> list[Move]:
    """Every one-agent move that keeps at least one person on each open hour, most hours saved
    first: one agent less on a pattern, or one agent moved to a shorter allowed pattern inside
    it."""
    cover = cover24(counts)
    out = []
    for p, n in counts.items():
        if n <= 0:
            continue
        mine = _hours_of(p)
        if all(cover[h] > 1 for h in mine if h in open_hours):
            out.append(Move(p, None, len(p.worked)))
        for q in allowed:
            theirs = _hours_of(q)
            if q != p and theirs < mine and len(q.worked) < len(p.worked) and all(
                    cover[h] > 1 for h in mine - theirs if h in open_hours):
                out.append(Move(p, q, len(p.worked) - len(q.worked)))
    return sorted(out, key=lambda m: (-m.saves, m.label))


def inside(move: Move, allowed: Sequence[ShiftPattern]) -> set[Move]:
    """The one-agent moves from ``move.drop`` that keep fewer hours than ``move`` does: to an
    allowed pattern inside ``move.add``, or none. When ``move`` breaks a row, so do they."""
    if move.add is None:
        return set()
    theirs = _hours_of(move.add)
    out = {Move(move.drop, None, len(move.drop.worked))}
    for q in allowed:
        if q != move.add and _hours_of(q) <= theirs:
            out.add(Move(move.drop, q, len(move.drop.worked) - len(q.worked)))
    return out


def apply_move(counts: Mapping[ShiftPattern, int], move: Move) -> dict[ShiftPattern, int]:
    out = dict(counts)
    out[move.drop] -= move.count
    if out[move.drop] <= 0:
        del out[move.drop]
    if move.add is not None:
        out[move.add] = out.get(move.add, 0) + move.count
    return out
