"""Every command gives the same Verdict, and so the same exit status, for the same situation.

A situation (a failure, an incomplete run, a waiver, a warning) is staged once per results format,
through the runner's own judging code; then each command that judges it says its verdict: the
runner (conform, load, sim), ``yzt report`` on the result directory, and ``yzt check``'s report
over a check folder holding it. A format that cannot express a situation says so (None).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from yzt import resultfile
from yzt.cli import main
from yzt.conformance.runner import run_verdict as conform_run_verdict
from yzt.domain.topology import load_topology
from yzt.loadtests import results as load_results
from yzt.loadtests import thresholds
from yzt.sim.results import sla_run_verdict
from yzt.verdict import Verdict

SITUATIONS = {"failure": Verdict.FAIL, "incomplete": Verdict.INCOMPLETE, "waiver": Verdict.WAIVED,
              "warning": Verdict.WARNING, "nothing applicable": Verdict.NOT_APPLICABLE,
              "all pass": Verdict.PASS}
#: Situations a format can express but whose runner does not yet give the shared verdict.
PENDING: dict[tuple[str, str], str] = {}


# --- the situations, staged by each runner's own code --------------------------------------------

def _conform(situation: str, tmp: Path) -> dict[str, Any] | None:
    words = {"failure": ["pass", "warning", "fail"], "incomplete": ["pass", "incomplete"],
             "waiver": ["pass", "waived"], "warning": ["pass", "warning"],
             "nothing applicable": ["not_applicable"], "all pass": ["pass", "not_applicable"]}
    verdicts = [Verdict.parse(w) for w in words[situation]]
    checks = [{"requirement": "OIF-AUTH-1", "check": f"check_{i}", "verdict": v.value, "message": ""}
              for i, v in enumerate(verdicts)]
    return {"verdict": conform_run_verdict(verdicts).value, "operator_id": "R07", "checks": checks}


def _load(situation: str, tmp: Path) -> dict[str, Any] | None:
    if situation not in ("failure", "incomplete", "all pass"):
        return None  # load thresholds have no waivers and no warnings; card-count always has traffic
    raw = tmp / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    n = 200
    latency_ms = [5.0] * 180 + [301.0] * 20 if situation == "failure" else [5.0] * n
    rows = np.column_stack([np.zeros(n), np.linspace(0, 9, n), np.full(n, 0.001),
                            np.asarray(latency_ms) / 1000, np.zeros(n), np.ones(n)])
    np.save(raw / "rows-t-w0.npy", rows)
    scheduled = 1000 if situation == "incomplete" else n  # the generator fell behind
    (raw / "gen-t-w0.json").write_text(json.dumps({
        "tag": "t-w0", "scheduled": scheduled, "cpu_fraction": 0.05, "schema_checked": 0,
        "schema_examples": [], "schema_validation": True}), encoding="utf-8")
    limits = thresholds.from_profile(load_topology().get("R07").sla)
    doc: dict[str, Any] = load_results.evaluate(raw, limits, 20, 10).to_json()
    return doc


def _sim(situation: str, tmp: Path) -> dict[str, Any] | None:
    statuses = {"failure": ["pass", "fail", "not_applicable"], "all pass": ["pass", "not_applicable"],
                "nothing applicable": ["not_applicable"]}.get(situation)
    if statuses is None:
        return None  # simulated SLAs have no waivers or warnings, and a model run is never partial
    sla = [{"requirement": "SLA-DSP-1", "name": f"R{i:02d}", "verdict": s, "expected": "100 %",
            "value": None} for i, s in enumerate(statuses)]
    return {"verdict": sla_run_verdict(sla).value, "sla": sla, "scenario": {"name": "t"},
            "seed": 7, "replications": 2, "timeseries": {}}


FORMATS: dict[str, tuple[Callable[[str, Path], dict[str, Any] | None], str]] = {
    "conform": (_conform, "results.json"), "load": (_load, "results.json"),
    "sim": (_sim, "sim-results.json"),
}


# --- the commands that judge them ----------------------------------------------------------------

def _runner(fmt: str, doc: dict[str, Any], tmp: Path) -> tuple[Verdict, int]:
    verdict = Verdict.parse(doc["verdict"])
    return verdict, verdict.exit_code  # conform, load and sim return Verdict.exit_code


def _report(fmt: str, doc: dict[str, Any], tmp: Path) -> tuple[Verdict, int]:
    folder = tmp / fmt
    folder.mkdir()
    resultfile.write(folder / FORMATS[fmt][1], fmt, 1, doc)
    code = main(["report", str(folder), "--out", str(tmp / "report"), "--lang", "en"])
    data = json.loads((tmp / "report" / "report.json").read_text(encoding="utf-8"))
    return Verdict.parse(data["verdict"]), code


def _check(fmt: str, doc: dict[str, Any], tmp: Path) -> tuple[Verdict, int]:
    folder = tmp / "check"
    (folder / fmt).mkdir(parents=True)
    resultfile.write(folder / fmt / FORMATS[fmt][1], fmt, 1, doc)
    resultfile.write(folder / "check.json", "check", 1,
                     {"operator": "R07", "steps": {fmt: {"verdict": doc["verdict"]}}})
    code = main(["report", str(folder), "--lang", "zh"])
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return Verdict.parse(data["verdict"]), code


COMMANDS = {"runner": _runner, "report": _report, "check": _check}


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_same_situation_same_verdict_and_exit_status(command: str, fmt: str, situation: str,
                                                     tmp_path: Path) -> None:
    if (fmt, situation) in PENDING:
        pytest.skip(PENDING[fmt, situation])
    doc = FORMATS[fmt][0](situation, tmp_path)
    if doc is None:
        pytest.skip(f"{fmt} results cannot express a {situation}")
    expected = SITUATIONS[situation]
    verdict, code = COMMANDS[command](fmt, doc, tmp_path)
    assert (verdict, code) == (expected, expected.exit_code)


def test_the_matrix_is_not_all_skips(tmp_path: Path) -> None:
    """Every format stages a failure and a pass; every situation is staged by some format."""
    staged = {(fmt, s) for fmt, (stage, _) in FORMATS.items() for s in SITUATIONS
              if stage(s, tmp_path / fmt / s) is not None}
    assert {(fmt, s) for fmt in FORMATS for s in ("failure", "all pass")} <= staged
    assert {s for _, s in staged} == set(SITUATIONS)
