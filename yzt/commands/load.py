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
    add_clock_offset_argument,
    add_lang_argument,
    add_secret_argument,
    add_subjects_argument,
    clock_offset_of,
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
    p.add_argument("--schema-sample", type=_share_or_all, default=0.05, metavar="SHARE|all",
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
    for flag, value in (("TARGET_URL", args.target), ("--operator", args.operator),
                        ("--key-id", args.key_id)):
        if not value:
            raise UserError(f"{flag} is required (unless --worker)")
    if args.fixtures is None and args.seed is None:
        raise UserError("one of --fixtures FILE or --seed N is required: the fixtures the operator loaded")
    if args.rate is None:
        raise UserError("--rate is required (requests/s, e.g. --rate 50) unless --scenario gives it")
    if not math.isfinite(args.rate) or args.rate <= 0 or args.rate > 1_000_000:
        raise UserError(f"--rate must be between 0 and 1000000 requests/s, got {args.rate:g}")
    if args.workers < 0 or args.workers > 64 or (args.workers == 0 and not args.remote_workers):
        raise UserError(f"--workers must be between 1 and 64 (0 only with --remote-workers), got "
                        f"{args.workers}")
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
    if args.find_capacity and not 0.01 <= args.capacity_tolerance < 1:
        raise UserError(f"--capacity-tolerance must be in [0.01, 1), got {args.capacity_tolerance:g}")
    _check_master_flags(args)


def _check_master_flags(args: argparse.Namespace) -> None:
    """The master's flags, before any load: a bad address or a busy port is a usage error naming
    the flag, not a traceback from Locust after the preflight."""
    if args.worker_target:
        raise UserError("--target is for --worker; the master's target is TARGET_URL")
    _check_port(args.master_port)
    distributed = args.remote_workers > 0 or args.workers > 1
    _check_bindable(args.master_bind_host, args.master_port if distributed else None)


def _check_port(port: int | None) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise UserError(f"--master-port must be between 1 and 65535, got {port}")


def _check_bindable(host: str, port: int | None) -> None:
    """``--master-bind-host`` must be an IPv4 address of this machine (or 0.0.0.0), and
    ``--master-port``, when given, free on it (ZeroMQ binds with SO_REUSEADDR, so do we)."""
    import errno
    import socket

    fix = "give an IPv4 address of this machine, or 0.0.0.0 for all"
    try:
        socket.getaddrinfo(host, port or 0, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UserError(f"--master-bind-host {host!r} is not an address ({exc}): {fix}") from None
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port or 0))
        except OSError as exc:
            if port and exc.errno == errno.EADDRINUSE:
                raise UserError(f"--master-port {port} is already in use on {host}: choose a free port, "
                                "or leave it out for a free one") from None
            raise UserError(f"--master-bind-host {host!r}: cannot listen there ({exc.strerror}): "
                            f"{fix}") from None


def run(args: argparse.Namespace) -> int:
    from yzt.shutdown import Interrupted, interruptible

    if args.worker:
        return _run_worker(args)
    with interruptible():
        try:
            return _run(args)
        except Interrupted as exc:
            print(f"yzt load: stopped by {exc.name}; partial results are marked incomplete",
                  file=sys.stderr)
            return exc.exit_code


