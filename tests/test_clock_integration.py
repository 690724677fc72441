"""The sandbox clock and the preflight end to end: ``yzt conform`` and ``yzt load`` as a user runs
them, one after the other, against a real ``yzt serve`` on loopback whose HTTP ``Date`` is real time
(protocol v1.3): the only way to the sandbox clock is ``POST /v1/sandbox/clock``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from yzt.server.testing import DEFAULT_SECRET, running_server

pytestmark = pytest.mark.integration

COMMON = ("--operator", "R07", "--key-id", "k1", "--subjects", "200")
#: The checks that move the clock (dispute and cancellation deadlines: days) and the count check.
MOVERS = "OIF-DSP-4,OIF-CXL-2"


def _yzt(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode(), YZT_STATE_DIR=str(state))
    env.pop("YZT_CLOCK_OFFSET", None)
    return subprocess.run([sys.executable, "-m", "yzt", *args], capture_output=True, text=True,
                          timeout=300, env=env, stdin=subprocess.DEVNULL)


def _results(path: Path) -> dict:
    return json.loads((path / "results.json").read_text("utf-8"))


def test_conform_then_load_then_conform_again_on_one_sandbox(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_server(extra_args=("--no-access-log",)) as url:
        first = _yzt("conform", url, *COMMON, "--seed", "7", "--only", MOVERS,
                     "--out", str(tmp_path / "c1"), state=state)
        load = _yzt("load", url, *COMMON, "--seed", "7", "--rate", "15", "--duration", "3s",
                    "--out", str(tmp_path / "load"), state=state)
        again = _yzt("conform", url, *COMMON, "--seed", "7", "--only", MOVERS + ",OIF-CNT-1",
                     "--out", str(tmp_path / "c2"), state=state)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "sandbox clock now +" in first.stderr and "--clock-offset" in first.stderr
    moved = int(first.stderr.split("sandbox clock now +")[1].split(" ")[0])
    assert moved > 3 * 86400  # days: far outside the 300 s window of real time

    doc = _results(tmp_path / "load")
    # the load run judges the endpoint, or, on a machine too busy for its generator, says so and
    # is incomplete (exit 3); either way every request went through on the moved clock
    assert load.returncode == 0 or (load.returncode == 3 and doc["reasons"] and all(
        "generator" in r for r in doc["reasons"])), load.stdout + load.stderr
    assert doc["endpoints"]["card-count"]["count"] > 10
    assert doc["endpoints"]["all"]["errors_by_kind"] == {}  # not one 401
    assert doc["notes"][0].startswith(f"sandbox clock: +{str(moved)[:4]}"), doc["notes"][0]

    assert again.returncode == 0, again.stdout + again.stderr
    notes = _results(tmp_path / "c2")["notes"]
    assert any(f"sandbox clock: +{str(moved)[:4]}" in n and "read from POST /v1/sandbox/clock" in n
               for n in notes), notes


def test_a_counting_defect_is_noted_by_the_preflight_and_failed_by_conformance(tmp_path: Path) -> None:
    """An operator that counts cancelled cards (OIF-CNT-1) passes the preflight with a note, and
    conformance judges and fails OIF-CNT-1 (exit 1), instead of blaming the fixtures (exit 2)."""
    with running_server(defects=("count-cancelled-cards",), extra_args=("--no-access-log",)) as url:
        done = _yzt("conform", url, *COMMON, "--seed", "7", "--only", "OIF-CNT-1",
                    "--out", str(tmp_path), state=tmp_path / "state")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "card count differs from the fixtures" in done.stdout
    assert "cancelled card(s) that do not count" in done.stdout
    document = _results(tmp_path)
    failed = {c["requirement"] for c in document["checks"] if c["verdict"] == "fail"}
    assert failed == {"OIF-CNT-1"}
    assert any("Conformance judges counts (OIF-CNT-1)" in n for n in document["notes"])
