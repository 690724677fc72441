"""The live fan-out against the model on the same arrival traces, judged metric by metric.

``yzt twin --repeats R`` replays R live windows, window ``r`` carrying the model's own
verified-query times of front-door replication ``r``; :func:`simulate_window` runs the model's own
operator nodes (``yzt.sim.operators.OperatorNode``, the SimPy engine's rules) on exactly the times
each live window sent, at their scenario hours (so outages fall where the federation played them),
:data:`MODEL_DRAWS` times per window with independent draws of latency, failures and jitter. Each
metric of :data:`METRICS` is measured per window on both sides (the model's value of a window the
mean over its draws), so each side has R values: their mean and 95 % Student-t interval.

The rule (:func:`judge`): a metric *agrees* when the live mean is within :data:`TOLERANCE_PCT` of
the model's mean, or lies inside the model's interval on the same traces (:func:`paired_ci`: 95 %
for a fan-out metric; for the nodes' p95, 95 % for all of them together, Bonferroni), or differs
from it by less than the
measurement's resolution (:data:`RESOLUTION`: 10 ms for times, 0.01 a query for counts, below
which HTTP, signing and the event loop are all one sees). A metric that does not agree fails the
run (exit 1, naming it); a metric that could not be measured on one side is incomplete. When the
machine itself saturated during a live window (:mod:`yzt.twin.saturation`), the run is incomplete
whatever the rows say: a broken measurement neither passes nor fails the model.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from yzt.sim.operators import OUTAGE as MODEL_OUTAGE
from yzt.sim.operators import TIMEOUT as MODEL_TIMEOUT
from yzt.sim.operators import OperatorNode
from yzt.sim.scenario import OperatorParams, Scenario
from yzt.twin import DEFECTS
from yzt.twin.fanout import CUT, TIMEOUT, LiveRecords
from yzt.verdict import Verdict, combine_run

#: Agreement within this many per cent of the model's mean.
TOLERANCE_PCT = 10.0
#: Metric → (unit, resolution): a difference smaller than the resolution agrees.
RESOLUTION: dict[str, float] = {"s": 0.010, "per_query": 0.01}
#: The metrics compared: fan-out (scope ``fanout``) and per node (scope: the node id).
METRICS: dict[str, str] = {
    "fanout_p50_s": "s", "fanout_p95_s": "s", "pool_wait_mean_s": "s",
    "timeouts_per_query": "per_query", "retries_per_query": "per_query", "answer_p95_s": "s"}
#: Model draws on each live window's trace (their mean stands for the window).
MODEL_DRAWS = 10
#: A live call longer on average than the scenario's latency by more than this (%) is named in a
#: failing verdict's reason: HTTP and a loaded machine, which the model does not contain.
CALL_EXCESS_PCT = 2.0
#: Quantiles of the fan-out answer time kept for the quantile–quantile plot (%).
QQ_PERCENTS = tuple(range(1, 100))


@dataclass
class WindowResult:
    """One window, live or modelled: per query the fan-out answer time (s); per node the answer
    time of each query (s); the mean wait for a connection over every attempt; timed-out attempts
    and retries."""

    fanout_s: list[float]
    node_answer_s: dict[str, list[float]]
    pool_wait_mean_s: float = math.nan
    timeouts: int = 0
    retries: int = 0

    def metrics(self) -> dict[tuple[str, str], float]:
        """Every metric of :data:`METRICS` with its scope."""
        n = max(1, len(self.fanout_s))
        out = {("fanout_p50_s", "fanout"): _pct(self.fanout_s, 50),
               ("fanout_p95_s", "fanout"): _pct(self.fanout_s, 95),
               ("pool_wait_mean_s", "fanout"): self.pool_wait_mean_s,
               ("timeouts_per_query", "fanout"): self.timeouts / n,
               ("retries_per_query", "fanout"): self.retries / n}
        for node, answers in sorted(self.node_answer_s.items()):
            out[("answer_p95_s", node)] = _pct(answers, 95)
        return out


class _ModelNode(OperatorNode):
    """The model's node, counting timed-out attempts as the live side sees them (a hung outage is
    a timeout there too), with the ``timeouts-release`` defect: a timed-out attempt gives its
    connection back at once instead of holding it for the timeout."""

    def __init__(self, *args: Any, release_timeouts: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release_timeouts = release_timeouts
        self.timed_out = 0

    def begin(self, call: Any, now: float) -> float:
        held = super().begin(call, now)
        if call.outcome == MODEL_TIMEOUT or (call.outcome == MODEL_OUTAGE
                                             and self._outage(now) == "timeout"):
            self.timed_out += 1
            if self.release_timeouts:
                return 0.0
        return held


def defective(nodes: Sequence[tuple[str, OperatorParams]],
              defect: str | None) -> list[tuple[str, OperatorParams]]:
    """The nodes as a seeded defect changes their parameters (``pool-one-smaller``: one
    connection fewer, at least one; ``retries-ignored``: one attempt)."""
    if defect == "pool-one-smaller":
        return [(n, replace(p, concurrency=max(1, p.concurrency - 1))
                 if p.concurrency is not None else p) for n, p in nodes]
    if defect is not None and defect not in DEFECTS:
        raise ValueError(f"unknown model defect {defect!r}; known: {', '.join(DEFECTS)}")
    if defect == "retries-ignored":
        return [(n, replace(p, retry=replace(p.retry, max_attempts=1))) for n, p in nodes]
    return list(nodes)


def simulate_window(nodes: Sequence[tuple[str, OperatorParams]], offsets: Sequence[float], *,
                    start_h: float, deadline_s: float, seed: int, replication: int,
                    defect: str | None = None) -> WindowResult:
    """The model's fan-out over ``offsets`` (s after ``start_h``) at ``nodes``."""
    import simpy

    from yzt.sim.rng import Streams

    env = simpy.Environment()
    streams = Streams(seed, replication)
    n = len(offsets)
    t0 = start_h * 3600.0
    at = [t0 + o for o in offsets]
    last = [-math.inf] * n
    per_node: dict[str, list[float]] = {nid: [math.nan] * n for nid, _ in nodes}

    def done_for(nid: str) -> Any:
        answers = per_node[nid]

        def done(q: int, now: float, _ok: bool) -> None:
            answers[q] = now - at[q]
            last[q] = max(last[q], now)

        return done

    model_nodes = [_ModelNode(env, nid, op, streams, 1, done_for(nid),
                              release_timeouts=defect == "timeouts-release")
                   for nid, op in defective(nodes, defect)]

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
    return WindowResult([last[q] - at[q] if last[q] > -math.inf else math.nan for q in range(n)],
                        per_node, waited / attempts if attempts else math.nan,
                        timeouts=sum(m.timed_out for m in model_nodes),
                        retries=sum(m.counters.retries for m in model_nodes))


