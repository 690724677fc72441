"""The defect matrix through ``yzt check URL``: every seeded conformance defect ends the whole job
with exit 1 and its own requirement under "What to fix" (and in junit.xml as a failure).

``tests/test_conform_matrix.py`` proves each check fails its defect in-process. Here the same
defects go through the command a reseller's CI runs, preflight included: a preflight that stopped
on a defect (a count that differs from the fixtures, say) would turn a requirement failure into a
usage error (exit 2) and leave the requirement unjudged. The load, capacity and simulation steps
are skipped: they judge SLAs, not these requirements. The run seed is the in-process matrix's: an
outcome the operator chooses (an unbound card, say) shows only in the runs whose disputes meet it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from yzt.server.defects import DEFECTS
from yzt.server.testing import DEFAULT_SECRET, running_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

MATRIX = [name for name, d in DEFECTS.items() if d.requirement.startswith("OIF-")]


def _check(defect: str, out: Path) -> tuple[int, dict[str, Any], str, str]:
    with running_server(defects=(defect,), extra_args=("--rate-limit", "150", "--no-access-log")) as url:
        env = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode(), YZT_STATE_DIR=str(out / "state"))
        proc = subprocess.run(
            [sys.executable, "-m", "yzt", "check", url, "--operator", "R07", "--key-id", "k1",
             "--seed", "7", "--subjects", "200", "--skip", "load", "--skip", "capacity",
             "--skip", "sim", "--run-seed", "1", "--out", str(out / "check")],
            capture_output=True, text=True, env=env, timeout=600, check=False)
    report_path = out / "check" / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    junit_path = out / "check" / "junit.xml"
    junit = junit_path.read_text(encoding="utf-8") if junit_path.is_file() else ""
    return proc.returncode, report, junit, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, tuple[int, dict[str, Any], str, str]]]:
    with tempfile.TemporaryDirectory(prefix="yzt-check-defects-") as tmp:
        folders = [Path(tmp) / name for name in MATRIX]
        with ThreadPoolExecutor(3) as pool:
            yield dict(zip(MATRIX, pool.map(_check, MATRIX, folders), strict=True))


@pytest.mark.parametrize("defect", MATRIX)
def test_yzt_check_fails_the_defect_on_its_own_requirement(runs, defect):
    status, report, junit, stderr = runs[defect]
    own = DEFECTS[defect].requirement
    assert status == 1, f"{defect}: exit {status}\n{stderr}"
    assert report.get("verdict") == "fail"
    primary = {f.get("requirement") for f in report.get("fixes", []) if f.get("primary")}
    assert own in primary, f"{defect}: {own} not among the primary fixes {sorted(map(str, primary))}"
    assert own in junit and "<failure" in junit
