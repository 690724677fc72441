"""A federation node's behaviour, applied server-side: what the model assumes of one operator node.

The model (``yzt.sim.operators``) gives each node a lognormal latency (median and log-standard
deviation), a ``failure_ratio`` (an error answer after the latency), outage windows (``timeout``:
the call hangs; ``refuse``: it fails after :data:`~yzt.sim.operators.REFUSE_S`) and a connection
limit (``concurrency``). The reference operator's fault profile gives latency as median and 99th
percentile and has no connection limit, so a federation node wraps the reference operator's
application in :func:`middleware`, which applies the scenario's numbers exactly as the model states
them and counts what it did, so that tests can see the server's side (``GET /_federation/stats``).

A request over the connection limit is answered 429 at once and counted as ``over_limit``: a
platform that follows the model never sends one. Every fault answer says what it was in the
``X-YZT-Federation-Fault`` header (``failure``, ``refuse``, ``over-limit``), so a live run can count
outcomes as the model does. ``/v1/health`` and the sandbox clock are never faulted.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from yzt.server.problems import problem_body
from yzt.sim.operators import REFUSE_S

#: Header naming the fault a node injected.
FAULT_HEADER = "X-YZT-Federation-Fault"
#: Path of a node's own counters (not a protocol endpoint).
STATS_PATH = "/_federation/stats"
_UNFAULTED = ("/v1/health", "/v1/sandbox/")


@dataclass(frozen=True)
class OutageWindow:
    """An outage in Unix time: ``mode`` ``timeout`` (hang) or ``refuse`` (fail after 50 ms)."""

    start: float
    end: float
    mode: str


@dataclass(frozen=True)
class NodeBehaviour:
    """One node's numbers, from the scenario (times in seconds, outages in Unix time)."""

    latency_median_s: float
    latency_sigma: float
    failure_ratio: float
    concurrency: int | None
    outages: tuple[OutageWindow, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.latency_median_s > 0 and self.latency_sigma >= 0):
            raise ValueError(f"latency needs median > 0 and sigma >= 0, got {self.latency_median_s} "
                             f"and {self.latency_sigma}")
        if not 0.0 <= self.failure_ratio <= 1.0:
            raise ValueError(f"failure_ratio must be in [0, 1], got {self.failure_ratio}")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")

    def to_dict(self) -> dict[str, Any]:
        return {"latency_median_s": self.latency_median_s, "latency_sigma": self.latency_sigma,
                "failure_ratio": self.failure_ratio, "concurrency": self.concurrency,
                "outages": [{"start": o.start, "end": o.end, "mode": o.mode} for o in self.outages],
                "seed": self.seed}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> NodeBehaviour:
        return cls(float(doc["latency_median_s"]), float(doc["latency_sigma"]),
                   float(doc["failure_ratio"]), doc["concurrency"],
                   tuple(OutageWindow(float(o["start"]), float(o["end"]), str(o["mode"]))
                         for o in doc["outages"]), int(doc["seed"]))


@dataclass
class NodeStats:
    """What a node saw: requests it faulted or passed, and the most it had in flight at once."""

    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    over_limit: int = 0
    failures: int = 0
    refused: int = 0
    hung: int = 0
    cancelled: int = 0
    latency_sum_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "latencies_s"}
        out["latencies_s"] = self.latencies_s[-10_000:]
        return out


class NodeState:
    """The running state of one node: its behaviour, a seeded RNG and its counters."""

    def __init__(self, behaviour: NodeBehaviour, node: str) -> None:
        self.behaviour = behaviour
        self.rng = random.Random(f"yzt-federation|{behaviour.seed}|{node}")
        self.stats = NodeStats()

    def outage(self, now: float) -> OutageWindow | None:
        for o in self.behaviour.outages:
            if o.start <= now < o.end:
                return o
        return None

    def latency_s(self) -> float:
        """A lognormal draw: median · exp(sigma · N(0, 1)), as the model draws it."""
        b = self.behaviour
        return b.latency_median_s * math.exp(b.latency_sigma * self.rng.gauss(0.0, 1.0))


#: Seconds between a worker's event-loop lag measurements.
LAG_TICK_S = 0.05


class LoopLag:
    """How late a worker's event loop wakes from a :data:`LAG_TICK_S` sleep: every node of the
    worker shares its one loop, so a lag here delays every answer the worker gives (the server
    side of the machine's saturation). Keeps the last 20 000 measurements (about 17 minutes)."""

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float]] = deque(maxlen=20_000)

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            self.samples.append((time.time(), max(0.0, loop.time() - before - LAG_TICK_S)))

    def since(self, t: float) -> list[float]:
        return [lag for at, lag in self.samples if at >= t]


#: The worker process's loop watch (one a process; started by :mod:`yzt.twin.worker`).
LOOP_LAG = LoopLag()


def _fault(status: int, code: str, kind: str) -> web.Response:
    resp = web.Response(status=status, body=problem_body(code, f"federation node: {kind}"),
                        content_type="application/problem+json")
    resp.headers[FAULT_HEADER] = kind
    if status in (429, 503):
        resp.headers["Retry-After"] = "1"
    return resp


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def middleware(state: NodeState) -> Middleware:
    """The aiohttp middleware applying ``state``'s behaviour to every protocol request."""

    @web.middleware
    async def apply(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path == STATS_PATH:
            doc = state.stats.to_dict()
            try:
                since = float(request.query.get("since", "inf"))
            except ValueError:
                since = math.inf
            doc["loop_lag_s"] = LOOP_LAG.since(since) if math.isfinite(since) else []
            return web.Response(body=json.dumps(doc).encode(), content_type="application/json")
        if path.startswith(_UNFAULTED):
            return await handler(request)
        s = state.stats
        b = state.behaviour
        s.requests += 1
        if b.concurrency is not None and s.in_flight >= b.concurrency:
            s.over_limit += 1
            return _fault(429, "rate_limited", "over-limit")
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        try:
            outage = state.outage(time.time()) if b.outages else None
            if outage is not None and outage.mode == "refuse":
                s.refused += 1
                await asyncio.sleep(REFUSE_S)
                return _fault(503, "unavailable", "refuse")
            if outage is not None:
                s.hung += 1
                await asyncio.sleep(max(0.0, outage.end - time.time()))  # until the client leaves
                return _fault(503, "unavailable", "outage-ended")
            delay = state.latency_s()
            s.latency_sum_s += delay
            s.latencies_s.append(delay)
            if len(s.latencies_s) > 20_000:
                del s.latencies_s[:10_000]
            await asyncio.sleep(delay)
            if b.failure_ratio and state.rng.random() < b.failure_ratio:
                s.failures += 1
                return _fault(503, "unavailable", "failure")
            return await handler(request)
        except asyncio.CancelledError:
            s.cancelled += 1  # the client gave up (its timeout) and closed the connection
            raise
        finally:
            s.in_flight -= 1

    return apply
