"""Service objectives and SLA profiles: scenario keys, judging, the planner, the flags.

Objectives (``objectives:``) are judged like SLA rows but reported apart (row kind ``objective``,
own ids) and the planner sizes each item to its SLA rows and its objectives together; plan.json
names the row that binds each item. SLA profiles (``sla_profile:``, ``--sla-profile``) set every
hotline's SLA-HOT-1 target from a published standard.

The planner cases are single M/M/c+M hotlines (R01 open around the clock, background calls only):
the plan must equal the least c Erlang A gives, for parameter sets where Erlang A's answer has a
margin 8 replications of 72 hours resolve (asserted first: at c the service level is at least
1.5 points above 95 %, at c - 1 at least 2 points below).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from plan_helpers import FixedVerdicts

from yzt.cli import main
from yzt.errors import InputFileError
from yzt.reports.fmt import pct
from yzt.sim.profiles import profile
from yzt.sim.scenario import load_scenario
from yzt.sim.stages.contract import fmt
from yzt.sim.theory import erlang_a

GBT = "gbt-33358-2016"
OBJ_HOT = {"id": "OBJ-HOT-1", "metric": "hotline_answered_within_share", "within_s": 15,
           "target": 0.95, "source": "GB/T 33358-2016 (test)"}


def hotline_scenario(tmp: Path, calls_per_h: float, handle_s: float, patience_s: float,
                     agents: int = 1, **over: Any) -> Path:
    """One M/M/c+M hotline (R01), open 72 h, background calls only, no calls from replies."""
    class Platform(dict[str, Any]):  # every other console metric: a plain value
        def __missing__(self, key: str) -> dict[str, Any]:
            return {"mean": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 5}

    doc: dict[str, Any] = {
        "version": 1, "extends": "baseline", "name": "one-hotline", "horizon_h": 72, "drain_h": 0,
        "replications": 8, "arrivals": {"queries_per_day": 20},
        "after_reply": {"hotline_share": 0, "dispute_share": 0, "cancellation_share": 0},
        "operators": {"defaults": {"reseller": {"hotline": {"enabled": False}}},
                      "R01": {"hotline": {"enabled": True,
                                          "shifts": [{"start_h": 0, "end_h": 24, "agents": agents}],
                                          "handle_time_mean_s": handle_s,
                                          "patience_mean_s": patience_s,
                                          "background_calls_per_h": calls_per_h,
                                          "repeat_call_share": 0}}},
        **over}
    path = tmp / f"hot-{calls_per_h:g}-{handle_s:g}-{patience_s:g}-{len(list(tmp.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def plan_r01(tmp: Path, scenario: Path, *flags: str) -> dict[str, Any]:
    out = tmp / f"plan-{scenario.stem}"
    code = main(["plan", str(scenario), "--operators", "R01", "--resources", "hotline",
                 "--engine", "fast", "--out", str(out), "-q", "--lang", "en", *flags])
    assert code == 0
    data: dict[str, Any] = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    return data


def _margin(calls: float, handle: float, patience: float, c: int) -> None:
    at, below = (erlang_a(n, calls / 3600, handle, patience, 15.0) for n in (c, c - 1))
    assert at.service_level >= 0.965 and at.p_abandon <= 0.035, at
    assert below.service_level <= 0.93, below


# -- the scenario keys -----------------------------------------------------------------------------
@pytest.mark.parametrize(("objective", "says"), [
    ({**OBJ_HOT, "metric": "reply_speed"}, "objectives[0].metric: unknown metric 'reply_speed'"),
    ({k: v for k, v in OBJ_HOT.items() if k != "within_s"}, "'within_s' is required"),
    ({**OBJ_HOT, "target": 95}, "objectives[0].target: 95 is a share"),
    ({**OBJ_HOT, "operators": ["R99"]}, "unknown operator 'R99'"),
    ({**OBJ_HOT, "id": "HOT-1"}, "objectives[0].id"),
])
def test_a_bad_objective_is_refused_naming_its_field(tmp_path: Path, objective: dict[str, Any],
                                                      says: str) -> None:
    path = hotline_scenario(tmp_path, 20, 120, 300, objectives=[objective])
    with pytest.raises(InputFileError) as err:
        load_scenario(str(path))
    assert says in str(err.value)


def test_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    path = hotline_scenario(tmp_path, 20, 120, 300, sla_profile="iso-9001")
    with pytest.raises(InputFileError) as err:
        load_scenario(str(path))
    assert "sla_profile" in str(err.value)
    with pytest.raises(SystemExit) as stop:
        main(["sim", "baseline", "--sla-profile", "iso-9001", "-q"])
    assert stop.value.code == 2


def test_shipped_objectives_name_a_source() -> None:
    for name in ("launch-day", "national-day"):
        sc = load_scenario(name)
        assert {o.id for o in sc.objectives} == {"OBJ-E2E-1", "OBJ-E2E-2", "OBJ-HOT-1"}
        assert all(o.source for o in sc.objectives)
    assert load_scenario("baseline").objectives == ()


# -- judging ---------------------------------------------------------------------------------------
def test_an_objective_is_judged_apart_and_fails_the_run_when_missed(tmp_path: Path) -> None:
    """Two agents meet the SLA (85 % within 15 s) but not a 95 % objective: the SLA rows pass,
    the objective's row, in its own list, fails, and `yzt sim` exits 1."""
    calls, handle, patience = 20.0, 120.0, 300.0
    assert profile("assumption").required_agents(calls, handle, patience) == 2
    path = hotline_scenario(tmp_path, calls, handle, patience, agents=2, objectives=[OBJ_HOT])
    out = tmp_path / "sim"
    assert main(["sim", str(path), "-q", "--out", str(out)]) == 1
    data = json.loads((out / "sim-results.json").read_text(encoding="utf-8"))
    assert [(r["requirement"], r["verdict"]) for r in data["sla"]
            if r["name"] == "R01" and r["verdict"] != "not_applicable"] == [("SLA-HOT-1", "pass")]
    assert not [r for r in data["sla"] if r["verdict"] == "fail"]
    assert all("kind" not in r for r in data["sla"])
    (obj,) = data["objectives"]
    assert (obj["requirement"], obj["name"], obj["kind"], obj["verdict"]) == (
        "OBJ-HOT-1", "R01", "objective", "fail")
    assert obj["value"] < 0.95 and obj["source"] == OBJ_HOT["source"]
    assert data["verdict"] == "fail" and "1 objective row(s) missed" in data["summary"]
    # the report shows them in a table of their own
    assert main(["report", str(out), "--out", str(tmp_path / "rep"), "--lang", "en"]) in (0, 1)
    md = tmp_path / "rep" / "report.md"
    text = md.read_text(encoding="utf-8")
    assert "Service objectives" in text and "OBJ-HOT-1" in text


