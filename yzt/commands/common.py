"""Pieces every subcommand shares: the shared secret, the report language and the flag types,
checked the same way.

Flag types run while the command line is parsed, so a bad value exits 2 with
``yzt CMD: error: argument --timeout: …`` naming the flag, before anything starts. Output paths:

- ``--out DIR`` is a folder. Missing folders (parents too) are created; a file in its place is
  refused.
- ``--junit FILE`` (and ``yzt fixtures --out FILE``) is a file. Missing parent folders are created; a
  folder in its place is refused; an existing file is replaced.

Both are refused when the nearest existing folder on the way is not writable.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from yzt.errors import UserError

#: Longest secret file read (a secret is a line of text; a large file is the wrong file).
MAX_SECRET_BYTES = 4096


def add_secret_argument(parser: argparse.ArgumentParser) -> None:
    """``--secret-file``; the secret itself is never taken on the command line (it would show in ps)."""
    parser.add_argument("--secret-file", type=Path,
                        help="file holding the shared secret (else the YZT_SECRET environment variable)")


def read_secret(args: argparse.Namespace) -> bytes:
    """The shared secret from ``--secret-file`` (surrounding white space dropped) or ``YZT_SECRET``.

    The secret travels in HTTP headers' HMAC input and in child processes' environment, so it must be
    printable text: a binary file, a directory or an unreadable file is a usage error naming it.
    """
    if args.secret_file:
        path = Path(args.secret_file)
        flag = f"--secret-file {path}"
        if path.is_dir():
            raise UserError(f"{flag} is a directory: give the file that holds the secret")
        try:
            with path.open("rb") as fh:
                secret = fh.read(MAX_SECRET_BYTES + 1).strip()
        except OSError as exc:
            raise UserError(f"{flag}: cannot read ({exc.strerror or exc})") from None
        if not secret:
            raise UserError(f"{flag} is empty")
        if len(secret) > MAX_SECRET_BYTES:
            raise UserError(f"{flag} holds more than {MAX_SECRET_BYTES} bytes: is it the right file?")
        try:
            text = secret.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(f"{flag} holds binary data: the secret is one line of text") from None
        if not text.isprintable():
            raise UserError(f"{flag} holds control characters or several lines: the secret is one "
                            "line of printable text")
        return secret
    text = os.environ.get("YZT_SECRET", "")
    if not text:
        raise UserError("no secret: set YZT_SECRET or pass --secret-file FILE")
    if not text.isprintable():
        raise UserError("YZT_SECRET holds binary data or control characters: the secret is one line "
                        "of printable text")
    return text.encode("utf-8")


def add_lang_argument(parser: argparse.ArgumentParser) -> None:
    """``--lang zh|en``: the language of the report; the default follows the locale."""
    from yzt.reports.lang import LANGS, default_lang

    parser.add_argument("--lang", choices=LANGS, default=default_lang(),
                        help="report language: zh or en (default from the locale: LC_ALL, "
                        "LC_MESSAGES, LANG)")


def add_sla_profile_argument(parser: argparse.ArgumentParser) -> None:
    """``--sla-profile NAME``: the hotline targets from a named profile with sources (over the
    scenario's ``sla_profile``)."""
    from yzt.sim.profiles import PROFILES

    parser.add_argument("--sla-profile", dest="sla_profile", choices=tuple(PROFILES),
                        help="hotline targets (SLA-HOT-1) from a named profile with its sources: "
                        f"{', '.join(PROFILES)} (default: the scenario's sla_profile, else the "
                        "topology's)")


def add_subjects_argument(parser: argparse.ArgumentParser) -> None:
    """``--subjects N``: how many subjects fixtures generated from ``--seed`` hold (one default)."""
    from yzt.fixtures import DEFAULT_SUBJECTS

    parser.add_argument("--subjects", type=bounded_int(1, 1_000_000), default=DEFAULT_SUBJECTS,
                        help=f"subjects of fixtures generated from --seed, 1-1000000 "
                        f"(default {DEFAULT_SUBJECTS})")


def add_clock_offset_argument(parser: argparse.ArgumentParser) -> None:
    """``--clock-offset SECONDS``: the operator's sandbox clock minus ours, when this machine
    cannot find it (see :mod:`yzt.clock`)."""
    parser.add_argument("--clock-offset", type=clock_offset, metavar="SECONDS",
                        help="the operator's sandbox clock minus ours, as a run that moved it "
                        "printed ('sandbox clock: +522000 s'); tried first when reading the clock. "
                        "Needed only where no earlier yzt run on this machine moved or read it "
                        "(also YZT_CLOCK_OFFSET)")


def clock_offset_of(args: argparse.Namespace) -> float | None:
    """``--clock-offset``, else ``YZT_CLOCK_OFFSET`` (a bad value names the variable), else None."""
    from yzt.clock import explicit_offset

    return explicit_offset(getattr(args, "clock_offset", None))


# -- flag types ----------------------------------------------------------------------------------
def clock_offset(text: str) -> float:
    """Seconds, finite, within ±100 years; ``+522000``, ``-30`` and ``522000s`` are read."""
    from yzt.clock import parse_offset

    try:
        return parse_offset(text, "--clock-offset")
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--clock-offset ")) from None


clock_offset.__name__ = "number of seconds"



def positive_float(maximum: float = math.inf) -> Callable[[str], float]:
    """A finite number in (0, maximum]: ``nan``, ``inf``, ``-1`` and ``0`` are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0 or value > maximum:
            bound = f" and at most {maximum:g}" if math.isfinite(maximum) else ""
            raise argparse.ArgumentTypeError(f"must be a finite number above 0{bound}, got {text!r}")
        return value

    parse.__name__ = "positive number"
    return parse


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    """An integer in [minimum, maximum], checked before anything is sized by it."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum} and {maximum}, got {text}")
        return value

    parse.__name__ = "integer"
    return parse


