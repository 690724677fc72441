"""Did the machine itself saturate during a live window? The model has no CPU in it: when the
federation's workers or the platform run out of processor, answers and arrivals are late for a
reason the model does not contain, and a comparison would judge the machine, not the model.

:class:`Probe` measures, over one live window:

- ``server_cpu``: the busiest federation worker's CPU time over the window's wall time, as a share
  of one core (a worker serves its nodes from one event loop, so one core is all it can use);
- ``servers_cpu_of_cores``: all workers' CPU over the window, as a share of the machine's cores;
- ``server_loop_lag_p99_s``: the 99th percentile of how late the workers' event loops woke from a
  50 ms sleep (measured inside the workers, ``yzt.twin.behaviour.LoopLag``);
- ``client_cpu``: this process's CPU (the platform's event loop) as a share of one core;
- ``client_loop_lag_p99_s``: the same lag measured in the platform's event loop;
- ``client_schedule_lag_p95_s``: how late the platform started the fan-out of a query after its
  scheduled time (95th percentile).

A signal past its limit (:data:`LIMITS`) marks the window saturated. The load average before and
after is recorded beside them (a shared machine's other jobs show there), but does not decide.
A topology whose workers are not processes of this machine (real sandboxes) has no server
signals; they are ``None`` and decide nothing.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Signal → the value past which the window counts as saturated.
LIMITS: dict[str, float] = {
    "server_cpu": 0.9,
    "servers_cpu_of_cores": 0.9,
    "server_loop_lag_p99_s": 0.1,
    "client_cpu": 0.9,
    "client_loop_lag_p99_s": 0.1,
    "client_schedule_lag_p95_s": 0.1,
}


def _cpu(proc: Any) -> float | None:
    try:
        t = proc.cpu_times()
    except Exception:  # gone, or not ours
        return None
    return float(t.user + t.system)


class Probe:
    """The machine's signals over one live window: :meth:`start` before it, :meth:`stop` after."""

    def __init__(self, topology: dict[str, Any]) -> None:
        import psutil

        self.topology = topology
        self.workers: list[Any] = []
        for w in topology.get("workers", []):
            with contextlib.suppress(Exception):
                self.workers.append(psutil.Process(int(w["pid"])))
        self.me = psutil.Process()
        self.cpu0: list[float | None] = []
        self.me0 = 0.0
        self.t0 = 0.0
        self.wall0 = 0.0

    def start(self) -> None:
        self.cpu0 = [_cpu(p) for p in self.workers]
        self.me0 = _cpu(self.me) or 0.0
        self.t0 = time.monotonic()
        self.wall0 = time.time()

    def _server_lags(self) -> list[float]:
        """Each worker's loop lags since the window began, asked of one of its nodes."""
        import httpx

        lags: list[float] = []
        nodes = self.topology.get("nodes", {})
        for w in self.topology.get("workers", []):
            names = w.get("nodes") or []
            if not names or names[0] not in nodes:
                continue
            url = nodes[names[0]]["url"] + f"/_federation/stats?since={self.wall0:.3f}"
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                lags += [float(x) for x in httpx.get(url, timeout=5).json()["loop_lag_s"]]
        return lags

    def stop(self, replay: Any) -> dict[str, float | None]:
        """The signals of the window ``replay`` (a :class:`yzt.twin.fanout.Replay`) just ran."""
        wall = max(1e-6, time.monotonic() - self.t0)
        used = [(b - a) if a is not None and b is not None else None
                for a, b in zip(self.cpu0, (_cpu(p) for p in self.workers), strict=True)]
        known = [u for u in used if u is not None]
        cores = os.cpu_count() or 1
        rec = replay.rec
        late = [s - q for s, q in zip(rec.q_start, rec.q_scheduled, strict=True)
                if not math.isnan(s)]
        server_lags = self._server_lags()
        return {
            "server_cpu": max(known) / wall if known else None,
            "servers_cpu_of_cores": sum(known) / wall / cores if known else None,
            "server_loop_lag_p99_s": _p(server_lags, 99),
            "client_cpu": ((_cpu(self.me) or 0.0) - self.me0) / wall,
            "client_loop_lag_p99_s": _p(replay.loop_lags_s, 99),
            "client_schedule_lag_p95_s": _p(late, 95),
        }


def _p(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def summary(windows: Sequence[dict[str, float | None]]) -> dict[str, Any]:
    """The worst value of each signal over the windows, its limit, whether it saturated, and the
    list of saturation sentences (empty: the measurement holds)."""
    signals: dict[str, Any] = {}
    saturated: list[str] = []
    for name, limit in LIMITS.items():
        values = [v for w in windows if (v := w.get(name)) is not None]
        worst = max(values) if values else None
        hit = worst is not None and worst > limit
        signals[name] = {"value": worst, "limit": limit, "saturated": hit}
        if hit:
            saturated.append(f"{name} {worst:.3g} > {limit:g}")
    return {"signals": signals, "saturated": saturated, "cores": os.cpu_count() or 1,
            "windows": [dict(w) for w in windows]}