def live_window(rec: LiveRecords) -> WindowResult:
    """The same shape from a live replay's records (a cut query counts as NaN; cut attempts are
    neither timeouts nor retries).

    A node's answer time runs from the platform's first call of it for the query (its first
    attempt queued for a connection) to its last attempt's end, as the model's does from the
    query's arrival. The gap between the fan-out's start and that first call is the platform
    starting the other nodes' calls before it: the model has no such gap, and on a busy machine it
    is tens of ms, which a node answering in 20 ms would show as its own. The fan-out's answer
    time keeps it (it runs from the fan-out's start)."""
    n = len(rec.q_scheduled)
    per_node: dict[str, list[float]] = defaultdict(lambda: [math.nan] * n)
    called: dict[tuple[str, int], float] = {}
    for node, q, enqueued in zip(rec.req_node, rec.req_query, rec.req_enqueued, strict=True):
        called[node, q] = min(called.get((node, q), enqueued), enqueued)
    for node, q, end in zip(rec.req_node, rec.req_query, rec.req_end, strict=True):
        row = per_node[node]
        d = end - called[node, q]
        row[q] = d if math.isnan(row[q]) else max(row[q], d)
    waits = [s - e for s, e in zip(rec.req_start, rec.req_enqueued, strict=True)]
    done = [o != CUT for o in rec.req_outcome]
    return WindowResult(
        [rec.q_last[q] - rec.q_start[q] for q in range(n)], dict(per_node),
        float(np.mean(waits)) if waits else math.nan,
        timeouts=sum(o == TIMEOUT for o in rec.req_outcome),
        retries=sum(a > 1 and d for a, d in zip(rec.req_attempt, done, strict=True)))


