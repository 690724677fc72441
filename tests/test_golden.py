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

#: ``yzt sim SCENARIO -n 2 --seed 7``: every shipped scenario.
SIM_CASES = ("baseline", "launch-day", "national-day", "reseller-outage", "understaffed-hotlines")
#: ``yzt plan SCENARIO --seed 7``: the scenarios whose full plan takes seconds (every resource).
PLAN_CASES = ("baseline", "reseller-outage", "understaffed-hotlines")

GOLDEN = {
    "sim-baseline": "d049f50fbce9182276dd45bf66cfb5d8675057f5980da63137935b43ce82098c",
    "sim-launch-day": "0fbec80f61cb96363806ecb93a8f2dccd11f9baba84793d3d8d118c2c313ead4",
    "sim-national-day": "282ed81f9c1a96438a5b6c4fa378cd987e5c320820efbe8f536b951871ca2851",
    "sim-reseller-outage": "7546c9b6119b50f5f2d77f78d72c61af3cb03dee1f6bd706fe79cb4cb80e1a38",
    "sim-understaffed-hotlines": "fe7d39f077ca80210b3a25c13d42f723ea58ced9b233f1dba849b44e39889e30",
    "plan-baseline": "c671259bea29eb3baeb44bf30bb96e0733c6369513a71eb0dbdd7e8584e8a934",
    "plan-reseller-outage": "41dff48734244afc614f8945b7402dd8de0cc5f3a60d7ea134c9c67f324f5350",
    "plan-understaffed-hotlines": "d313e4d6fc8aba2807fdfd423ef9114f033f49ad2ca6721ddcfcf4f10eaf337a",
}


def _call(kind: str, scenario: str, out: Path) -> Path:
    """Run the command; a scenario that breaches its SLAs exits 1 and still writes its results."""
    if kind == "sim":
        status = main(["sim", scenario, "-q", "-n", "2", "--seed", "7", "--out", str(out)])
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
