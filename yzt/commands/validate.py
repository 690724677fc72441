"""``yzt validate``: check recorded exchanges (JSON Lines or HAR) against the schemas and PII rules."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "validate",
        help="check recorded request/response exchanges offline",
        description="For operators that cannot expose an endpoint: check every recorded answer in "
        "FILE (JSON Lines of {request, response}, or a HAR file) against the protocol's JSON "
        "Schemas, the problem+json rules and OIF-PII-1. Exit 0 clean, 1 problems found, 2 bad file.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="recorded exchanges (.jsonl or .har)")
    p.add_argument("--fixtures", type=Path, metavar="FILE",
                   help="fixture file: also look for its MSISDNs, ID numbers and names")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yzt.conformance.offline import validate_file
    from yzt.domain.masking import mask_id_number, mask_msisdn, mask_name
    from yzt.fixtures import load_fixtures

    known: dict[str, str] = {}
    if args.fixtures:
        for card in load_fixtures(args.fixtures).cards:
            known[card.msisdn] = mask_msisdn(card.msisdn)
            known[card.id_number] = mask_id_number(card.id_number)
            if len(card.name) >= 2:
                known[card.name] = mask_name(card.name)
    count, problems = validate_file(args.file, known)
    for problem in problems:
        print(problem)
    print(f"{args.file}: {count} exchange(s), {len(problems)} problem(s)")
    return 1 if problems else 0
