"""``yzt validate``: judge recorded exchanges, or re-judge a certification bundle, offline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from yzt.conformance.bundle import Bundle


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "validate",
        help="judge recorded exchanges or a certification bundle offline",
        description="FILE.zip (a bundle of yzt conform --evidence): replay the run through the same "
        "checks and compare every requirement's verdict with the bundle's results. FILE.har or "
        "FILE.jsonl (exchanges an operator recorded, JSON Lines of {request, response}): run the "
        "conformance suite's sweep checks over every exchange (schemas, problem+json, Retry-After, "
        "content types, masks, OIF-PII-1). Exit 0 clean (warnings allowed), 1 problems found, "
        "2 bad file, or a bundle whose verdicts the replay does not reproduce. A bundle is "
        "certified only with --trust: without it, validate shows that the bundle is "
        "self-consistent and nothing more.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="FILE.zip, FILE.har or FILE.jsonl")
    p.add_argument("--fixtures", type=Path, metavar="FILE",
                   help="fixture file: also look for its MSISDNs, ID numbers and names (for a "
                   "bundle: the fixture file its run used, when it was given as a file)")
    p.add_argument("--operator", help="operator whose fixtures --fixtures holds (recordings only)")
    p.add_argument("--strict", action="store_true", help="count warnings as failures")
    p.add_argument("--trust", type=Path, action="append", default=[], metavar="PUBKEY",
                   help="a public key (KEY.pub of yzt keygen) whose signature on a bundle is "
                   "trusted, and whose signature on its waiver file approves the waivers "
                   "(repeatable). The bundle's signature is checked before anything else is read")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.file.suffix.lower() == ".zip":
        return _bundle(args)
    if args.trust:
        from yzt.errors import UserError

        raise UserError("--trust checks the signature of a bundle (FILE.zip); a recording "
                        f"({args.file.name}) is not signed")
    return _recording(args)


def _recording(args: argparse.Namespace) -> int:
    from yzt.conformance.recorded import read_exchanges
    from yzt.conformance.replay import sweep_recording
    from yzt.conformance.runner import run_verdict
    from yzt.domain.masking import scrub
    from yzt.fixtures import load_fixtures
    from yzt.verdict import Verdict

    records = read_exchanges(args.file)
    fixtures = load_fixtures(args.fixtures, None, args.operator) if args.fixtures else None
    results = sweep_recording(records, fixtures)
    verdicts = []
    problems = 0
    for result in results:
        verdict = result.verdict
        if verdict is Verdict.WARNING and args.strict:
            verdict = Verdict.FAIL
        verdicts.append(verdict)
        for where, finding in result.findings:
            if finding.status in (Verdict.FAIL, Verdict.WARNING):
                problems += finding.status is Verdict.FAIL
                ex = finding.exchanges[0] if finding.exchanges else None
                label = f"{where} ({ex.describe()})" if ex is not None else where
                word = "" if finding.status is Verdict.FAIL else "warning: "
                print(scrub(f"{label}: {result.spec.requirement} {result.spec.name}: {word}"
                            f"{finding.message}"))
    overall = run_verdict(verdicts)
    print(f"{args.file}: {len(records)} exchange(s), {problems} problem(s); verdict "
          f"{overall.value}")
    return overall.exit_code


def _bundle(args: argparse.Namespace) -> int:
    from yzt.conformance.bundle import (
        bundle_fixtures,
        counted_waivers,
        pii_problems,
        read_bundle,
        rejudge,
        verdicts_by_requirement,
    )
    from yzt.conformance.reporters import ConsoleReporter
    from yzt.conformance.signatures import load_public_key
    from yzt.errors import UserError
    from yzt.verdict import Verdict, worst

    trusted = [load_public_key(path) for path in args.trust] if args.trust else None
    bundle = read_bundle(args.file, trusted)
    fixtures = bundle_fixtures(bundle, args.fixtures)
    leaks = pii_problems(bundle, fixtures[0])
    waivers, not_counted = counted_waivers(bundle, trusted)
    run_, left_over = rejudge(bundle, fixtures=fixtures, waivers=waivers)
    recorded = verdicts_by_requirement(bundle.results.checks)
    replayed = verdicts_by_requirement(run_.results)
    ConsoleReporter().summary(run_)
    for note in not_counted:
        print(f"  {note}")
    for leak in leaks:
        print(f"  FAIL  OIF-PII-1 {leak} (the bundle must carry masked values only)")
    differ = sorted(r for r in recorded.keys() | replayed.keys()
                    if recorded.get(r) != replayed.get(r))
    for requirement in differ:
        was, now = recorded.get(requirement), replayed.get(requirement)
        print(f"  {requirement}: the bundle says {was.value if was else '(absent)'}, the replay "
              f"{now.value if now else '(absent)'}")
    verdict = worst([run_.verdict, Verdict.FAIL]) if leaks else run_.verdict
    print(f"{args.file}: {len(replayed)} requirement(s) re-judged from "
          f"{bundle.manifest['exchanges']} exchange(s): verdict {verdict.value} "
          f"(the bundle says {bundle.results.verdict.value})")
    if differ or run_.verdict is not bundle.results.verdict:
        cause = "; waivers that do not count were applied by the run" if not_counted else ""
        raise UserError(f"{args.file}: the replay does not reproduce the bundle's verdicts "
                        f"({', '.join(differ) or 'overall verdict'}{cause}); the bundle may have "
                        "been edited, or was written by another yzt version "
                        f"({bundle.manifest['yzt_version']})")
    if left_over:
        print(f"  note: {left_over} recorded exchange(s) were not asked for by the replay")
    print(f"{args.file}: {_standing(bundle)}")
    return verdict.exit_code


def _standing(bundle: Bundle) -> str:
    """What the bundle's check shows: certification needs a signature by a trusted key."""
    if bundle.signer is None:
        return "unsigned: shows only that the bundle is self-consistent"
    if not bundle.trusted:
        return (f"signature by {bundle.signer.fingerprint} not checked against any trusted key "
                "(give --trust PUBKEY): shows only that the bundle is self-consistent")
    return (f"certified: signed by trusted key {bundle.signer.fingerprint}, every member as "
            "signed, verdicts reproduced")
