"""The model held against itself: how far a live run could fall from the model by chance alone.

``yzt twin`` compares R live windows with the model's mean over :data:`~yzt.twin.compare.MODEL_DRAWS`
draws on each window's trace. How much of an observed error is noise? Here a *pseudo-live* run is
one more model draw on each window's trace (its own replication, independent of the model's),
judged by :func:`yzt.twin.compare.compare` exactly as a live run is. Repeated over ``trials``
independent pseudo-live runs, the spread of its errors is the error a perfect model would show
at that scenario, scale, window and number of windows: a live error inside that spread is not
evidence of bias; the share of trials within 10 % says whether the measurement can show 10 % at all.

A live run can also be taken apart (:func:`fcfs_deviation`, :func:`service_quantiles`): its
pools replayed as first-come-first-served queues of ``concurrency`` connections from the recorded
enqueue times and call durations (the model's queue rule, with the live side's own draws), and its
call durations set against the scenario's lognormal. When both hold, what is left between live and
model is the draws themselves, i.e. noise.

``python -m yzt.twin.noise twin-pools-1 --scale 2.7 --windows 3 --window 1m --trials 40``
``python -m yzt.twin.noise twin-pools-4 --live out/twin``
"""

from __future__ import annotations

import argparse
import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from yzt.sim.scenario import Scenario
from yzt.twin.compare import MODEL_DRAWS, TOLERANCE_PCT, compare, simulate_window
from yzt.twin.fanout import OK, LiveRecords, window_offsets

#: Replications of the pseudo-live draws start here, far from the model's own (``r·10 + k + 1``).
PSEUDO_LIVE_BASE = 1_000_000

FANOUT = ("fanout_p50_s", "fanout_p95_s", "pool_wait_mean_s")


def study(sc: Scenario, *, scale: float, windows: int, window_s: float, trials: int,
          start_h: float = 10.0, seed: int = 1, draws: int = MODEL_DRAWS) -> dict[str, Any]:
    """Errors of ``trials`` pseudo-live runs (one model draw a window) against the model's mean
    of ``draws`` draws a window, judged as a live run is: per fan-out metric the errors (%), the
    share within :data:`TOLERANCE_PCT` and the share passing; per trial the nodes within 10 %."""
    nodes = [(op.id, op) for op in sc.operators]
    deadline_s = sc.deadline_h * 3600.0
    offsets = [window_offsets(sc, seed=seed, start_h=start_h, duration_s=window_s, scale=scale,
                              replication=r) for r in range(windows)]

    def sim(r: int, rep: int) -> Any:
        return simulate_window(nodes, offsets[r], start_h=start_h, deadline_s=deadline_s,
                               seed=seed, replication=rep)

    models = [[sim(r, r * MODEL_DRAWS + k + 1) for k in range(draws)] for r in range(windows)]
    errors: dict[str, list[float]] = {m: [] for m in FANOUT}
    passed: dict[str, int] = dict.fromkeys(FANOUT, 0)
    nodes_within: list[int] = []
    nodes_passed: list[int] = []
    node_errors: list[float] = []
    for t in range(trials):
        lives = [sim(r, PSEUDO_LIVE_BASE + t * windows + r) for r in range(windows)]
        rows = compare(lives, models)
        for row in rows:
            if row["metric"] in errors:
                errors[row["metric"]].append(row["error_pct"])
                passed[row["metric"]] += row["verdict"] == "pass"
        per_node = [r for r in rows if r["scope"] != "fanout"]
        node_errors.extend(r["error_pct"] for r in per_node)
        nodes_within.append(sum(abs(r["error_pct"]) <= TOLERANCE_PCT for r in per_node))
        nodes_passed.append(sum(r["verdict"] == "pass" for r in per_node))
    out: dict[str, Any] = {"scenario": sc.name, "scale": scale, "windows": windows,
                           "window_s": window_s, "trials": trials,
                           "queries": sum(len(o) for o in offsets), "metrics": {}}
    for m in FANOUT:
        e = np.asarray(errors[m], dtype=float)
        out["metrics"][m] = {
            "error_mean_pct": float(e.mean()), "error_sd_pct": float(e.std(ddof=1)),
            "error_2.5_97.5_pct": [float(np.percentile(e, 2.5)), float(np.percentile(e, 97.5))],
            "within_10_share": float(np.mean(np.abs(e) <= TOLERANCE_PCT)),
            "pass_share": passed[m] / trials}
    ne = np.asarray(node_errors, dtype=float)
    out["nodes"] = {"count": len(nodes), "error_sd_pct": float(ne.std(ddof=1)),
                    "within_10_mean": float(np.mean(nodes_within)),
                    "within_10_min": int(min(nodes_within)),
                    "pass_mean": float(np.mean(nodes_passed))}
    return out


def z_of(observed_pct: float, result: dict[str, Any], metric: str) -> float:
    """How many of the null distribution's standard deviations an observed error lies from its
    mean."""
    m = result["metrics"][metric]
    return (observed_pct - m["error_mean_pct"]) / m["error_sd_pct"] if m["error_sd_pct"] else math.nan


