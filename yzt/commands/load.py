"""``yzt load``: an open-model Locust load test of one operator endpoint, judged against its SLA.

Exit status (:class:`yzt.verdict.Verdict`): 0 every threshold holds, 1 an SLA threshold is breached,
2 usage or connection error, 3 incomplete (the generator could not offer the target rate, or its
CPU was saturated). The run writes ``results.json``; the report (HTML, JUnit, the latency histogram)
is rendered from it by ``yzt.reports``, as ``yzt report`` would.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from yzt.commands.common import (
    add_lang_argument,
    add_secret_argument,
    add_subjects_argument,
    make_dir,
    output_dir,
    read_secret,
    target_url,
)
from yzt.errors import UserError
from yzt.verdict import Verdict

#: Longest load run (--duration) and per-request deadline (--timeout) accepted: a day, five minutes.
MAX_DURATION_S = 24 * 3600.0
MAX_TIMEOUT_S = 300.0


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
    p.add_argument("target", metavar="TARGET_URL", type=target_url, help="the operator's base URL")
    p.add_argument("--operator", required=True, help="operator id: CMCC, CUCC, CTCC or R01…R39")
    p.add_argument("--key-id", required=True, help="the key id the operator knows the secret by")
    src = p.add_mutually_exclusive_group(required=True)
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
                   help="local Locust worker processes (more than 1 starts a master plus workers)")
    p.add_argument("--remote-workers", type=int, default=0,
                   help="workers that join from other machines with --master-host (see docs/load.md)")
    p.add_argument("--master-bind-host", default="127.0.0.1",
                   help="address the master listens on for workers (0.0.0.0 for other machines)")
    p.add_argument("--master-port", type=int, help="master port (default: a free one)")
    p.add_argument("--users", type=int, help="concurrency cap per generator process (default: auto)")
    p.add_argument("--timeout", default="5s", help="request timeout, counted as an error (default 5s)")
    p.add_argument("--schema-sample", type=float, default=0.05,
                   help="share of responses validated against the JSON Schemas (default 0.05)")
    p.add_argument("--find-capacity", action="store_true",
                   help="raise the rate step by step until an SLA breaks; report the highest that held")
    p.add_argument("--capacity-factor", type=float, default=1.5, help="rate multiple between steps")
    p.add_argument("--capacity-steps", type=int, default=8, help="most steps of --find-capacity")
    p.add_argument("--out", type=output_dir, default=Path("out/load"),
                   help="output folder, created if missing (default out/load)")
    add_lang_argument(p)
    p.set_defaults(func=run)


def scenario_surge(name: str) -> tuple[float, float, float, float]:
    """(busiest-hour rate in requests/s, peak multiple, start, decay) of a scenario's first surge,
    start and decay as fractions of its horizon: the surge's shape, compressed into the load run.

    The platform asks every operator about every query (protocol, "Actors"), so an operator's
    card-count rate is the platform's query rate, whatever its card share.
    """
    try:
        from yzt.sim.scenario import load_scenario
    except ImportError:  # pragma: no cover - depends on the installed tree
        raise UserError("--scenario needs yzt.sim, which is not installed") from None
    scenario = load_scenario(name)
    arrivals = scenario.arrivals
    if not arrivals.surges:
        raise UserError(f"--scenario {name}: its arrivals have no surges; use --shape surge with "
                        "--surge-peak/--surge-decay instead")
    s = arrivals.surges[0]
    busiest = arrivals.queries_per_day / 86400 * max(arrivals.diurnal)
    start = min(max(s.start_h / scenario.horizon_h, 0.0), 0.5)
    decay = max(s.decay_h / scenario.horizon_h, 0.02)
    return busiest, s.peak_multiplier, start, decay


def _validate_args(args: argparse.Namespace) -> None:
    if args.rate is None:
        raise UserError("--rate is required (requests/s, e.g. --rate 50) unless --scenario gives it")
    if not math.isfinite(args.rate) or args.rate <= 0 or args.rate > 1_000_000:
        raise UserError(f"--rate must be between 0 and 1000000 requests/s, got {args.rate:g}")
    if args.workers < 1 or args.workers > 64:
        raise UserError(f"--workers must be between 1 and 64, got {args.workers}")
    if args.remote_workers < 0 or args.remote_workers > 256:
        raise UserError(f"--remote-workers must be between 0 and 256, got {args.remote_workers}")
    if not 0 <= args.schema_sample <= 1:
        raise UserError(f"--schema-sample must be a share between 0 and 1, got {args.schema_sample}")
    if args.users is not None and not 1 <= args.users <= 5000:
        raise UserError(f"--users must be between 1 and 5000, got {args.users}")
    if args.subjects < 1 or args.subjects > 1_000_000:
        raise UserError(f"--subjects must be between 1 and 1000000, got {args.subjects}")
    if args.find_capacity and (args.capacity_factor <= 1 or not 1 <= args.capacity_steps <= 30):
        raise UserError("--capacity-factor must be above 1 and --capacity-steps between 1 and 30")


def run(args: argparse.Namespace) -> int:
    from yzt.domain.topology import load_topology
    from yzt.loadtests import shapes, thresholds
    from yzt.loadtests.runner import check_reachable

    scenario_rate = None
    if args.scenario:
        scenario_rate, args.surge_peak, args.surge_start, args.surge_decay = scenario_surge(args.scenario)
        args.shape = "surge"
        if args.rate is None:
            args.rate = round(scenario_rate, 3)
    _validate_args(args)
    duration = shapes.parse_duration(args.duration, max_s=MAX_DURATION_S)
    timeout = shapes.parse_duration(args.timeout, "--timeout", max_s=MAX_TIMEOUT_S)
    topology = load_topology(args.topology)
    operator = topology.get(args.operator)
    if args.fixtures:
        from yzt.fixtures import load_fixtures

        load_fixtures(args.fixtures, topology, operator.id)  # fail now, naming the line, not in Locust
    secret = read_secret(args)
    limits = (thresholds.load_sla_file(args.sla, operator.sla) if args.sla
              else thresholds.from_profile(operator.sla))
    shape = shapes.build_shape(args.shape, args.rate, duration, steps=args.steps, peak=args.surge_peak,
                               start=args.surge_start, decay=args.surge_decay)
    if scenario_rate is not None:
        print(f"yzt load: surge of scenario {args.scenario}: ×{args.surge_peak:g} at "
              f"{args.surge_start:.0%} of the run on a base of {args.rate:g} req/s (the scenario's "
              f"busiest hour: {scenario_rate:.2f} req/s)", file=sys.stderr)
    check_reachable(args.target)
    make_dir(args.out)
    common: dict[str, Any] = {"args": args, "secret": secret, "limits": limits, "timeout": timeout}
    if not args.find_capacity:
        result_code, _ = _one_run(shape, args.out, **common)
        return result_code
    return _find_capacity(shape, **common)


def _users_for(peak_per_process: float, timeout: float, explicit: int | None) -> int:
    """Enough users that a slow answer does not throttle the offered rate (2 s of arrivals in
    flight), within [10, 500] per process."""
    if explicit:
        return explicit
    return int(min(500, max(10, math.ceil(peak_per_process * min(2.0, timeout)))))


def _one_run(shape: Any, out: Path, *, args: argparse.Namespace, secret: bytes, limits: list[Any],
             timeout: float, quiet: bool = False) -> tuple[int, Any]:
    from yzt.loadtests import results as res
    from yzt.loadtests import runner, shapes
    from yzt.loadtests.traffic import RunConfig
    from yzt.reports.readers import read_dirs
    from yzt.reports.render import write_report

    processes = args.workers + args.remote_workers
    config = RunConfig(
        target=args.target.rstrip("/"), operator=args.operator, key_id=args.key_id, shape=shape,
        out_dir=str(out.resolve()), seed=args.seed, subjects=args.subjects,
        fixtures=str(args.fixtures.resolve()) if args.fixtures else None, workers=processes,
        users_per_process=_users_for(shape.peak_rate / processes, timeout, args.users),
        poisson=args.arrivals == "poisson", timeout_s=timeout, grace_s=timeout + 2.0,
        schema_sample=args.schema_sample, traffic_seed=args.seed or 0,
        clock_offset_s=runner.operator_clock_offset(args.target, args.key_id, secret))
    port = args.master_port
    if args.remote_workers and port is None:
        port = runner.free_port(args.master_bind_host)
    launch = runner.Launch(local_workers=args.workers, expect_workers=processes,
                           master_bind_host=args.master_bind_host, master_port=port)
    if args.remote_workers:
        assert port is not None
        print(f"yzt load: waiting for {args.remote_workers} worker(s) from other machines; copy "
              f"{out / 'run-config.json'} there and run:\n  "
              f"{runner.worker_command('<this-host>', port, Path('run-config.json'))}", file=sys.stderr)
    print(f"yzt load: {shapes.describe(shape)} against {args.target} ({args.operator}), "
          f"{processes} generator process(es) × {config.users_per_process} users", file=sys.stderr)
    outcome = runner.run_locust(config, secret, launch)
    if outcome.timed_out:
        raise UserError(f"Locust overran its time limit and was stopped; see {outcome.console_log}")
    if outcome.exit_code != 0:
        raise UserError(f"Locust failed (exit {outcome.exit_code}); last lines of "
                        f"{outcome.console_log}:\n{runner.tail(outcome.console_log)}")
    try:
        result = res.evaluate(out / "raw", limits, shape.expected_requests() / shape.duration,
                              shape.duration)
    except RuntimeError as exc:
        raise UserError(str(exc)) from None
    if result.endpoints["all"].count and result.endpoints["all"].by_kind.get("connection", 0) == \
            result.endpoints["all"].count:
        raise UserError(f"cannot reach {args.target} — every request failed to connect")
    if res.auth_reject_share(result) > res.MAX_AUTH_REJECTS:
        raise UserError(f"the operator rejected {res.auth_reject_share(result) * 100:.1f} % of requests "
                        "with 401/403: check --key-id, the secret, --operator and the fixtures")
    document = result.to_json()
    document.update(target=args.target, operator=args.operator, shape=shape.to_json(),
                    sla_source=str(args.sla) if args.sla else f"topology profile {args.operator}",
                    locust_elapsed_s=round(outcome.elapsed_s, 2))
    (out / "results.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    report = read_dirs([out], args.lang, out_dir=out)
    write_report(report, out)
    for plot in report.sections[0].plots[:1]:
        (out / "latency.png").write_bytes(plot.png)
    if not quiet:
        print(res.console_summary(result))
        print(f"\nresults: {out / 'results.json'}, {out / 'report.html'}, {out / 'junit.xml'}, "
              f"{out / 'locust'}/", file=sys.stderr)
    return result.exit_code, result


def _find_capacity(shape: Any, *, args: argparse.Namespace, secret: bytes, limits: list[Any],
                   timeout: float) -> int:
    """Raise the rate by ``--capacity-factor`` per step until a threshold breaks (bounded steps)."""
    steps: list[dict[str, Any]] = []
    best: float | None = None
    stop_reason = f"no SLA broke within {args.capacity_steps} steps"
    status = Verdict.PASS
    factor = 1.0
    for i in range(args.capacity_steps):
        current = shape.scaled(factor)
        rate = current.expected_requests() / current.duration
        _, result = _one_run(current, args.out / f"step-{i + 1:02d}", args=args, secret=secret,
                                limits=limits, timeout=timeout, quiet=True)
        steps.append({"rate": round(rate, 3), "verdict": result.verdict.value,
                      "reasons": result.reasons})
        print(f"  step {i + 1}: {rate:.1f} req/s → {result.verdict.value}"
              + (f" ({result.reasons[0]})" if result.reasons else ""))
        if result.verdict.ok:
            best = rate
            factor *= args.capacity_factor
            continue
        if result.verdict is Verdict.INCOMPLETE:
            stop_reason = "the generator reached its own limit before the operator broke an SLA"
            status = Verdict.INCOMPLETE
        else:
            stop_reason = f"SLA broke at {rate:.1f} req/s"
            status = Verdict.PASS if best is not None else result.verdict
        break
    summary = {"highest_sustainable_rate": best, "stopped": stop_reason, "steps": steps}
    (args.out / "capacity.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
    if best is None:
        print(f"capacity: below {steps[0]['rate']:g} req/s — {stop_reason}")
    else:
        bound = "at least " if status is Verdict.INCOMPLETE or "no SLA broke" in stop_reason else ""
        print(f"capacity: highest sustainable rate {bound}{best:.1f} req/s — {stop_reason}")
    return status.exit_code
