"""An operator's hotline and back office.

**Hotline** (SLA-HOT-1): agents by daily shifts, FCFS, handle time exponential or lognormal,
caller patience exponential (or none), a background load of other calls during open hours, and
*repeat calls*: a ``repeat_call_share`` of answered callers were not helped (业务受理不熟练) and call
again after an exponential delay. A caller who finds the hotline closed calls at the next opening
plus an exponential 10 minutes. A call counts as answered within the target when its wait is at
most the SLA's ``answer_within_s``; the service level divides by all offered calls, abandoned ones
included.

**Back office** (SLA-DSP-1, SLA-CXL-1): disputes and remote cancellations queue for staff by shift;
after the staff's work (exponential) each case waits an external delay (lognormal: reaching the
card holder, the carrier's completion), then is closed. The time from raising to closing is judged
against the SLA's deadline.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from yzt.sim.kernels import CALLBACK_AFTER_OPENING_MEAN_S
from yzt.sim.rng import Streams
from yzt.sim.scenario import BackOffice, Hotline, Shift
from yzt.sim.station import Job, Station


def agents_at(shifts: tuple[Shift, ...], t_s: float) -> int:
    """Agents on duty at time ``t_s`` (shifts repeat every day)."""
    hour = (t_s / 3600.0) % 24.0
    return sum(s.agents for s in shifts if s.start_h <= hour < s.end_h)


def next_open(shifts: tuple[Shift, ...], t_s: float) -> float | None:
    """The first time ≥ ``t_s`` with an agent on duty (``None`` if never)."""
    if agents_at(shifts, t_s) > 0:
        return t_s
    day = math.floor(t_s / 86_400.0) * 86_400.0
    starts = sorted({s.start_h for s in shifts if s.agents > 0})
    for d in (0.0, 86_400.0):
        for h in starts:
            t = day + d + h * 3600.0
            if t >= t_s and agents_at(shifts, t) > 0:
                return t
    return None


def roster(env: simpy.Environment, station: Station, shifts: tuple[Shift, ...],
           until: float) -> Generator[Any, Any, None]:
    """Process that sets the station's servers at every shift boundary until ``until``."""
    points = sorted({h for s in shifts for h in (s.start_h, s.end_h)} | {0.0})
    while env.now < until:
        day = math.floor(env.now / 86_400.0) * 86_400.0
        upcoming = [day + h * 3600.0 for h in points if day + h * 3600.0 > env.now]
        nxt = upcoming[0] if upcoming else day + 86_400.0
        yield env.timeout(nxt - env.now)
        station.set_servers(agents_at(shifts, env.now))


@dataclass
class CallLog:
    """One hotline's calls: parallel lists, one entry per offered call."""

    arrived: list[float] = field(default_factory=list)
    wait: list[float] = field(default_factory=list)
    answered: list[bool] = field(default_factory=list)
    repeat: list[bool] = field(default_factory=list)
    platform: list[bool] = field(default_factory=list)
    """True for callers prompted by a query reply, False for the background load."""


class HotlineCall(Job):
    __slots__ = ("from_platform", "hotline", "is_repeat")

    def __init__(self, hotline: HotlineDesk, is_repeat: bool, from_platform: bool) -> None:
        super().__init__()
        self.hotline = hotline
        self.is_repeat = is_repeat
        self.from_platform = from_platform

    def begin(self, now: float) -> float:
        return self.hotline.handle_time()

    def finish(self, now: float) -> None:
        self.hotline.handled(self, now)

    def abandon(self, now: float) -> None:
        self.hotline.log_call(self, now, answered=False)