def fcfs_deviation(rec: LiveRecords, concurrency: dict[str, int | None]) -> dict[str, float]:
    """Per node, the largest gap (s) between when a recorded attempt started and when a
    first-come-first-served pool of the node's ``concurrency`` connections would have started it,
    given the recorded enqueue times and durations (``None``: no limit, an attempt starts when
    enqueued). A platform that follows the model shows the HTTP stack's few milliseconds here;
    a pool that jumps the queue or holds a connection too long shows much more."""
    per: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for i, (node, enq) in enumerate(zip(rec.req_node, rec.req_enqueued, strict=True)):
        per[node].append((enq, i))
    out = {}
    for node, rows in per.items():
        rows.sort()
        size = concurrency.get(node)
        free: list[float] = []  # finish times of the busy connections (a heap)
        worst = 0.0
        for enq, i in rows:
            full = size is not None and len(free) >= size
            start = max(enq, heapq.heappop(free)) if full else enq
            worst = max(worst, abs(rec.req_start[i] - start))
            heapq.heappush(free, start + (rec.req_end[i] - rec.req_start[i]))
        out[node] = worst
    return out


def service_quantiles(records: Sequence[LiveRecords], operators: dict[str, str], sc: Scenario,
                      percents: Sequence[float] = (50, 90, 95, 99)) -> dict[str, dict[str, Any]]:
    """Per operator kind (carrier, reseller), the successful calls' durations as the platform
    timed them (send to answer) against the scenario's lognormal: quantiles, ratio, mean."""
    from statistics import NormalDist

    kinds: dict[str, list[float]] = defaultdict(list)
    params: dict[str, Any] = {}
    for rec in records:
        for node, s, e, o in zip(rec.req_node, rec.req_start, rec.req_end, rec.req_outcome,
                                 strict=True):
            if o == OK:
                op = sc.operator(operators[node])
                kinds[op.kind].append(e - s)
                params[op.kind] = op.latency
    out = {}
    for kind, xs in sorted(kinds.items()):
        lat = params[kind]
        theory = [lat.median * math.exp(lat.sigma * NormalDist().inv_cdf(p / 100)) for p in percents]
        seen = [float(v) for v in np.percentile(xs, percents)]
        out[kind] = {"calls": len(xs), "percents": list(percents), "live_s": seen,
                     "model_s": theory, "ratio": [a / b for a, b in zip(seen, theory, strict=True)],
                     "mean_live_s": float(np.mean(xs)),
                     "mean_model_s": lat.median * math.exp(lat.sigma ** 2 / 2)}
    return out


def _print(res: dict[str, Any]) -> None:
    print(f"{res['scenario']} scale {res['scale']:g}: {res['windows']} × {res['window_s']:g} s "
          f"windows, {res['queries']} queries, {res['trials']} pseudo-live trials")
    for m, v in res["metrics"].items():
        lo, hi = v["error_2.5_97.5_pct"]
        print(f"  {m:<18} error mean {v['error_mean_pct']:+6.1f} %, sd {v['error_sd_pct']:5.1f} %,"
              f" 95 % of trials in [{lo:+6.1f}, {hi:+6.1f}] %, within 10 %: "
              f"{100 * v['within_10_share']:3.0f} % of trials, pass: {100 * v['pass_share']:3.0f} %")
    n = res["nodes"]
    print(f"  per-node p95       error sd {n['error_sd_pct']:5.1f} %, within 10 %: "
          f"{n['within_10_mean']:.1f} of {n['count']} on average (fewest {n['within_10_min']}), "
          f"passing {n['pass_mean']:.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    from yzt.sim.scenario import load_scenario
    from yzt.twin.compare import parse_window

    ap = argparse.ArgumentParser(prog="python -m yzt.twin.noise", description=__doc__)
    ap.add_argument("scenario")
    ap.add_argument("--scale", type=float, action="append", default=[])
    ap.add_argument("--live", type=Path, metavar="DIR",
                    help="take a yzt twin run apart instead: its pools as FCFS queues, its call "
                         "durations against the scenario's lognormal")
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--window", default="1m")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--start-h", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    sc = load_scenario(args.scenario)
    if args.live is not None:
        from yzt.twin.compare import read_live

        run = read_live(args.live)
        conc = {n: sc.operator(op).concurrency for n, op in run.operators.items()}
        worst = max((max(fcfs_deviation(rec, conc).values(), default=0.0)
                     for rec in run.records), default=0.0)
        print(f"pools replayed as FCFS queues from the recorded times: largest start gap "
              f"{1000 * worst:.1f} ms")
        for kind, q in service_quantiles(run.records, run.operators, sc).items():
            cells = ", ".join(f"p{p:g} {a:.3f}/{b:.3f} ({100 * (r - 1):+.1f} %)" for p, a, b, r in
                              zip(q["percents"], q["live_s"], q["model_s"], q["ratio"], strict=True))
            print(f"{kind}: {q['calls']} calls, live/model {cells}, mean "
                  f"{q['mean_live_s']:.4f}/{q['mean_model_s']:.4f} s")
        return 0
    if not args.scale:
        ap.error("give --scale (one or more) or --live DIR")
    for scale in args.scale:
        _print(study(sc, scale=scale, windows=args.windows, window_s=parse_window(args.window),
                     trials=args.trials, start_h=args.start_h, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
