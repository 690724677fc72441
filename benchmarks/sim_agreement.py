"""Agreement of the fast engine with the SimPy engine on every shipped scenario, as a table.

Usage: ``python benchmarks/sim_agreement.py [--reps 16] [--hours 6] [--per-day 20000]``. Each
shipped scenario is shortened (arrival horizon ``--hours``, at most ``--per-day`` queries a day,
a surge moved inside the horizon, 72 h drain) so that SimPy runs it in seconds; both engines run
the same replications (same seeds) and the table gives, per metric, both means with their 95 %
confidence intervals and whether the intervals overlap. The same comparison, smaller, is the test
``tests/test_sim_fast.py::test_engines_agree_on_every_shipped_scenario``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_sim_fast import OPERATOR_METRICS, PLATFORM_METRICS, overlap

from yzt.sim.engine import run_replication
from yzt.sim.fast import run_replication_fast
from yzt.sim.results import replication_metrics
from yzt.sim.scenario import Scenario, load_scenario, shipped_scenarios, with_overrides
from yzt.sim.stats import estimate


def shortened(name: str, hours: float, per_day: float) -> Scenario:
    sc = load_scenario(name)
    arrivals: dict[str, Any] = {"queries_per_day": min(sc.arrivals.queries_per_day, per_day)}
    if sc.arrivals.surges:
        s = sc.arrivals.surges[0]
        arrivals["surges"] = [{"start_h": 1.0, "peak_multiplier": s.peak_multiplier, "decay_h": 1.0}]
    return with_overrides(sc, horizon_h=hours, drain_h=72.0, arrivals=arrivals)


def fmt(e: Any) -> str:
    if math.isnan(e.mean):
        return "-"
    if math.isnan(e.low):
        return f"{e.mean:.4g}"
    return f"{e.mean:.4g} [{e.low:.4g}, {e.high:.4g}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=16)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--per-day", type=float, default=20000.0)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    print("| scenario | scope | metric | SimPy mean [95 % CI] | fast mean [95 % CI] | overlap |")
    print("|---|---|---|---|---|---|")
    total = bad = 0
    times: list[str] = []
    for name in sorted(shipped_scenarios()):
        sc = shortened(name, args.hours, args.per_day)
        t0 = time.perf_counter()
        ma = [replication_metrics(run_replication(sc, 1, r)) for r in range(args.reps)]
        t1 = time.perf_counter()
        mb = [replication_metrics(run_replication_fast(sc, 1, r)) for r in range(args.reps)]
        t2 = time.perf_counter()
        times.append(f"{name}: SimPy {t1 - t0:.1f} s, fast {t2 - t1:.1f} s for {args.reps} replications")
        for scope, names in (("platform", PLATFORM_METRICS), ("CMCC", OPERATOR_METRICS),
                             ("R07", OPERATOR_METRICS)):
            for metric in names:
                if metric not in ma[0][scope]:
                    continue
                a = estimate([m[scope][metric] for m in ma])
                b = estimate([m[scope][metric] for m in mb])
                ok = overlap(a, b)
                total += 1
                bad += not ok
                print(f"| {name} | {scope} | {metric} | {fmt(a)} | {fmt(b)} | "
                      f"{'yes' if ok else '**no**'} |")
    print(f"\n{total - bad} of {total} metrics overlap")
    for line in times:
        print(line)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
