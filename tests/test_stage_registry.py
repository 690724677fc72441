"""The stage registry: stages and resources are registered objects, and nothing else names them.

- The engines, results, planner and reports iterate the registry: a scan of their files finds no
  registered stage or resource name and none of the flow's words (it is shown to flag a seeded one).
- A toy stage with its own scenario section, SLA row and planned resource, registered from this
  file alone, is simulated after the engines and planned by the real planner: the plan finds the
  least capacity, and one unit less breaks its row.
"""

from __future__ import annotations

import ast
import dataclasses
import heapq
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from yzt.sim import stages
from yzt.sim.plan import Planner, PlanOptions, fast_engine, plan, with_values
from yzt.sim.records import ReplicationRecords
from yzt.sim.replicate import SerialExecutor
from yzt.sim.scenario import Scenario, from_document, load_scenario, merge
from yzt.sim.stages import contract as c
from yzt.sim.stages import sms as gateway
from yzt.verdict import Verdict

ROOT = Path(__file__).resolve().parent.parent
#: Files that must iterate the registry and name no stage or resource.
GENERIC = ("sim/plan.py", "sim/engine.py", "sim/results.py", "sim/fast.py", "sim/records.py")
#: Functions of a file that must (the rest of the file holds the typed scenario tree).
GENERIC_FUNCTIONS = {"sim/scenario.py": ("_sections", "_missing", "_rule_problems", "_operator",
                                         "scenario_schema")}
#: The flow's words besides the registered names (case-insensitive, as substrings).
WORDS = ("hotline", "backoffice", "back office", "back-office", "connections", "sms", "fanout",
         "fan-out", "dispute", "cancellation")


def _generic_files() -> list[Path]:
    reports = ROOT / "reports"
    return [*(ROOT / f for f in GENERIC), *sorted(reports.rglob("*.py")),
            *sorted(reports.rglob("*.html"))]


def _generic_text(path: str) -> str:
    """The generic part of a file: all of it, or its :data:`GENERIC_FUNCTIONS`."""
    text = (ROOT / path).read_text(encoding="utf-8")
    if path not in GENERIC_FUNCTIONS:
        return text
    found = {node.name: ast.get_source_segment(text, node) or ""
             for node in ast.walk(ast.parse(text)) if isinstance(node, ast.FunctionDef)}
    missing = [f for f in GENERIC_FUNCTIONS[path] if f not in found]
    assert missing == [], f"{path} has no function {missing} (update GENERIC_FUNCTIONS)"
    return "\n".join(found[f] for f in GENERIC_FUNCTIONS[path])


def forbidden_words() -> list[str]:
    names = {s.name for s in stages.stages()} | {r.name for r in stages.resources()}
    return sorted({w.lower() for w in (*names, *WORDS)})


def named_in(text: str, words: list[str]) -> list[tuple[int, str]]:
    """(line number, word) of every forbidden word in ``text``."""
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return [(n, m.group(0)) for n, line in enumerate(text.splitlines(), 1)
            for m in pattern.finditer(line)]


# -- the registry ----------------------------------------------------------------------------------
def test_the_registry_holds_the_model_in_flow_order() -> None:
    assert [s.name for s in stages.stages()] == ["frontdoor", "fanout", "sms", "hotline", "backoffice"]
    assert [r.name for r in stages.resources()] == ["hotline", "backoffice", "connections", "sms"]
    # every stage but the first receives from one registered before it in the flow
    order = {s.name: s.order for s in stages.stages()}
    for s in stages.stages()[1:]:
        assert s.after in order and order[s.after] < s.order, s.name


def test_the_registry_refuses_duplicates_and_orders_by_declaration() -> None:
    sms = stages.stage("sms")
    with pytest.raises(ValueError, match="stage 'sms' is already registered"):
        stages.register(sms)
    clash = c.Stage(name="another", order=999, doc="x", resources=(stages.resource("hotline"),))
    with pytest.raises(ValueError, match="resource 'hotline'"):
        stages.register(clash)
    with pytest.raises(ValueError, match="order 20"):
        stages.register(c.Stage(name="another", order=20, doc="x"))
    assert "another" not in [s.name for s in stages.stages()]
    # registered last, ordered by its declaration: between the gateway and the hotlines
    with stages.registered(c.Stage(name="between", order=25, doc="x")):
        names = [s.name for s in stages.stages()]
        assert names.index("sms") < names.index("between") < names.index("hotline")
    assert "between" not in [s.name for s in stages.stages()]