def _pct(values: Sequence[float], p: float) -> float:
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    return float(np.percentile(arr, p)) if arr.size else math.nan


def _t95(n: int) -> float:
    from yzt.sim.theory import t_quantile

    return float(t_quantile(0.95, n - 1)) if n > 1 else math.inf


def mean_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95 % Student-t interval of ``values`` (NaN ignored; NaN when none)."""
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    if not arr.size:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if arr.size < 2:  # one window: no interval
        return mean, math.nan, math.nan
    half = _t95(arr.size) * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return mean, mean - half, mean + half


def judge(metric: str, live: float, model: float, low: float, high: float) -> Verdict:
    """:data:`Verdict.PASS` when the live value agrees with the model by the rule of this module,
    :data:`Verdict.FAIL` when it does not, :data:`Verdict.INCOMPLETE` when a side has no value or,
    outside the tolerance, there is no interval to tell noise from disagreement (one window)."""
    if not (math.isfinite(live) and math.isfinite(model)):
        return Verdict.INCOMPLETE
    if abs(live - model) <= RESOLUTION[METRICS[metric]]:
        return Verdict.PASS
    if model and abs(live - model) / abs(model) * 100.0 <= TOLERANCE_PCT:
        return Verdict.PASS
    if not (math.isfinite(low) and math.isfinite(high)):
        return Verdict.INCOMPLETE
    return Verdict.PASS if low <= live <= high else Verdict.FAIL


def _t(n: int, level: float) -> float:
    """Two-sided Student-t critical value at ``level`` with ``n − 1`` degrees of freedom."""
    if level == 0.95:
        return _t95(n)
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2.0, n - 1)) if n > 1 else math.inf


def paired_ci(live: Sequence[float], model: Sequence[float],
              level: float = 0.95) -> tuple[float, float, float]:
    """The model's mean and its interval *on the live traces*: window ``r`` of both sides ran
    the same arrivals, so the arrival trace's own variance cancels in the differences
    ``live_r − model_r``; the interval is the model's mean ± the Student-t half-width of their
    mean at ``level``. The live mean lies inside it exactly when a paired t-test finds no
    difference at ``1 − level``."""
    pairs = [(a, b) for a, b in zip(live, model, strict=True) if math.isfinite(a) and math.isfinite(b)]
    mean = float(np.mean([b for _, b in pairs])) if pairs else math.nan
    if len(pairs) < 2:  # one window: no interval, only the tolerance and the resolution judge
        return mean, math.nan, math.nan
    diffs = np.asarray([a - b for a, b in pairs])
    half = _t(len(pairs), level) * float(diffs.std(ddof=1)) / math.sqrt(len(pairs))
    return mean, mean - half, mean + half


def node_level(nodes: int) -> float:
    """The confidence of each node's interval: 95 % for the family of ``nodes`` rows together
    (Bonferroni), so that 42 correct nodes do not fail the run by chance one time in nine."""
    return 1.0 - 0.05 / max(1, nodes)


def _mean_metrics(draws: Sequence[WindowResult]) -> dict[tuple[str, str], float]:
    """Each metric's mean over several model draws of one window."""
    each = [d.metrics() for d in draws]
    return {k: float(np.nanmean([m.get(k, math.nan) for m in each]))
            if any(math.isfinite(m.get(k, math.nan)) for m in each) else math.nan
            for k in each[0]}


