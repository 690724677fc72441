"""Shift design: how many agents start each allowed shift pattern, so every hour is covered at least
cost — the set-covering integer program (Dantzig 1954), solved by HiGHS through
:func:`scipy.optimize.milp`.

Sizing the scenario's fixed shift windows keeps a window's peak head count through its quiet hours;
designing chooses starts and lengths from the allowed patterns instead. With ``x_j`` agents on
pattern (or pattern and day) ``j``, ``a_hj = 1`` when ``j`` works hour ``h``, ``r_h`` the hour's
requirement and ``c_j`` the cost of one agent on ``j``::

    minimise   Σ_j c_j · x_j
    subject to Σ_j a_hj · x_j ≥ r_h      for every hour h of the horizon
               x_j ∈ {0, 1, 2, …},  x_j ≤ max{r_h : a_hj = 1}

``c_j`` is the pattern's paid hours (unpaid breaks excluded) times the cost of an agent-hour, plus
the night premium for each paid night hour. The bound on ``x_j`` loses nothing (more agents on a
pattern than the largest requirement it covers are never needed) and keeps the search finite.

Hours are whole clock hours; hour ``h`` of the horizon is day ``h // 24 + 1`` at ``h % 24``:00. With
``repeat_daily`` (the scenario's shifts repeat every day) one head count per pattern serves every
day and a shift past midnight covers the early hours of every day; without it each day has its
own head counts and the horizon ends where the requirement ends.

``python -m yzt.sim.shifts`` designs a day for a hotline under a service profile and prints it
against fixed windows sized to their peak.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from yzt.errors import UserError
from yzt.sim.scenario import Shift


def hour_label(hour: int) -> str:
    """Hour ``hour`` of the horizon as day and clock: ``D1 09:00``."""
    return f"D{hour // 24 + 1} {hour % 24:02d}:00"


@dataclass(frozen=True)
class ShiftPattern:
    """An allowed shift: start hour of day, hours on site, and one-hour unpaid breaks (offsets from
    the start, inside the shift). It may run past midnight."""

    start_h: int
    length_h: int
    breaks: tuple[int, ...] = ()

    @property
    def worked(self) -> tuple[int, ...]:
        """Offsets from the start of the hours worked (and paid): every hour but the breaks."""
        return tuple(o for o in range(self.length_h) if o not in self.breaks)

    @property
    def label(self) -> str:
        end = (self.start_h + self.length_h) % 24
        text = f"{self.start_h:02d}:00–{end:02d}:00"
        if self.breaks:
            text += " (break " + ", ".join(f"{(self.start_h + b) % 24:02d}:00" for b in self.breaks) + ")"
        return text


def pattern_grid(starts: Iterable[int], lengths: Iterable[int], *, break_after_h: int | None = None,
                 break_from_length_h: int = 6,
                 opening: tuple[int, int] | None = None) -> tuple[ShiftPattern, ...]:
    """Every start × length, with a one-hour unpaid break after ``break_after_h`` hours in shifts
    of ``break_from_length_h`` hours or more, keeping only the patterns inside ``opening``."""
    out = []
    for start in starts:
        for length in lengths:
            brk: tuple[int, ...] = ()
            if break_after_h is not None and length >= break_from_length_h and 0 < break_after_h < length - 1:
                brk = (break_after_h,)
            p = ShiftPattern(int(start), int(length), brk)
            if opening is None or all(_is_open(opening, (p.start_h + o) % 24) for o in p.worked):
                out.append(p)
    return tuple(out)


def patterns_of(shifts: Sequence[Shift]) -> tuple[ShiftPattern, ...]:
    """A scenario's fixed shift windows as patterns (whole hours only)."""
    out = []
    for i, s in enumerate(shifts):
        if s.start_h != int(s.start_h) or s.end_h != int(s.end_h):
            raise UserError(f"shifts[{i}]: {s.start_h}–{s.end_h} h is not in whole hours "
                            "(shift design works hour by hour)")
        out.append(ShiftPattern(int(s.start_h), int(s.end_h - s.start_h)))
    return tuple(out)


