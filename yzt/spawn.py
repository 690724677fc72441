"""The command line of every Python child yzt starts: never code from the current directory, never
outliving yzt.

``python -m yzt`` puts the current directory first on ``sys.path``, so a ``yzt/`` (or ``locust/``)
folder wherever the user stands would run in place of the installed code. Children therefore run
with ``-P`` (Python 3.11+), which leaves that entry out and changes nothing else: ``PYTHONPATH``,
``PYTHONUNBUFFERED``, the user's site-packages and editable installs (a ``.pth`` file in
site-packages) still work as they do for the parent, where ``-I`` would break ``pip install
--user``.

Each child also dies with its parent, ``kill -9`` included: it starts as ``python -P -m yzt.spawn
PARENT_PID MODULE ARGS…``, which ends at once if the parent is already gone, starts a lifeline
thread that kills the process (SIGKILL) as soon as its parent is no longer ``PARENT_PID`` (the
kernel re-parents an orphan), then runs ``MODULE`` as ``-m`` would. So ``kill -9`` of ``yzt check``
takes ``yzt serve``, the steps and their Locust processes with it within a fraction of a second
instead of leaving a server on its port. Because the request lives in the command line, it holds for
every ``subprocess.Popen`` of such a command, whatever else its caller passes, and from any thread
of the parent: the kernel's ``PR_SET_PDEATHSIG`` would fire when the *thread* that started the child
ends (a thread pool that starts servers and returns would kill them), so the lifeline watches the
parent process instead. :func:`die_with_parent` keeps the kernel's way for pool workers started by
the main thread.

This module imports nothing heavy at the top: as the trampoline it runs before Locust's gevent
patches the standard library.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

#: ``prctl`` option from <linux/prctl.h>.
PR_SET_PDEATHSIG = 1
_PRCTL: Any = None


def python_command(module: str, *args: str, python: str | None = None) -> list[str]:
    """``python -P -m MODULE ARGS…`` with this interpreter (or ``python``), through the trampoline
    that ties the child's life to this process: run it from this process, not another."""
    return [python or sys.executable, "-P", "-m", "yzt.spawn", str(os.getpid()), module, *args]


def yzt_command(*args: str) -> list[str]:
    """A yzt sub-command (``yzt ARGS…``) as a child process of this one."""
    return python_command("yzt", *args)


def _prctl() -> Any:
    global _PRCTL
    if _PRCTL is None:
        import ctypes
        import ctypes.util

        _PRCTL = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    return _PRCTL


def die_with_parent(parent: int | None = None) -> None:
    """Ask for SIGKILL when this process's parent dies (Linux; elsewhere a no-op).

    ``parent``: the pid the caller expects as parent; when it is already gone (it died before the
    request took effect) this process ends at once rather than live on as an orphan. Also usable
    as a ``ProcessPoolExecutor`` initializer (no argument).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        failed = _prctl()(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0
    except (OSError, AttributeError):  # no usable libc: the parent's clean-up still applies
        return
    if not failed and parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


#: How often the lifeline looks at its parent, in seconds.
LIFELINE_PERIOD_S = 0.25


def _lifeline(parent: int) -> None:
    """End this process (SIGKILL) once its parent is no longer ``parent``; at once if it is not."""
    import _thread
    import time

    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    sleep = time.sleep  # the real one: Locust's gevent patches the time module later

    def watch() -> None:
        while os.getppid() == parent:
            sleep(LIFELINE_PERIOD_S)
        os.kill(os.getpid(), signal.SIGKILL)

    # a bare thread, unknown to the threading module: interpreter shutdown (gevent's included)
    # never waits for it
    _thread.start_new_thread(watch, ())


#: ``prctl`` option that names the calling thread (what ``top`` and ``ps -o comm`` show).
PR_SET_NAME = 15


class Forked:
    """``yzt ARGS…`` in a fork of this process, with the interface of :class:`subprocess.Popen`
    that yzt's callers use (``pid``, ``poll``, ``wait``, ``send_signal``).

    The child runs the same entry point a new ``yzt ARGS…`` process runs, in the same environment,
    in a session of its own, with its output in the caller's log and its life tied to this process
    (the lifeline, as for every child). What it skips is a new interpreter's start and the imports
    this process has already made: a conformance step forked from ``yzt check`` costs about 0.6
    CPU-s less than one started as a command line (docs/benchmarks.md). Made through
    :mod:`multiprocessing`'s fork context, which reaps the child and hands back its exit status
    (negative: the signal that ended it). The child ends as that module's children do, with
    ``os._exit`` after flushing its output: the exit handlers it inherited are this process's and
    never run there, and yzt's commands clean up in their own ``finally`` blocks, not at exit."""

    def __init__(self, args: tuple[str, ...], env: dict[str, str], log_fd: int) -> None:
        import multiprocessing

        for stream in (sys.stdout, sys.stderr):  # nothing buffered here is written twice
            stream.flush()
        self.args = ["yzt", *args]
        self._process = multiprocessing.get_context("fork").Process(
            target=_forked_main, args=(args, env, log_fd, os.getpid()), name=" ".join(self.args[:2]))
        self._process.start()
        self.pid: int = self._process.pid or 0

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        import subprocess

        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return code

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)


def can_fork() -> bool:
    """Whether a step may run as a fork of this process: on Linux (where fork is what
    :mod:`multiprocessing` itself defaults to) and only while this process runs no other thread,
    since a fork copies the locks other threads hold but not the threads."""
    import threading

    return sys.platform.startswith("linux") and threading.active_count() == 1


def _forked_main(args: tuple[str, ...], env: dict[str, str], log_fd: int, parent: int) -> None:
    """The forked child: what ``python -P -m yzt.spawn PARENT yzt ARGS…`` would do, from here."""
    os.setsid()  # its own process group, as start_new_session=True gives a spawned step
    for signum in (signal.SIGTERM, signal.SIGINT):  # the parent's handlers are not the command's
        signal.signal(signum, signal.SIG_DFL)
    _lifeline(parent)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    _as_a_new_interpreter()
    with contextlib.suppress(OSError, AttributeError):  # the name is a courtesy
        _prctl()(PR_SET_NAME, f"yzt {args[0] if args else ''}".encode()[:15], 0, 0, 0)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["yzt", *args]
    from yzt.cli import main

    raise SystemExit(main(list(args)))


def _as_a_new_interpreter() -> None:
    """What the forked child resets of its parent's state to start as ``yzt`` would: its output on
    the descriptors 1 and 2 (a host such as pytest may have replaced ``sys.stdout``), no logging
    handler yet (the CLI sets its own up), and Python's default warning filters (pytest's may turn
    a library's deprecation warning into an error)."""
    import logging
    import warnings

    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace",  # noqa: SIM115
                      buffering=1, closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace",  # noqa: SIM115
                      buffering=1, closefd=False)
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    warnings.resetwarnings()
    for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning, DeprecationWarning):
        warnings.simplefilter("ignore", category)  # each goes first: the defaults' order
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


def _trampoline(argv: list[str]) -> None:
    """``python -P -m yzt.spawn PARENT_PID MODULE ARGS…``: tie this process to its parent, then run
    ``MODULE`` as ``python -m MODULE ARGS…`` would."""
    import runpy

    if len(argv) < 2 or not argv[0].isdigit():
        raise SystemExit("usage: python -P -m yzt.spawn PARENT_PID MODULE [ARGS…]")
    _lifeline(int(argv[0]))
    sys.argv = [argv[1], *argv[2:]]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    _trampoline(sys.argv[1:])