def compare(lives: Sequence[WindowResult],
            models: Sequence[WindowResult | Sequence[WindowResult]]) -> list[dict[str, Any]]:
    """One row a metric and scope: the live windows' mean and 95 % CI, the model's mean and its
    interval on the same traces (:func:`paired_ci`; 95 % for a fan-out row, :func:`node_level`
    for a node's), the error in % and the row's verdict. ``models[r]`` is the model on live
    window ``r``: one draw, or several whose mean stands for the window (the model's own noise
    then weighs little beside the live window's)."""
    live_m = [w.metrics() for w in lives]
    model_m = [m.metrics() if isinstance(m, WindowResult) else _mean_metrics(m) for m in models]
    keys = list(dict.fromkeys(k for m in live_m for k in m))
    per_node = node_level(sum(scope != "fanout" for _, scope in keys))
    rows = []
    for metric, scope in keys:
        live_v = [m.get((metric, scope), math.nan) for m in live_m]
        model_v = [m.get((metric, scope), math.nan) for m in model_m]
        live, live_low, live_high = mean_ci(live_v)
        level = 0.95 if scope == "fanout" else per_node
        model, low, high = paired_ci(live_v, model_v, level)
        verdict = judge(metric, live, model, low, high)
        rows.append({"metric": metric, "scope": scope, "live": live, "live_ci_low": live_low,
                     "live_ci_high": live_high, "model": model, "model_ci_low": low,
                     "model_ci_high": high, "ci_level": level,
                     "error_pct": 100.0 * (live - model) / model if model else math.nan,
                     "verdict": verdict.value})
    return rows


def qq(lives: Sequence[WindowResult],
       models: Sequence[WindowResult | Sequence[WindowResult]]) -> dict[str, list[float]]:
    """Quantiles of the fan-out answer time, every window (and model draw) pooled."""
    live = [t for w in lives for t in w.fanout_s]
    draws = [d for m in models for d in ([m] if isinstance(m, WindowResult) else m)]
    model = [t for w in draws for t in w.fanout_s]
    return {"p": [float(p) for p in QQ_PERCENTS],
            "live": [_pct(live, p) for p in QQ_PERCENTS],
            "model": [_pct(model, p) for p in QQ_PERCENTS]}


#: Nodes a verdict's sentence names before it says "and N more" (fan-out metrics: all).
NAMED = 4


def _said(r: dict[str, Any]) -> str:
    low, high = r["model_ci_low"], r["model_ci_high"]
    ci = (f"[{low:.4g}, {high:.4g}]" if low is not None and math.isfinite(low)
          and high is not None and math.isfinite(high) else "[no interval]")
    err = r["error_pct"]
    return (f"{r['metric']} ({r['scope']}): live {r['live']:.4g}, model {r['model']:.4g} {ci}"
            + ("" if err is None or not math.isfinite(err) else f", {err:+.1f} %"))


def _listed(rows: Sequence[dict[str, Any]]) -> str:
    fanout = [r for r in rows if r["scope"] == "fanout"]
    nodes = [r for r in rows if r["scope"] != "fanout"]
    shown = "; ".join(_said(r) for r in [*fanout, *nodes[:NAMED]])
    more = len(nodes) - NAMED
    return shown + (f"; and {more} more node(s) (twin.json)" if more > 0 else "")


def verdict_of(rows: Sequence[dict[str, Any]], saturated: Sequence[str]) -> tuple[Verdict, str]:
    """The run's verdict and the sentence that says why (naming the metrics that disagree, or the
    saturation that spoilt the measurement), fan-out metrics first."""
    failed = [r for r in rows if r["verdict"] == Verdict.FAIL.value]
    if saturated:
        said = "the machine saturated during the live window (" + "; ".join(saturated) + ")"
        if failed:
            said += "; disagreeing, unjudged: " + _listed(failed)
        return Verdict.INCOMPLETE, said + ": not testable here"
    verdict = combine_run(Verdict(r["verdict"]) for r in rows)
    if failed:
        return verdict, "the model disagrees with the live federation on " + _listed(failed)
    if verdict is Verdict.PASS:
        return verdict, (f"every metric agrees (within {TOLERANCE_PCT:g} % or inside the "
                         "model's 95 % CI)")
    open_rows = [r for r in rows if r["verdict"] != "pass"]
    return verdict, ("not judged (a side without a value, or outside the tolerance with one "
                     "window and so no interval; give --repeats 2 or more): " + _listed(open_rows))


def _model_start_h(topology: dict[str, Any], wall0: float, start_h: float) -> float:
    """The scenario hour the model's window starts at, so that outages fall where the federation
    played them: the federation's outage clock (``epoch`` is ``origin_h``) read at the replay's
    start. Only a federation on the real-time clock (``time_factor`` 1) can be aligned; other
    topologies (a file without ``epoch``, a faster clock) keep ``start_h``."""
    epoch, factor = topology.get("epoch"), topology.get("time_factor")
    if not isinstance(epoch, float | int) or factor != 1:
        return start_h
    return float(topology["origin_h"]) + (wall0 - float(epoch)) / 3600.0


