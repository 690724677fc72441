"""Golden files: the shipped scenarios, simulated and planned at fixed seeds, write the same bytes.

The model's results are a public contract (CI jobs and dashboards read them), and a refactor of the
engines, the planner or the writers must not move a single byte of them. Each case runs the real
command in process and compares the SHA-256 of the file it wrote with the hash kept here. A hash
changes only with a deliberate change of the model or of the results format, made in the same
commit that says why; ``python tests/test_golden.py`` prints the hashes of the current code.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from yzt.cli import main

#: ``yzt sim SCENARIO -n N --seed 7 --executor serial``: every shipped scenario, with N. Two
#: replications where a replication takes a second (the results' means and intervals over several
#: replications are hashed too); one for the two full-scale days, whose replications take about 7
#: (launch-day) and 10 (national-day) CPU-s each and run the same code as the first.
SIM_CASES = {"baseline": 2, "launch-day": 1, "national-day": 1, "reseller-outage": 2,
             "understaffed-hotlines": 2}
#: ``yzt plan SCENARIO --seed 7``: the scenarios whose full plan takes seconds (every resource).
PLAN_CASES = ("baseline", "reseller-outage", "understaffed-hotlines")

GOLDEN = {
    "sim-baseline": "5cbe9a8f654a12670f98dff3c220c9b550020c192f1f3b5cdeae82a37037bbb5",
    "sim-launch-day": "df698933ee4bbb90d42fa45fd4681a52fe1b3248d6f25329100f9aa0157d99ce",
    "sim-national-day": "f328611b8ca685bebecb3291b530dd5696e9ce142891b5cc750d6faaed150ea5",
    "sim-reseller-outage": "791dc67b3a501cefae30e4d14624154899e4dc7bfef2c23fe8d1325c619ded09",
    "sim-understaffed-hotlines": "ec9b9c056e6ed301863178eeb2148d0d9952e40f3055f87384231cf23abed27c",
    "plan-baseline": "5d1f6409dadb91734fda91e42252b800e323d6ea5f127f63726eed31ad3a0bc9",
    "plan-reseller-outage": "3e84e773128c2c6271ac2eb4fa0f33f4a4644ac46abfa576ad1e2aaa8cbe4cfd",
    "plan-understaffed-hotlines": "1b96e7f4b420aff525f9ebb9251992ef5b941ff81a12bd3574db3c13ef476309",
}


def _call(kind: str, scenario: str, out: Path) -> Path:
    """Run the command; a scenario that breaches its SLAs exits 1 and still writes its results."""
    if kind == "sim":
        # the replications one after the other in this process, on the kernels it loaded once
        # (the local executor's two processes would each import yzt and load them again); that
        # the executors write the same results is tests/test_sim_model.py's to show
        status = main(["sim", scenario, "-q", "-n", str(SIM_CASES[scenario]), "--seed", "7",
                       "--executor", "serial", "--out", str(out)])
    else:
        status = main(["plan", scenario, "-q", "--seed", "7", "--out", str(out), "--lang", "en"])
    assert status in (0, 1), f"yzt {kind} {scenario} exited {status}"
    return out / ("sim-results.json" if kind == "sim" else "plan.json")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()




CASES = [("sim", s) for s in SIM_CASES] + [("plan", s) for s in PLAN_CASES]


@pytest.mark.parametrize(("kind", "scenario"), CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_results_are_byte_identical_to_the_golden_file(kind: str, scenario: str,
                                                       tmp_path: Path) -> None:
    written = _call(kind, scenario, tmp_path)
    assert _digest(written) == GOLDEN[f"{kind}-{scenario}"], (
        f"{written.name} of {kind} {scenario} changed; if the change is deliberate, run "
        "'python tests/test_golden.py' and keep the new hash with the reason in the commit")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for kind, scenario in CASES:
            path = _call(kind, scenario, Path(tmp) / f"{kind}-{scenario}")
            print(f'    "{kind}-{scenario}": "{_digest(path)}",', file=sys.stdout)
