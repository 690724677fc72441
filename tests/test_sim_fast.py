"""The fast engine against the SimPy engine (the reference) and against queueing theory.

Three kinds of evidence:

- exact: the same (arrival, service, patience) arrays through a SimPy ``Station`` and through the
  compiled recursion give identical start and leave times, with shifts and abandonment; and whole
  replications give identical fan-out and SMS records (same keyed streams, same draw order);
- statistical: on every shipped scenario (shortened), each compared metric's 95 % confidence
  intervals over replications of the two engines overlap; the same on random small scenarios
  (hypothesis);
- theory: Erlang C and Erlang A at scenario level (one hotline open around the clock, background
  calls only), with the tolerances of tests/test_sim_theory.py.
"""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yzt.sim import fastqueue as fq
from yzt.sim import kernels
from yzt.sim.callcentre import agents_at, roster
from yzt.sim.engine import run_replication
from yzt.sim.fast import refusals, run_replication_fast, steps
from yzt.sim.kernels import CALLBACK_AFTER_OPENING_MEAN_S
from yzt.sim.replicate import choose_engine
from yzt.sim.results import replication_metrics
from yzt.sim.scenario import Scenario, Shift, load_scenario, shipped_scenarios, with_overrides
from yzt.sim.stages import fanout, frontdoor, hotline
from yzt.sim.stages import sms as gateway
from yzt.sim.station import Job, Station
from yzt.sim.stats import estimate
from yzt.sim.theory import erlang_a, erlang_c

# -- exact: one station, identical inputs ------------------------------------------------------------


class _Fixed(Job):
    __slots__ = ("leave", "service")

    def __init__(self, service: float) -> None:
        super().__init__()
        self.service = service
        self.leave = math.nan

    def begin(self, now: float) -> float:
        return self.service

    def finish(self, now: float) -> None:
        self.leave = now

    def abandon(self, now: float) -> None:
        self.leave = now


