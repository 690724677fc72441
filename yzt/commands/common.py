"""Pieces several subcommands share: the shared secret, read the same way everywhere."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from yzt.errors import UserError


def add_secret_argument(parser: argparse.ArgumentParser) -> None:
    """``--secret-file``; the secret itself is never taken on the command line (it would show in ps)."""
    parser.add_argument("--secret-file", type=Path,
                        help="file holding the shared secret (else the YZT_SECRET environment variable)")


def read_secret(args: argparse.Namespace) -> bytes:
    """The shared secret from ``--secret-file`` (surrounding white space dropped) or ``YZT_SECRET``."""
    if args.secret_file:
        try:
            secret = Path(args.secret_file).read_bytes().strip()
        except OSError as exc:
            raise UserError(f"--secret-file {args.secret_file}: cannot read ({exc.strerror})") from None
        if not secret:
            raise UserError(f"--secret-file {args.secret_file} is empty")
        return secret
    secret = os.environ.get("YZT_SECRET", "").encode("utf-8")
    if not secret:
        raise UserError("no secret: set YZT_SECRET or pass --secret-file FILE")
    return secret


def add_subjects_argument(parser: argparse.ArgumentParser) -> None:
    """``--subjects N``: how many subjects fixtures generated from ``--seed`` hold (one default)."""
    from yzt.fixtures import DEFAULT_SUBJECTS

    parser.add_argument("--subjects", type=int, default=DEFAULT_SUBJECTS,
                        help=f"subjects of fixtures generated from --seed (default {DEFAULT_SUBJECTS})")
