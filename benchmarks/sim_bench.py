"""Speed of the SimPy model: queries/s and events/s of one replication at several scales.

Usage: ``python benchmarks/sim_bench.py [--scales 1000,10000,50000] [--markdown]``. Each scale
runs the baseline scenario (42 operators, one node each) with ``queries_per_day`` chosen so that
about that many queries are verified in a 24 h horizon; the wall time covers the event run only
(the front door is vectorised and included). A future fast engine is measured against this.
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
from pathlib import Path

from yzt.sim.engine import Model
from yzt.sim.scenario import load_scenario, with_overrides


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def bench(queries: int, seed: int = 1) -> tuple[int, int, float]:
    """Verified queries, events and seconds of one replication of about ``queries`` queries."""
    # ~0.90 of attempts are verified, ~1.05 counting accepted repeats: 1/0.95 attempts a query.
    sc = with_overrides(load_scenario("baseline"), arrivals={"queries_per_day": queries / 0.95},
                        drain_h=48.0)
    gc.collect()
    start = time.perf_counter()
    model = Model(sc, seed, 0)
    model.run()
    seconds = time.perf_counter() - start
    return len(model.verified), model.env.events, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1000,10000,50000")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    import os
    import sys

    print(f"machine: nproc={os.cpu_count()}, CPU {cpu_model()}, Python {sys.version.split()[0]}")
    rows = []
    for n in (int(s) for s in args.scales.split(",")):
        q, ev, sec = bench(n)
        rows.append((q, ev, sec, q / sec, ev / sec))
        if not args.markdown:
            print(f"{q:>8} queries  {ev:>10} events  {sec:8.2f} s  {q / sec:8.0f} queries/s  "
                  f"{ev / sec:9.0f} events/s  {ev / q:6.1f} events/query")
    if args.markdown:
        print("| queries | events | seconds | queries/s | events/s | events/query |")
        print("|---:|---:|---:|---:|---:|---:|")
        for q, ev, sec, qps, eps in rows:
            print(f"| {q} | {ev} | {sec:.2f} | {qps:.0f} | {eps:.0f} | {ev / q:.1f} |")


if __name__ == "__main__":
    main()
