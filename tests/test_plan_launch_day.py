"""Minimality of a plan of the shipped ``launch-day`` at full scale (every query simulated).

The complete plan (42 operators, every resource) is the benchmark in docs/benchmarks.md, where
``yzt sim DIR/planned.yaml`` exits 0; here a subset (one carrier and one reseller, hotline and back
office) is planned through the command, and one unit less of each planned resource is simulated
again outside the planner's search: it breaks the row that binds the item (an SLA row or one of
the shipped service objectives, as plan.json names it), while the planned scenario itself (read
from ``planned.yaml`` as ``yzt sim`` reads it) meets the planned SLA and objective rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yzt.cli import main
from yzt.sim.plan import ItemKey, Planner, PlanOptions, fast_engine, judge, with_values
from yzt.sim.replicate import make_executor
from yzt.sim.scenario import load_scenario
from yzt.verdict import Verdict

OPERATORS = ("CMCC", "R01")


@pytest.fixture(scope="module")
def launch_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("launch-plan")
    code = main(["plan", "launch-day", "--operators", ",".join(OPERATORS),
                 "--resources", "hotline,backoffice", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_planned_rows_hold_and_one_unit_less_breaks_each(launch_plan: Path) -> None:
    data = json.loads((launch_plan / "plan.json").read_text(encoding="utf-8"))
    items = {(e["operator"], e["resource"]): e for e in data["items"]}
    assert set(items) == {(op, r) for op in OPERATORS for r in ("hotline", "backoffice")} - {
        ("CMCC", "hotline")}  # carriers' hotlines are outside the model
    for e in items.values():
        assert e["verdict"] == "pass" and e["planned"] != e["current"], e["operator"]
        assert e["one_unit_less"] and not any(t["holds"] for t in e["one_unit_less"]), e
        assert e["binding"], e  # the row that fails one unit less is named
        assert all(t["rows"][b] == "fail" for t in e["one_unit_less"] for b in e["binding"]
                   if b in t["rows"])
    # R01's hotline is sized to the shipped objective (95 % within 15 s), stricter than its SLA
    assert items[("R01", "hotline")]["objectives"] == ["OBJ-HOT-1"]
    assert items[("R01", "hotline")]["binding"] == ["OBJ-HOT-1"]
    # outside the planner's search: the planned scenario as `yzt sim` reads it, and one unit
    # less of each planned resource, simulated on the same seed and replications
    planned = load_scenario(str(launch_plan / "planned.yaml"))
    assert planned.one_in == 1 and planned.replications == data["replications"]
    variants = []
    for (op, resource), e in sorted(items.items()):
        less = tuple(v - 1 for v in e["planned"])
        assert min(less) >= 1
        variants.append((op, resource, with_values(planned, {ItemKey(resource, op): less})))
    with make_executor("local", threads=True) as ex:  # as the command: the memo it built
        pl = Planner(planned, PlanOptions(), ex, fast_engine)
        outs = pl.simulate([planned, *(v[2] for v in variants)])
    at_plan = judge(planned, [o["metrics"] for o in outs[0]], 0.95)
    rows = {(r["requirement"], r["name"]): r["verdict"] for r in at_plan.rows_mean}
    for op in OPERATORS:  # `yzt sim` judges the mean
        assert rows[("SLA-CXL-1", op)] == rows[("SLA-DSP-1", op)] == "pass", op
    assert rows[("SLA-HOT-1", "R01")] == rows[("OBJ-HOT-1", "R01")] == "pass"
    for (op, resource, s), less_outs in zip(variants, outs[1:], strict=True):
        judged = judge(s, [o["metrics"] for o in less_outs], data["confidence"])
        assert judged.holds(resource, op) is False, (op, resource)
        binding = items[(op, resource)]["binding"]
        scope = "platform" if op == "platform" else op
        assert any(judged.status(b, scope) is Verdict.FAIL for b in binding), (op, resource)
