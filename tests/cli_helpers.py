"""The ``yzt`` command line run in the test's own process, for tests about what a command prints,
writes and returns rather than about its process (each ``python -m yzt`` costs about 1 CPU-s of
imports)."""

from __future__ import annotations

import contextlib
import io
import subprocess

from yzt.cli import main


def yzt_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``yzt ARGS`` through the entry point ``python -m yzt`` calls: the same exit status, stdout
    and stderr. An exception that escapes instead of a one-line error fails the calling test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return subprocess.CompletedProcess(["yzt", *args], status, out.getvalue(), err.getvalue())