@dataclass
class LiveRun:
    """The live windows of one ``yzt twin``: each window's offsets, records, model start hour and
    the machine's signals, the node → operator map, and what was replayed (``meta``)."""

    offsets: list[list[float]] = field(default_factory=list)
    records: list[LiveRecords] = field(default_factory=list)
    model_start_h: list[float] = field(default_factory=list)
    machine: list[dict[str, Any]] = field(default_factory=list)
    operators: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_meta(self) -> dict[str, Any]:
        """What ``twin-live.json`` keeps beside the records, so that the run can be judged again
        (:func:`read_live`)."""
        return {**self.meta, "windows": len(self.records), "model_start_h": self.model_start_h,
                "machine": self.machine, "operators": self.operators}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def run_live(sc: Scenario, topology: dict[str, Any], *, start_h: float, window_s: float,
             scale: float, seed: int, windows: int, drain_s: float = 60.0,
             progress: Callable[[str], None] | None = None) -> LiveRun:
    """Replay ``windows`` live windows against ``topology`` (window ``r`` the model's arrivals of
    front-door replication ``r``), measuring the machine over each."""
    import os

    from yzt.twin import saturation
    from yzt.twin.fanout import Replay, targets, window_offsets

    tg = targets(topology, sc)
    deadline_s = sc.deadline_h * 3600.0
    load_before = os.getloadavg()
    run = LiveRun(operators={node: e["operator"] for node, e in topology["nodes"].items()})
    wall = time.monotonic()
    for r in range(windows):
        offsets = window_offsets(sc, seed=seed, start_h=start_h, duration_s=window_s, scale=scale,
                                 replication=r)
        probe = saturation.Probe(topology)
        say = None if progress is None else (
            lambda text, r=r: progress(f"live window {r + 1}/{windows}: {text}"))
        replay = Replay(tg, offsets, deadline_s=deadline_s, seed=seed + r, drain_s=drain_s,
                        progress=say)
        probe.start()
        rec = replay.run_blocking()
        run.machine.append(probe.stop(replay))
        run.offsets.append(offsets)
        run.records.append(rec)
        run.model_start_h.append(_model_start_h(topology, replay.wall0, start_h))
    run.meta = {"scenario": sc.name, "seed": seed, "start_h": start_h, "window_s": window_s,
                "scale": scale, "queries": sum(len(o) for o in run.offsets),
                "wall_s": time.monotonic() - wall,
                "load_average": {"before": list(load_before), "after": list(os.getloadavg())}}
    return run


def read_live(path: Path) -> LiveRun:
    """A ``twin-live.json`` of ``yzt twin`` back as its windows, to judge again (``--live``)."""
    from yzt import resultfile
    from yzt.errors import UserError
    from yzt.twin.results import TwinLive

    if path.is_dir():
        path = path / "twin-live.json"
    live = resultfile.read_as(path, TwinLive)
    info = live.run
    if not isinstance(info.get("model_start_h"), list) or "operators" not in info:
        raise UserError(f"--live {path}: a twin-live.json without its windows' start hours and "
                        "operators (written before yzt twin could judge again); run yzt twin "
                        "against the federation once more")
    req, qs = live.requests, live.queries
    n = int(info["windows"])
    run = LiveRun(model_start_h=[float(h) for h in info["model_start_h"]],
                  machine=list(info.get("machine", [])), operators=dict(info["operators"]),
                  meta={k: info[k] for k in ("scenario", "seed", "start_h", "window_s", "scale",
                                             "queries", "wall_s", "load_average") if k in info})

    def nan(v: Any) -> float:
        return math.nan if v is None else float(v)

    for w in range(n):
        rec = LiveRecords()
        qi = [i for i, x in enumerate(qs.get("window", [0] * len(qs["scheduled_s"]))) if x == w]
        rec.q_scheduled = [float(qs["scheduled_s"][i]) for i in qi]
        rec.q_start = [nan(qs["fanout_start_s"][i]) for i in qi]
        rec.q_last = [nan(qs["last_answer_s"][i]) for i in qi]
        rec.q_complete = [bool(qs["complete"][i]) for i in qi]
        for i, x in enumerate(req.get("window", [0] * len(req["node"]))):
            if x == w:
                rec.add_request(req["node"][i], int(req["query"][i]), int(req["attempt"][i]),
                                float(req["enqueued_s"][i]), float(req["start_s"][i]),
                                float(req["end_s"][i]), req["outcome"][i], req["status"][i])
        run.records.append(rec)
        run.offsets.append(rec.q_scheduled)
    return run