# -- the planner -----------------------------------------------------------------------------------
def test_the_plan_sizes_to_the_objective_and_names_the_binding_row(tmp_path: Path) -> None:
    """Without the objective the SLA binds R01's hotline at 2 agents; with it, OBJ-HOT-1 binds at
    Erlang A's least c for 95 % within 15 s (3), and one agent less fails that row only."""
    calls, handle, patience = 20.0, 120.0, 300.0
    c = profile(GBT).required_agents(calls, handle, patience)
    _margin(calls, handle, patience, c)
    sla_only = plan_r01(tmp_path, hotline_scenario(tmp_path, calls, handle, patience))
    (e,) = sla_only["items"]
    assert e["planned"] == [c - 1] and e["binding"] == ["SLA-HOT-1"] and e["objectives"] == []
    both = plan_r01(tmp_path, hotline_scenario(tmp_path, calls, handle, patience,
                                               objectives=[OBJ_HOT]))
    (e,) = both["items"]
    assert e["planned"] == [c] and e["objectives"] == ["OBJ-HOT-1"]
    assert e["binding"] == ["OBJ-HOT-1"]
    (less,) = e["one_unit_less"]
    assert less["rows"] == {"SLA-HOT-1": "pass", "OBJ-HOT-1": "fail"}
    assert e["at_planned"]["rows"] == {"SLA-HOT-1": "pass", "OBJ-HOT-1": "pass"}
    assert "objectives" in both["rule"]


