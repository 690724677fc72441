"""SIGTERM to ``yzt check`` mid-run: the reference operator, the load step and Locust all stop; the
report is written, marked incomplete; the private work folder is gone."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_shutdown_load import described, survivors, wait_for_locust

pytestmark = pytest.mark.integration


def test_sigterm_to_check_leaves_no_child(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "yzt", "check", "--out", str(out), "--subjects", "100",
                             "--skip", "conform", "--load-duration", "60s", "--keep-work"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        tree = wait_for_locust(proc)
        kinds = " ".join(described(p) for p in tree)
        assert "yzt serve" in kinds and "yzt load" in kinds and "locust" in kinds, kinds
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 3, err
    time.sleep(0.5)
    assert survivors(tree) == []
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "incomplete"
    assert report["sections"][-1]["key"] == "interrupted"
    load = json.loads((out / "load" / "results.json").read_text(encoding="utf-8"))
    assert load["verdict"] == "incomplete" and load["interrupted"] == "SIGTERM"
    kept = next(line for line in err.splitlines() if "work folder kept" in line).rsplit(": ", 1)[1]
    assert Path(kept).stat().st_mode & 0o777 == 0o700  # the private work folder
    shutil.rmtree(kept)
