"""One writer per database file: an exclusive ``flock`` on the database file itself for the life of
``yzt serve``.

Two servers on one SQLite file would each keep their own in-memory cards and clock and diverge.
The lock is on the file (its inode), not on its name: a second server reaching the same file
through a symlink, a hardlink or another spelling of the path is refused like one given the same
path. ``flock`` locks are separate from the POSIX byte-range locks SQLite takes on the same file,
so the two do not interfere; the descriptor stays open until the store has closed its connection.
The kernel drops a ``flock`` when its process dies, SIGKILL included, so the lock is never stale: a
restart after a crash takes it at once. The holder is named from the kernel's lock table
(``/proc/locks`` on Linux).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from yzt.errors import UserError

#: The kernel's table of file locks (Linux): ``N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE …``.
PROC_LOCKS = Path("/proc/locks")


class DatabaseLock:
    """Held from construction until :meth:`release`; a second holder gets a :class:`UserError`.

    Opening the file creates it when missing (mode 0600; an empty file is an empty SQLite database).
    """

    def __init__(self, db: Path) -> None:
        self.path = db
        try:
            fd = os.open(db, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise UserError(f"--db {db}: cannot open it: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = holder_of(fd)
            os.close(fd)
            where = "" if holder is None else f"pid {holder}"
            shown = f"({where})" if where else "(pid unknown)"
            raise UserError(f"--db {db} is in use by another yzt serve {shown}, perhaps under another "
                            "name (a symlink or hardlink to the same file); stop that server or give "
                            "another --db") from None
        except OSError as exc:
            os.close(fd)
            raise UserError(f"--db {db}: cannot lock it ({exc.strerror}); give a file on a local "
                            "file system") from None
        self._fd: int | None = fd

    def release(self) -> None:
        """Unlock (closing the descriptor drops the lock). Call after the database is closed."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None


def holder_of(fd: int) -> int | None:
    """The pid holding a ``flock`` on the file open as ``fd`` (other than this process), from
    ``/proc/locks``; ``None`` when it cannot be told."""
    st = os.fstat(fd)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        table = PROC_LOCKS.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in table.splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key and fields[4].isdigit():
            pid = int(fields[4])
            if pid != os.getpid():
                return pid
    return None
