"""Calibration round trip: ``yzt serve`` with a known lognormal latency, ``yzt load``, then the fit.

The reference operator draws each answer's delay from a lognormal given by its median (p50) and
99th percentile, so sigma = ln(p99/p50) / z_0.99. A 20 s load run gives ~300 card-count
answers on a quiet machine (a busy one gives fewer: 15 s gave 230 quiet and 197 once on a loaded CI
machine, so the run is long enough that at least 200 remain); the maximum-likelihood
standard errors are about 1.25·sigma/sqrt(n) ≈ 3 % (median) and 1/sqrt(2n) ≈ 5 % (sigma). The
server adds its own time to each answer (a few ms, more on a busy machine), which raises the median
and shrinks sigma, so the profile's median is 300 ms to keep that small. Both
must land within 10 % of the profile.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from yzt.cli import main
from yzt.errors import UserError
from yzt.server.testing import DEFAULT_SECRET, running_server
from yzt.sim.calibrate import Calibration, apply_calibration, e2e_outlook, fit_load_run
from yzt.sim.scenario import load_scenario

P50_MS, P99_MS = 300.0, 750.0
Z99 = 2.3263478740408408
SIGMA = math.log(P99_MS / P50_MS) / Z99


@pytest.fixture(scope="module")
def load_run(tmp_path_factory: pytest.TempPathFactory, quiet_cores: None) -> Path:
    """A 20 s load run whose answer times are fitted: the rest of the run yields the cores to it
    (``quiet_cores``, tests/conftest.py)."""
    out = tmp_path_factory.mktemp("calibrate") / "load"
    with running_server(extra_args=["--latency-p50-ms", str(P50_MS),
                                    "--latency-p99-ms", str(P99_MS)]) as url:
        cmd = [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k1",
               "--seed", "7", "--subjects", "200", "--rate", "20", "--duration", "20s",
               "--out", str(out)]
        env = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180, check=False)
    assert (out / "raw").is_dir(), proc.stderr[-2000:]
    return out


@pytest.mark.integration
def test_fitted_median_and_sigma_within_10_percent(load_run: Path) -> None:
    cal = fit_load_run(load_run, "R07")
    assert cal.samples >= 200
    assert cal.median_ms == pytest.approx(P50_MS, rel=0.10)
    assert cal.sigma == pytest.approx(SIGMA, rel=0.10)
    assert cal.error_ratio == 0.0
    assert cal.capacity_rps is None


@pytest.mark.integration
def test_plan_with_calibration_writes_it_into_the_plan(load_run: Path, tmp_path: Path) -> None:
    src = tmp_path / "tiny.yaml"
    src.write_text(yaml.safe_dump({
        "version": 1, "extends": "baseline", "name": "tiny", "horizon_h": 24, "drain_h": 72,
        "replications": 3, "arrivals": {"queries_per_day": 500},
        "after_reply": {"dispute_share": 0}}), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["plan", str(src), "--operators", "R07", "--resources", "connections",
                 "--calibrate", f"R07={load_run}", "--executor", "serial", "--out", str(out),
                 "--quiet"])
    assert code == 0
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    (cal,) = data["calibration"]
    assert cal["operator"] == "R07" and cal["median_ms"] == pytest.approx(P50_MS, rel=0.10)
    assert cal["outlook"]["sla_e2e_1_planned"]["verdict"] == "pass"
    planned = yaml.safe_load((out / "planned.yaml").read_text(encoding="utf-8"))
    assert planned["operators"]["R07"]["latency"]["median_ms"] == pytest.approx(cal["median_ms"], abs=1e-3)
    assert main(["sim", str(out / "planned.yaml"), "--executor", "serial", "--quiet",
                 "--out", str(out / "sim")]) == 0


def test_fit_reads_the_raw_records_and_capacity(tmp_path: Path) -> None:
    """Synthetic raw records in the layout yzt load writes: the fit recovers what was drawn."""
    from yzt.loadtests.results import COLUMNS
    from yzt.loadtests.traffic import ENDPOINT_NAMES, KINDS

    rng = np.random.default_rng(3)
    n = 4000
    lat = np.exp(rng.normal(math.log(0.150), 0.6, n))
    rows = np.zeros((n, len(COLUMNS)))
    rows[:, COLUMNS.index("endpoint")] = ENDPOINT_NAMES.index("card-count")
    rows[:, COLUMNS.index("send_lag_s")] = 0.002
    rows[:, COLUMNS.index("latency_s")] = lat + 0.002
    rows[:200, COLUMNS.index("kind")] = KINDS.index("http_5xx")
    (tmp_path / "step-01" / "raw").mkdir(parents=True)
    (tmp_path / "step-02" / "raw").mkdir(parents=True)
    np.save(tmp_path / "step-01" / "raw" / "rows-0.npy", rows)
    np.save(tmp_path / "step-02" / "raw" / "rows-0.npy", rows[:10] * 100)  # the failing step
    (tmp_path / "capacity.json").write_text(json.dumps({
        "highest_sustainable_rate": 40.0,
        "steps": [{"rate": 40.0, "verdict": "pass"}, {"rate": 60.0, "verdict": "fail"}]}))
    cal = fit_load_run(tmp_path, "R07")
    assert cal.median_ms == pytest.approx(150.0, rel=0.03)
    assert cal.sigma == pytest.approx(0.6, rel=0.03)
    assert cal.error_ratio == pytest.approx(200 / n)
    assert cal.capacity_rps == 40.0
    sc = apply_calibration(load_scenario("launch-day"), "R07", cal)
    r07 = sc.operator("R07")
    assert r07.latency.median == pytest.approx(cal.median_ms / 1000.0, rel=1e-4)
    assert r07.concurrency == math.ceil(40.0 * cal.mean_latency_s)
    assert load_scenario("launch-day").operator("R08").latency == sc.operator("R08").latency
    outlook = e2e_outlook(sc, "R07", cal)
    assert outlook["peak_over_capacity"] > 1  # the ×8 surge of 500 000 a day is above 40 req/s
    assert "40 req/s" in outlook["meaning"]


def test_fit_refuses_a_folder_without_records(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no raw records"):
        fit_load_run(tmp_path, "R07")
    assert isinstance(Calibration, type)