def call_excess(sc: Scenario, run: LiveRun) -> dict[str, dict[str, float]]:
    """Per operator kind, the live successful calls' mean duration (send to answer) against the
    mean of the scenario's lognormal: the time the model does not contain (HTTP, signing, the
    server's own work, late event loops), which a queue near saturation magnifies."""
    from yzt.twin.noise import service_quantiles

    out = {}
    for kind, q in service_quantiles(run.records, run.operators, sc).items():
        out[kind] = {"calls": q["calls"], "mean_live_s": q["mean_live_s"],
                     "mean_model_s": q["mean_model_s"],
                     "excess_pct": 100.0 * (q["mean_live_s"] / q["mean_model_s"] - 1.0)}
    return out


def judge_run(sc: Scenario, run: LiveRun, *, seed: int, out: Path, defect: str | None = None,
              calibrate: bool = False) -> dict[str, Any]:
    """Simulate each live window of ``run`` with ``sc``'s parameters, compare, judge; write
    ``out/twin.json`` (and ``out/calibrated.yaml`` with ``calibrate``); return the document."""
    from yzt import resultfile
    from yzt.errors import UserError
    from yzt.twin import saturation
    from yzt.twin.results import TwinComparison

    try:
        nodes = [(node, sc.operator(op)) for node, op in sorted(run.operators.items())]
    except KeyError as exc:
        raise UserError(f"operator {exc.args[0]!r} of the live run is not in scenario "
                        f"{sc.name!r}") from None
    deadline_s = sc.deadline_h * 3600.0
    lives = [live_window(rec) for rec in run.records]
    models = [[simulate_window(nodes, offsets, start_h=h, deadline_s=deadline_s, seed=seed,
                               replication=r * MODEL_DRAWS + k + 1, defect=defect)
               for k in range(MODEL_DRAWS)]
              for r, (offsets, h) in enumerate(zip(run.offsets, run.model_start_h, strict=True))]
    rows = compare(lives, models)
    machine = saturation.summary(run.machine)
    machine["calls"] = call_excess(sc, run)
    verdict, why = verdict_of(rows, machine["saturated"])
    slow = {k: v for k, v in machine["calls"].items() if v["excess_pct"] > CALL_EXCESS_PCT}
    if verdict is Verdict.FAIL and slow:
        why += ("; the live calls took longer than the scenario's latency ("
                + ", ".join(f"{k}s {v['excess_pct']:+.1f} % on the mean" for k, v in slow.items())
                + "): HTTP and the machine's load, which the model does not contain, and a "
                "queue's wait grows several times faster than its calls")
    outcomes: dict[str, int] = defaultdict(int)
    for rec in run.records:
        for o in rec.req_outcome:
            outcomes[o] += 1
    windows = len(run.records)
    doc: dict[str, Any] = {
        **run.meta, "scenario": sc.name, "model_start_h": run.model_start_h[0],
        "replications": windows * MODEL_DRAWS, "windows": windows,
        "queries": sum(len(o) for o in run.offsets),
        "requests": sum(len(rec.req_node) for rec in run.records),
        "outcomes": dict(sorted(outcomes.items())),
        "rows": rows, "verdict": verdict.value, "verdict_reason": why, "machine": machine,
        "qq": qq(lives, models),
        "rule": (f"agree when |live − model| ≤ {TOLERANCE_PCT:g} % of the model, or the live mean "
                 "lies inside the model's 95 % CI on the same traces, or the difference is below "
                 "the resolution (10 ms, 0.01 a query); saturation of the machine makes the run "
                 "incomplete")}
    if defect:
        doc["model_defect"] = defect
    out.mkdir(parents=True, exist_ok=True)
    if calibrate:
        from yzt.twin.calibrate import write_calibrated

        doc["calibration"] = write_calibrated(sc, run.operators, run.records,
                                              out / "calibrated.yaml")
    doc = _json_safe(doc)  # NaN → null here already: the typed record is compared as JSON
    resultfile.write_typed(out / "twin.json", TwinComparison.from_json(doc))
    return doc


