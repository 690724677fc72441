"""Scenario knobs that multiply arrays are refused before the run, naming the knob and the limit.

``platform.sample_every_min: 1.0e-9`` (or 0.001) once gave a MemoryError traceback at 7.6 GB
(4.1 GB) in ``yzt sim`` and ``_ArrayMemoryError`` in ``yzt plan``. Each case runs the real
command in a child process whose address space is capped (:mod:`bounded_child`): the fixed code
exits 2 within seconds at ~100 MiB; the old one dies of MemoryError or runs into the deadline.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bounded_child import run_yzt

from yzt.sim.scenario import load_scenario, shipped_scenarios, with_overrides

pytestmark = pytest.mark.integration

#: A refusal is the schema's or the estimate's work: seconds, and the memory of the imports.
MAX_SECONDS = 30.0
MAX_RSS_MIB = 400.0


def _scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text("version: 1\nextends: baseline\nname: hostile\n" + body, encoding="utf-8")
    return path


def _refused(tmp_path: Path, args: list[str], *named: str) -> str:
    child = run_yzt(args, tmp_path)
    assert child.status == 2, (child.status, child.stderr[-2000:])
    assert "Traceback" not in child.stderr
    for text in named:
        assert text in child.stderr, child.stderr
    assert child.seconds < MAX_SECONDS, child.seconds
    assert child.max_rss_mib < MAX_RSS_MIB, child.max_rss_mib
    return child.stderr


@pytest.mark.parametrize("every", ["1.0e-9", "0.001"])
@pytest.mark.parametrize("command", ["sim", "plan"])
def test_a_time_series_finer_than_the_schema_allows_is_refused(tmp_path: Path, every: str,
                                                               command: str) -> None:
    path = _scenario(tmp_path, f"platform:\n  deadline_h: 48\n  sample_every_min: {every}\n")
    _refused(tmp_path, [command, str(path), "--out", str(tmp_path / "out"), "-q"],
             str(path), "at platform.sample_every_min", "minimum of 0.1")
    assert not (tmp_path / "out" / "sim-results.json").exists()


# 0.1 min over 720 h + a 1000 h deadline: a million samples, each with a counter per node and
# station, and six floats kept per replication.
FINE = ("horizon_h: 720\ndrain_h: 1000\nreplications: {n}\n"
        "platform:\n  deadline_h: 1000\n  sample_every_min: 0.1\n")


def test_samples_times_replications_over_the_limit_are_refused_by_the_estimate(
        tmp_path: Path) -> None:
    path = _scenario(tmp_path, FINE.format(n=50))
    err = _refused(tmp_path, ["sim", str(path), "--out", str(tmp_path / "out"), "-q"],
                   "at platform.sample_every_min", "1032001 samples", "kept for 50 replications",
                   "GiB of memory (at most 4 GiB)", "raise sample_every_min")
    assert "lower replications" in err


def test_sim_replications_flag_is_part_of_the_estimate(tmp_path: Path) -> None:
    """The file alone fits (2 replications); ``-n 1000`` does not."""
    from yzt.sim import memory

    path = _scenario(tmp_path, FINE.format(n=2))
    assert memory.problem(load_scenario(path)) is None
    _refused(tmp_path, ["sim", str(path), "-n", "1000", "--out", str(tmp_path / "out"), "-q"],
             "at platform.sample_every_min", "kept for 1000 replications", "at most 4 GiB")


def test_plan_memo_of_samples_is_part_of_the_estimate(tmp_path: Path) -> None:
    """``yzt plan`` memoises up to 1024 hotline and back-office runs a replication, each with a
    counter per sample: a scenario ``yzt sim`` would run is too large for a plan."""
    path = _scenario(tmp_path, FINE.format(n=2))
    _refused(tmp_path, ["plan", str(path), "-n", "2", "--out", str(tmp_path / "out"), "-q"],
             "at platform.sample_every_min", "yzt plan's memo", "at most 4 GiB")


def test_plan_what_if_factors_are_estimated_before_the_plan_runs(tmp_path: Path) -> None:
    """The largest ``--what-if load`` factor is checked up front, not after the main plan."""
    _refused(tmp_path, ["plan", "national-day", "--what-if", "load=1,100", "--out",
                        str(tmp_path / "out"), "-q"],
             "at arrivals.queries_per_day", "--what-if load=100", "at most 4 GiB")
    assert not (tmp_path / "out" / "plan.json").exists()


def test_retries_without_end_are_refused(tmp_path: Path) -> None:
    """Every call fails, no retry limit, no back-off, microsecond calls: ~10^11 attempts a query
    until the 48 h deadline."""
    path = _scenario(tmp_path, (
        "operators:\n  defaults:\n    reseller:\n      failure_ratio: 1.0\n"
        "      latency: {median_ms: 0.001, sigma: 0}\n"
        "      retry: {backoff_initial_s: 0, backoff_factor: 1, max_attempts: null}\n"))
    _refused(tmp_path, ["sim", str(path), "--out", str(tmp_path / "out"), "-q"],
             "at operators.R", ".retry", "attempts a call", "set retry.max_attempts")


def test_background_hotline_calls_are_refused(tmp_path: Path) -> None:
    path = _scenario(tmp_path, (
        "operators:\n  defaults:\n    reseller:\n      hotline: {background_calls_per_h: 1.0e+9}\n"))
    _refused(tmp_path, ["sim", str(path), "--out", str(tmp_path / "out"), "-q"],
             "at operators.*.hotline.background_calls_per_h", "at most 4 GiB")


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_every_shipped_scenario_fits_as_sim_and_as_the_documented_plan(name: str) -> None:
    """No false refusal: each shipped scenario, and its plan with docs/planning.md's what-ifs."""
    from yzt.sim import memory

    sc = load_scenario(name)
    assert memory.problem(sc) is None
    assert memory.problem(sc, plan=True, load=1.5) is None


