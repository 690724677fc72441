"""``yzt sim``: run the capacity-planning simulation of a scenario and judge the SLAs.

Exit status: 0 when every SLA holds in the results, 1 when one is breached, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yzt.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "sim",
        help="simulate the platform, carriers and resellers (fast engine or SimPy) and judge the SLAs",
        description="Simulate a scenario (shipped name such as 'baseline', or a YAML path) with "
        "replications and 95 %% confidence intervals; write DIR/sim-results.json and print a "
        "summary with SLA verdicts. Exit 0: SLAs hold; 1: an SLA is breached; 2: usage error.",
    )
    p.add_argument("scenario", nargs="?", help="shipped scenario name or path to a scenario YAML")
    p.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")
    p.add_argument("--replications", "-n", type=int, help="replications (default: the scenario's)")
    p.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    p.add_argument("--engine", default="auto", choices=("auto", "fast", "simpy"),
                   help="auto (default): the fast stage-wise engine when it represents the scenario "
                   "exactly, else SimPy (said in the results); fast: refuse what it cannot "
                   "represent; simpy: event by event, the reference")
    p.add_argument("--executor", default="local",
                   help="local (default) | serial | processes:N | dask://HOST:PORT")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    p.add_argument("--hours", type=float, help="override the arrival horizon (hours)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no table")
    p.set_defaults(func=run)


def _list() -> int:
    from yzt.sim.scenario import load_scenario, shipped_scenarios

    for name in shipped_scenarios():
        sc = load_scenario(name)
        print(f"{name:<24} {sc.description}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    if not args.scenario:
        raise UserError("give a scenario (a shipped name or a YAML path), or --list")
    if args.replications is not None and args.replications < 1:
        raise UserError("--replications must be at least 1 (confidence intervals need 2)")
    if args.seed < 0:
        raise UserError("--seed must be >= 0")
    if args.hours is not None and not 0 < args.hours <= 720:
        raise UserError("--hours must be in (0, 720]")

    from tqdm import tqdm

    from yzt.sim.replicate import choose_engine, run_replications
    from yzt.sim.results import breached, build_results, dumps, summary_text
    from yzt.sim.scenario import load_scenario, with_overrides

    sc = load_scenario(args.scenario)
    if args.hours is not None:
        sc = with_overrides(sc, horizon_h=args.hours)
    n = args.replications or sc.replications
    engine, note = choose_engine(sc, args.engine)
    if note and not args.quiet:
        print(f"note: {note}", file=sys.stderr)
    with tqdm(total=n, desc=f"yzt sim {sc.name} ({engine})", unit="rep", file=sys.stderr,
              disable=args.quiet) as bar:
        outputs = run_replications(sc, args.seed, n, args.executor, progress=bar.update,
                                   engine=engine)
    results = build_results(sc, args.seed, outputs, engine=engine, engine_note=note)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "sim-results.json"
        target.write_text(dumps(results), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot write the results ({exc})") from None
    bad = breached(results)
    if args.quiet:
        print(f"{sc.name}: {'SLA breached: ' + str(len(bad)) + ' row(s)' if bad else 'all SLAs hold'}"
              f" ({target})")
    else:
        print(summary_text(results))
        print(f"results: {target}")
    return 1 if bad else 0