def _writable_parent(path: Path) -> str | None:
    """Why ``path`` could not be created (a file or an unwritable folder on the way), or None."""
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is a file, not a folder"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"the folder {parent} is not writable"
            return None
    return None


def output_dir(text: str) -> Path:
    """``--out DIR``: a folder, created later with its parents; a file in its place is refused."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("give a folder")
    if path.exists():
        if not path.is_dir():
            raise argparse.ArgumentTypeError(f"{path} is a file; --out names a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"the folder {path} is not writable")
        return path
    problem = _writable_parent(path)
    if problem:
        raise argparse.ArgumentTypeError(f"cannot create {path}: {problem}")
    return path


def output_file(text: str) -> Path:
    """A file to write (``--junit FILE``): parents are created later; a folder in its place is refused."""
    path = Path(text)
    if not text.strip() or text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text!r} names a folder; give a file name")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give the name of a file (inside it, "
                                         "or elsewhere)")
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{path} is not writable")
    problem = _writable_parent(path)
    if problem:
        raise argparse.ArgumentTypeError(f"cannot create {path}: {problem}")
    return path


def target_url(text: str) -> str:
    """An operator's base URL: ``http(s)://host[:port][/prefix]``, without query or fragment."""
    try:
        parts = urlsplit(text)
        port = parts.port  # a bad port (``:99999``, ``:x``) raises here
        host = parts.hostname
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(f"{text!r} must start with http:// or https://")
    if not host:
        raise argparse.ArgumentTypeError(f"{text!r} has no host (e.g. http://127.0.0.1:8700)")
    if port == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: port 0 cannot be reached")
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r}: give the base URL, without ?query or #fragment")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r} holds spaces or control characters")
    return text


def make_dir(path: Path, flag: str = "--out") -> Path:
    """Create an output folder (with its parents) now that the command runs; a failure names ``flag``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot create the folder ({exc.strerror or exc})") from None
    return path


def make_parent(path: Path, flag: str) -> Path:
    """Create the folder an output file goes in; a failure names ``flag``."""
    make_dir(path.parent, flag)
    return path