def run_twin(sc: Scenario, topology: dict[str, Any], *, start_h: float, window_s: float,
             scale: float, seed: int, replications: int, out: Path, drain_s: float = 60.0,
             defect: str | None = None, calibrate: bool = False,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Replay ``replications`` live windows against ``topology``, write ``out/twin-live.json``,
    then :func:`judge_run`."""
    from yzt.twin.fanout import merge_records, write_live

    run = run_live(sc, topology, start_h=start_h, window_s=window_s, scale=scale, seed=seed,
                   windows=replications, drain_s=drain_s, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    write_live(out / "twin-live.json", merge_records(run.records), _json_safe(run.to_meta()))
    return judge_run(sc, run, seed=seed, out=out, defect=defect, calibrate=calibrate)


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


def _num(value: float | None, width: int = 8) -> str:
    return f"{'—':>{width}}" if value is None else f"{value:>{width}.3f}"


def table(doc: dict[str, Any]) -> str:
    """The comparison as aligned text lines, the verdict last."""
    lines = [f"{'metric':<18} {'scope':<8} {'live':>8} {'live 95% CI':>19} {'model':>8} "
             f"{'model 95% CI':>19} {'error':>8}  verdict"]
    for r in doc["rows"]:
        err = "—" if r["error_pct"] is None else f"{r['error_pct']:.1f}%"
        lines.append(f"{r['metric']:<18} {r['scope']:<8} {_num(r['live'])} "
                     f"[{_num(r.get('live_ci_low'), 7)}, {_num(r.get('live_ci_high'), 7)}] "
                     f"{_num(r['model'])} [{_num(r['model_ci_low'], 7)}, "
                     f"{_num(r['model_ci_high'], 7)}] {err:>8}  {r.get('verdict', '')}")
    for name, sig in doc.get("machine", {}).get("signals", {}).items():
        lines.append(f"machine: {name} = {'—' if sig['value'] is None else format(sig['value'], '.3f')}"
                     f" (limit {sig['limit']:g}){'  SATURATED' if sig['saturated'] else ''}")
    if "verdict" in doc:
        lines.append(f"verdict: {doc['verdict']}: {doc['verdict_reason']}")
    return "\n".join(lines)


def progress_printer(stream: Any = None) -> Callable[[str], None] | None:
    """A progress line rewritten in place on a terminal (``None`` when ``stream`` is not one)."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(text: str) -> None:
        stream.write("\r\033[K" + text)
        stream.flush()

    return show


def main(sc: Scenario, *, topology: Path | None, out: Path, start_h: float, window_s: float,
         scale: float, seed: int, replications: int, workers: int | None = None,
         defect: str | None = None, calibrate: bool = False,
         progress: Callable[[str], None] | None = None, live: Path | None = None
         ) -> dict[str, Any]:
    """``yzt twin``: against ``topology`` (a federation folder or file), or a federation of the
    scenario started for the run under ``out/federation`` and stopped after it; or, with
    ``live``, the recorded windows of an earlier run judged again (the model side only)."""
    from yzt.twin import federation

    if live is not None:
        run = read_live(live)
        return judge_run(sc, run, seed=int(run.meta.get("seed", seed)), out=out, defect=defect,
                         calibrate=calibrate)

    kwargs: dict[str, Any] = {"start_h": start_h, "window_s": window_s, "scale": scale,
                              "seed": seed, "replications": replications, "out": out,
                              "defect": defect, "calibrate": calibrate, "progress": progress}
    if topology is not None:
        return run_twin(sc, federation.read_topology(topology), **kwargs)
    with federation.start(sc, out / "federation", workers=workers, origin_h=start_h,
                          seed=seed) as fed:
        return run_twin(sc, federation.read_topology(fed.folder), **kwargs)
