"""One writer per database: an exclusive ``flock`` on ``<db>.lock`` for the life of ``yzt serve``.

Two servers on one SQLite file would each keep their own in-memory cards and clock and diverge.
The kernel drops a ``flock`` when its process dies, SIGKILL included, so the lock is never stale:
a restart after a crash takes it at once. The file holds the holder's pid, so the refusal can name
it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from yzt.errors import UserError


def lock_path(db: Path) -> Path:
    """The lock file beside ``db``."""
    return db.with_name(db.name + ".lock")


class DatabaseLock:
    """Held from construction until :meth:`release`; a second holder gets a :class:`UserError`."""

    def __init__(self, db: Path) -> None:
        self.path = lock_path(db)
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise UserError(f"--db {db}: cannot create its lock file {self.path}: "
                                f"{exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                raise UserError(f"--db {db} is in use by another yzt serve ({holder}); stop that "
                                "server or give another --db") from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # the previous holder removed the file as we locked it: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the lock file, then unlock (a waiter that opened the old file retries)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    return f"pid {text}" if text.isdigit() else "pid unknown"


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (st.st_dev, st.st_ino)