def _run_worker(args: argparse.Namespace) -> int:
    """``yzt load --worker --master-host H --target URL``: one generator process of a master
    elsewhere, which sends to URL only and only once the master proved it holds the secret."""
    import socket

    from yzt.loadtests.runner import run_worker
    from yzt.shutdown import Interrupted, interruptible

    if not args.master_host:
        raise UserError("--worker needs --master-host: the address of the machine running the master")
    if args.target or args.find_capacity:
        raise UserError("--worker takes no TARGET_URL and no --find-capacity: give the operator's URL "
                        "as --target URL; the master sends the rest of the run configuration")
    if not args.worker_target:
        raise UserError("--worker needs --target URL: the operator's base URL this worker may send to "
                        "(a master that sends another target is refused)")
    _check_port(args.master_port)
    port = args.master_port or 5557
    try:
        socket.getaddrinfo(args.master_host, port, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UserError(f"--master-host {args.master_host!r} does not resolve ({exc}): give the master "
                        "machine's address") from None
    secret = read_secret(args)
    target = args.worker_target.rstrip("/")
    print(f"yzt load: worker joining the master at {args.master_host}:{port} for {target}", file=sys.stderr)
    with interruptible():
        try:
            outcome = run_worker(args.master_host, port, secret, target)
        except Interrupted as exc:
            return exc.exit_code
    if outcome.reason:
        raise UserError(outcome.reason)
    if outcome.exit_code != 0:
        print(f"yzt load: the worker ended with status {outcome.exit_code} (refused by the master, or "
              "the master went away)", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> int:
    from yzt.domain.topology import load_topology
    from yzt.loadtests import shapes, thresholds

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
    secret = read_secret(args)
    fixtures = _fixtures(args, topology, operator)  # fail now, naming the line, not in Locust
    limits = (thresholds.load_sla_file(args.sla, operator.sla) if args.sla
              else thresholds.from_profile(operator.sla))
    shape = shapes.build_shape(args.shape, args.rate, duration, steps=args.steps, peak=args.surge_peak,
                               start=args.surge_start, decay=args.surge_decay)
    if scenario_rate is not None:
        print(f"yzt load: surge of scenario {args.scenario}: ×{args.surge_peak:g} at "
              f"{args.surge_start:.0%} of the run on a base of {args.rate:g} req/s (the scenario's "
              f"busiest hour: {scenario_rate:.2f} req/s)", file=sys.stderr)
    args.clock_offset = clock_offset_of(args)  # the flag, else YZT_CLOCK_OFFSET; tried first
    if args.skip_preflight:
        from yzt.loadtests.runner import check_reachable

        check_reachable(args.target)
    else:
        note = run_preflight(args.target, args.key_id, secret, fixtures, operator.id,
                             _fixture_source(args), clock_offset=args.clock_offset)
        print(f"yzt load: {note}", file=sys.stderr)
    make_dir(args.out)
    common: dict[str, Any] = {"args": args, "secret": secret, "limits": limits, "timeout": timeout}
    if not args.find_capacity:
        result_code, _ = _one_run(shape, args.out, **common)
        return result_code
    return _find_capacity(shape, **common)


def _fixtures(args: argparse.Namespace, topology: Any, operator: Any) -> Any:
    from yzt.fixtures import generate_fixtures, load_fixtures

    if args.fixtures:
        return load_fixtures(args.fixtures, topology, operator.id)
    return generate_fixtures(operator, args.seed, args.subjects)


def _fixture_source(args: argparse.Namespace) -> str:
    return (f"--fixtures {args.fixtures}" if args.fixtures
            else f"--seed {args.seed} --subjects {args.subjects}")


def run_preflight(target: str, key_id: str, secret: bytes, fixtures: Any, operator_id: str,
                  source: str, timeout: float = 5.0, *, clock_offset: float | None = None) -> str:
    """Health, the sandbox clock, service-info, one signed count for a fixture subject: a wrong
    secret, key id or a clock that cannot be found stops the run here with exit 2 and the fix, not
    as a wall of failed requests. Returns the preflight's note (its notes included); a count that
    differs from the fixtures is one of them."""
    from yzt.client import PlatformClient
    from yzt.clock import ClockMemory
    from yzt.preflight import preflight

    with PlatformClient(target, key_id, secret, timeout=timeout,
                        clock_memory=ClockMemory.default()) as client:
        result = preflight(client, fixtures, operator_id=operator_id, fixture_source=source,
                           clock_offset=clock_offset)
    return result.note()


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
    from yzt.shutdown import Interrupted

    processes = args.workers + args.remote_workers
    clock = runner.read_operator_clock(args.target, args.key_id, secret,
                                       explicit=getattr(args, "clock_offset", None))
    if not quiet:
        print(f"yzt load: {clock.note()}", file=sys.stderr)
    config = RunConfig(
        target=args.target.rstrip("/"), operator=args.operator, key_id=args.key_id, shape=shape,
        out_dir=str(out.resolve()), seed=args.seed, subjects=args.subjects,
        fixtures=str(args.fixtures.resolve()) if args.fixtures else None, workers=processes,
        users_per_process=_users_for(shape.peak_rate / processes, timeout, args.users),
        poisson=args.arrivals == "poisson", timeout_s=timeout, grace_s=timeout + 2.0,
        schema_sample=args.schema_sample, traffic_seed=args.seed or 0,
        clock_offset_s=clock.offset_s,
        join_s=runner.REMOTE_JOIN_S if args.remote_workers else runner.STARTUP_SLACK_S)
    port = args.master_port
    if args.remote_workers and port is None:
        port = runner.free_port(args.master_bind_host)
    launch = runner.Launch(local_workers=args.workers, expect_workers=processes,
                           master_bind_host=args.master_bind_host, master_port=port)
    if args.remote_workers:
        assert port is not None
        print(f"yzt load: waiting for {args.remote_workers} worker(s) from other machines; on each, "
              f"run:\n  {runner.worker_command('<this-host>', port, args.target)}", file=sys.stderr,
              flush=True)
    print(f"yzt load: {shapes.describe(shape)} against {args.target} ({args.operator}), "
          f"{processes} generator process(es) × {config.users_per_process} users", file=sys.stderr)
    try:
        outcome = runner.run_locust(config, secret, launch)
    except Interrupted as exc:
        _write_partial(out, args, shape, limits, exc.name)
        raise
    refused = sorted((out / "raw").glob("refused-*.json"))
    if outcome.timed_out or outcome.exit_code != 0:
        why = "".join(f"\n  refused worker: {json.loads(p.read_text(encoding='utf-8'))['reason']}"
                      for p in refused)
        if outcome.timed_out:
            raise UserError(f"Locust overran its time limit and was stopped; see "
                            f"{outcome.console_log}{why}")
        raise UserError(f"Locust failed (exit {outcome.exit_code}); last lines of "
                        f"{outcome.console_log}:\n{runner.tail(outcome.console_log)}{why}")
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
    _write_outputs(out, args, shape, result, elapsed_s=outcome.elapsed_s, clock_note=clock.note())
    if not quiet:
        print(res.console_summary(result))
        print(f"\nresults: {out / 'results.json'}, {out / 'report.html'}, {out / 'junit.xml'}, "
              f"{out / 'locust'}/", file=sys.stderr)
    return result.exit_code, result


def _write_outputs(out: Path, args: argparse.Namespace, shape: Any, result: Any, *,
                   elapsed_s: float | None = None, interrupted: str | None = None,
                   clock_note: str = "") -> None:
    """results.json (the record), then what ``yzt.reports`` renders from it: report.html/.md/.json,
    junit.xml and latency.png."""
    from yzt.loadtests import results as res

    document = result.to_json()
    if clock_note:  # the offset every request was signed with, to paste as --clock-offset
        document["notes"] = [clock_note, *document.get("notes", [])]
    document.update(target=args.target, operator=args.operator, shape=shape.to_json(),
                    sla_source=str(args.sla) if args.sla else f"topology profile {args.operator}")
    document["reproduce"] = _reproduce(out, args, shape)
    if elapsed_s is not None:
        document["locust_elapsed_s"] = round(elapsed_s, 2)
    if interrupted:
        document["interrupted"] = interrupted
    res.write_results(out / "results.json", document)
    write_html(out, args.lang)


def _reproduce(out: Path, args: argparse.Namespace, shape: Any) -> str:
    """The command that repeats this run (one run of a capacity search at its own rate)."""
    from yzt.loadtests.results import reproduce_command

    fixtures = (["--fixtures", str(args.fixtures.resolve())] if args.fixtures
                else ["--seed", str(args.seed), "--subjects", str(args.subjects)])
    extra: list[str] = []
    if args.shape == "steady":
        rate = shape.expected_requests() / shape.duration if shape.duration else args.rate
    else:
        rate = args.rate
        extra += ["--shape", args.shape, "--steps", str(args.steps), "--surge-peak", f"{args.surge_peak:g}",
                  "--surge-start", f"{args.surge_start:g}", "--surge-decay", f"{args.surge_decay:g}"]
    if args.arrivals != "poisson":
        extra += ["--arrivals", args.arrivals]
    if args.schema_sample != 0.05:
        extra += ["--schema-sample", "all" if args.schema_sample >= 1 else f"{args.schema_sample:g}"]
    for flag, value in (("--sla", args.sla), ("--secret-file", args.secret_file),
                        ("--topology", args.topology)):
        if value:
            extra += [flag, str(Path(value).resolve())]
    if args.timeout != "5s":
        extra += ["--timeout", args.timeout]
    if args.workers != 1:
        extra += ["--workers", str(args.workers)]
    return reproduce_command(args.target, args.operator, args.key_id, fixtures, round(rate, 3),
                             shape.duration, str(out), extra)


def write_html(out: Path, lang: Any) -> Path:
    """The report of a load run (thresholds, verdict, histogram) and its latency.png, rendered by
    ``yzt.reports`` from the folder's records (a capacity search's capacity.json too)."""
    from yzt.reports.readers import read_dirs
    from yzt.reports.render import write_report

    report = read_dirs([out], lang, out_dir=out)
    write_report(report, out)
    for plot in report.sections[0].plots[:1]:
        (out / "latency.png").write_bytes(plot.png)
    return out / "report.html"


def _write_partial(out: Path, args: argparse.Namespace, shape: Any, limits: list[Any],
                   signal_name: str) -> None:
    """After SIGTERM or SIGINT: what the generators recorded before they stopped, marked incomplete."""
    from yzt.loadtests import results as res

    reason = f"interrupted by {signal_name}: partial results of an unfinished run"
    try:
        result = res.evaluate(out / "raw", limits, shape.expected_requests() / shape.duration,
                              shape.duration)
        result.verdict = Verdict.INCOMPLETE
        result.reasons = [reason]  # the generator's health is not judged on a run cut short
        _write_outputs(out, args, shape, result, interrupted=signal_name)
    except (RuntimeError, OSError, ValueError):
        out.mkdir(parents=True, exist_ok=True)
        res.write_results(out / "results.json", {
            "verdict": Verdict.INCOMPLETE.value, "exit_code": Verdict.INCOMPLETE.exit_code,
            "reasons": [reason, "no requests were recorded"],
            "interrupted": signal_name, "target": args.target, "operator": args.operator,
            "shape": shape.to_json()})


def _find_capacity(shape: Any, *, args: argparse.Namespace, secret: bytes, limits: list[Any],
                   timeout: float) -> int:
    """Grow the rate ×``--capacity-factor`` until an SLA breaks, then bisect (bounded runs)."""
    from yzt.loadtests.capacity import find_capacity
    from yzt.verdict import Verdict

    base = shape.expected_requests() / shape.duration
    counter = [0]

    def probe(rate: float, phase: str) -> tuple[Verdict, tuple[str, ...]]:
        counter[0] += 1
        current = shape.scaled(rate / base)
        code, result = _one_run(current, args.out / f"step-{counter[0]:02d}", args=args, secret=secret,
                                limits=limits, timeout=timeout, quiet=True)
        verdict = {0: Verdict.PASS, 1: Verdict.FAIL}.get(code, Verdict.INCOMPLETE)
        print(f"  run {counter[0]} ({phase}): {rate:.1f} req/s → {verdict.value}"
              + (f" ({result.reasons[0]})" if result.reasons else ""), flush=True)
        return verdict, tuple(result.reasons)

    cap = find_capacity(probe, base, factor=args.capacity_factor, tolerance=args.capacity_tolerance,
                        max_probes=args.capacity_steps)
    cap.write(args.out / "capacity.json")
    write_capacity_html(args)
    if cap.highest_sustainable_rate is None:
        print(f"capacity: below {cap.probes[-1].rate:.1f} req/s — {cap.stopped}")
    else:
        bound = "" if cap.converged else "at least "
        print(f"capacity: highest sustainable rate {bound}{cap.highest_sustainable_rate:.1f} req/s — "
              f"{cap.stopped}")
    return cap.verdict.exit_code


def write_capacity_html(args: argparse.Namespace) -> None:
    """The capacity page: the search's runs (rendered by ``yzt.reports`` from capacity.json)."""
    write_html(args.out, args.lang)
