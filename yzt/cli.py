"""The ``yzt`` command: one entry point, one subcommand a module.

Each subcommand module defines ``add_parser(subparsers)`` that registers its parser and sets
``func`` to a ``run(args) -> int`` function. Modules are imported only when named in ``COMMANDS``,
and heavy libraries are imported inside ``run`` so that ``yzt --help`` stays fast. Locust is never
imported in this process: it patches the whole interpreter with gevent, so load tests run it in
child processes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from yzt import __version__
from yzt.domain.masking import install_masking
from yzt.errors import UserError
from yzt.verdict import EXIT_INTERRUPTED, Verdict

#: Subcommand modules, in the order ``yzt --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "yzt.commands.check",
    "yzt.commands.conform",
    "yzt.commands.federation",
    "yzt.commands.fixtures",
    "yzt.commands.keygen",
    "yzt.commands.load",
    "yzt.commands.report",
    "yzt.commands.plan",
    "yzt.commands.serve",
    "yzt.commands.sim",
    "yzt.commands.twin",
    "yzt.commands.validate",
    "yzt.commands.waiver",
)


class _Parser(argparse.ArgumentParser):
    """argparse with exit status 2 and a hint, for every usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def command_name(module: str) -> str:
    """The subcommand a module registers: its last dotted part (``yzt.commands.sim`` -> ``sim``)."""
    return module.rsplit(".", 1)[-1]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with every registered subcommand, or only ``command``'s when it names one.

    Building one subcommand's parser imports one command module: ``yzt serve`` does not import
    the reports, numpy or the pipelines that other commands' flags need (about 0.3 CPU-s a start,
    paid by every server and every load child).
    """
    parser = _Parser(
        prog="yzt",
        description="Conformance, load and capacity harness for the 一证通查 operator interface.",
    )
    parser.add_argument("--version", action="version", version=f"yzt {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    names = [m for m in COMMANDS if command_name(m) == command] or COMMANDS
    for name in names:
        importlib.import_module(name).add_parser(sub)
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_masking()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; user errors print one line and return their exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    named = next((a for a in argv if not a.startswith("-")), None)  # global flags take no value
    parser = build_parser(named)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return Verdict.ERROR.exit_code  # a usage error
    _setup_logging(args.verbose)
    try:
        status: int = args.func(args)
    except UserError as exc:
        print(f"yzt {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"yzt {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (``yzt conform --list | head``): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status
