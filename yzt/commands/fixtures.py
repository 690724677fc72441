"""``yzt fixtures``: write a deterministic fixture file, or check one an operator edited."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yzt.commands.common import add_subjects_argument, make_parent, output_file
from yzt.errors import InputFileError, UserError
from yzt.verdict import Verdict


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "fixtures",
        help="generate or check an operator's sandbox fixture file",
        description="Generate the JSON Lines fixture file an operator loads into its sandbox "
        "(same arguments, byte-identical file), or check an edited one with --check.",
    )
    p.add_argument("--operator", help="operator id: CMCC, CUCC, CTCC or R01…R39")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    add_subjects_argument(p)
    p.add_argument("--out", type=output_file, metavar="FILE",
                   help="output file, its folder created if missing (default: standard output)")
    p.add_argument("--check", type=Path, metavar="FILE", help="check FILE instead of generating")
    p.add_argument("--topology", type=Path, help="topology file (default: the embedded one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, load_fixtures, write_fixtures

    topology = load_topology(args.topology)
    if args.check:
        try:
            fixtures = load_fixtures(args.check, topology, args.operator)
        except InputFileError as exc:
            print(f"yzt fixtures: {exc}", file=sys.stderr)
            return Verdict.FAIL.exit_code
        subjects = fixtures.subjects()
        print(f"{args.check}: OK — {len(fixtures.cards)} cards, {len(subjects)} subjects "
              f"at {fixtures.operator_id}")
        return 0
    if not args.operator:
        raise UserError("--operator is required to generate fixtures (e.g. --operator R07)")
    fixtures = generate_fixtures(topology.get(args.operator), args.seed, args.subjects)
    if args.out:
        make_parent(args.out, "--out")
        try:
            write_fixtures(fixtures, args.out)
        except OSError as exc:
            raise UserError(f"--out {args.out}: cannot write ({exc.strerror or exc})") from None
        print(f"wrote {len(fixtures.cards)} cards for {args.subjects} subjects to {args.out}",
              file=sys.stderr)
    else:
        for card in fixtures.cards:
            sys.stdout.write(card.to_json() + "\n")
    return 0