@pytest.mark.parametrize(("calls", "handle", "patience"),
                         [(20.0, 120.0, 300.0), (20.0, 300.0, 600.0), (60.0, 180.0, 600.0),
                          (120.0, 120.0, 300.0)])
def test_sla_profile_gbt_plans_the_least_erlang_a_agents(tmp_path: Path, calls: float,
                                                         handle: float, patience: float) -> None:
    """`--sla-profile gbt-33358-2016`: SLA-HOT-1 becomes 95 % within 15 s, and the plan equals the
    least c Erlang A gives for it (one more than the 85 % assumption on these sets)."""
    c = profile(GBT).required_agents(calls, handle, patience)
    _margin(calls, handle, patience, c)
    assert profile("assumption").required_agents(calls, handle, patience) < c
    data = plan_r01(tmp_path, hotline_scenario(tmp_path, calls, handle, patience), "--sla-profile", GBT)
    (e,) = data["items"]
    assert e["planned"] == [c], (calls, handle, patience, e["curve"])
    assert e["binding"] == ["SLA-HOT-1"]
    assert data["sla_profile"]["name"] == GBT
    assert [t["document"] for t in data["sla_profile"]["targets"]] == [
        "GB/T 33358-2016 《政府热线服务规范》"] * 3


def test_the_profile_flag_overrides_the_scenario_and_reaches_planned_yaml(tmp_path: Path) -> None:
    path = hotline_scenario(tmp_path, 20, 120, 300, agents=3, sla_profile="assumption")
    out = tmp_path / "sim"
    assert main(["sim", str(path), "-q", "--out", str(out), "--sla-profile", GBT]) == 0
    data = json.loads((out / "sim-results.json").read_text(encoding="utf-8"))
    (row,) = [r for r in data["sla"] if r["name"] == "R01" and r["requirement"] == "SLA-HOT-1"]
    assert row["target"] == 0.95 and row["expected"].startswith("≥ 95%")
    clauses = {t["field"]: t["clause"] for t in data["sla_profile"]["targets"]}
    assert "受理要求" in clauses["answered_share_min"]
    plan_dir = tmp_path / "plan"
    assert main(["plan", str(path), "--operators", "R01", "--resources", "hotline", "-q",
                 "--out", str(plan_dir), "--sla-profile", GBT, "--lang", "en"]) == 0
    planned = yaml.safe_load((plan_dir / "planned.yaml").read_text(encoding="utf-8"))
    assert planned["sla_profile"] == GBT
    again = load_scenario(str(plan_dir / "planned.yaml"))
    assert again.operator("R01").sla.hotline.answered_share_min == 0.95


# -- shares that fail are not rounded to 100 % -----------------------------------------------------
def test_a_failing_share_never_reads_100_percent() -> None:
    assert pct(0.9999974) == "99.9997%" and fmt(0.9999974) == "99.9997%"
    assert pct(1.0) == "100%" and fmt(1.0) == "100.00%"
    assert pct(0.977) == "97.7%" and fmt(0.977) == "97.70%"
    assert pct(2e-6) != "0.00%" and fmt(2e-6) != "0.00%"


