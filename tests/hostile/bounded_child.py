"""Run ``yzt`` in a child process with its address space capped, and report its peak RSS.

Hostile inputs that once made yzt allocate gigabytes are run this way: the cap (``RLIMIT_AS``)
turns a regression into a quick MemoryError instead of swapping the machine. The child's peak
resident set is its ``VmHWM`` (``/proc/PID/status``), read while it runs: the kernel keeps that
high-water mark per address space, so it counts only what the child's own program touched.
``wait4``'s ``ru_maxrss`` would not do: it keeps the parent's high-water mark from before the
``exec`` (a test worker that grew to 600 MiB would make every child look that large).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: Address space a child may map: enough for Python, numpy and numba (which reserve more than
#: they touch), far below the gigabytes the old code asked for.
ADDRESS_SPACE = 3 << 30


@dataclass
class Child:
    status: int | None
    """Exit status; None when it was killed at the deadline."""
    stdout: str
    stderr: str
    seconds: float
    max_rss_mib: float


def run_yzt(args: list[str], cwd: Path, timeout_s: float = 60.0,
            address_space: int = ADDRESS_SPACE) -> Child:
    """``python -m yzt ARGS`` in ``cwd``, killed after ``timeout_s``."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    out_path, err_path = cwd / "child.out", cwd / "child.err"
    start = time.monotonic()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "yzt", *args], cwd=cwd, stdout=out,
                                stderr=err, preexec_fn=limit)
        status: int | None = None
        peak_kib = 0
        while True:
            peak_kib = max(peak_kib, _high_water_kib(proc.pid))
            pid, raw, _usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(raw)
                break
            if time.monotonic() - start > timeout_s:
                proc.kill()
                _pid, _raw, _usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = status if status is not None else -9  # reaped here, not by Popen
    return Child(status, out_path.read_text("utf-8", "replace"),
                 err_path.read_text("utf-8", "replace"), time.monotonic() - start,
                 peak_kib / 1024.0)


def _high_water_kib(pid: int) -> int:
    """The process's ``VmHWM`` in KiB (0 once it is gone or before its program runs)."""
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
