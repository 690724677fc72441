"""``yzt conform``: judge a live operator endpoint against the protocol, as the platform would."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from datetime import date
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yzt.commands.common import (
    add_clock_offset_argument,
    add_lang_argument,
    add_secret_argument,
    add_subjects_argument,
    clock_offset_of,
    make_dir,
    make_parent,
    output_dir,
    output_file,
    positive_float,
    read_secret,
    target_url,
)
from yzt.errors import UserError

if TYPE_CHECKING:
    from yzt.reports.model import Report

PROFILE_HELP = ("sandbox: the operator's test deployment, with the sandbox clock and an overload "
                "probe (default); production: a live endpoint, where checks that need the sandbox "
                "clock are not applicable and no overload is provoked")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "conform",
        help="run the conformance suite against an operator endpoint",
        description="Act as the platform against TARGET_URL: sign requests, mint verification "
        "tickets, and judge every answer against the protocol and the fixture truth the operator "
        "loaded. A preflight first checks health, service-info, one signed request and one card "
        "count, so a wrong secret, key id, clock or fixture file stops the run with its fix. "
        "Exit 0 pass (warnings, waivers and not-applicable checks included), 1 fail, 2 usage, "
        "connection or preflight error, 3 incomplete (some checks could not run). The secret "
        "comes from YZT_SECRET or --secret-file.",
    )
    p.add_argument("target", nargs="?", type=target_url, metavar="TARGET_URL",
                   help="the operator's base URL")
    p.add_argument("--operator", help="operator id: CMCC, CUCC, CTCC or R01…R39")
    p.add_argument("--key-id", help="the key id the platform signs with (X-YZT-Key-Id)")
    p.add_argument("--fixtures", type=Path, metavar="FILE", help="the fixture file the operator loaded")
    p.add_argument("--seed", type=int, help="…or regenerate the fixtures from this seed")
    add_subjects_argument(p)
    add_secret_argument(p)
    p.add_argument("--profile", choices=("sandbox", "production"), default="sandbox",
                   help=PROFILE_HELP)
    p.add_argument("--strict", action="store_true",
                   help="count warnings (extra response members) as failures")
    p.add_argument("--out", type=output_dir, metavar="DIR",
                   help="write results.json and report.html into this folder (created if missing)")
    p.add_argument("--junit", type=output_file, metavar="FILE",
                   help="write JUnit XML to this file (its folder is created if missing)")
    p.add_argument("--evidence", type=output_file, metavar="FILE.zip",
                   help="write a certification bundle: results, JUnit, HTML, every exchange as "
                   "HAR (masked) and a manifest; yzt validate FILE.zip re-judges it")
    p.add_argument("--sign", type=Path, metavar="KEY",
                   help="sign the bundle's manifest with this private key (yzt keygen); "
                   "yzt validate FILE.zip --trust KEY.pub then certifies it")
    p.add_argument("--only", action="append", default=[], metavar="IDS",
                   help="run only these checks: check names, requirement ids or whole id "
                   "segments (OIF-AUTH selects OIF-AUTH-1…4, not OIF-AUTHX); repeatable, and "
                   "takes commas")
    p.add_argument("--waivers", type=Path, metavar="FILE", help="YAML file of waivers")
    add_clock_offset_argument(p)
    p.add_argument("--timeout", type=positive_float(600), default=5.0,
                   help="deadline of each exchange in s: connect, headers and whole body (default 5)")
    p.add_argument("--run-seed", type=int, help="seed choosing the subjects that disputes and "
                   "cancellations change, and the request ids (default: random; printed in the "
                   "results and in every reproduce command)")
    p.add_argument("--show-exchanges", action="store_true",
                   help="print every exchange of the run in full, unmasked, to the terminal "
                   "(refused when the output is not a terminal: never to a file)")
    p.add_argument("--list", action="store_true", help="print requirement → checks and exit")
    p.add_argument("--verbose-checks", action="store_true", help="print every check, passed too")
    add_lang_argument(p)
    p.set_defaults(func=run)


def print_list() -> None:
    from yzt.conformance.registry import load_checks

    registry = load_checks()
    for requirement, names in registry.by_requirement().items():
        print(requirement)
        for name in names:
            spec = registry.get(name)
            print(f"  {name:<34} {spec.doc}")


def fixture_source(args: argparse.Namespace) -> str:
    """How the fixtures were given, as flags a shell takes (for messages and reproduce commands)."""
    from yzt.fixtures import FixtureSelection

    return FixtureSelection(args.fixtures, args.seed, args.subjects).shown()


def reproduce_command(args: argparse.Namespace, run_seed: int, checks: Sequence[str]) -> str:
    """One command that re-runs ``checks`` alone against the same target with the same run seed
    and prints their exchanges in full (to the terminal only)."""
    parts = ["yzt", "conform", shlex.quote(args.target), "--operator", args.operator,
             "--key-id", shlex.quote(args.key_id), fixture_source(args), "--run-seed",
             str(run_seed), "--profile", args.profile, "--only", ",".join(checks),
             "--show-exchanges"]
    if args.secret_file:
        parts += ["--secret-file", shlex.quote(str(args.secret_file))]
    if args.timeout != 5.0:
        parts += ["--timeout", f"{args.timeout:g}"]
    return " ".join(parts)


def show_exchanges(recorded: Any, stream: Any) -> None:
    """Every exchange of the run, unmasked: the terminal is the one place full values may go."""
    for i, rec in enumerate(recorded, start=1):
        ex = rec.exchange
        print(f"--- exchange {i} ({rec.check}) ---", file=stream)
        print(f"> {ex.method} {ex.path}", file=stream)
        for k, v in ex.request_headers.items():
            print(f"> {k}: {v}", file=stream)
        if ex.request_body:
            print(f">\n{ex.request_body.decode('utf-8', errors='replace')}", file=stream)
        if ex.error:
            print(f"< (no answer: {ex.error})", file=stream)
            continue
        print(f"< {ex.status}", file=stream)
        for k, v in ex.response_headers.items():
            print(f"< {k}: {v}", file=stream)
        if ex.response_body:
            print(f"<\n{ex.response_body.decode('utf-8', errors='replace')}", file=stream)


def run(args: argparse.Namespace) -> int:
    if args.list:
        print_list()
        return 0
    from yzt.conformance import reporters
    from yzt.conformance.bundle import RunSettings, write_bundle
    from yzt.conformance.runner import Listener, results_document
    from yzt.conformance.session import open_context, run_suite
    from yzt.conformance.signatures import load_private_key
    from yzt.conformance.waivers import read_waiver_file
    from yzt.domain.topology import load_topology
    from yzt.fixtures import FixtureSelection

    if not args.target:
        raise UserError("TARGET_URL is required (e.g. yzt conform http://127.0.0.1:8700 ...)")
    if not args.operator or not args.key_id:
        raise UserError("--operator and --key-id are required")
    if args.show_exchanges and not sys.stdout.isatty():
        raise UserError("--show-exchanges prints personal data unmasked and only to a terminal; "
                        "the output is redirected (run it in a terminal, without > or |)")
    if args.evidence and args.evidence.suffix.lower() != ".zip":
        raise UserError(f"--evidence {args.evidence}: the bundle is a zip file; name it FILE.zip")
    if args.sign and not args.evidence:
        raise UserError("--sign KEY signs the bundle: give --evidence FILE.zip too")
    signing_key = load_private_key(args.sign) if args.sign else None
    topology = load_topology()
    operator = topology.get(args.operator)
    if args.fixtures and args.seed is not None:
        raise UserError("give either --fixtures FILE or --seed N [--subjects M], not both")
    fixtures = FixtureSelection(args.fixtures, args.seed, args.subjects).load(operator, topology)
    from yzt.conformance.session import select_checks

    select_checks(args.only)  # a pattern that selects nothing is refused before any request
    waiver_file = read_waiver_file(args.waivers) if args.waivers else None
    waivers = list(waiver_file.waivers) if waiver_file else []
    secret = read_secret(args)
    listeners: list[Listener] = [reporters.ConsoleReporter(verbose=args.verbose_checks)]
    if args.out:
        make_dir(args.out)
        listeners.append(reporters.write_results_json(args.out / "results.json"))
    if args.junit:
        make_parent(args.junit, "--junit")
    ctx = open_context(args.target, args.operator, args.key_id, secret, fixtures,
                       timeout=args.timeout, run_seed=args.run_seed, profile=args.profile,
                       fixture_source=fixture_source(args),
                       clock_offset=clock_offset_of(args))
    seed = ctx.run_seed if ctx.run_seed is not None else 0
    today = date.today()
    try:
        finished = run_suite(ctx, target=args.target, only=args.only, waivers=waivers,
                             listeners=listeners, today=today, strict=args.strict,
                             reproduce=lambda checks: reproduce_command(args, seed, checks))
        report = _report(args, results_document(finished))
        if args.evidence and report is not None:
            from yzt.reports.render import conform_pages

            digest = ({"file": args.fixtures.name, "sha256": sha256(args.fixtures.read_bytes()).hexdigest()}
                      if args.fixtures else {"seed": args.seed, "subjects": args.subjects})
            write_bundle(args.evidence, finished, ctx,
                         RunSettings(args.key_id, digest, tuple(args.only), tuple(waivers),
                                     today.isoformat(), waiver_file),
                         conform_pages(report),
                         key=signing_key)
        if args.show_exchanges:
            show_exchanges(ctx.client.recorded, sys.stdout)
    finally:
        ctx.client.close()
    _write_reports(args, report)
    if args.out:
        print(f"results: {args.out / 'results.json'}, report: {args.out / 'report.html'}",
              file=sys.stderr)
    if args.evidence:
        signed = " (signed)" if signing_key else " (unsigned: --sign KEY to sign it)"
        print(f"certification bundle: {args.evidence}{signed}", file=sys.stderr)
    if ctx.sandbox_clock:
        offset = round(ctx.client.clock_offset)
        print(f"sandbox clock now {offset:+d} s from this machine's clock (remembered here for the "
              f"next run; on another machine pass --clock-offset {offset})", file=sys.stderr)
    return finished.verdict.exit_code


def _report(args: argparse.Namespace, document: dict[str, Any]) -> Report | None:
    """The run's report, built once (a figure is costly) for the bundle, HTML and JUnit alike."""
    from yzt.reports.render import conform_report

    wanted = args.out or args.junit or args.evidence
    return conform_report(document, args.lang, _title(args)) if wanted else None


def _write_reports(args: argparse.Namespace, report: Report | None) -> None:
    """The HTML report (with --out) and JUnit (with --junit), rendered from the run's records."""
    from yzt.reports.junit import write_junit
    from yzt.reports.render import junit_cases, write_report

    if report is not None and args.out:
        write_report(report, args.out)
    if report is not None and args.junit:
        write_junit(args.junit, report.title, junit_cases(report))


def _title(args: argparse.Namespace) -> str:
    from yzt.domain.masking import scrub

    return f"yzt conform — {scrub(args.target)}"

