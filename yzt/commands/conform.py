"""``yzt conform``: judge a live operator endpoint against the protocol, as the platform would."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from yzt.commands.common import add_lang_argument, add_secret_argument, read_secret
from yzt.errors import UserError
from yzt.verdict import Verdict


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "conform",
        help="run the conformance suite against an operator endpoint",
        description="Act as the platform against TARGET_URL: sign requests, mint verification "
        "tickets, and judge every answer against the protocol and the fixture truth the operator "
        "loaded. Exit 0 pass, 1 fail, 2 usage or connection error, 3 incomplete (some checks "
        "could not run). The secret comes from YZT_SECRET or --secret-file.",
    )
    p.add_argument("target", nargs="?", metavar="TARGET_URL", help="the operator's base URL")
    p.add_argument("--operator", help="operator id: CMCC, CUCC, CTCC or R01…R39")
    p.add_argument("--key-id", help="the key id the platform signs with (X-YZT-Key-Id)")
    p.add_argument("--fixtures", type=Path, metavar="FILE", help="the fixture file the operator loaded")
    p.add_argument("--seed", type=int, help="…or regenerate the fixtures from this seed")
    p.add_argument("--subjects", type=int, help="…and this many subjects")
    add_secret_argument(p)
    p.add_argument("--out", type=Path, help="write results.json and report.html here")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    p.add_argument("--only", metavar="PREFIX", help="run only checks whose requirement starts with "
                   "PREFIX (e.g. OIF-AUTH)")
    p.add_argument("--waivers", type=Path, metavar="FILE", help="YAML file of waivers")
    p.add_argument("--timeout", type=float, default=5.0, help="per-request timeout in s (default 5)")
    p.add_argument("--run-seed", type=int, help="seed choosing the subjects that disputes and "
                   "cancellations change (default: random; printed in the results)")
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


def run(args: argparse.Namespace) -> int:
    if args.list:
        print_list()
        return 0
    from yzt.conformance import reporters
    from yzt.conformance.runner import Listener, results_document
    from yzt.conformance.session import open_context, run_suite
    from yzt.conformance.waivers import load_waivers
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, load_fixtures

    if not args.target:
        raise UserError("TARGET_URL is required (e.g. yzt conform http://127.0.0.1:8700 ...)")
    if not args.operator or not args.key_id:
        raise UserError("--operator and --key-id are required")
    if args.timeout <= 0:
        raise UserError(f"--timeout must be positive, got {args.timeout}")
    topology = load_topology()
    operator = topology.get(args.operator)
    if args.fixtures and (args.seed is not None or args.subjects is not None):
        raise UserError("give either --fixtures FILE or --seed N --subjects M, not both")
    if args.fixtures:
        fixtures = load_fixtures(args.fixtures, topology, args.operator)
    elif args.seed is not None and args.subjects is not None:
        fixtures = generate_fixtures(operator, args.seed, args.subjects)
    else:
        raise UserError("the fixture truth is needed: --fixtures FILE, or --seed N --subjects M")
    waivers = load_waivers(args.waivers) if args.waivers else []
    secret = read_secret(args)
    listeners: list[Listener] = [reporters.ConsoleReporter(verbose=args.verbose_checks)]
    if args.out:
        listeners.append(reporters.write_results_json(args.out / "results.json"))
    ctx = open_context(args.target, args.operator, args.key_id, secret, fixtures,
                       timeout=args.timeout, run_seed=args.run_seed)
    try:
        finished = run_suite(ctx, target=args.target, only=args.only, waivers=waivers,
                             listeners=listeners)
    finally:
        ctx.client.close()
    _write_reports(args, results_document(finished))
    if args.out:
        print(f"results: {args.out / 'results.json'}, report: {args.out / 'report.html'}",
              file=sys.stderr)
    return Verdict.parse(finished.verdict).exit_code


def _write_reports(args: argparse.Namespace, document: dict[str, Any]) -> None:
    """The HTML report (with --out) and JUnit (with --junit), rendered from the run's records."""
    if not args.out and not args.junit:
        return
    from yzt.domain.masking import scrub
    from yzt.reports.junit import write_junit
    from yzt.reports.readers import read_conform, report_of
    from yzt.reports.render import junit_cases, write_report

    report = report_of([read_conform(document, args.lang)], args.lang,
                       f"yzt conform — {scrub(args.target)}")
    if args.out:
        write_report(report, args.out)
    if args.junit:
        write_junit(args.junit, report.title, junit_cases(report))