def test_the_estimate_grows_with_every_knob() -> None:
    """Each knob moves its own term (a term that ignored its knob would let a run through)."""
    from yzt.sim import memory

    base = load_scenario("baseline")
    total = sum(t.bytes for t in memory.terms(base))
    for changed in (
        {"platform": {"deadline_h": 48, "sample_every_min": 1}},
        {"arrivals": {"queries_per_day": 200000}},
        {"replications": 500},
        {"sampling": {"one_in": 1}, "horizon_h": 48},
        {"after_reply": {"customer_factor": 10, "hotline_share": 0.5, "dispute_share": 0.5,
                         "cancellation_share": 0.5}},
    ):
        bigger = sum(t.bytes for t in memory.terms(with_overrides(base, **changed)))
        assert bigger > total, changed


def test_plan_memo_bound_is_half_the_memory_available_within_its_floor_and_ceiling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan's memo is a cache sized from the machine: a small machine gets the floor the
    estimate counts, a large one the ceiling a full-scale launch-day plan uses, and the plan's
    first run reads the bound once."""
    from collections import OrderedDict

    from yzt.sim import memory, plan

    gib = 2**30
    assert memory.plan_memo_bytes(1 * gib) == memory.PLAN_QUERY_MEMO_BYTES == 2 * gib
    assert memory.plan_memo_bytes(6 * gib) == 3 * gib
    assert memory.plan_memo_bytes(64 * gib) == memory.PLAN_QUERY_MEMO_MAX_BYTES
    assert 2 * gib <= memory.plan_memo_bytes() <= memory.PLAN_QUERY_MEMO_MAX_BYTES  # this machine
    monkeypatch.setattr(plan, "STAGED_BYTES_MAX", None)
    monkeypatch.setattr(plan, "_STAGED", OrderedDict())
    read_once = 3 * gib
    monkeypatch.setattr(memory, "plan_memo_bytes", lambda: read_once)
    with plan._STAGED_LOCK:
        plan._bound()
    bound = plan.STAGED_BYTES_MAX
    assert bound == read_once
    monkeypatch.setattr(memory, "plan_memo_bytes", lambda: 4 * gib)  # the machine's memory moved
    with plan._STAGED_LOCK:
        plan._bound()
    bound = plan.STAGED_BYTES_MAX
    assert bound == read_once  # a plan keeps the bound it started with
