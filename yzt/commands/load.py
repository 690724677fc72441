"""``yzt load``: an open-model Locust load test of one operator endpoint, judged against its SLA.

The flags are parsed here; the run is :func:`yzt.pipeline.load.run_load` (exit 0 pass, 1 SLA
breached, 2 usage or connection error, 3 incomplete).
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
    target_url,
)
from yzt.pipeline.load import DEFAULT_SCHEMA_SAMPLE, scenario_surge

__all__ = ["add_parser", "run", "scenario_surge"]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "load",
        help="load-test an operator endpoint with Locust; SLA thresholds as a CI gate",
        description="Offer signed, verified platform traffic at a target arrival rate (open model: "
        "latency counts from the intended send time) and judge SLA-LAT-1…3 and SLA-ERR-1 per "
        "endpoint from exact latencies. Exit 0 pass, 1 SLA breached, 2 usage or connection error, "
        "3 incomplete (the generator could not offer the rate or was CPU-bound). "
        "The secret comes from YZT_SECRET or --secret-file.",
    )
    p.add_argument("target", metavar="TARGET_URL", nargs="?", type=target_url,
                   help="the operator's base URL (not with --worker)")
    p.add_argument("--operator", help="operator id: CMCC, CUCC, CTCC or R01…R39 (required)")
    p.add_argument("--key-id", help="the key id the operator knows the secret by (required)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--fixtures", type=Path, metavar="FILE", help="the fixture file the operator loaded")
    src.add_argument("--seed", type=int, help="regenerate the operator's fixtures from this seed")
    add_subjects_argument(p)
    add_secret_argument(p)
    p.add_argument("--rate", type=float, help="target arrival rate in requests/s (the contracted rate)")
    p.add_argument("--duration", default="60s", help="run length: 60s, 2m, 1m30s (default 60s)")
    p.add_argument("--shape", default="steady", help="steady (default), step or surge")
    p.add_argument("--steps", type=int, default=4, help="steps of --shape step (default 4)")
    p.add_argument("--surge-peak", type=float, default=3.0, help="surge peak as a multiple of --rate")
    p.add_argument("--surge-start", type=float, default=0.2, help="surge start, fraction of the run")
    p.add_argument("--surge-decay", type=float, default=0.2,
                   help="surge decay time constant, fraction of the run")
    p.add_argument("--scenario", metavar="NAME",
                   help="surge from a sim scenario's arrival curve (peak multiple, timing); its busiest "
                   "hour's query rate is the base unless --rate is given")
    p.add_argument("--arrivals", choices=("poisson", "constant"), default="poisson",
                   help="spacing of intended send times (default poisson)")
    p.add_argument("--sla", type=Path, metavar="FILE", help="SLA file overriding the operator's profile")
    p.add_argument("--topology", type=Path, help="topology file (default: the embedded one)")
    p.add_argument("--workers", type=int, default=1,
                   help="local Locust worker processes (more than 1 starts a master plus workers; 0 "
                   "with --remote-workers: a master only)")
    p.add_argument("--remote-workers", type=int, default=0,
                   help="workers that join from other machines with 'yzt load --worker --master-host "
                   "THIS_HOST --target TARGET_URL' (see docs/load.md)")
    p.add_argument("--worker", action="store_true",
                   help="be one generator process of a master on another machine: authenticates the "
                   "master (both prove the secret), then takes its run configuration; needs "
                   "--master-host, --target and the secret")
    p.add_argument("--master-host", help="with --worker: the master's address")
    p.add_argument("--target", dest="worker_target", type=target_url, metavar="URL",
                   help="with --worker (required): the operator's base URL this worker may send to; "
                   "a master that sends another target is refused")
    p.add_argument("--master-bind-host", default="127.0.0.1",
                   help="address the master listens on for workers (0.0.0.0 for other machines)")
    p.add_argument("--master-port", type=int,
                   help="master port (default: a free one; with --worker: 5557, Locust's default)")
    p.add_argument("--users", type=int, help="concurrency cap per generator process (default: auto)")
    p.add_argument("--timeout", default="5s", help="request timeout, counted as an error (default 5s)")
    p.add_argument("--schema-sample", type=_share_or_all, default=DEFAULT_SCHEMA_SAMPLE, metavar="SHARE|all",
                   help="share of answers checked against the protocol's JSON Schemas, judged as the "
                   "'protocol under load' row (default 0.05; 'all' checks every answer)")
    add_clock_offset_argument(p)
    p.add_argument("--skip-preflight", action="store_true",
                   help="only check that the target answers health, instead of the preflight "
                   "(service-info, one signed request, one count against the fixtures); for "
                   "endpoints whose other answers are themselves under test")
    p.add_argument("--find-capacity", action="store_true",
                   help="raise the rate until an SLA breaks, then bisect to the highest rate that "
                   "holds (within --capacity-tolerance)")
    p.add_argument("--capacity-factor", type=float, default=2.0,
                   help="rate multiple while growing (default 2)")
    p.add_argument("--capacity-steps", type=int, default=12,
                   help="most load runs of --find-capacity (default 12)")
    p.add_argument("--capacity-tolerance", type=float, default=0.10,
                   help="stop when the breaking rate is within this share of the holding one (0.10)")
    p.add_argument("--out", type=output_dir, default=Path("out/load"),
                   help="output folder, created if missing (default out/load)")
    add_lang_argument(p)
    p.set_defaults(func=run)


def _share_or_all(text: str) -> float:
    if text.strip().lower() == "all":
        return 1.0
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share (0…1) or 'all'") from None


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from yzt.pipeline.load import LoadSettings, run_load

    flags = {f.name: getattr(args, f.name) for f in fields(LoadSettings) if f.name != "secret"}
    return run_load(LoadSettings(**flags, secret=lambda: read_secret(args)))
