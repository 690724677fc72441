"""``yzt twin``: replay a window of a scenario's arrivals through a live federation and compare the
answer times with the model's on the same trace (a first, preliminary comparison)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from yzt.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "twin",
        help="hold the model against a live federation on the same arrival trace",
        description="Replay the model's verified-query times of a window of SCENARIO in real time "
        "through a live federation (--topology, or one started for the run), following the "
        "model's rules, then simulate the same trace; print fan-out p50/p95 and each node's p95 "
        "answer time, live against the model (mean and 95 %% CI over --repeats replications), and "
        "write DIR/twin-live.json and DIR/twin.json. Preliminary: no verdict yet (exit 0, 2 on a "
        "usage error).",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="shipped scenario name or YAML file")
    p.add_argument("--window", default="1m", help="length of the window, e.g. 30s, 1m, 10m (default 1m)")
    p.add_argument("--start-h", type=float, default=10.0, metavar="H",
                   help="scenario hour the window starts at (default 10)")
    p.add_argument("--scale", type=float, default=1.0, metavar="F",
                   help="multiply the scenario's queries_per_day by F (default 1)")
    p.add_argument("--topology", type=Path, metavar="FILE",
                   help="a federation (its folder or federation.json); default: start one")
    p.add_argument("--repeats", type=int, default=5, metavar="R",
                   help="model replications for its confidence intervals (default 5)")
    p.add_argument("--seed", type=int, default=1, help="seed of the arrival trace (default 1)")
    p.add_argument("--workers", type=int, metavar="N", help="federation worker processes")
    p.add_argument("--out", type=Path, default=Path("out/twin"), metavar="DIR",
                   help="output folder (default out/twin)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yzt.sim.scenario import load_scenario
    from yzt.twin.compare import main, parse_window, table

    try:
        window_s = parse_window(args.window)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not (math.isfinite(args.scale) and 0 < args.scale <= 10_000):
        raise UserError(f"--scale must be more than 0 and at most 10000, got {args.scale:g}")
    if not 2 <= args.repeats <= 100:
        raise UserError(f"--repeats must be between 2 and 100, got {args.repeats}")
    sc = load_scenario(args.scenario)
    if not 0 <= args.start_h < sc.horizon_h:
        raise UserError(f"--start-h must be inside the scenario's horizon (0 to {sc.horizon_h:g}), "
                        f"got {args.start_h:g}")
    doc = main(sc, topology=args.topology, out=args.out, start_h=args.start_h, window_s=window_s,
               scale=args.scale, seed=args.seed, replications=args.repeats, workers=args.workers)
    print(table(doc))
    print(f"yzt twin: {doc['queries']} queries, {doc['requests']} requests in {doc['wall_s']:.1f} s; "
          f"load average {doc['load_average']['before'][0]:.2f} → "
          f"{doc['load_average']['after'][0]:.2f}; {args.out / 'twin.json'}", file=sys.stderr)
    return 0
