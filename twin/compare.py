"""The live fan-out against the model on the same arrival trace: a first, preliminary comparison.

:func:`simulate_window` runs the model's own operator nodes (``yzt.sim.operators.OperatorNode``,
the SimPy engine's rules) on exactly the verified-query times the live replay sent, at their
scenario times (so outages fall where the scenario puts them), for ``replications`` independent
draws of latency, failures and jitter. :func:`compare` puts the live run's fan-out p50/p95 and
each node's p95 answer time (from the fan-out's start to that node's last attempt), and the mean
wait for a connection, next to the
model's mean over replications with its 95 % Student-t interval, and the error in %.

What this does not do yet: confidence intervals of the live side (one run), p99, timeouts and
retries side by side, per-node pool waits, the machine's own saturation check, and calibration.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yzt.sim.scenario import OperatorParams, Scenario
from yzt.twin.fanout import LiveRecords


@dataclass
class WindowResult:
    """Per query: fan-out start and last answer (s); per node: answer time of each query (s)."""

    fanout_s: list[float]
    node_answer_s: dict[str, list[float]]
    pool_wait_mean_s: float = math.nan
    """Mean wait for a connection over every attempt at every node."""


def simulate_window(nodes: Sequence[tuple[str, OperatorParams]], offsets: Sequence[float], *,
                    start_h: float, deadline_s: float, seed: int, replication: int) -> WindowResult:
    """The model's fan-out over ``offsets`` (s after ``start_h``) at ``nodes``."""
    import simpy

    from yzt.sim.operators import OperatorNode
    from yzt.sim.rng import Streams

    env = simpy.Environment()
    streams = Streams(seed, replication)
    n = len(offsets)
    t0 = start_h * 3600.0
    at = [t0 + o for o in offsets]
    last = [-math.inf] * n
    pending = [len(nodes)] * n
    per_node: dict[str, list[float]] = {nid: [math.nan] * n for nid, _ in nodes}

    def done_for(nid: str) -> Any:
        answers = per_node[nid]

        def done(q: int, now: float, _ok: bool) -> None:
            answers[q] = now - at[q]
            last[q] = max(last[q], now)
            pending[q] -= 1

        return done

    model_nodes = [OperatorNode(env, nid, op, streams, 1, done_for(nid)) for nid, op in nodes]

    def feed() -> Any:
        for q, t in enumerate(at):
            if t > env.now:
                yield env.timeout(t - env.now)
            for node in model_nodes:
                node.call(q, t + deadline_s)

    env.process(feed())
    env.run()
    waited = sum(m.station.stats.wait_sum for m in model_nodes)
    attempts = sum(m.station.stats.left_queue for m in model_nodes)
    return WindowResult([last[q] - at[q] for q in range(n)], per_node,
                        waited / attempts if attempts else math.nan)


def live_window(rec: LiveRecords) -> WindowResult:
    """The same shape from a live replay's records (a cut query counts as NaN)."""
    n = len(rec.q_scheduled)
    per_node: dict[str, list[float]] = defaultdict(lambda: [math.nan] * n)
    for node, q, end in zip(rec.req_node, rec.req_query, rec.req_end, strict=True):
        row = per_node[node]
        d = end - rec.q_start[q]
        row[q] = d if math.isnan(row[q]) else max(row[q], d)
    waits = [s - e for s, e in zip(rec.req_start, rec.req_enqueued, strict=True)]
    return WindowResult([rec.q_last[q] - rec.q_start[q] for q in range(n)], dict(per_node),
                        float(np.mean(waits)) if waits else math.nan)


def _pct(values: Sequence[float], p: float) -> float:
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    return float(np.percentile(arr, p)) if arr.size else math.nan


def _t95(n: int) -> float:
    from yzt.sim.theory import t_quantile

    return float(t_quantile(0.95, n - 1)) if n > 1 else math.inf


def _row(metric: str, scope: str, live: float, model: list[float]) -> dict[str, Any]:
    mean = float(np.mean(model))
    half = _t95(len(model)) * float(np.std(model, ddof=1)) / math.sqrt(len(model)) if len(
        model) > 1 else math.inf
    return {"metric": metric, "scope": scope, "live": live, "model": mean,
            "model_ci_low": mean - half, "model_ci_high": mean + half,
            "error_pct": 100.0 * (live - mean) / mean if mean else math.nan}


def compare(live: WindowResult, models: Sequence[WindowResult]) -> list[dict[str, Any]]:
    """Rows of fan-out p50/p95, the mean pool wait and each node's p95, live against the model's
    replications."""
    rows = [_row(f"fanout_p{p}_s", "fanout", _pct(live.fanout_s, p),
                 [_pct(m.fanout_s, p) for m in models]) for p in (50, 95)]
    rows.append(_row("pool_wait_mean_s", "fanout", live.pool_wait_mean_s,
                     [m.pool_wait_mean_s for m in models]))
    for node in sorted(live.node_answer_s):
        rows.append(_row("answer_p95_s", node, _pct(live.node_answer_s[node], 95),
                         [_pct(m.node_answer_s[node], 95) for m in models]))
    return rows