@dataclass(frozen=True)
class Assignment:
    """Agents on one pattern (on one day, or every day with ``day`` ``None``)."""

    pattern: ShiftPattern
    day: int | None
    """0-based start day; ``None`` when the roster repeats every day."""
    agents: int
    paid_hours: int
    """Paid hours of one agent's shift (breaks excluded)."""
    cost: float
    """Cost of these agents over the horizon."""


@dataclass(frozen=True)
class HourCover:
    """One hour of the horizon: required against planned head count."""

    hour: int
    required: int
    planned: int

    @property
    def label(self) -> str:
        return hour_label(self.hour)


@dataclass(frozen=True)
class Roster:
    """A designed roster: head count per pattern, cover per hour, its agent-hours and cost."""

    assignments: tuple[Assignment, ...]
    """Patterns with at least one agent, in the order the patterns were given."""
    hours: tuple[HourCover, ...]
    agent_hours: float
    """Paid agent-hours over the horizon."""
    cost: float
    optimal: bool
    """Proven least cost (HiGHS with a zero gap); False when the solver stopped at its time limit
    with a feasible, maybe costlier roster."""
    repeat_daily: bool

    def to_shifts(self) -> tuple[Shift, ...]:
        """The roster as the scenario's daily shifts (``Shift(start_h, end_h, agents)``): each
        pattern's worked hours, split at breaks and at midnight (scenario shifts end by 24 h)."""
        if not self.repeat_daily:
            raise ValueError("only a roster that repeats every day is a list of daily shifts")
        out = []
        for a in self.assignments:
            hours = [(a.pattern.start_h + o) % 24 for o in a.pattern.worked]
            run_start = prev = hours[0]
            for h in [*hours[1:], None]:
                if h is not None and h == prev + 1:
                    prev = h
                    continue
                out.append(Shift(float(run_start), float(prev + 1), a.agents))
                if h is not None:
                    run_start = prev = h
        return tuple(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "assignments": [{"pattern": a.pattern.label, "start_h": a.pattern.start_h,
                             "length_h": a.pattern.length_h, "breaks": list(a.pattern.breaks),
                             "day": a.day, "agents": a.agents, "paid_hours": a.paid_hours,
                             "cost": a.cost} for a in self.assignments],
            "hours": [{"hour": c.hour, "label": c.label, "required": c.required,
                       "planned": c.planned} for c in self.hours],
            "agent_hours": self.agent_hours,
            "cost": self.cost,
            "optimal": self.optimal,
        }


def _is_open(opening: tuple[int, int], hour_of_day: int) -> bool:
    o, c = opening
    return o <= hour_of_day < c if o < c else (hour_of_day >= o or hour_of_day < c)


def _is_night(night: tuple[int, int], hour_of_day: int) -> bool:
    return _is_open(night, hour_of_day) if night[0] != night[1] else False


def _check_patterns(patterns: Sequence[ShiftPattern], opening: tuple[int, int] | None) -> None:
    if not patterns:
        raise UserError("patterns: no shift pattern allowed (give at least one)")
    for i, p in enumerate(patterns):
        where = f"patterns[{i}] ({p.start_h}, {p.length_h} h)"
        if not 0 <= p.start_h <= 23:
            raise UserError(f"{where}.start_h: {p.start_h} is not an hour of the day (0–23)")
        if not 1 <= p.length_h <= 24:
            raise UserError(f"{where}.length_h: {p.length_h} is not between 1 and 24 hours")
        for b in p.breaks:
            if not 0 < b < p.length_h - 1:
                raise UserError(f"{where}.breaks: {b} is not inside the shift "
                                f"(a break is an hour 1…{p.length_h - 2} after the start)")
        if opening is not None:
            for o in p.worked:
                h = (p.start_h + o) % 24
                if not _is_open(opening, h):
                    raise UserError(f"{where}: works {h:02d}:00, outside the opening hours "
                                    f"{opening[0]:02d}:00–{opening[1]:02d}:00 (drop or shorten it)")


def _one_agent_cost(p: ShiftPattern, cost_per_agent_hour: float, night_premium_per_h: float,
                    night_hours: tuple[int, int]) -> float:
    night = sum(_is_night(night_hours, (p.start_h + o) % 24) for o in p.worked)
    return len(p.worked) * cost_per_agent_hour + night * night_premium_per_h


