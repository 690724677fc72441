"""SIGTERM and SIGINT to ``yzt load`` mid-run: no child survives, partial results marked incomplete.

The process tree is read from the process table (psutil) while Locust is generating; after the
signal, every process of that tree must be gone, whatever its session or parent is by then.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from yzt.loadtests.runner import _requests_so_far
from yzt.server.testing import DEFAULT_SECRET, running_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """One reference operator for the module's runs."""
    with running_server() as url:
        yield url


def start_load(url: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k1", "--seed", "7",
         "--subjects", "200", "--rate", "20", "--duration", "60s", "--out", str(out)],
        env=dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode()), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def wait_for_traffic(proc: subprocess.Popen[str], out: Path, timeout: float = 60) -> list[psutil.Process]:
    """The process tree of ``proc`` once Locust has been sending for a while (its stats file has
    requests in it)."""
    deadline = time.monotonic() + timeout
    stats = out / "locust" / "locust_stats.csv"
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        tree = psutil.Process(proc.pid).children(recursive=True)
        if tree and (_requests_so_far(stats) or 0) > 10:
            time.sleep(1.0)
            return psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.2)
    raise AssertionError("Locust did not start sending in time")


def described(p: psutil.Process) -> str:
    """A process's name and command line, or '' when it ended meanwhile or is a zombie: the tree
    is read while it changes (a short-lived child may be between its exit and its parent's wait).
    A step that ``yzt check`` forked shows its command in its name (``yzt load``); its command
    line is ``yzt check``'s."""
    try:
        return f"{p.name()} {' '.join(p.cmdline())}"
    except psutil.Error:
        return ""


def wait_for_locust(proc: subprocess.Popen[str], timeout: float = 90) -> list[psutil.Process]:
    """Wait until a Locust process runs below ``proc`` (the load step has started), then 2 s more
    (mid-run: Locust is sending); the process tree at that moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        tree = psutil.Process(proc.pid).children(recursive=True)
        if any("locust" in described(p) for p in tree):
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the load step's Locust never started")
    time.sleep(2.0)
    return psutil.Process(proc.pid).children(recursive=True)


def survivors(tree: list[psutil.Process]) -> list[str]:
    alive = []
    for p in tree:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline()[:6])}")
        except psutil.Error:  # gone, or a zombie, since the line above
            continue
    return alive


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 3), (signal.SIGINT, 130)])
def test_signal_stops_every_child_and_keeps_partial_results(tmp_path, sig, status, server):
    url = server
    proc = start_load(url, tmp_path)
    try:
        tree = wait_for_traffic(proc, tmp_path)
        assert any("locust" in described(p) for p in tree)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == status, err
    assert f"stopped by {signal.Signals(sig).name}" in err
    time.sleep(0.5)
    assert survivors(tree) == []
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert doc["verdict"] == "incomplete" and doc["interrupted"] == signal.Signals(sig).name
    assert doc["reasons"][0].startswith(f"interrupted by {signal.Signals(sig).name}")
    assert 0 < doc["sent"] < 20 * 60, doc.get("generator")  # some requests, far fewer than a minute
    assert (tmp_path / "report.html").exists()