def _simpy_station(arr: np.ndarray, svc: np.ndarray, pat: np.ndarray, shifts: tuple[Shift, ...],
                   end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and leave times (inf: never) and the arrival times SimPy's clock actually took
    (``now + (a - now)`` may differ from ``a`` in the last bit)."""
    env = simpy.Environment()
    station = Station(env, "s", agents_at(shifts, 0.0))
    env.process(roster(env, station, shifts, end))
    jobs = [_Fixed(float(s)) for s in svc]

    def feed() -> Any:
        for job, a, p in zip(jobs, arr, pat, strict=True):
            yield env.timeout(float(a) - env.now)
            station.arrive(job, float(p))

    env.process(feed())
    env.run(until=end)
    start = np.array([math.inf if math.isnan(j.started) else j.started for j in jobs])
    leave = np.array([j.leave if not math.isnan(j.leave) else math.inf for j in jobs])
    return start, leave, np.array([j.arrived for j in jobs])


def _fast_station(arr: np.ndarray, svc: np.ndarray, pat: np.ndarray, shifts: tuple[Shift, ...],
                  end: float) -> tuple[np.ndarray, np.ndarray]:
    fq.check_cache()
    bp = steps(shifts, end)
    n = arr.size
    empty = np.zeros(1)
    # service is the draw times the job's scale (svc given as the scale, draws of 1); patience is
    # its mean (1) times the draw (pat given as the draws)
    jobs = kernels.StationJobs(arrival=arr, flags=np.zeros(n, np.int64), scale=svc)
    station = kernels.StationParams(shift_start_s=bp[0], shift_servers=bp[1], patience_mean_s=1.0,
                                    repeat_share=0.0, repeat_delay_mean_s=0.0,
                                    callback_mean_s=kernels.CALLBACK_AFTER_OPENING_MEAN_S)
    draws = kernels.StationDraws(patience=pat, service=np.ones(n), repeat_u=empty,
                                 repeat_e=empty, offset=empty)
    dest = kernels.StationOutputs(
        inc_queue=np.zeros(10, np.int64), inc_busy=np.zeros(10, np.int64),
        job_id=np.empty(n, np.int64), job_arrival=np.empty(n), job_start=np.empty(n),
        job_leave=np.empty(n), job_flags=np.empty(n, np.int64))
    out = fq.staffed_station(jobs, station, draws, kernels.Clock(end_s=end, step_s=3600.0), dest)
    assert out[fq.S_STATUS] == kernels.DONE
    start = np.where(dest.job_start < end, dest.job_start, math.inf)
    leave = np.where(dest.job_leave < end, dest.job_leave, math.inf)
    return start, leave


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_station_departures_match_simpy_exactly(seed: int) -> None:
    # Overloaded at times (shift changes from 3 to 1 to 0 agents), exponential patience: the
    # start and leave time of every job must be bit for bit the SimPy ones.
    rng = np.random.default_rng(seed)
    end = 2 * 86_400.0
    arr = np.sort(rng.uniform(0.0, end * 0.9, 1500))
    svc = rng.exponential(300.0, arr.size)
    pat = rng.exponential(600.0, arr.size)
    shifts = (Shift(0.0, 8.0, 1), Shift(8.0, 18.0, 3), Shift(18.0, 22.0, 1))
    s_start, s_leave, arrived = _simpy_station(arr, svc, pat, shifts, end)
    f_start, f_leave = _fast_station(arrived, svc, pat, shifts, end)
    assert np.isinf(s_start).sum() > 50, "the case must include abandonment"
    assert np.array_equal(s_start, f_start)
    assert np.array_equal(s_leave, f_leave)


def test_station_departures_detect_swapped_service_times() -> None:
    # The comparison is sharp: the same service times given to other jobs change departures.
    rng = np.random.default_rng(9)
    arr = np.sort(rng.uniform(0.0, 3600.0, 200))
    svc = rng.exponential(40.0, arr.size)
    pat = np.full(arr.size, math.inf)
    shifts = (Shift(0.0, 24.0, 2),)
    s_start, _, arrived = _simpy_station(arr, svc, pat, shifts, 86_400.0)
    f_start, _ = _fast_station(arrived, svc, pat, shifts, 86_400.0)
    assert np.array_equal(s_start, f_start)
    f_start, _ = _fast_station(arrived, svc[::-1].copy(), pat, shifts, 86_400.0)
    assert not np.array_equal(s_start, f_start)


# -- the kernels' interface: named codes ------------------------------------------------------------

_SIM = Path(__file__).resolve().parent.parent / "sim"
_WATCHED = ("status", "outcome", "mode")
"""Identifiers (case-insensitive suffix) whose values are kernel codes from yzt.sim.kernels."""


def _watched(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript):  # out[F_STATUS], not sizes[STATION_SHORT[status]]
        return isinstance(node.slice, ast.Name | ast.Attribute) and _watched(node.slice)
    name = node.id if isinstance(node, ast.Name) else node.attr \
        if isinstance(node, ast.Attribute) else ""
    return name.lower().endswith(_WATCHED)


def _int(node: ast.AST) -> bool:
    if isinstance(node, ast.IfExp):
        return _int(node.body) or _int(node.orelse)
    return isinstance(node, ast.Constant) and type(node.value) is int


def bare_codes(source: str) -> list[str]:
    """Places where ``source`` writes a kernel code as a bare integer: a comparison, assignment or
    arithmetic of a status/outcome/mode with an int literal, a bit operation with an int literal
    (flag bits), a dict keyed by int literals (a status map), the callback delay's number."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_watched(x) for x in sides) and any(_int(x) for x in sides):
                found.append(f"{line}: compares a code with an integer")
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_watched(t) for t in targets) and _int(node.value):
                found.append(f"{line}: assigns an integer code")
        elif isinstance(node, ast.BinOp):
            sides = [node.left, node.right]
            if isinstance(node.op, ast.BitAnd | ast.BitOr | ast.BitXor) and any(map(_int, sides)):
                found.append(f"{line}: a flag bit as an integer")
            elif any(_watched(x) for x in sides) and any(map(_int, sides)):
                found.append(f"{line}: arithmetic on a code")
        elif isinstance(node, ast.Dict) and any(k is not None and _int(k) for k in node.keys):
            found.append(f"{line}: a map keyed by integer codes")
        elif isinstance(node, ast.Constant) and node.value == CALLBACK_AFTER_OPENING_MEAN_S \
                and type(node.value) is float:
            found.append(f"{line}: the callback delay as a number")
    return sorted(found, key=lambda f: int(f.split(":")[0]))


@pytest.mark.parametrize("name", ["fast.py", "fastqueue.py"])
def test_kernels_and_callers_name_their_codes(name: str) -> None:
    assert bare_codes((_SIM / name).read_text(encoding="utf-8")) == []


