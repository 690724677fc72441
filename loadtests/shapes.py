"""Load shapes: the target arrival rate R(t) over a run, and the intended send times drawn from it.

The load is an *open model*: requests are due at times computed from the shape, whatever the
server does. A slow server therefore cannot slow the generator down (closed-loop users with think
times would), and latency is measured from the intended send time, so the queueing delay of a slot
that had to wait counts (no coordinated omission). This module is pure: no Locust, no gevent.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from yzt.errors import UserError

SHAPES = ("steady", "step", "surge")

_DURATION_RE = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?")


def parse_duration(text: str, flag: str = "--duration", *, max_s: float = math.inf) -> float:
    """``60s``, ``2m``, ``1m30s``, ``1h`` or a bare number of seconds → seconds in (0, ``max_s``]."""
    value = text.strip().lower()
    seconds: float | None = None
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        seconds = float(value)
    elif value and (m := _DURATION_RE.fullmatch(value)) and any(m.groups()):
        h, mins, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mins * 60 + s
    if seconds is None:
        raise UserError(f"{flag} {text!r} is not a duration: write it like 60s, 2m or 1m30s")
    if seconds <= 0:
        raise UserError(f"{flag} {text!r} must be longer than 0 s")
    if not seconds <= max_s:
        raise UserError(f"{flag} {text!r} is longer than the {max_s:g} s allowed")
    return seconds


@dataclass(frozen=True)
class Shape:
    """A piecewise-linear rate curve: ``points`` are (seconds, requests/s), first at 0, last at the end.

    Two points at the same time make a step. Every shape of yzt, including a scenario's surge, is
    one of these, so the scheduler and the report need to know only this type.
    """

    name: str
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.points) < 2 or self.points[0][0] != 0:
            raise ValueError("a shape needs at least two points, the first at t=0")
        times = [t for t, _ in self.points]
        if any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("shape times must not decrease")
        if any(r < 0 for _, r in self.points):
            raise ValueError("shape rates must be >= 0")

    @property
    def duration(self) -> float:
        return self.points[-1][0]

    @property
    def peak_rate(self) -> float:
        return max(r for _, r in self.points)

    def rate_at(self, t: float) -> float:
        """R(t) in requests/s (0 outside the run). At a step, the later segment wins."""
        if t < 0 or t >= self.duration:
            return 0.0
        pts = self.points
        for (t0, r0), (t1, r1) in itertools.pairwise(pts):
            if t0 <= t < t1:
                return r0 + (r1 - r0) * (t - t0) / (t1 - t0)
        return pts[-1][1]  # pragma: no cover - t < duration always falls in a segment

    def expected_requests(self) -> float:
        """∫ R(t) dt over the run (trapezoids are exact for a piecewise-linear curve)."""
        pts = self.points
        return sum((t1 - t0) * (r0 + r1) / 2 for (t0, r0), (t1, r1) in itertools.pairwise(pts))

    def scaled(self, factor: float) -> Shape:
        """The same curve at ``factor`` times the rate (a worker's share, or a capacity step)."""
        return Shape(self.name, tuple((t, r * factor) for t, r in self.points))

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "points": [list(p) for p in self.points]}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Shape:
        points = raw["points"]
        assert isinstance(points, list)
        return cls(str(raw["name"]), tuple((float(t), float(r)) for t, r in points))


def steady(rate: float, duration: float) -> Shape:
    """The contracted rate, held for the whole run."""
    return Shape("steady", ((0.0, rate), (duration, rate)))


def step(rate: float, duration: float, steps: int = 4) -> Shape:
    """A staircase from ``rate/steps`` up to ``rate`` in ``steps`` equal steps."""
    if steps < 1:
        raise UserError(f"--steps must be at least 1, got {steps}")
    points: list[tuple[float, float]] = []
    width = duration / steps
    for k in range(steps):
        level = rate * (k + 1) / steps
        points += [(k * width, level), ((k + 1) * width, level)]
    return Shape("step", tuple(points))


def surge(rate: float, duration: float, *, peak: float = 3.0, start: float = 0.2, decay: float = 0.2,
          resolution: int = 24) -> Shape:
    """The contracted rate, then at ``start`` (fraction of the run) a jump to ``peak`` × rate that
    decays exponentially back with time constant ``decay`` (fraction of the run).

    This is the surge of a scenario's arrival curve (``start_h``, ``peak_multiplier``, ``decay_h``)
    compressed into the run; the curve is sampled at ``resolution`` points after the jump.
    """
    if peak < 1:
        raise UserError(f"--surge-peak must be at least 1 (a multiple of --rate), got {peak}")
    if not 0 <= start < 1 or decay <= 0:
        raise UserError("--surge-start must be in [0, 1) and --surge-decay > 0 (fractions of the run)")
    t0, tau = start * duration, decay * duration
    points: list[tuple[float, float]] = [(0.0, rate)]
    if t0 > 0:
        points.append((t0, rate))
    for i in range(resolution + 1):
        t = t0 + (duration - t0) * i / resolution
        points.append((t, rate * (1 + (peak - 1) * math.exp(-(t - t0) / tau))))
    return Shape("surge", tuple(points))


def build_shape(name: str, rate: float, duration: float, *, steps: int = 4, peak: float = 3.0,
                start: float = 0.2, decay: float = 0.2) -> Shape:
    """The shape named on the command line."""
    if rate <= 0:
        raise UserError(f"--rate must be more than 0 requests/s, got {rate:g}")
    if name == "steady":
        return steady(rate, duration)
    if name == "step":
        return step(rate, duration, steps)
    if name == "surge":
        return surge(rate, duration, peak=peak, start=start, decay=decay)
    raise UserError(f"--shape {name!r} is not a shape: use one of {', '.join(SHAPES)}")


def intended_times(shape: Shape, rng: random.Random, *, poisson: bool = True,
                   phase: float = 0.0) -> Iterator[float]:
    """Intended send times (seconds from the start) of an arrival process with rate ``shape``.

    Poisson arrivals are drawn by thinning (Lewis & Shedler) against the peak rate, so a step or a
    surge is followed exactly. Constant spacing places request k where ∫R = k + ``phase``
    (``phase`` in [0, 1) staggers several generator processes).
    """
    peak = shape.peak_rate
    if peak <= 0:
        return
    end = shape.duration
    if poisson:
        t = 0.0
        while True:
            t += rng.expovariate(peak)
            if t >= end:
                return
            if rng.random() * peak <= shape.rate_at(t):
                yield t
    target = phase
    area = 0.0
    for (t0, r0), (t1, r1) in itertools.pairwise(shape.points):
        seg = (t1 - t0) * (r0 + r1) / 2
        while target < area + seg:
            yield t0 + _solve_linear_area(target - area, t1 - t0, r0, r1)
            target += 1.0
        area += seg


def _solve_linear_area(a: float, width: float, r0: float, r1: float) -> float:
    """x in [0, width] with ∫0^x (r0 + (r1-r0) s/width) ds = a."""
    slope = (r1 - r0) / width if width else 0.0
    if abs(slope) < 1e-12:
        return a / r0
    disc = max(r0 * r0 + 2 * slope * a, 0.0)
    return (-r0 + math.sqrt(disc)) / slope


def describe(shape: Shape) -> str:
    """One line for the console: ``steady 20 req/s for 8 s (≈160 requests)``."""
    rates = [r for _, r in shape.points]
    span = f"{min(rates):g}-{max(rates):g}" if min(rates) != max(rates) else f"{rates[0]:g}"
    return (f"{shape.name} {span} req/s for {shape.duration:g} s "
            f"(≈{shape.expected_requests():.0f} requests)")
