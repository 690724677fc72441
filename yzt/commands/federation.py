"""``yzt federation up|down``: a scenario's operator nodes as real reference operators on loopback."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from yzt.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "federation",
        help="start (up) or stop (down) one reference operator per node of a scenario on loopback",
        description="up: serve one reference operator per fan-out node of SCENARIO (3 carriers or "
        "their provincial nodes, 39 resellers) on 127.0.0.1, each with the node's latency, failure "
        "ratio, outages and connection limit, its own key and fixtures, in a few processes; write "
        "DIR/federation.json (node → URL, key id, fixtures, pid) once every node answers GET "
        "/v1/health; serve until SIGTERM or Ctrl-C. down: stop the federation of DIR. Exit 0, or 2 "
        "when a node does not come up (named) or a flag is wrong.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="up|down", required=True)
    up = verbs.add_parser("up", help="start the federation and serve until stopped")
    up.add_argument("scenario", metavar="SCENARIO", help="shipped scenario name or YAML file")
    up.add_argument("--out", type=Path, default=Path("out/federation"), metavar="DIR",
                    help="federation folder: keys, fixtures, databases, logs, federation.json "
                    "(default out/federation)")
    up.add_argument("--only", action="append", default=[], metavar="ID",
                    help="serve only this operator (R07, CMCC) or provincial node (CMCC-11); "
                    "repeatable, or comma-separated")
    up.add_argument("--workers", type=int, metavar="N",
                    help="worker processes sharing the nodes (default: one per CPU)")
    up.add_argument("--origin-h", type=float, default=0.0, metavar="H",
                    help="the scenario hour the federation's start stands for (default 0)")
    up.add_argument("--time-factor", type=float, default=1.0, metavar="F",
                    help="wall seconds per scenario second for outage windows (default 1; 1/60 "
                    "plays a scenario hour in a minute)")
    up.add_argument("--seed", type=int, default=1, help="seed of latency and failure draws and "
                    "of the fixtures (default 1)")
    up.add_argument("--subjects", type=int, default=50, help="fixture subjects per node (default 50)")
    up.add_argument("--startup-timeout", type=float, default=90.0, metavar="SECONDS",
                    help="bound on start-up: every node listening and healthy (default 90)")
    up.set_defaults(func=run_up)
    down = verbs.add_parser("down", help="stop the federation of a folder")
    down.add_argument("folder", type=Path, metavar="DIR", help="the folder given to up --out")
    down.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS",
                      help="wait this long for a clean stop before killing (default 15)")
    down.set_defaults(func=run_down)


def run_up(args: argparse.Namespace) -> int:
    from yzt.sim.scenario import load_scenario
    from yzt.twin.federation import run_up as serve

    if args.workers is not None and not 1 <= args.workers <= 64:
        raise UserError(f"--workers must be between 1 and 64, got {args.workers}")
    if not (math.isfinite(args.time_factor) and args.time_factor > 0):
        raise UserError(f"--time-factor must be a number > 0, got {args.time_factor:g}")
    if not (math.isfinite(args.origin_h) and args.origin_h >= 0):
        raise UserError(f"--origin-h must be a number of hours >= 0, got {args.origin_h:g}")
    if not (math.isfinite(args.startup_timeout) and 1 <= args.startup_timeout <= 3600):
        raise UserError(f"--startup-timeout must be between 1 and 3600 seconds, got "
                        f"{args.startup_timeout:g}")
    only = [part.strip() for item in args.only for part in item.split(",") if part.strip()]
    return serve(load_scenario(args.scenario), args.out, only=only, workers=args.workers,
                 origin_h=args.origin_h, time_factor=args.time_factor, seed=args.seed,
                 subjects=args.subjects, startup_timeout=args.startup_timeout)


def run_down(args: argparse.Namespace) -> int:
    from yzt.twin.federation import down

    stopped = down(args.folder, timeout=args.timeout)
    print(f"yzt federation: stopped {len(stopped)} process(es) of {args.folder}")
    return 0