class HotlineDesk:
    """One operator's hotline."""

    def __init__(self, env: simpy.Environment, owner: str, params: Hotline, target_s: float,
                 streams: Streams, until: float) -> None:
        self.env = env
        self.owner = owner
        self.params = params
        self.target_s = target_s
        self.station = Station(env, f"{owner}/hotline", agents_at(params.shifts, 0.0))
        self._handle = streams.get(owner, "hotline-handle")
        self._patience = streams.get(owner, "hotline-patience")
        self._repeat = streams.get(owner, "hotline-repeat")
        self._bg = streams.get(owner, "hotline-background")
        self.log = CallLog()
        self.until = until
        env.process(roster(env, self.station, params.shifts, until))
        if params.background_calls_per_h > 0:
            self._schedule_background(0.0)

    def handle_time(self) -> float:
        p = self.params
        if p.handle_time_sigma is None:
            return self._handle.exponential(p.handle_time_mean_s)
        s = p.handle_time_sigma
        return self._handle.lognormal(p.handle_time_mean_s * math.exp(-s * s / 2.0), s)

    def _schedule_background(self, now: float) -> None:
        gap = self._bg.exponential(3600.0 / self.params.background_calls_per_h)
        if now + gap >= self.until:
            return
        ev = self.env.timeout(gap)
        ev.callbacks.append(lambda _e: self._background())

    def _background(self) -> None:
        now = self.env.now
        if self.station.servers > 0:
            self._arrive(False, False)
        self._schedule_background(now)

    def offer(self, delay: float, is_repeat: bool = False, from_platform: bool = True) -> None:
        """A caller dials ``delay`` seconds from now (at the next opening if closed then)."""
        when = self.env.now + delay
        opening = next_open(self.params.shifts, when)
        if opening is None or opening >= self.until:
            return
        if opening > when:
            opening += self._bg.exponential(CALLBACK_AFTER_OPENING_MEAN_S)
        ev = self.env.timeout(opening - self.env.now)
        ev.callbacks.append(lambda _e: self._arrive(is_repeat, from_platform))

    def _arrive(self, is_repeat: bool, from_platform: bool) -> None:
        call = HotlineCall(self, is_repeat, from_platform)
        p = self.params.patience_mean_s
        patience = math.inf if p is None else self._patience.exponential(p)
        self.station.arrive(call, patience)

    def log_call(self, call: HotlineCall, now: float, answered: bool) -> None:
        log = self.log
        log.arrived.append(call.arrived)
        log.wait.append((call.started if answered else now) - call.arrived)
        log.answered.append(answered)
        log.repeat.append(call.is_repeat)
        log.platform.append(call.from_platform)

    def handled(self, call: HotlineCall, now: float) -> None:
        self.log_call(call, now, answered=True)
        p = self.params
        if p.repeat_call_share and self._repeat.uniform() < p.repeat_call_share:
            self.offer(self._repeat.exponential(p.repeat_delay_mean_min * 60.0), True,
                       call.from_platform)


@dataclass
class CaseLog:
    """Back-office cases: kind ('dispute' or 'cancellation'), raised and closed times (s)."""

    kind: list[str] = field(default_factory=list)
    raised: list[float] = field(default_factory=list)
    closed: list[float] = field(default_factory=list)


class Case(Job):
    __slots__ = ("desk", "index", "kind")

    def __init__(self, desk: BackOfficeDesk, kind: str, index: int) -> None:
        super().__init__()
        self.desk = desk
        self.kind = kind
        self.index = index

    def begin(self, now: float) -> float:
        return self.desk.work_time(self.kind)

    def finish(self, now: float) -> None:
        self.desk.worked(self, now)


class BackOfficeDesk:
    """One operator's back office for disputes and remote cancellations."""

    def __init__(self, env: simpy.Environment, owner: str, params: BackOffice, streams: Streams,
                 until: float) -> None:
        self.env = env
        self.params = params
        self.station = Station(env, f"{owner}/backoffice", agents_at(params.shifts, 0.0))
        self._work = streams.get(owner, "backoffice-work")
        self._external = streams.get(owner, "backoffice-external")
        self.log = CaseLog()
        env.process(roster(env, self.station, params.shifts, until))

    def submit(self, kind: str, delay: float) -> None:
        """A case of ``kind`` is raised ``delay`` seconds from now."""
        ev = self.env.timeout(delay)
        ev.callbacks.append(lambda _e: self._raise(kind))

    def _raise(self, kind: str) -> None:
        log = self.log
        log.kind.append(kind)
        log.raised.append(self.env.now)
        log.closed.append(math.nan)
        self.station.arrive(Case(self, kind, len(log.kind) - 1))

    def work_time(self, kind: str) -> float:
        p = self.params
        mean = p.dispute_work_mean_min if kind == "dispute" else p.cancellation_work_mean_min
        return self._work.exponential(mean * 60.0)

    def worked(self, case: Case, now: float) -> None:
        ext = self.params.dispute_external if case.kind == "dispute" else self.params.cancellation_external
        delay = self._external.lognormal(ext.median, ext.sigma) if ext.median > 0 else 0.0
        self.log.closed[case.index] = now + delay