def test_the_architecture_page_lists_the_registered_stages() -> None:
    text = (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- stages:begin[^>]*-->\n(.*?)\n<!-- stages:end -->", text, re.DOTALL)
    assert block, "docs/architecture.md has no stages:begin/stages:end block"
    assert block.group(1) == stages.markdown_table(), (
        "docs/architecture.md's stage table differs from the registry: paste the output of "
        "python -c 'from yzt.sim import stages; print(stages.markdown_table())'")
    section = text[text.index("## Stages and resources"):text.index("## Children and signals")]
    for cls in (c.Stage, c.Resource):  # every field of the contract is described
        undescribed = [f.name for f in dataclasses.fields(cls) if f"`{f.name}" not in section]
        assert undescribed == [], (cls.__name__, undescribed)


# -- nothing generic names a stage -----------------------------------------------------------------
def test_engines_results_planner_and_reports_name_no_stage_or_resource() -> None:
    words = forbidden_words()
    hits = {str(p.relative_to(ROOT)): named_in(p.read_text(encoding="utf-8"), words)
            for p in _generic_files()}
    hits.update({f: named_in(_generic_text(f), words) for f in GENERIC_FUNCTIONS})
    assert {f: h for f, h in hits.items() if h} == {}


@pytest.mark.parametrize("path", [*GENERIC, *GENERIC_FUNCTIONS])
def test_the_scan_flags_a_name_seeded_into_each_generic_file(path: str) -> None:
    """Each scanned file is clean as it stands, and a stage's name in it is flagged."""
    text = _generic_text(path)
    assert named_in(text, forbidden_words()) == []
    seeded = text + '\n    if stage == "Sms":\n        pass\n'
    assert named_in(seeded, forbidden_words()) == [(len(seeded.splitlines()) - 1, "Sms")]


def test_the_scan_flags_a_seeded_name() -> None:
    """The scan can fail: a stage's name put back into the planner, a toy stage's name."""
    text = (ROOT / "sim/plan.py").read_text(encoding="utf-8")
    assert named_in(text, forbidden_words()) == []
    seeded = text.replace("def overrides(", 'if key.resource == "Hotline":\n    pass\n\n\ndef overrides(')
    assert named_in(seeded, forbidden_words()) == [(seeded.splitlines().index(
        'if key.resource == "Hotline":') + 1, "Hotline")]
    with stages.registered(c.Stage(name="callback_desk", order=77, doc="x")):
        assert named_in("x = 'CALLBACK_DESK'", forbidden_words()) == [(1, "CALLBACK_DESK")]


def test_both_engines_write_the_registered_time_series() -> None:
    """The time-series keys are declared once (``Stage.series``); the fast engine writes its own
    and is checked against them here."""
    from yzt.sim.engine import run_replication
    from yzt.sim.fast import run_replication_fast

    sc = from_document(merge(load_scenario("baseline").document,
                             {"arrivals": {"queries_per_day": 400}, "drain_h": 24}), "small")
    declared = {"t_h"} | {s.key for st in stages.stages() for s in st.series}
    records = {st.name: st.records for st in stages.stages()}
    for rec in (run_replication(sc, 1, 0), run_replication_fast(sc, 1, 0)):
        assert set(rec.timeseries) == declared
        # each stage's records are of the class it declares, in flow order
        assert {name: type(r) for name, r in rec.stages.items()} == records
        assert list(rec.stages) == list(records)


def test_the_fast_engine_refuses_a_stage_without_a_fast_part() -> None:
    """A stage with a SimPy part and none for the fast engine is named, not skipped."""
    from yzt.sim.fast import refusals

    sc = load_scenario("baseline")
    assert refusals(sc) == []
    with stages.registered(c.Stage(name="simpy_only", order=78, doc="x", after="sms",
                                   simpy=lambda model: None)):
        assert refusals(sc) == ["stage 'simpy_only' has no fast part (Stage.fast)"]


# -- a toy stage, registered from this file alone --------------------------------------------------
TOY = "callback_desk"
SHARE = "callback_in_time_share"


def _desk(sc: Scenario) -> dict[str, Any] | None:
    section: dict[str, Any] | None = sc.document.get(TOY)
    return section


def _derive(sc: Scenario, rec: ReplicationRecords) -> dict[str, Any]:
    """Every delivered reply asks for a call back at its delivery; ``agents`` agents call back
    first come, first served, each call taking ``service_s``: the waits."""
    desk = _desk(sc)
    if desk is None:
        return {"waits": []}
    arrivals = sorted(t for t in gateway.of(rec).sms_delivered if not math.isnan(t))
    free = [0.0] * desk["agents"]
    waits = []
    for t in arrivals:
        if not free:
            waits.append(math.inf)
            continue
        start = max(t, heapq.heappop(free))
        waits.append(start - t)
        heapq.heappush(free, start + desk["service_s"])
    return {"waits": waits, "target_s": desk["answer_within_s"]}


def _metrics(rec: ReplicationRecords, out: c.Metrics, distributions: bool) -> None:
    d = rec.stages.get(TOY)
    if d and d["waits"]:
        waits = np.asarray(d["waits"])
        out[c.PLATFORM][SHARE] = c.share(int((waits <= d["target_s"]).sum()), waits.size)
        out[c.PLATFORM]["callback_requests"] = float(waits.size)


def _rows(sc: Scenario, r: c.Reader) -> list[c.Row]:
    desk = _desk(sc)
    if desk is None:
        return []
    v = r.mean(c.PLATFORM, SHARE)
    return [c.row("SLA-CBK-1", c.PLATFORM, f"≥ 90 % called back within {desk['answer_within_s']:g} s",
                  v, None if v is None else v >= 0.9, r.ci(c.PLATFORM, SHARE), target=0.9)]


def _override(sc: Scenario, key: c.ItemKey, value: c.Value, doc: dict[str, Any]) -> None:
    doc.setdefault(TOY, {})["agents"] = int(value[0])


def _start(inp: c.GuessInput, key: c.ItemKey, current: c.Value) -> c.Start:
    """The fluid bound: the call-back work over the day."""
    desk = _desk(inp.sc)
    assert desk is not None
    work = np.mean(inp.details(TOY)) * desk["service_s"]
    g = max(1, math.ceil(work / (inp.sc.horizon_h * 3600.0)))
    return c.Start((g,), max(4 * g, g + 16, current[0]), 1)


def _infeasible(sc: Scenario, key: c.ItemKey) -> str | None:
    desk = _desk(sc)
    assert desk is not None
    return "no call back is ever quick enough" if desk["service_s"] <= 0 else None


TOY_RESOURCE = c.Resource(
    name=TOY, order=50, phase=3, coupling="separable", slas=("SLA-CBK-1",), metrics=(SHARE,),
    shared=True, per_operator=False, single=True,
    items=lambda sc, _scope: (c.ItemKey(TOY, c.PLATFORM),) if _desk(sc) is not None else (),
    current=lambda sc, key: (int(sc.document[TOY]["agents"]),),
    override=_override, start=_start, infeasible=_infeasible,
    details=lambda rec, hours: sum(1 for t in gateway.of(rec).sms_delivered if not math.isnan(t)),
)

TOY_STAGE = c.Stage(
    name=TOY, order=50, doc="receivers of a reply ask to be called back", section=(TOY,),
    schema={"type": "object", "additionalProperties": False,
            "required": ["agents", "service_s", "answer_within_s"],
            "properties": {"agents": {"type": "integer", "minimum": 0},
                           "service_s": {"type": "number", "minimum": 0},
                           "answer_within_s": {"type": "number", "exclusiveMinimum": 0}}},
    after="sms", requirements=("SLA-CBK-1",), derive=_derive, metrics=_metrics, sla_rows=_rows,
    pessimistic={SHARE: "ci_low"}, resources=(TOY_RESOURCE,),
)


def _toy_scenario() -> Scenario:
    base = load_scenario("baseline").document
    return from_document(merge(base, {"name": "callback", "replications": 3, "drain_h": 48,
                                      "arrivals": {"queries_per_day": 3000},
                                      TOY: {"agents": 1, "service_s": 240.0,
                                            "answer_within_s": 600.0}}), "callback")


def test_a_toy_stage_registered_here_is_planned_by_the_real_planner() -> None:
    with stages.registered(TOY_STAGE):
        sc = _toy_scenario()
        options = PlanOptions(resources=(TOY,), seed=3)
        doc = plan(sc, options, SerialExecutor(), fast_engine)
        (item,) = doc["items"]
        assert (item["operator"], item["resource"], item["slas"]) == ("platform", TOY, ["SLA-CBK-1"])
        assert item["current"] == [1] and item["verdict"] == Verdict.PASS.value, item
        k = item["planned"][0]
        assert k > 1 and item["at_planned"]["holds"]
        assert [t["value"] for t in item["one_unit_less"]] == [[k - 1]]
        assert not item["one_unit_less"][0]["holds"]
        assert doc["overrides"] == {TOY: {"agents": k}}
        # judged again on its own: k holds, k - 1 breaks SLA-CBK-1 at the plan's confidence
        pl = Planner(sc, options, SerialExecutor(), fast_engine)
        key = c.ItemKey(TOY, c.PLATFORM)
        for value, holds in ((k, True), (k - 1, False)):
            s = with_values(sc, {key: (value,)})
            judged = pl.judge(s, pl.simulate([s])[0])
            assert judged.holds(TOY, c.PLATFORM) is holds, value
            row = next(r for r in judged.rows_confident if r["requirement"] == "SLA-CBK-1")
            assert (Verdict.parse(row["verdict"]) is Verdict.PASS) is holds
    # unregistered again: the scenario section is unknown to the schema
    with pytest.raises(Exception, match=TOY):
        _toy_scenario()