def test_bare_code_scan_finds_each_kind() -> None:
    # the forms the kernels and their callers used before the codes had names
    old = """
if outcome == 1:
    errors += 1
outcome = 1 if u < ratio else 0
out[F_STATUS] = 3
size[status - 1] *= 2
if out[fq.S_STATUS] == 0:
    pass
push(h, (t, (fl & 2) | 1))
key = {1: "patience", 3: "service"}.get(status)
o += 600.0 * off[used]
"""
    assert [f.split(": ", 1)[0] for f in bare_codes(old)] == \
        ["2", "4", "5", "6", "7", "9", "9", "10", "11"]


def test_station_reports_named_statuses_and_flags() -> None:
    fq.check_cache()
    n = 40
    arr = np.arange(n, dtype=float)
    empty = np.zeros(1)
    jobs = kernels.StationJobs(arrival=arr, flags=np.full(n, kernels.FLAG_FROM_PLATFORM, np.int64),
                               scale=np.full(n, 100.0))
    station = kernels.StationParams(shift_start_s=np.zeros(1), shift_servers=np.ones(1),
                                    patience_mean_s=1.0, repeat_share=0.0,
                                    repeat_delay_mean_s=0.0, callback_mean_s=600.0)

    def run(patience: np.ndarray, room: int) -> tuple[int, np.ndarray]:
        dest = kernels.StationOutputs(
            inc_queue=np.zeros(4, np.int64), inc_busy=np.zeros(4, np.int64),
            job_id=np.empty(room, np.int64), job_arrival=np.empty(room), job_start=np.empty(room),
            job_leave=np.empty(room), job_flags=np.empty(room, np.int64))
        draws = kernels.StationDraws(patience=patience, service=np.ones(n), repeat_u=empty,
                                     repeat_e=empty, offset=empty)
        out = fq.staffed_station(jobs, station, draws, kernels.Clock(end_s=10_000.0, step_s=3600.0),
                                 dest)
        return int(out[fq.S_STATUS]), dest.job_flags[:int(out[fq.S_N_JOBS])]

    assert run(np.full(n // 2, 5.0), n)[0] == kernels.STATION_SHORT_PATIENCE
    assert run(np.full(n, 5.0), n // 2)[0] == kernels.STATION_SHORT_JOBS
    status, flags = run(np.full(n, 5.0), n)  # one server, 100 s each, 5 s patience
    assert status == kernels.DONE
    assert set(flags.tolist()) == {kernels.FLAG_FROM_PLATFORM,
                                   kernels.FLAG_FROM_PLATFORM | kernels.FLAG_ABANDONED}


def test_cached_kernels_follow_a_changed_code(tmp_path: Path) -> None:
    # numba keys its disk cache on sim/fastqueue.py alone: kernels cached while a code had another
    # value must be recompiled, not served (here the other value is patched in before import)
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    patched = ("from yzt.sim import kernels; kernels.FLAG_ABANDONED = 8\n"
               "from yzt.sim import fastqueue as fq\n")
    plain = "from yzt.sim import fastqueue as fq\n"
    check = "print(fq.check_cache(), fq._frozen_codes()[9])"

    def run(prelude: str) -> str:
        return subprocess.run([sys.executable, "-c", prelude + check], env=env, check=True,
                              capture_output=True, text=True).stdout.split()

    assert run(patched) == ["False", "8"]  # compiled and cached with 8
    assert run(plain) == ["True", str(kernels.FLAG_ABANDONED)]  # stale: recompiled
    assert run(plain) == ["False", str(kernels.FLAG_ABANDONED)]


# -- exact: fan-out and SMS of whole replications -------------------------------------------------


def _congested() -> Scenario:
    """Small pools, an outage of each mode, a slow SMS gateway: queues everywhere."""
    return with_overrides(
        load_scenario("reseller-outage"), horizon_h=3.0, drain_h=72.0,
        operators={"defaults": {"reseller": {"concurrency": 1}, "carrier": {"concurrency": 2}},
                   "R05": {"outages": [{"start_h": 1, "duration_h": 1, "mode": "refuse"}]},
                   "R07": {"outages": [{"start_h": 0.5, "duration_h": 1, "mode": "timeout"}],
                           "retry": {"max_attempts": 3}}},
        sms={"rate_per_s": 0.2, "channels": 2})


def test_fanout_and_sms_are_the_simpy_records_draw_for_draw() -> None:
    sc = _congested()
    a = run_replication(sc, seed=3, replication=1)
    b = run_replication_fast(sc, seed=3, replication=1)
    assert frontdoor.of(a) == frontdoor.of(b)
    fa, fb = fanout.of(a), fanout.of(b)
    assert np.array_equal(np.array(fa.fanout_done), np.array(fb.fanout_done), equal_nan=True)
    assert fa.complete == fb.complete and not all(fa.complete)  # R07 gives up on some
    ga, gb = gateway.of(a), gateway.of(b)
    assert np.array_equal(np.array(ga.sms_delivered), np.array(gb.sms_delivered), equal_nan=True)
    assert ga.sms_failures == gb.sms_failures
    assert a.operators == b.operators == [op.id for op in sc.operators]
    for op in a.operators:
        assert fa.operators[op] == fb.operators[op], op
    queued = 0
    for x, y in zip(a.stations, b.stations, strict=True):
        assert x.name == y.name
        if x.name.endswith(("/fanout", "sms")):
            assert (x.arrivals, x.started, x.max_queue) == (y.arrivals, y.started, y.max_queue), x.name
            for f in ("wait_sum", "queue_area", "busy_area", "service_sum"):
                assert getattr(y, f) == pytest.approx(getattr(x, f), rel=1e-9, abs=1e-9), (x.name, f)
            queued += x.max_queue > 0
    assert queued > 10
    for k in ("t_h", "fanout_queue", "fanout_in_flight", "sms_backlog"):
        assert a.timeseries[k] == b.timeseries[k], k


# -- statistical: every shipped scenario -----------------------------------------------------------

#: Metrics compared between engines (platform scope and, for operators, the first of each kind).
PLATFORM_METRICS = (
    "e2e_p50_s", "e2e_p95_s", "e2e_p99_s", "e2e_within_deadline_share", "fanout_p99_s",
    "sms_backlog_max", "sms_failures", "hotline_offered", "hotline_service_level",
    "hotline_abandonment", "disputes", "dispute_within_deadline_share", "cancellations",
    "cancellation_within_deadline_share",
)
OPERATOR_METRICS = ("attempts_per_query", "error_share", "gave_up_queries",
                    "hotline_service_level", "hotline_abandonment")


def shortened(name: str) -> Scenario:
    """A shipped scenario cut to a size SimPy runs in about a second a replication."""
    sc = load_scenario(name)
    arrivals: dict[str, Any] = {"queries_per_day": min(sc.arrivals.queries_per_day, 40_000.0)}
    if sc.arrivals.surges:  # keep the first surge, moved inside the shortened horizon
        s = sc.arrivals.surges[0]
        arrivals["surges"] = [{"start_h": 1.0, "peak_multiplier": s.peak_multiplier,
                               "decay_h": 1.0}]
    return with_overrides(sc, horizon_h=3.0, drain_h=72.0, arrivals=arrivals)


def compare(sc: Scenario, reps: int, seed: int = 1) -> list[tuple[str, str, Any, Any]]:
    """(scope, metric, SimPy estimate, fast estimate) for the compared metrics."""
    ma = [replication_metrics(run_replication(sc, seed, r)) for r in range(reps)]
    mb = [replication_metrics(run_replication_fast(sc, seed, r)) for r in range(reps)]
    rows = []
    scopes = [("platform", PLATFORM_METRICS), ("CMCC", OPERATOR_METRICS), ("R07", OPERATOR_METRICS)]
    for scope, names in scopes:
        for name in names:
            if name not in ma[0][scope]:
                continue
            rows.append((scope, name, estimate([m[scope][name] for m in ma]),
                         estimate([m[scope][name] for m in mb])))
    return rows


def overlap(a: Any, b: Any) -> bool:
    if a.n == 0 and b.n == 0:
        return True
    if math.isnan(a.low) or math.isnan(b.low):  # fewer than 2 values: compare the means
        return bool(a.mean == b.mean)
    return bool(a.low <= b.high and b.low <= a.high)


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_engines_agree_on_every_shipped_scenario(name: str) -> None:
    sc = shortened(name)
    assert choose_engine(sc, "auto") == ("fast", "")
    rows = compare(sc, reps=6)
    assert len(rows) >= 20
    bad = [f"{s}.{m}: SimPy {a.mean:.4g} [{a.low:.4g}, {a.high:.4g}] fast {b.mean:.4g} "
           f"[{b.low:.4g}, {b.high:.4g}]" for s, m, a, b in rows if not overlap(a, b)]
    assert not bad, bad


def test_agreement_check_detects_a_real_difference() -> None:
    # The same comparison flags a hotline with 1 agent instead of 2 (run on the fast engine).
    sc = shortened("baseline")
    fewer = with_overrides(sc, operators={"R07": {"hotline": {"shifts": [
        {"start_h": 9, "end_h": 21, "agents": 1}]}}})
    a = [replication_metrics(run_replication_fast(sc, 1, r))["R07"] for r in range(6)]
    b = [replication_metrics(run_replication_fast(fewer, 1, r))["R07"] for r in range(6)]
    ea = estimate([m["hotline_service_level"] for m in a])
    eb = estimate([m["hotline_service_level"] for m in b])
    assert not overlap(ea, eb), (ea, eb)


# -- theory: Erlang C and A at scenario level ------------------------------------------------------

LAM = 100 / 1800.0
AHT = 180.0
TARGET = 20.0


def _erlang_scenario(agents: int, patience: float | None) -> Scenario:
    """R01's hotline open 24 h with Poisson background calls only; every other hotline off."""
    off = {"hotline": {"enabled": False}}
    hot = {"enabled": True, "shifts": [{"start_h": 0, "end_h": 24, "agents": agents}],
           "handle_time_mean_s": AHT, "handle_time_sigma": None, "patience_mean_s": patience,
           "background_calls_per_h": LAM * 3600.0, "repeat_call_share": 0.0}
    return with_overrides(load_scenario("baseline"), horizon_h=24.0, drain_h=0.0,
                          arrivals={"queries_per_day": 100},
                          after_reply={"hotline_share": 0.0},
                          operators={"defaults": {"reseller": off}, "R01": {"hotline": hot}})


@pytest.mark.parametrize(("agents", "patience"), [(11, None), (14, None), (14, 300.0)],
                         ids=["C-c11", "C-c14", "A-c14"])
def test_fast_hotline_matches_erlang(agents: int, patience: float | None) -> None:
    # Tolerance as tests/test_sim_theory.py: the reference inside the 99 % CI of 20 replications of
    # 24 h (first hour discarded), CI half-width < 0.06.
    sc = _erlang_scenario(agents, patience)
    reps = []
    for r in range(20):
        h = hotline.hotlines(run_replication_fast(sc, 2024, r))["R01"]
        keep = np.asarray(h.arrived) >= 3600.0
        wait = np.asarray(h.wait)[keep]
        ans = np.asarray(h.answered, dtype=bool)[keep]
        reps.append(((wait > 0).mean(), (ans & (wait <= TARGET)).mean(), (~ans).mean()))
    theory = erlang_c(agents, LAM, AHT, TARGET) if patience is None else erlang_a(
        agents, LAM, AHT, patience, TARGET)
    for k, (name, expected) in enumerate(
        (("P(wait)", theory.p_wait), ("SL", theory.service_level), ("P(abandon)", theory.p_abandon))
    ):
        est = estimate([float(r[k]) for r in reps], confidence=0.99)
        if expected == 0.0:
            assert est.mean == 0.0, name
            continue
        assert est.contains(expected), f"{name}: theory {expected:.4f} outside 99 % CI {est}"
        assert est.half_width < 0.06, f"{name}: CI too wide to mean anything ({est})"


# -- property: random small scenarios --------------------------------------------------------------


@st.composite
def small_scenarios(draw: st.DrawFn) -> Scenario:
    def op() -> dict[str, Any]:
        out: dict[str, Any] = {
            "concurrency": draw(st.sampled_from([None, 1, 2, 5])),
            "latency": {"median_ms": draw(st.integers(50, 2000)),
                        "sigma": draw(st.floats(0.1, 1.2))},
            "failure_ratio": draw(st.sampled_from([0.0, 0.01, 0.1, 0.3])),
            "timeout_s": draw(st.sampled_from([2, 10])),
        }
        if draw(st.booleans()):
            out["outages"] = [{"start_h": draw(st.floats(0.0, 1.5)),
                               "duration_h": draw(st.floats(0.1, 2.0)),
                               "mode": draw(st.sampled_from(["timeout", "refuse"]))}]
        return out

    start = draw(st.integers(0, 12))
    shifts = [{"start_h": start, "end_h": draw(st.integers(start + 1, 24)),
               "agents": draw(st.integers(1, 3))}]
    ops = {k: op() for k in ("CMCC", "R03", "R07")}
    ops["R07"]["hotline"] = {"shifts": shifts, "patience_mean_s": draw(st.sampled_from([None, 60, 300])),
                             "handle_time_sigma": draw(st.sampled_from([None, 0.8]))}
    ops["R03"]["backoffice"] = {"shifts": shifts}
    return with_overrides(load_scenario("baseline"), horizon_h=2.0, drain_h=48.0,
                          arrivals={"queries_per_day": draw(st.integers(2000, 20000))},
                          sms={"rate_per_s": draw(st.sampled_from([0.5, 5.0, 200.0])),
                               "channels": draw(st.integers(1, 4))},
                          after_reply={"hotline_share": 0.3},
                          operators=ops)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sc=small_scenarios())
def test_engines_agree_on_random_small_scenarios(sc: Scenario) -> None:
    assert refusals(sc) == []
    a = run_replication(sc, 5, 0)
    b = run_replication_fast(sc, 5, 0)
    # fan-out and SMS: the same records
    fa, fb = fanout.of(a), fanout.of(b)
    assert np.array_equal(np.array(fa.fanout_done), np.array(fb.fanout_done), equal_nan=True)
    assert np.array_equal(np.array(gateway.of(a).sms_delivered), np.array(gateway.of(b).sms_delivered),
                          equal_nan=True)
    assert all(fa.operators[k] == fb.operators[k] for k in fa.operators)
    # hotlines and back offices: statistically the same
    rows = compare(sc, reps=4, seed=7)
    bad = [(s, m, a_, b_) for s, m, a_, b_ in rows if not overlap(a_, b_)]
    assert not bad, bad


# -- engine choice ---------------------------------------------------------------------------------


def test_engine_choice_refuses_or_falls_back_naming_the_feature(monkeypatch: pytest.MonkeyPatch) -> None:
    from yzt.errors import UserError
    from yzt.sim import replicate

    sc = shortened("baseline")
    assert choose_engine(sc, "fast") == ("fast", "")
    assert choose_engine(sc, "simpy") == ("simpy", "")
    monkeypatch.setattr(replicate, "refusals", lambda _sc: ["a platform-wide concurrency cap"])
    with pytest.raises(UserError, match="platform-wide concurrency cap"):
        choose_engine(sc, "fast")
    engine, note = choose_engine(sc, "auto")
    assert engine == "simpy" and "platform-wide concurrency cap" in note


def test_cli_records_the_engine(tmp_path: Any) -> None:
    import json

    from yzt.cli import main

    for flag, expected in ((["--engine", "simpy"], "simpy"), ([], "fast")):
        out = tmp_path / expected
        assert main(["sim", "baseline", "-n", "2", "--hours", "0.5", "--executor", "serial",
                     "--quiet", "--out", str(out), *flag]) == 0
        data = json.loads((out / "sim-results.json").read_text(encoding="utf-8"))
        assert data["engine"] == expected and data["engine_note"] == ""
        assert f"{expected} engine" in data["summary"]


def test_a_cold_kernel_cache_is_seen(tmp_path):
    """``yzt sim`` on a new install runs replication 0 in its own process first when the kernels
    have no cache (the workers then load it instead of each compiling every kernel): the probe
    must see an empty cache as cold and a written index as warm."""
    code = ("import pathlib; from yzt.sim import fastqueue as fq; a = fq.cache_is_cold(); "
            "p = pathlib.Path(fq.fanout_node._cache._cache_file._index_path); "
            "p.parent.mkdir(parents=True, exist_ok=True); p.write_bytes(b''); "
            "print(a, fq.cache_is_cold())")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.stdout.split() == ["True", "False"], proc.stdout + proc.stderr


def test_kernels_run_as_python_under_numba_disable_jit(tmp_path: Path) -> None:
    """numba's own debugging switch, ``NUMBA_DISABLE_JIT=1``, runs the kernels as the Python they
    are written in: ``yzt sim`` must work under it (the cache probe once failed there with a
    traceback, the kernels then having no ``py_func``) and write the same bytes as the compiled
    kernels, which also shows that numba compiled them to what the Python says."""
    from yzt.cli import main

    scenario = tmp_path / "small.yaml"
    scenario.write_text("version: 1\nextends: baseline\nname: small\ndescription: a small day\n"
                        "arrivals:\n  queries_per_day: 2000\nsampling: {one_in: 4}\n", encoding="utf-8")
    argv = ["sim", str(scenario), "-q", "-n", "1", "--seed", "7", "--executor", "serial", "--out"]
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run([sys.executable, "-m", "yzt", *argv, str(tmp_path / "python")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert main([*argv, str(tmp_path / "compiled")]) == 0
    written = [(tmp_path / d / "sim-results.json").read_bytes() for d in ("python", "compiled")]
    assert written[0] == written[1]
