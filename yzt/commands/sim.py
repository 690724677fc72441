"""``yzt sim``: run the capacity-planning simulation of a scenario and judge the SLAs.

Exit status (:class:`yzt.verdict.Verdict`): 0 when every SLA and service objective holds in the
results, 1 when one is breached, 2 on a usage error, 3 when no SLA could be judged at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yzt.commands.common import (
    add_sla_profile_argument,
    bounded_int,
    make_dir,
    output_dir,
    positive_float,
)
from yzt.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "sim",
        help="simulate the platform, carriers and resellers (fast engine or SimPy) and judge the SLAs",
        description="Simulate a scenario (shipped name such as 'baseline', or a YAML path) with "
        "replications and 95 %% confidence intervals; write DIR/sim-results.json and print a "
        "summary with SLA and objective verdicts. Exit 0: SLAs and objectives hold; 1: one is "
        "breached; 2: usage error.",
    )
    p.add_argument("scenario", nargs="?", help="shipped scenario name or path to a scenario YAML")
    p.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")
    p.add_argument("--replications", "-n", type=bounded_int(1, 1000),
                   help="replications, 1-1000 (default: the scenario's; confidence intervals need 2)")
    p.add_argument("--seed", type=bounded_int(0, 2**63 - 1), default=1, help="root seed (default 1)")
    p.add_argument("--engine", default="auto", choices=("auto", "fast", "simpy"),
                   help="auto (default): the fast stage-wise engine when it represents the scenario "
                   "exactly, else SimPy (said in the results); fast: refuse what it cannot "
                   "represent; simpy: event by event, the reference")
    p.add_argument("--executor", default="local",
                   help="local (default) | serial | processes:N | dask://HOST:PORT")
    p.add_argument("--out", type=output_dir, default=Path("out"),
                   help="output folder, created if missing (default ./out)")
    p.add_argument("--hours", type=positive_float(720),
                   help="override the arrival horizon (hours, at most 720)")
    add_sla_profile_argument(p)
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

    from tqdm import tqdm

    from yzt.sim import memory
    from yzt.sim.replicate import choose_engine, run_replications
    from yzt.sim.results import breached, build_results, dumps, missed, summary_text
    from yzt.sim.scenario import load_scenario, with_overrides
    from yzt.verdict import Verdict

    sc = load_scenario(args.scenario)
    if args.hours is not None:
        sc = with_overrides(sc, horizon_h=args.hours)
    if args.sla_profile is not None:
        sc = with_overrides(sc, sla_profile=args.sla_profile)
    n = args.replications or sc.replications
    memory.check(sc, n)
    engine, note = choose_engine(sc, args.engine)
    if note and not args.quiet:
        print(f"note: {note}", file=sys.stderr)
    with tqdm(total=n, desc=f"yzt sim {sc.name} ({engine})", unit="rep", file=sys.stderr,
              disable=args.quiet) as bar:
        outputs = run_replications(sc, args.seed, n, args.executor, progress=bar.update,
                                   engine=engine)
    results = build_results(sc, args.seed, outputs, engine=engine, engine_note=note)
    make_dir(args.out)
    try:
        target = args.out / "sim-results.json"
        target.write_text(dumps(results), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot write the results ({exc})") from None
    bad = breached(results)
    if args.quiet:
        miss = f", objectives missed: {len(missed(results))} row(s)" if missed(results) else ""
        print(f"{sc.name}: {'SLA breached: ' + str(len(bad)) + ' row(s)' if bad else 'all SLAs hold'}"
              f"{miss} ({target})")
    else:
        print(summary_text(results))
        print(f"results: {target}")
    return Verdict.parse(results["verdict"]).exit_code
