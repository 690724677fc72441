"""Wall time of a full capacity plan: ``yzt plan`` of a scenario, every operator and resource.

Usage: ``python benchmarks/plan_bench.py [--scenario launch-day] [--executor local] [--out DIR]``.
Runs the plan in this process through the same code as the command, prints the wall time, the
number of simulations and replications, the machine load (``os.getloadavg``) before and after and
the CPU model, as one Markdown row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sim_bench import cpu_model  # the same machine line as the other benchmarks

from yzt.cli import main


def run() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scenario", default="launch-day")
    p.add_argument("--executor", default="local")
    p.add_argument("--resources", default="hotline,backoffice,connections,sms")
    p.add_argument("--out", type=Path, default=Path("out/plan-bench"))
    p.add_argument("--progress", action="store_true", help="show the plan's progress on stderr")
    args = p.parse_args()
    before = os.getloadavg()
    start = time.perf_counter()
    code = main(["plan", args.scenario, "--executor", args.executor, "--resources", args.resources,
                 "--out", str(args.out)] + ([] if args.progress else ["--quiet"]))
    seconds = time.perf_counter() - start
    after = os.getloadavg()
    import json

    doc = json.loads((args.out / "plan.json").read_text(encoding="utf-8"))
    print(f"| {args.scenario} | {args.resources} | {len(doc['items'])} | {doc['simulations']} | "
          f"{doc['simulations'] * doc['replications']} | {seconds:.0f} s | exit {code} | "
          f"{before[0]:.1f} → {after[0]:.1f} | {os.cpu_count()} × {cpu_model()} |")


if __name__ == "__main__":
    run()
