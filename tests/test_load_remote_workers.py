"""A master and workers started as separate commands: the workers get everything from the master.

Three processes, as on three machines: ``yzt load … --workers 0 --remote-workers 2`` (a master that
generates nothing itself) and two ``yzt load --worker --master-host 127.0.0.1 --master-port P
--target URL`` given only the master's address, the target and the secret. The master's results
must be exactly the sum of what the two workers say they sent. A worker of another yzt version is
refused by name.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from yzt.server.testing import DEFAULT_SECRET, free_port, running_server

pytestmark = pytest.mark.integration

ENV = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """One reference operator for the module's runs."""
    with running_server() as url:
        yield url


def _master(url: str, out: Path, port: int, remote: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k1", "--seed", "7",
         "--subjects", "200", "--rate", "20", "--duration", "4s", "--workers", "0",
         "--remote-workers", str(remote), "--master-port", str(port), "--out", str(out)],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _worker(port: int, cwd: Path, target: str) -> subprocess.Popen[str]:
    # run from an empty folder: the worker has no run-config, no fixtures, nothing copied
    return subprocess.Popen([sys.executable, "-m", "yzt", "load", "--worker", "--master-host", "127.0.0.1",
                             "--master-port", str(port), "--target", target], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_master_and_two_workers_as_three_commands(tmp_path, server):
    port = free_port()
    url = server
    master = _master(url, tmp_path / "out", port, 2)
    workers = [_worker(port, _empty(tmp_path / f"w{i}"), url) for i in range(2)]
    try:
        m_out, m_err = master.communicate(timeout=150)
        w_out = [w.communicate(timeout=60)[0] for w in workers]
    finally:
        for p in (master, *workers):
            if p.poll() is None:
                p.kill()
    assert master.returncode == 0, m_out + m_err + "".join(w_out)
    assert all(w.returncode == 0 for w in workers), w_out
    sent = [int(re.search(r"sent (\d+) requests", text).group(1)) for text in w_out]
    doc = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert all(n > 20 for n in sent), sent
    assert doc["endpoints"]["all"]["count"] == sum(sent) == doc["sent"]
    procs = doc["generator"]["processes"]
    assert sorted(p["sent"] for p in procs) == sorted(sent)
    assert len({p["pid"] for p in procs}) == 2
    assert doc["verdict"] == "pass"


def test_master_refuses_a_worker_of_another_version(tmp_path, server):
    """A worker whose yzt reports another version is refused, and says so; a matching one then runs."""
    port = free_port()
    other = _empty(tmp_path / "other")
    (other / "otherversion.py").write_text(
        "import yzt\nyzt.__version__ = '0.0.0-other'\nfrom yzt.loadtests.locustfile import *  # noqa\n",
        encoding="utf-8")
    url = server
    master = _master(url, tmp_path / "out", port, 1)
    odd = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(other / "otherversion.py"), "--worker",
         "--master-host", "127.0.0.1", "--master-port", str(port)],
        cwd=other, env={k: v for k, v in ENV.items() if k != "YZT_LOAD_CONFIG"},
        capture_output=True, text=True, timeout=60, check=False)
    good = _worker(port, _empty(tmp_path / "good"), url)
    try:
        m_out, m_err = master.communicate(timeout=150)
        good.communicate(timeout=60)
    finally:
        for p in (master, good):
            if p.poll() is None:
                p.kill()
    assert odd.returncode != 0
    assert "refused this worker: yzt version '0.0.0-other' differs" in odd.stdout + odd.stderr
    assert master.returncode == 0, m_out + m_err
    refused = list((tmp_path / "out" / "raw").glob("refused-*.json"))
    assert len(refused) == 1 and "0.0.0-other" in refused[0].read_text(encoding="utf-8")


def _empty(path: Path) -> Path:
    path.mkdir(parents=True)
    return path