def _model_start_h(topology: dict[str, Any], wall0: float, start_h: float) -> float:
    """The scenario hour the model's window starts at, so that outages fall where the federation
    played them: the federation's outage clock (``epoch`` is ``origin_h``) read at the replay's
    start. Only a federation on the real-time clock (``time_factor`` 1) can be aligned; other
    topologies (a file without ``epoch``, a faster clock) keep ``start_h``."""
    epoch, factor = topology.get("epoch"), topology.get("time_factor")
    if not isinstance(epoch, float | int) or factor != 1:
        return start_h
    return float(topology["origin_h"]) + (wall0 - float(epoch)) / 3600.0


def run_twin(sc: Scenario, topology: dict[str, Any], *, start_h: float, window_s: float,
             scale: float, seed: int, replications: int, out: Path,
             drain_s: float = 60.0) -> dict[str, Any]:
    """Replay the window live against ``topology``, simulate it ``replications`` times, write
    ``out/twin-live.json`` and ``out/twin.json``; returns the comparison document."""
    import os

    from yzt import resultfile
    from yzt.twin.fanout import Replay, targets, window_offsets, write_live
    from yzt.twin.results import TwinComparison

    offsets = window_offsets(sc, seed=seed, start_h=start_h, duration_s=window_s, scale=scale)
    tg = targets(topology, sc)
    deadline_s = sc.deadline_h * 3600.0
    load_before = os.getloadavg()
    wall = time.monotonic()
    replay = Replay(tg, offsets, deadline_s=deadline_s, seed=seed, drain_s=drain_s)
    rec = replay.run_blocking()
    wall = time.monotonic() - wall
    model_start_h = _model_start_h(topology, replay.wall0, start_h)
    load_after = os.getloadavg()
    out.mkdir(parents=True, exist_ok=True)
    meta = {"scenario": sc.name, "seed": seed, "start_h": start_h, "window_s": window_s,
            "scale": scale, "queries": len(offsets), "wall_s": wall,
            "load_average": {"before": list(load_before), "after": list(load_after)}}
    write_live(out / "twin-live.json", rec, meta)
    nodes = [(t.node, t.params) for t in tg]
    models = [simulate_window(nodes, offsets, start_h=model_start_h, deadline_s=deadline_s,
                              seed=seed, replication=r + 1) for r in range(replications)]
    doc = {**meta, "model_start_h": model_start_h, "replications": replications,
           "requests": len(rec.req_node),
           "outcomes": {o: rec.req_outcome.count(o) for o in sorted(set(rec.req_outcome))},
           "rows": compare(live_window(rec), models),
           "note": "preliminary: one live run on a shared machine; model CIs over replications"}
    resultfile.write_typed(out / "twin.json", TwinComparison.from_json(doc))
    return doc


def parse_window(text: str) -> float:
    """``90s``, ``1m``, ``10m``, ``1h`` (or plain seconds) → seconds; a ``ValueError`` names it."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    try:
        value = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        raise ValueError(f"--window {text!r}: give a duration such as 30s, 1m or 10m") from None
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise ValueError(f"--window {text!r}: must be more than 0 and at most 1h")
    return value


def table(doc: dict[str, Any]) -> str:
    """The comparison as aligned text lines."""
    lines = [f"{'metric':<14} {'scope':<8} {'live':>8} {'model':>8} {'model 95% CI':>19} {'error':>8}"]
    for r in doc["rows"]:
        lines.append(f"{r['metric']:<14} {r['scope']:<8} {r['live']:>8.3f} {r['model']:>8.3f} "
                     f"[{r['model_ci_low']:>7.3f}, {r['model_ci_high']:>7.3f}] "
                     f"{r['error_pct']:>7.1f}%")
    return "\n".join(lines)


def main(sc: Scenario, *, topology: Path | None, out: Path, start_h: float, window_s: float,
         scale: float, seed: int, replications: int, workers: int | None = None) -> dict[str, Any]:
    """``yzt twin``: against ``topology`` (a federation folder or file), or a federation of the
    scenario started for the run under ``out/federation`` and stopped after it."""
    from yzt.twin import federation

    if topology is not None:
        return run_twin(sc, federation.read_topology(topology), start_h=start_h,
                        window_s=window_s, scale=scale, seed=seed, replications=replications,
                        out=out)
    with federation.start(sc, out / "federation", workers=workers, origin_h=start_h,
                          seed=seed) as fed:
        return run_twin(sc, federation.read_topology(fed.folder), start_h=start_h,
                        window_s=window_s, scale=scale, seed=seed, replications=replications,
                        out=out)
