"""Clean shutdown of commands that run children (``yzt load``, ``yzt check``).

SIGTERM and SIGINT become an :class:`Interrupted` exception in the main thread, so the command
unwinds through its ``finally`` blocks, stops every child it started, writes what it has marked
``incomplete`` and exits 3 (130 after SIGINT, as shells expect). Children are stopped as a tree:
the direct child gets SIGTERM and a grace period to stop its own children (Locust writes its
records, ``yzt serve`` closes its database), then whatever is left of the tree, process groups
included, is killed. The tree is read from the process table before the first signal, so a
grandchild re-parented to PID 1 when its parent died is still found.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from types import FrameType

import psutil

from yzt.verdict import EXIT_INTERRUPTED, Verdict

#: Seconds a child gets after SIGTERM before it and its descendants are killed.
GRACE_S = 8.0


class Interrupted(BaseException):
    """The command received SIGTERM or SIGINT. A BaseException, so ``except Exception`` lets it by."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """130 after SIGINT (Ctrl-C), else the exit status of an incomplete run (3)."""
        return EXIT_INTERRUPTED if self.signum == signal.SIGINT else Verdict.INCOMPLETE.exit_code


def _raise(signum: int, _frame: FrameType | None) -> None:
    # a second signal while unwinding must not cut the clean-up short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise :class:`Interrupted`; the old handlers come back
    afterwards."""
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for s in old:
        signal.signal(s, _raise)
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def stop_tree(proc: subprocess.Popen[bytes] | subprocess.Popen[str], grace: float = GRACE_S) -> None:
    """SIGTERM ``proc`` (to its process group when it leads one), wait up to ``grace`` seconds for it
    and its descendants, then SIGKILL every survivor and its process group."""
    if proc.poll() is not None:
        return
    tree = _tree(proc.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    tree += [p for p in _tree(proc.pid) if p not in tree] if proc.poll() is None else []
    _, alive = psutil.wait_procs(tree, timeout=0 if proc.poll() is None else 2.0)
    for p in alive:
        with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
            if os.getpgid(p.pid) == p.pid:
                os.killpg(p.pid, signal.SIGKILL)
            p.kill()
    psutil.wait_procs(alive, timeout=5.0)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5.0)