def roster_of(counts: Mapping[ShiftPattern, int], required: Sequence[int], *,
              cost_per_agent_hour: float = 1.0, night_premium_per_h: float = 0.0,
              night_hours: tuple[int, int] = (22, 6)) -> Roster:
    """A daily roster of given head counts per pattern (not designed: e.g. one trimmed in
    simulation), against ``required`` (24 hours), costed as :func:`design` costs it;
    ``optimal`` is False."""
    if len(required) != 24:
        raise ValueError("roster_of: give the 24 hours of one day")
    planned = [0] * 24
    for p, n in counts.items():
        for o in p.worked:
            planned[(p.start_h + o) % 24] += n
    assignments = tuple(
        Assignment(p, None, int(n), len(p.worked),
                   float(_one_agent_cost(p, cost_per_agent_hour, night_premium_per_h, night_hours) * n))
        for p, n in counts.items() if n > 0)
    return Roster(
        assignments=assignments,
        hours=tuple(HourCover(h, int(required[h]), planned[h]) for h in range(24)),
        agent_hours=float(sum(a.paid_hours * a.agents for a in assignments)),
        cost=float(sum(a.cost for a in assignments)),
        optimal=False,
        repeat_daily=True,
    )


def design(required: Sequence[int], patterns: Sequence[ShiftPattern], *,
           cost_per_agent_hour: float = 1.0, night_premium_per_h: float = 0.0,
           night_hours: tuple[int, int] = (22, 6), opening: tuple[int, int] | None = None,
           repeat_daily: bool = True, time_limit_s: float = 60.0) -> Roster:
    """The least-cost roster over ``patterns`` that puts at least ``required[h]`` agents on every
    hour ``h`` of the horizon.

    ``opening``: (open, close) hours of day; every pattern must work inside them and nothing may be
    required outside them. ``night_hours``: (from, to) hours of day paid ``night_premium_per_h`` more
    per agent. Errors name the hour or the pattern and the fix (:class:`~yzt.errors.UserError`).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp  # heavy: only when designing

    req = np.asarray(required, dtype=float)
    horizon = req.size
    if horizon == 0:
        raise UserError("required: no hours given")
    bad = [h for h in range(horizon) if not (req[h] >= 0 and req[h] == math.floor(req[h]))]
    if bad:
        raise UserError(f"required[{bad[0]}] ({hour_label(bad[0])}): {required[bad[0]]} is not a "
                        "whole number of agents ≥ 0")
    if repeat_daily and horizon % 24:
        raise UserError(f"required: {horizon} hours is not whole days (give 24·k hours, or design "
                        "each day on its own with repeat_daily=False)")
    _check_patterns(patterns, opening)
    if opening is not None:
        closed = [h for h in range(horizon) if req[h] > 0 and not _is_open(opening, h % 24)]
        if closed:
            raise UserError(
                "required: " + ", ".join(f"{hour_label(h)} needs {int(req[h])}" for h in closed[:5])
                + f"{' …' if len(closed) > 5 else ''} but the opening hours are "
                f"{opening[0]:02d}:00–{opening[1]:02d}:00 (widen them or drop the demand)")

    days = math.ceil(horizon / 24)
    columns: list[tuple[ShiftPattern, int | None, list[int]]] = []
    for p in patterns:
        for day in ([None] if repeat_daily else range(days)):
            if repeat_daily:
                rows = sorted({(p.start_h + o) % 24 + 24 * d for o in p.worked for d in range(days)})
            else:
                assert day is not None
                rows = [t for o in p.worked if (t := 24 * day + p.start_h + o) < horizon]
                if 24 * day + p.start_h >= horizon:
                    continue
            columns.append((p, day, rows))
    a = np.zeros((horizon, len(columns)))
    for j, (_, _, rows) in enumerate(columns):
        a[rows, j] = 1.0
    uncovered = [h for h in range(horizon) if req[h] > 0 and not a[h].any()]
    if uncovered:
        raise UserError(
            "required: no allowed pattern covers "
            + ", ".join(f"{hour_label(h)} (needs {int(req[h])})" for h in uncovered[:5])
            + f"{' …' if len(uncovered) > 5 else ''}: add a pattern that works "
            + ("that hour" if len(uncovered) == 1 else "those hours")
        )

    cost = np.array([_one_agent_cost(p, cost_per_agent_hour, night_premium_per_h, night_hours)
                     for p, _, _ in columns])
    upper = np.array([max((req[h] for h in rows), default=0.0) for _, _, rows in columns])
    need = req > 0
    res = milp(
        c=cost,
        integrality=np.ones(len(columns)),
        bounds=Bounds(np.zeros(len(columns)), upper),
        constraints=LinearConstraint(a[need], lb=req[need], ub=np.inf),
        options={"time_limit": time_limit_s, "mip_rel_gap": 0.0},
    )
    if res.x is None:  # pragma: no cover - the bounds above always admit a feasible roster
        raise RuntimeError(f"shift design: the solver found no roster ({res.message})")
    x = np.rint(res.x).astype(int)
    planned = a @ x
    scale = days if repeat_daily else 1
    assignments = tuple(
        Assignment(p, day, int(x[j]), len(p.worked), float(cost[j] * x[j] * scale))
        for j, (p, day, _) in enumerate(columns) if x[j] > 0
    )
    return Roster(
        assignments=assignments,
        hours=tuple(HourCover(h, int(req[h]), int(planned[h])) for h in range(horizon)),
        agent_hours=float(sum(a.paid_hours * a.agents for a in assignments) * scale),
        cost=float(sum(a.cost for a in assignments)),
        optimal=res.status == 0,
        repeat_daily=repeat_daily,
    )


# -- demonstration ---------------------------------------------------------------------------------
#: A reseller hotline's calls per hour of one day [ASSUMPTION: illustrative, shaped like the replies
#: of a launch day arriving from 08:00 and answered by the next morning].
DEMO_CALLS_PER_H: tuple[float, ...] = (
    0, 0, 0, 0, 0, 0, 0, 0, 20, 45, 80, 110, 120, 105, 90, 80, 70, 60, 45, 35, 25, 15, 0, 0,
)
DEMO_OPENING = (8, 22)
DEMO_HANDLE_S = 240.0
DEMO_PATIENCE_S = 120.0


def demo(profile_name: str = "gbt-33358-2016") -> tuple[Roster, Roster, list[int]]:
    """The demonstration day: Erlang A requirement per hour under ``profile_name`` (SIPP), the
    designed roster, and one fixed 08:00–22:00 window sized to its peak."""
    from yzt.sim.profiles import profile

    prof = profile(profile_name)
    required = [prof.required_agents(c, DEMO_HANDLE_S, DEMO_PATIENCE_S) for c in DEMO_CALLS_PER_H]
    patterns = pattern_grid(range(8, 22), (4, 6, 8), break_after_h=4, opening=DEMO_OPENING)
    designed = design(required, patterns, opening=DEMO_OPENING)
    fixed = design(required, [ShiftPattern(8, 14)], opening=DEMO_OPENING)
    return designed, fixed, required


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yzt.sim.shifts", description=(
        "Design one day's shifts for a demonstration hotline and compare them with a fixed window."))
    parser.add_argument("--profile", default="gbt-33358-2016",
                        help="SLA profile (gbt-33358-2016, miit-3g-2009, assumption)")
    args = parser.parse_args(argv)
    try:
        designed, fixed, _ = demo(args.profile)
    except UserError as exc:
        parser.exit(2, f"python -m yzt.sim.shifts: error: {exc}\n")
    print(f"profile {args.profile}: handle {DEMO_HANDLE_S:g} s, patience {DEMO_PATIENCE_S:g} s, "
          f"open {DEMO_OPENING[0]:02d}:00–{DEMO_OPENING[1]:02d}:00")
    print(f"{'hour':<9} {'calls':>5} {'required':>8} {'designed':>8} {'fixed':>5}")
    for c, d, f in zip(DEMO_CALLS_PER_H, designed.hours, fixed.hours, strict=True):
        if d.required or d.planned or f.planned:
            print(f"{d.label:<9} {c:>5g} {d.required:>8} {d.planned:>8} {f.planned:>5}")
    print("designed shifts:")
    for a in designed.assignments:
        print(f"  {a.pattern.label:<28} {a.agents:>3} agent{'s' if a.agents > 1 else ''}")
    print(f"agent-hours: designed {designed.agent_hours:g}, fixed 08:00–22:00 window "
          f"{fixed.agent_hours:g} ({1 - designed.agent_hours / fixed.agent_hours:.0%} fewer)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
