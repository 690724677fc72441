"""A second conformance run on the same sandbox judges the operator, not the first run's traces.

A run disputes and cancels cards of the fixture file's second half. Its successor on the same
sandbox must not pick a subject whose card the first run already cancelled and then blame the
operator for counting one card fewer than the fixtures say (OIF-DSP-3 failed that way). The same
run seed makes the second run pick exactly the subjects the first one changed, so the test always
meets the case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from yzt.server.testing import DEFAULT_SECRET, running_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def _conform(url: str, out: Path, run_seed: int) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())
    return subprocess.run(
        [sys.executable, "-m", "yzt", "conform", url, "--operator", "R07", "--key-id", "k1",
         "--seed", "7", "--subjects", "200", "--run-seed", str(run_seed), "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False)


def test_the_same_run_twice_on_one_sandbox_passes_twice(tmp_path):
    with running_server(extra_args=("--rate-limit", "150", "--no-access-log")) as url:
        first = _conform(url, tmp_path / "first", 4242)
        second = _conform(url, tmp_path / "second", 4242)
    assert first.returncode == 0, first.stdout[-3000:]
    assert second.returncode == 0, second.stdout[-3000:]
    for run in ("first", "second"):
        doc = json.loads((tmp_path / run / "results.json").read_text(encoding="utf-8"))
        assert doc["verdict"] == "pass", run
