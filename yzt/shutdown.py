"""Clean shutdown of commands that run children (``yzt load``, ``yzt check``).

SIGTERM and SIGINT become an :class:`Interrupted` exception in the main thread, so the command
unwinds through its ``finally`` blocks, stops every child it started, writes what it has marked
``incomplete`` and exits 3 (130 after SIGINT, as shells expect). Children are stopped as a tree:
the direct child gets SIGTERM and a grace period to stop its own children (Locust writes its
records, ``yzt serve`` closes its database), then whatever is left of the tree, process groups
included, is killed. The tree is read from the process table before the first signal, so a
grandchild re-parented to PID 1 when its parent died is still found.

``kill -9`` allows no clean-up at all: children then die with the command (:mod:`yzt.spawn`), and
the private folder it leaves is removed by the next run (:func:`remove_orphan_folders`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Protocol

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


class Child(Protocol):
    """What :func:`stop_tree` needs of a child: a :class:`subprocess.Popen`, or a
    :class:`yzt.spawn.Forked` step."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, signum: int) -> None: ...


def stop_tree(proc: Child, grace: float = GRACE_S) -> None:
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


# -- private folders of runs that were killed ---------------------------------------------------
#: The file in a private work folder that names the process owning it.
OWNER_FILE = ".yzt-owner"


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def claim_folder(folder: Path) -> None:
    """Mark ``folder`` as this process's: its pid and start time (so a reused pid is not taken
    for the owner) in :data:`OWNER_FILE`."""
    (folder / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())!r}\n", encoding="ascii")


def release_folder(folder: Path) -> None:
    """Unmark ``folder``: it is kept on purpose and no later run may remove it."""
    with contextlib.suppress(FileNotFoundError):
        (folder / OWNER_FILE).unlink()


def _owner(folder: Path) -> tuple[int, float | None] | None:
    try:
        pid_text, started = (folder / OWNER_FILE).read_text(encoding="ascii").split()
        return int(pid_text), (None if started == "None" else float(started))
    except (OSError, ValueError):
        return None


def remove_orphan_folders(parent: Path, prefix: str) -> list[tuple[Path, int]]:
    """Remove the folders ``parent/prefix*`` of ours whose owning process is gone (killed before it
    could clean up); return each with the owner's pid.

    A folder without an owner file (one being created right now, or kept with ``--keep-work``),
    another user's, or one whose owner still runs is left alone.
    """
    removed: list[tuple[Path, int]] = []
    try:
        candidates = sorted(parent.glob(prefix + "*"))
    except OSError:
        return removed
    for folder in candidates:
        try:
            st = folder.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        owner = _owner(folder)
        if owner is None:
            continue
        pid, started = owner
        alive = _start_time(pid)
        if alive is not None and (started is None or abs(alive - started) < 1.0):
            continue  # its owner is still running
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append((folder, pid))
    return removed