# -- what the console says -------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_console_answers_current_to_planned_and_the_what_if_numbers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str) -> None:
    """Two hotlines (R01 and R02) under-staffed; only R01 is planned, with a what-if at twice the
    calls: the console shows R01's 1 → c with the row that binds it, the what-if table's numbers
    in the chosen language, and says R02 still breaches; planned.yaml says so and that
    `yzt sim planned.yaml` exits 1 on it, which it does."""
    r02 = {"hotline": {"enabled": True, "shifts": [{"start_h": 0, "end_h": 24, "agents": 1}],
                       "handle_time_mean_s": 120, "patience_mean_s": 300,
                       "background_calls_per_h": 40, "repeat_call_share": 0}}
    path = hotline_scenario(tmp_path, 20.0, 120.0, 300.0, replications=4)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["operators"]["R02"] = r02
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    out = tmp_path / "plan"
    assert main(["plan", str(path), "--operators", "R01", "--resources", "hotline", "--engine",
                 "fast", "--what-if", "load=1,2", "--out", str(out), "--lang", lang]) == 0
    text = capsys.readouterr().out
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    (e,) = data["items"]
    (w1, w2) = data["what_if"]
    assert w2["items"][0]["planned"][0] > w1["items"][0]["planned"][0]
    line = next(x for x in text.splitlines() if x.strip().startswith("R01"))
    assert f"1 → {e['planned'][0]}*" in line and "SLA-HOT-1" in line
    head = "业务量 ×2" if lang == "zh" else "load ×2"
    assert head in text
    wline = next(x for x in text.splitlines() if x.strip().startswith("R01 hotline"))
    assert wline.split()[-2:] == [str(w1["items"][0]["planned"][0]), str(w2["items"][0]["planned"][0])]
    assert ("yzt sim planned.yaml" in text) and ("SLA-HOT-1" in text.split("planned.yaml")[0])
    planned_text = (out / "planned.yaml").read_text(encoding="utf-8")
    assert "# Still breached where nothing was planned (1 row(s)); 'yzt sim planned.yaml' exits 1" \
        in planned_text
    assert "#   SLA-HOT-1 R02:" in planned_text and "(--operators)" in planned_text
    assert main(["sim", str(out / "planned.yaml"), "-q", "--out", str(tmp_path / "sim")]) == 1


def test_hours_read_as_day_and_clock() -> None:
    from yzt.reports.fmt import day_clock
    from yzt.reports.readers import read_plan

    assert [day_clock(h) for h in (0, 9, 33, 68)] == ["D1 00:00", "D1 09:00", "D2 09:00", "D3 20:00"]
    doc = {"scenario": {"name": "x"}, "verdict": "pass", "items": [{
        "operator": "R01", "resource": "hotline", "part": None, "current": [2], "planned": [3],
        "difference": [1], "analytic_guess": [3], "slas": ["SLA-HOT-1"], "verdict": "pass",
        "at_planned": {"metrics": {}}, "one_unit_less": [], "infeasible": None, "curve": [],
        "hourly": [{"hour": 33, "calls": 40.0, "load_erlangs": 2.8, "required": 4,
                    "current_agents": 2, "planned_agents": 3, "occupancy": 0.9}]}]}
    assert read_plan(doc, "en").tables[1].rows[0][0] == "D2 09:00"


# -- the planner's speed with objectives: first guess and early decision ----------------------------
def test_an_early_decision_fails_only_tries_the_rest_could_not_save() -> None:
    from yzt.sim.plan import cannot_recover

    assert cannot_recover([0.50, 0.52], 5, 0.99, "min", True)  # far below a 99 % floor
    assert not cannot_recover([0.985, 0.995], 5, 0.99, "min", True)  # could still make it
    assert not cannot_recover([1.0, 1.0], 5, 0.99, "min", True)
    assert cannot_recover([18000.0, 18500.0], 5, 600.0, "max", False)  # p95 hours, target 10 min
    assert not cannot_recover([590.0, 640.0], 5, 600.0, "max", False)
    assert not cannot_recover([0.5, 0.5], 2, 0.99, "min", True)  # nothing left to run: not early
    # a share is at most 1: three perfect replications cannot lift two at 90 % to 99 %
    assert cannot_recover([0.90, 0.99], 5, 0.99, "min", True)


def test_the_early_decision_is_wrong_rarely_at_its_stated_confidence() -> None:
    """Replications drawn around the target (the hardest case): the first two decide a try fails
    while all five would have passed at the mean in under 1 % of tries (99.5 % one-sided)."""
    import numpy as np

    from yzt.sim.plan import cannot_recover

    rng = np.random.default_rng(7)
    wrong = decided = 0
    trials = 4000
    for _ in range(trials):
        xs = rng.normal(600.0, 40.0, 5)
        if cannot_recover(list(xs[:2]), 5, 600.0, "max", False):
            decided += 1
            wrong += int(xs.mean() <= 600.0)
    assert decided > 0 and wrong / trials < 0.01, (decided, wrong)


