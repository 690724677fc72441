"""Where the test suite's CPU goes, file by file, from one ordinary run.

``python benchmarks/suite_cpu.py [PYTEST ARGS…]`` runs ``pytest`` (the README's command, with its
workers) with this module loaded as a plugin, then prints a Markdown table: per test file, the CPU
of the test process itself (simulations, plans, in-process runs) and of the child processes it
waited for (servers, ``yzt`` and Locust processes, virtualenv installs), the summed wall time of
its tests, and how many there are.

Wall time on a shared machine says little; CPU time barely depends on the load, so it is the
figure to compare before and after a change. A fixture's processes count towards the test that
set it up or tore it down, so the per-file sums are exact and the per-test ones are not.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: The folder each test process appends its records to (set by the script for the plugin).
OUT_ENV = "YZT_SUITE_CPU_DIR"


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Setup, call and teardown of one test: its process's CPU and its waited children's."""
    out = os.environ.get(OUT_ENV)
    before, started = _cpu(), time.monotonic()
    yield
    if out:
        after = _cpu()
        record = {"test": item.nodeid, "self": after[0] - before[0],
                  "children": after[1] - before[1], "wall": time.monotonic() - started,
                  "end": time.time(), "worker": os.getpid()}
        with (Path(out) / f"{os.getpid()}.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def table(records: list[dict[str, Any]]) -> str:
    """The Markdown table of ``records``, files by total CPU, largest first."""
    files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for r in records:
        f = files[r["test"].split("::")[0]]
        f[0] += r["self"]
        f[1] += r["children"]
        f[2] += r["wall"]
        f[3] += 1
    rows = ["| file | CPU, s | in the test process | in its children | wall, s | tests |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, (own, children, wall, n) in sorted(files.items(), key=lambda x: -x[1][0] - x[1][1]):
        rows.append(f"| `{name}` | {own + children:.1f} | {own:.1f} | {children:.1f} | {wall:.1f} "
                    f"| {n:.0f} |")
    own = sum(f[0] for f in files.values())
    children = sum(f[1] for f in files.values())
    rows.append(f"| **all {len(files)} files** | **{own + children:.1f}** | {own:.1f} | "
                f"{children:.1f} | | {len(records)} |")
    return "\n".join(rows)


def tail(records: list[dict[str, Any]], started: float) -> str:
    """When each worker ended its last test, in s from the run's start: a worker that ends long
    before the others left a core idle while the run finished on the rest (the order to change)."""
    ends: dict[int, float] = defaultdict(float)
    last: dict[int, str] = {}
    for r in records:
        if r["end"] >= ends[r["worker"]]:
            ends[r["worker"]], last[r["worker"]] = r["end"], r["test"].split("::")[0]
    return "\n".join(f"worker {pid}: last test ended at {end - started:.0f} s ({last[pid]})"
                     for pid, end in sorted(ends.items(), key=lambda x: x[1]))


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="yzt-suite-cpu-") as out:
        env = dict(os.environ, **{OUT_ENV: out})
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(here), env.get("PYTHONPATH")) if p)
        started, epoch = time.monotonic(), time.time()
        status = subprocess.run([sys.executable, "-m", "pytest", "-p", "suite_cpu", *argv],
                                env=env, check=False).returncode
        wall = time.monotonic() - started
        records = [json.loads(line) for f in Path(out).glob("*.jsonl")
                   for line in f.read_text(encoding="utf-8").splitlines()]
    print(f"\npytest exited {status} after {wall:.0f} s wall\n")
    print(table(records))
    print()
    print(tail(records, epoch))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
