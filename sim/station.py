"""A multi-server FCFS station: the one queue every part of the model uses.

Operator concurrency limits, the SMS gateway's channels, hotline agents and back-office staff are
all ``Station``s. Jobs are driven by callbacks rather than SimPy processes (one timeout event per
service, one per patience), which the simulation notes measured as the cheapest SimPy form.

The number of servers may change over time (shifts); a decrease lets busy servers finish their job.
Time integrals of the queue length and of busy servers are kept for Little's law.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import Any

import simpy


class Job:
    """A unit of work at a station. Subclasses say how long service takes and what happens next."""

    __slots__ = ("arrived", "patience_event", "started", "state")

    def __init__(self) -> None:
        self.arrived = 0.0
        self.started = math.nan
        self.state = 0  # 0 waiting, 1 in service, 2 left (done or abandoned)
        self.patience_event: Any = None

    def begin(self, now: float) -> float:
        """Service starts at ``now``; return its duration."""
        raise NotImplementedError

    def finish(self, now: float) -> None:
        """Service ended at ``now``."""

    def abandon(self, now: float) -> None:
        """The job left the queue unserved at ``now`` (only when it has a patience)."""


@dataclass
class StationStats:
    """Counters of one station for the whole run (times in seconds)."""

    arrivals: int = 0
    started: int = 0
    abandoned: int = 0
    completed: int = 0
    wait_sum: float = 0.0
    """Sum of queue waits of jobs that left the queue (started or abandoned)."""
    left_queue: int = 0
    service_sum: float = 0.0
    queue_area: float = 0.0
    busy_area: float = 0.0
    max_queue: int = 0


class Station:
    """FCFS multi-server queue with time-varying servers and optional reneging."""

    def __init__(self, env: simpy.Environment, name: str, servers: float) -> None:
        if servers < 0:
            raise ValueError(f'station {name}: "servers" must be >= 0')
        self.env = env
        self.name = name
        self.servers = servers
        self.busy = 0
        self.waiting = 0
        self.queue: deque[Job] = deque()
        self.stats = StationStats()
        self._last = 0.0

    # -- bookkeeping -------------------------------------------------------------------------
    def _account(self) -> None:
        now = self.env.now
        dt = now - self._last
        if dt:
            self.stats.queue_area += self.waiting * dt
            self.stats.busy_area += self.busy * dt
            self._last = now

    def close_books(self) -> None:
        """Bring the time integrals up to the current time (call before reading stats)."""
        self._account()

    # -- flow ----------------------------------------------------------------------------------
    def arrive(self, job: Job, patience: float = math.inf) -> None:
        """A job joins; it is served at once if a server is free, else queues (and may renege)."""
        self._account()
        now = self.env.now
        job.arrived = now
        job.state = 0
        self.stats.arrivals += 1
        if self.busy < self.servers and not self.waiting:
            self._start(job, now)
            return
        self.queue.append(job)
        self.waiting += 1
        if self.waiting > self.stats.max_queue:
            self.stats.max_queue = self.waiting
        if patience < math.inf:
            ev = self.env.timeout(patience)
            ev.callbacks.append(partial(self._renege, job))
            job.patience_event = ev

    def _start(self, job: Job, now: float) -> None:
        job.state = 1
        job.started = now
        self.busy += 1
        self.stats.started += 1
        self.stats.left_queue += 1
        self.stats.wait_sum += now - job.arrived
        duration = job.begin(now)
        self.stats.service_sum += duration
        ev = self.env.timeout(duration)
        ev.callbacks.append(partial(self._done, job))

    def _done(self, job: Job, _event: object = None) -> None:
        self._account()
        job.state = 2
        self.busy -= 1
        self.stats.completed += 1
        self._dispatch()
        job.finish(self.env.now)

    def _renege(self, job: Job, _event: object = None) -> None:
        if job.state != 0:
            return
        self._account()
        job.state = 2
        self.waiting -= 1
        self.stats.abandoned += 1
        self.stats.left_queue += 1
        self.stats.wait_sum += self.env.now - job.arrived
        job.abandon(self.env.now)

    def _dispatch(self) -> None:
        now = self.env.now
        queue = self.queue
        while self.busy < self.servers and self.waiting:
            job = queue.popleft()
            if job.state != 0:  # reneged earlier: lazy removal
                continue
            self.waiting -= 1
            self._start(job, now)
        while queue and queue[0].state != 0:
            queue.popleft()

    def set_servers(self, servers: float) -> None:
        """Change the number of servers now (a shift change)."""
        self._account()
        self.servers = servers
        self._dispatch()
