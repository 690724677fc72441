"""What the fast engine's stage memo saves a plan: one candidate of each kind, fresh against memo.

Usage: ``python benchmarks/stage_memo_bench.py [--scenario launch-day] [--rounds 3]``.
For one replication of the scenario, each kind of candidate ``yzt plan`` simulates (a hotline's
agents, a back office's staff, one operator's connections, the SMS gateway's rate) is run twice,
side by side in one process on one thread: as a fresh replication (``run_replication_fast``) and
through a :class:`~yzt.sim.fast.StagedReplication` that has already run the scenario as it stands
(what ``yzt plan``'s workers hold). Prints one Markdown row per kind with the median seconds of
each and their ratio, and the machine line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sim_bench import cpu_model  # the same machine line as the other benchmarks

from yzt.sim.fast import StagedReplication, run_replication_fast
from yzt.sim.scenario import Scenario, load_scenario, with_overrides


def _kinds(sc: Scenario) -> list[tuple[str, Scenario, str]]:
    r01 = sc.operator("R01")
    hot = [{"start_h": s.start_h, "end_h": s.end_h, "agents": s.agents + 1} for s in r01.hotline.shifts]
    cm = sc.operator("CMCC").backoffice.shifts
    bo = [{"start_h": s.start_h, "end_h": s.end_h, "agents": s.agents + 1} for s in cm]
    return [
        ("R01 hotline +1 agent", with_overrides(sc, operators={"R01": {"hotline": {"shifts": hot}}}),
         "all"),
        ("CMCC back office +1", with_overrides(sc, operators={"CMCC": {"backoffice": {"shifts": bo}}}),
         "all"),
        ("R07 connections −1 (to the SMS gateway)",
         with_overrides(sc, operators={"R07": {"concurrency": (sc.operator("R07").concurrency or 2) - 1}}),
         "sms"),
        ("SMS rate ÷ 2 (to the SMS gateway)",
         with_overrides(sc, sms={"rate_per_s": sc.sms.rate_per_s / 2}), "sms"),
    ]


def run() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scenario", default="launch-day")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    sc = load_scenario(args.scenario)
    load_before = os.getloadavg()[0]
    print("| candidate | fresh replication | with the memo | ratio |")
    print("|---|---:|---:|---:|")
    for name, variant, upto in _kinds(sc):
        fresh, memo = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            run_replication_fast(variant, 1, 0, threads=1)
            fresh.append(time.perf_counter() - t)
            staged = StagedReplication(1, 0, threads=1)
            staged.records(sc, arrays=True)
            t = time.perf_counter()
            staged.records(variant, arrays=True, upto=upto)
            memo.append(time.perf_counter() - t)
        f, m = statistics.median(fresh), statistics.median(memo)
        print(f"| {name} | {f:.2f} s | {m:.3f} s | {f / m:.0f}× |")
    print(f"\n{args.scenario}, {args.rounds} rounds, medians; load average {load_before:.1f} → "
          f"{os.getloadavg()[0]:.1f}; {os.cpu_count()} × {cpu_model()}")


if __name__ == "__main__":
    run()
