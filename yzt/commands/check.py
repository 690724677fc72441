"""``yzt check [TARGET_URL]``: the whole job in one command, one report, one exit status.

The flags are parsed here; the steps, their records and their reproduce commands are
:class:`yzt.pipeline.check.CheckPipeline`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from yzt.commands.common import (
    add_clock_offset_argument,
    add_lang_argument,
    add_secret_argument,
    add_subjects_argument,
    output_dir,
    read_secret,
)
from yzt.pipeline.check import EMBEDDED_KEY_ID, STEPS


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check",
        help="judge an operator endpoint end to end (or the embedded reference) and write one report",
        description="Without TARGET_URL: generate fixtures, start the reference operator on "
        "127.0.0.1, run the conformance suite, a short load test and a simulation scenario. With "
        "TARGET_URL (your endpoint): preflight, conformance, a load test at the scenario's busiest "
        "rate, the capacity finder, and a simulation of what the measured endpoint means for "
        "SLA-E2E-1 and your SLAs. Writes report.html, report.md, report.json and junit.xml to "
        "--out. Exit 0 pass, 1 a requirement or SLA failed, 2 usage, connection or credential "
        "error, 3 incomplete (130 after Ctrl-C). The secret comes from YZT_SECRET or --secret-file.",
    )
    p.add_argument("target", metavar="TARGET_URL", nargs="?",
                   help="your operator endpoint's base URL (default: the embedded reference)")
    p.add_argument("--out", type=output_dir, default=Path("out/check"),
                   help="output folder, created if missing (default out/check)")
    p.add_argument("--operator", default="R07", help="operator id (default R07)")
    p.add_argument("--key-id", help=f"with TARGET_URL: the key id your endpoint knows the secret by "
                   f"(default {EMBEDDED_KEY_ID!r})")
    p.add_argument("--fixtures", type=Path, metavar="FILE",
                   help="with TARGET_URL: the fixture file your endpoint loaded (else --seed/--subjects)")
    p.add_argument("--seed", type=int, default=7, help="seed for fixtures and simulation (default 7)")
    add_subjects_argument(p)
    add_secret_argument(p)
    add_clock_offset_argument(p)
    p.add_argument("--load-rate", type=float,
                   help="load test rate, req/s (default: 20 on the embedded reference; with TARGET_URL "
                   "the rate the scenario's busiest minute asks of every operator, at least 1)")
    p.add_argument("--load-duration", default="10s", help="load test duration (default 10s)")
    p.add_argument("--capacity-duration", default="4s",
                   help="length of each capacity-finder run (default 4s)")
    p.add_argument("--capacity-runs", type=int, default=10,
                   help="most load runs of the capacity finder (default 10)")
    p.add_argument("--scenario", default="baseline", help="simulation scenario (default baseline)")
    p.add_argument("--replications", type=int, default=4, help="simulation replications (default 4, "
                   "at least 2)")
    p.add_argument("--rate-limit", type=float, default=150.0,
                   help="embedded reference only: it answers 429 above this rate, so that overload "
                   "handling (OIF-ERR-2) can be judged; keep it above --load-rate (default 150)")
    p.add_argument("--skip", action="append", default=[], choices=list(STEPS),
                   help="leave out a step (repeatable)")
    p.add_argument("--waivers", type=Path, metavar="FILE",
                   help="waiver file for the conformance step (yzt conform --waivers): dated, "
                   "approved exceptions, e.g. for checks a sandbox cannot run")
    p.add_argument("--run-seed", type=int, metavar="N",
                   help="run seed of the conformance step (the subjects disputes and cancellations "
                   "change, and the request ids; default random): the same seed runs the same requests")
    add_lang_argument(p)
    p.add_argument("--keep-work", action="store_true",
                   help="keep the private work folder (fixtures, database, server log) and print it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yzt.pipeline.check import CheckPipeline, CheckSettings

    settings = CheckSettings(
        out=args.out, target=args.target, operator=args.operator, key_id=args.key_id,
        fixtures=args.fixtures, seed=args.seed, subjects=args.subjects, clock_offset=args.clock_offset,
        load_rate=args.load_rate, load_duration=args.load_duration,
        capacity_duration=args.capacity_duration, capacity_runs=args.capacity_runs,
        scenario=args.scenario, replications=args.replications, rate_limit=args.rate_limit,
        skip=tuple(args.skip), waivers=args.waivers, run_seed=args.run_seed, lang=args.lang,
        keep_work=args.keep_work, secret=lambda: read_secret(args))
    return CheckPipeline(settings).run()
