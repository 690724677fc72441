"""Speed of the simulation engines.

``python benchmarks/sim_bench.py [--scales 1000,10000,50000] [--markdown]``: the SimPy model's
queries/s and events/s of one replication of the baseline scenario (42 operators, one node each)
at several scales; the wall time covers the event run only.

``python benchmarks/sim_bench.py --fast [--scale-down 50]``: the fast engine on the national day,
every query (1 M queries/day, 93 provincial carrier nodes + 39 resellers):

1. ``yzt sim national-day --engine fast --replications 1`` as a child process, timed wall clock,
   with its peak resident memory (run twice: the first run may compile the numba kernels into
   their on-disk cache, the second is the steady state);
2. the same scenario at 1/``scale-down`` of the volume, one replication on each engine in this
   process, for the speed ratio (wall time of SimPy ÷ wall time of the fast engine).

``--runs N`` runs step 1 N times, ``--no-ratio`` skips step 2. To compare two checkouts, run the
same command with each one's interpreter, alternating (``yzt`` is started with the interpreter
that runs this script).

``python benchmarks/sim_bench.py --compile``: what the numba kernels cost a process that runs the
fast engine, in fresh child processes: a small replication with an empty kernel cache (numba
compiles every kernel), again with that cache filled (kernels loaded from disk: what every test
process and ``yzt`` run pays), and a second replication in the same process (steady state).
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


def national_day_cli(out: Path) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of
    ``yzt sim national-day --engine fast --replications 1``, and its exit code."""
    import resource
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "yzt", "sim", "national-day", "--engine", "fast",
           "--replications", "1", "--quiet", "--out", str(out)]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    wall = time.perf_counter() - start
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    peak = r1.ru_maxrss
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return wall, cpu, peak / 1024.0, proc.returncode


_COMPILE_CHILD = """
import time
t0 = time.perf_counter()
from yzt.sim.fast import run_replication_fast
from yzt.sim.scenario import load_scenario, with_overrides
sc = with_overrides(load_scenario("reseller-outage"), horizon_h=1.0, drain_h=24.0,
                    arrivals={"queries_per_day": 20000.0})
t1 = time.perf_counter()
run_replication_fast(sc, 1, 0)
t2 = time.perf_counter()
run_replication_fast(sc, 1, 1)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def compile_times() -> list[tuple[str, float, float, float]]:
    """(label, import s, first replication s, second replication s) of a child process with an
    empty numba cache directory, then with that directory filled."""
    import os
    import subprocess
    import sys
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("empty kernel cache (compile)", "filled kernel cache (load)"):
            proc = subprocess.run([sys.executable, "-c", _COMPILE_CHILD], env=env, check=True,
                                  capture_output=True, text=True)
            imp, first, second = (float(x) for x in proc.stdout.split())
            rows.append((label, imp, first, second))
    return rows


def ratio(scale_down: int, seed: int = 1) -> tuple[int, float, float]:
    """Verified queries and wall seconds of SimPy and of the fast engine at 1/scale_down volume."""
    from yzt.sim.engine import run_replication
    from yzt.sim.fast import run_replication_fast
    from yzt.sim.stages import frontdoor

    sc = load_scenario("national-day")
    sc = with_overrides(sc, arrivals={"queries_per_day": sc.arrivals.queries_per_day / scale_down})
    run_replication_fast(sc, seed, 0)  # load the compiled kernels first
    gc.collect()
    start = time.perf_counter()
    rec = run_replication_fast(sc, seed, 0)
    fast = time.perf_counter() - start
    gc.collect()
    start = time.perf_counter()
    run_replication(sc, seed, 0)
    simpy = time.perf_counter() - start
    return len(frontdoor.of(rec).verified_at), simpy, fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1000,10000,50000")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--fast", action="store_true", help="benchmark the fast engine")
    parser.add_argument("--scale-down", type=int, default=50)
    parser.add_argument("--runs", type=int, default=2, help="national-day CLI runs (--fast)")
    parser.add_argument("--no-ratio", action="store_true",
                        help="skip the SimPy/fast ratio at 1/scale-down (--fast)")
    parser.add_argument("--compile", action="store_true",
                        help="time the kernels' compilation and cache load (first call)")
    args = parser.parse_args()
    import os
    import sys

    print(f"machine: nproc={os.cpu_count()}, CPU {cpu_model()}, Python {sys.version.split()[0]}")
    print(f"load: {os.getloadavg()}")
    if args.compile:
        for label, imp, first, second in compile_times():
            print(f"{label}: import {imp:.2f} s, first replication {first:.2f} s, "
                  f"second {second:.3f} s")
        print(f"load: {os.getloadavg()}")
        return
    if args.fast:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            for run in range(1, args.runs + 1):
                wall, cpu, peak, code = national_day_cli(Path(tmp))
                print(f"yzt sim national-day --engine fast --replications 1 (run {run}): "
                      f"{wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {peak:.0f} MiB, exit {code}")
        if args.no_ratio:
            print(f"load: {os.getloadavg()}")
            return
        q, simpy, fast = ratio(args.scale_down)
        print(f"national-day at 1/{args.scale_down} ({q} verified queries, one replication): "
              f"SimPy {simpy:.2f} s, fast {fast:.3f} s, ratio {simpy / fast:.0f}x")
        print(f"load: {os.getloadavg()}")
        return
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
