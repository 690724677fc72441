"""The ``yzt`` command surface: help, version, usage errors."""

from __future__ import annotations

import subprocess
import sys

from yzt import __version__
from yzt.cli import COMMANDS, build_parser, command_name


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yzt", *args], capture_output=True, text=True,
                          timeout=120)


def test_version() -> None:
    proc = _run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"yzt {__version__}"


def test_help_lists_every_registered_command() -> None:
    proc = _run("--help")
    assert proc.returncode == 0
    names = [name.rsplit(".", 1)[1] for name in COMMANDS]
    for name in names:
        assert name in proc.stdout


def test_unknown_flag_is_a_usage_error_without_traceback() -> None:
    proc = _run("fixtures", "--no-such-flag")
    assert proc.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_no_command_prints_help_and_fails() -> None:
    proc = _run()
    assert proc.returncode == 2
    assert "COMMAND" in proc.stdout


def test_cli_process_does_not_import_locust() -> None:
    """Locust monkey-patches the interpreter with gevent: the CLI process must never import it."""
    code = "import sys, yzt.cli; yzt.cli.build_parser(); print('locust' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr


def test_parser_builds_in_process() -> None:
    parser = build_parser()
    assert parser.prog == "yzt"


def test_closed_pipe_is_not_a_traceback() -> None:
    """``yzt fixtures … | head -1``: the reader leaving early is no error of ours.

    The output (~1 MB) is far larger than a pipe's buffer, so the writer does meet the closed pipe.
    """
    proc = subprocess.run(f"'{sys.executable}' -m yzt fixtures --operator R07 --subjects 4000 | head -1",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith('{"operator_id": "R07"')
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_every_command_module_registers_the_subcommand_named_after_it() -> None:
    """``main`` builds only the named command's parser by its module's name: the two must agree."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(command_name(m) for m in COMMANDS)  # type: ignore[arg-type]
    for module in COMMANDS:
        alone = build_parser(command_name(module))
        only = next(a for a in alone._actions if a.dest == "command")
        assert list(only.choices) == [command_name(module)]  # type: ignore[arg-type]


def test_a_server_start_does_not_import_numpy_or_the_reports() -> None:
    """Every ``yzt serve`` and load child pays its start-up: one command's parser, not thirteen."""
    code = ("import sys, yzt.cli; yzt.cli.build_parser('serve'); "
            "print(sorted(m for m in ('numpy', 'yzt.reports.i18n', 'yzt.pipeline.check') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "[]", proc.stderr