def test_a_tighter_objective_raises_the_connections_first_guess() -> None:
    """The fluid bound fits the busy time into the busy hours plus the objective's time, not
    into the day plus the 48 h deadline: a 10-minute objective over a peaked day asks for many
    times the connections the deadline does."""
    from yzt.sim.scenario import load_scenario
    from yzt.sim.stages import GuessInput
    from yzt.sim.stages.contract import fluid_bound
    from yzt.sim.stages.fanout import connections_guess, connections_guess_within

    assert fluid_bound([1.0] * 24, 86_400.0, 0.0) == pytest.approx(1.0)
    assert fluid_bound([0, 10, 0], 3600.0, 3600.0) == pytest.approx(0.5)
    sc = load_scenario("launch-day")
    per_hour = [100] * 24 + [0] * 48
    per_hour[9] = 2400  # a surge: half of the day's queries in one hour
    base = [{"metrics": {"platform": {"queries_verified": 9700.0},
                         "CMCC": {"attempts_per_query": 1.0, "error_share": 0.0,
                                  "latency_mean_ms": 20_000.0, "timeouts": 0.0}},
             "details": {"connections": {"verified_per_hour": per_hour}}}]
    deadline = connections_guess(sc, "CMCC", base)
    tight = connections_guess_within(GuessInput(sc, base, 72, {"connections": 600.0}), "CMCC")
    busy = 9700.0 * 20.0
    assert deadline == max(1, -(-busy // (72 * 3600)))
    assert tight == -(-(busy * 2400 / sum(per_hour)) // 4200) and tight > 10 * deadline
    # the planner passes the tightest time of the objectives that bind the resource
    from yzt.sim.plan import tightest_s

    assert tightest_s(sc, "connections") == 600.0 and tightest_s(sc, "sms") == 600.0
    assert tightest_s(sc, "hotline") == 15.0 and tightest_s(load_scenario("baseline"), "sms") is None


def test_a_failing_100_percent_row_shows_the_count_late() -> None:
    """0.9999974 of 1.36 M replies reads as a count ("4 of 1.36 M replies after 48 h") in the
    report (both languages) and in yzt sim's console; a row that holds shows no count."""
    from yzt.reports.readers import read_sim
    from yzt.sim.results import late_count, summary_text

    row = {"requirement": "SLA-E2E-1", "name": "platform", "verdict": "fail", "value": 0.9999974,
           "ci_low": 0.999995, "ci_high": 0.9999998, "target": 1.0,
           "expected": "100 % replied within 48 h"}
    class Platform(dict[str, Any]):  # every other console metric: a plain value
        def __missing__(self, key: str) -> dict[str, Any]:
            return {"mean": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 5}

    doc: dict[str, Any] = {
        "verdict": "fail", "scenario": {"name": "x", "document": {"platform": {"deadline_h": 48}}},
        "seed": 1, "replications": 5, "sampling": {"one_in": 1}, "engine": "fast",
        "metrics": {"platform": Platform(queries_verified={"mean": 1_360_000.0, "ci_low": 1e6,
                                                           "ci_high": 2e6, "n": 5}),
                    "operators": {}},
        "sla": [row], "timeseries": {}}
    assert late_count(0.9999974, 1_360_000) == 4 and late_count(0.9999999999, 1e6) == 1
    assert late_count(1.0, 1e6) == 0
    en = read_sim(doc, "en").rows[0].measured
    assert "100%" not in en and "100.0" not in en and en.endswith("; 4 of 1.36 M replies after 48 h"), en
    assert read_sim(doc, "zh").rows[0].measured.endswith("136 万 条回复中 4 条晚于 48 小时")
    assert "4 of 1.36 M replies after 48 h" in summary_text(doc)
    held = {**doc, "sla": [{**row, "verdict": "pass", "value": 1.0}]}
    assert "replies after" not in read_sim(held, "en").rows[0].measured
    assert "replies after" not in summary_text(held)


def test_hours_on_plot_axes_read_as_day_and_clock() -> None:
    """A run's time axis is labelled D1 09:00 (not 9, 33, 57), a day's roster 09:00; head-count
    axes take integer ticks only."""
    from matplotlib.figure import Figure

    from yzt.reports.plots import _clock_ticks

    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 72], [0, 1])
    _clock_ticks(ax, 72, day=True)
    fmt_x = ax.xaxis.get_major_formatter()
    assert [fmt_x(v, 0) for v in (9, 33, 60)] == ["D1 09:00", "D2 09:00", "D3 12:00"]
    ticks = ax.xaxis.get_major_locator().tick_values(0, 72)
    assert [v for v in ticks if 0 <= v <= 36] == [0, 12, 24, 36]
    _clock_ticks(ax, 24, day=False)
    assert ax.xaxis.get_major_formatter()(21, 0) == "21:00"


def test_planned_yaml_names_what_was_not_planned() -> None:
    """planned.yaml's head says which resources and operators were left out, which items could
    not be planned (infeasible) and what still breaches; with nothing left out it says so."""
    from yzt.sim.plan import RESOURCES, unplanned_comment

    item = {"operator": "R05", "resource": "connections", "part": None,
            "infeasible": {"reason": "outage at 10 h lasts 60 h"}}
    doc = {"resources": ["connections"], "operators_selected": True, "operators": ["R05"],
           "items": [item], "confirmation": {"breached_outside_plan": [
               {"requirement": "SLA-HOT-1", "name": "R02", "expected": "≥ 85 % within 15 s"}]}}
    text = unplanned_comment(doc, "yzt sim planned.yaml")
    assert f"# Not planned (--resources): {', '.join(r for r in RESOURCES if r != 'connections')}." \
        in text
    assert "# Planned only for the operators R05 (--operators)" in text
    assert "# Not planned (infeasible, kept at the scenario's value): R05 connections: outage" in text
    assert "'yzt sim planned.yaml' exits 1 on them:\n#   SLA-HOT-1 R02: ≥ 85 % within 15 s" in text
    whole = {"resources": list(RESOURCES), "operators": ["R05"], "items": [{**item, "infeasible": None}],
             "confirmation": {"breached_outside_plan": []}}
    assert unplanned_comment(whole, "yzt sim planned.yaml") == "# Nothing breaches outside the plan.\n"


def test_lower_values_that_hold_together_are_committed_as_many_as_the_row_allows() -> None:
    """Eight operators each one connection lower hold on their own, but the shared row has room
    for five of them: the commit finds the longest first part that holds together (five, by
    bisection on its length), not only half of them, so a search with little slack left (an
    objective) does not take one round per operator."""
    from typing import cast

    from yzt.sim.plan import ItemKey, Judged, Planner, PlanOptions, fast_engine
    from yzt.sim.replicate import SerialExecutor
    from yzt.sim.scenario import Scenario

    ops = [f"R0{i}" for i in range(1, 9)]

    class Rule(Planner):
        def simulate(self, scenarios: Any, upto: str = "all", details: bool = False,
                     reps: Any = None) -> Any:
            self.runs += len(scenarios)
            return [[{"scenario": s}] * len(reps or range(self.n)) for s in scenarios]

        def judge(self, sc: Scenario, outs: Any) -> Judged:
            ok = sum(sc.operator(op).concurrency or 0 for op in ops) >= 8 * 3 - 5
            return cast(Judged, FixedVerdicts(ok))

    pl = Rule(load_scenario("baseline"), PlanOptions(), SerialExecutor(), fast_engine)
    keys = [ItemKey("connections", op) for op in ops]
    base = dict.fromkeys(keys, (3,))
    committed = pl._commit(keys, dict.fromkeys(keys, (2,)), base, lambda k: {"holds": True},
                           set(), predicted=len(keys), hints=False)
    assert list(committed) == keys[:5]
    assert all(e["holds"] for e in committed.values())
    # tries alone that stopped at hints, the bisection starting from a predicted part of two:
    # still the longest part
    assert list(pl._commit(keys, dict.fromkeys(keys, (2,)), base, lambda k: {"holds": True},
                           set(), predicted=2, hints=True)) == keys[:5]
    # then each other lowering with those committed, one by one: each fails, and is settled
    committed = {k: {"holds": True} for k in keys[:5]}
    failed: dict[ItemKey, dict[str, Any]] = {}
    pl._one_by_one(keys, dict.fromkeys(keys, (2,)),
                   {**base, **dict.fromkeys(keys[:5], (2,))}, committed, failed, set())
    assert list(committed) == keys[:5] and list(failed) == keys[5:]
