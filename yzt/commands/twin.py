"""``yzt twin``: replay windows of a scenario's arrivals through a live federation, compare what
happened with the model's answer on the same traces, and judge: exit 0 when every metric agrees,
1 naming the metrics that do not, 3 when the machine itself saturated (not testable here)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from yzt.errors import UserError
from yzt.twin import DEFECTS


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "twin",
        help="hold the model against a live federation on the same arrival trace",
        description="Replay the model's verified-query times of a window of SCENARIO in real time "
        "through a live federation (--topology, or one started for the run), following the "
        "model's rules, --repeats times, then simulate the same traces; compare fan-out p50/p95, "
        "the mean pool wait, timeouts and retries a query and each node's p95 answer time, live "
        "against the model (each with its 95 %% CI), and write DIR/twin-live.json and "
        "DIR/twin.json. A metric agrees within 10 %% or inside the model's CI. Exit 0 when all "
        "agree, 1 naming those that do not, 3 when the machine saturated (not testable), 2 on a "
        "usage or connection error.",
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
                   help="live windows, and model replications, behind each 95 %% CI (default 5; with 1 "
                   "there is no interval and only the 10 %% tolerance judges)")
    p.add_argument("--calibrate", action="store_true",
                   help="fit each operator's latency and failure ratio from its live samples and "
                   "write DIR/calibrated.yaml, a scenario yzt sim and yzt plan take")
    p.add_argument("--live", type=Path, metavar="FILE",
                   help="judge the recorded windows of an earlier run again (its twin-live.json "
                   "or folder), the model side only: no federation, no live traffic")
    p.add_argument("--model-defect", choices=DEFECTS, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=1, help="seed of the arrival trace (default 1)")
    p.add_argument("--workers", type=int, metavar="N", help="federation worker processes")
    p.add_argument("--out", type=Path, default=Path("out/twin"), metavar="DIR",
                   help="output folder (default out/twin)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yzt.sim.scenario import load_scenario
    from yzt.twin.compare import main, parse_window, progress_printer, table
    from yzt.verdict import Verdict

    try:
        window_s = parse_window(args.window)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not (math.isfinite(args.scale) and 0 < args.scale <= 10_000):
        raise UserError(f"--scale must be more than 0 and at most 10000, got {args.scale:g}")
    if not 1 <= args.repeats <= 100:
        raise UserError(f"--repeats must be between 1 and 100, got {args.repeats}")
    if args.live is not None and args.topology is not None:
        raise UserError("--live judges recorded windows again and sends no traffic: give it "
                        "without --topology")
    sc = load_scenario(args.scenario)
    if not 0 <= args.start_h < sc.horizon_h:
        raise UserError(f"--start-h must be inside the scenario's horizon (0 to {sc.horizon_h:g}), "
                        f"got {args.start_h:g}")
    show = progress_printer(sys.stderr)
    try:
        doc = main(sc, topology=args.topology, out=args.out, start_h=args.start_h,
                   window_s=window_s, scale=args.scale, seed=args.seed,
                   replications=args.repeats, workers=args.workers,
                   defect=args.model_defect, calibrate=args.calibrate, progress=show,
                   live=args.live)
    finally:
        if show is not None:
            show("")
    print(table(doc))
    calibrated = doc.get("calibration")
    if calibrated:
        print(f"yzt twin: calibrated scenario {args.out / calibrated['file']}", file=sys.stderr)
    print(f"yzt twin: {doc['windows']} window(s), {doc['queries']} queries, {doc['requests']} "
          f"requests in {doc['wall_s']:.1f} s; load average "
          f"{doc['load_average']['before'][0]:.2f} → {doc['load_average']['after'][0]:.2f}; "
          f"{args.out / 'twin.json'}", file=sys.stderr)
    verdict = Verdict(doc["verdict"])
    print(f"yzt twin: {verdict.value}: {doc['verdict_reason']}", file=sys.stderr)
    return verdict.exit_code
