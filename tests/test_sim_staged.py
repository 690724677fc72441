"""The fast engine's stage memo (``StagedReplication``) gives a fresh run's records, bit for bit.

``yzt plan`` pushes dozens of variants of one scenario through one memo per replication; a key
that missed a parameter would silently reuse a stale stage. Each variant below changes one kind of
capacity (or a non-capacity parameter a stage reads) and is compared, field by field, with a fresh
replication that shares nothing.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from yzt.sim.fast import StagedReplication, run_replication_fast
from yzt.sim.records import ReplicationRecords
from yzt.sim.results import replication_metrics
from yzt.sim.scenario import Scenario, load_scenario, with_overrides


def _congested() -> Scenario:
    """Small pools, an outage, a slow SMS gateway, thin hotlines: every stage has a queue."""
    return with_overrides(
        load_scenario("reseller-outage"), horizon_h=3.0, drain_h=72.0,
        operators={"defaults": {"reseller": {"concurrency": 1}, "carrier": {"concurrency": 2}},
                   "R07": {"outages": [{"start_h": 0.5, "duration_h": 1, "mode": "timeout"}],
                           "retry": {"max_attempts": 3}},
                   "R01": {"hotline": {"shifts": [{"start_h": 0, "end_h": 24, "agents": 1}]}}},
        sms={"rate_per_s": 0.2, "channels": 2},
        after_reply={"hotline_share": 0.3, "dispute_share": 0.05, "cancellation_share": 0.05})


def _variants(sc: Scenario) -> list[tuple[str, Scenario]]:
    def op(op_id: str, **fields: Any) -> Scenario:
        return with_overrides(sc, operators={op_id: fields})

    return [
        ("as is", sc),
        ("one hotline's agents", op("R01", hotline={"shifts": [{"start_h": 0, "end_h": 24,
                                                                  "agents": 2}]})),
        ("one back office's staff", op("CMCC", backoffice={"shifts": [{"start_h": 9, "end_h": 17,
                                                                         "agents": 1}]})),
        ("one node's connections", op("R07", concurrency=3)),
        ("another node's connections", op("R02", concurrency=2)),
        ("two nodes' connections", with_overrides(sc, operators={"R07": {"concurrency": 3},
                                                                 "R02": {"concurrency": 2}})),
        ("SMS rate", with_overrides(sc, sms={"rate_per_s": 0.5})),
        ("SMS channels", with_overrides(sc, sms={"channels": 1})),
        ("a node's latency (not a capacity)", op("R03", latency={"median_ms": 900, "sigma": 0.8})),
        ("after-reply shares", with_overrides(sc, after_reply={"hotline_share": 0.1})),
        ("hotline handling time", op("R01", hotline={"handle_time_mean_s": 400})),
        ("as is, again", sc),
    ]


def _same(a: ReplicationRecords, b: ReplicationRecords) -> list[str]:
    """Fields that differ (per-query arrays compared with NaN equal to NaN)."""
    bad = []
    fa, fb = _fields(a), _fields(b)
    assert fa.keys() == fb.keys(), (fa.keys(), fb.keys())
    for name in fa:
        x, y = fa[name], fb[name]
        if name in ("verified_at", "fanout_done", "complete", "sms_delivered"):
            if not np.array_equal(np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                                  equal_nan=True):
                bad.append(name)
        elif x != y:
            bad.append(name)
    return bad


def _fields(rec: ReplicationRecords) -> dict[str, Any]:
    """The records' fields and every stage's record's fields (their names are distinct), and
    which stages recorded."""
    out = {f.name: getattr(rec, f.name) for f in dataclasses.fields(rec) if f.name != "stages"}
    out["stages"] = list(rec.stages)
    for r in rec.stages.values():
        out.update({f.name: getattr(r, f.name) for f in dataclasses.fields(r)})
    return out


def _metrics_equal(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> bool:
    """Equal, NaN (a share of nothing) equal to NaN."""
    return a.keys() == b.keys() and all(
        a[s].keys() == b[s].keys()
        and all(x == y or (math.isnan(x) and math.isnan(y))
                for x, y in ((a[s][k], b[s][k]) for k in a[s]))
        for s in a)


def test_memoised_stages_give_a_fresh_runs_records_bit_for_bit() -> None:
    sc = _congested()
    staged = StagedReplication(seed=5, replication=2, threads=2)
    for name, variant in _variants(sc):
        memo = staged.records(variant)
        fresh = run_replication_fast(variant, seed=5, replication=2, threads=1)
        assert _same(memo, fresh) == [], name
        as_arrays = staged.records(variant, arrays=True)
        assert _metrics_equal(replication_metrics(as_arrays), replication_metrics(fresh)), name
        platform = staged.records(variant, arrays=True, upto="sms")
        assert list(platform.stages) == ["frontdoor", "fanout", "sms"]
        assert replication_metrics(platform, distributions=False)["platform"][
            "e2e_within_deadline_share"] == replication_metrics(fresh)["platform"][
            "e2e_within_deadline_share"], name


def test_a_replication_run_once_keeps_no_node_runs_and_the_same_records() -> None:
    """``yzt sim`` runs each replication once (``once=True``): its fan-out folds each node's
    answers as they come and drops them (a national day held about 1 GB of them), and its
    records are a kept replication's, bit for bit."""
    sc = _congested()
    once = StagedReplication(seed=5, replication=2, threads=2, once=True)
    kept = StagedReplication(seed=5, replication=2, threads=2)
    assert _same(once.records(sc), kept.records(sc)) == []
    runs = {name: sum(len(lru.values()) for by_node in part._nodes.values()  # type: ignore[attr-defined]
                      for lru in by_node.values())
            for name, part in (("once", once._parts["fanout"]), ("kept", kept._parts["fanout"]))}
    from yzt.sim.stages.fanout import node_ids

    assert runs["once"] == 0, runs
    assert runs["kept"] == sum(len(node_ids(sc, op)) for op in sc.operators), runs
    assert once.nbytes < kept.nbytes / 2, (once.nbytes, kept.nbytes)


def test_variants_really_change_the_records() -> None:
    """The comparison above can fail: each variant changes something a fresh run shows."""
    sc = _congested()
    base = run_replication_fast(sc, seed=5, replication=2)
    for name, variant in _variants(sc)[1:-1]:
        assert _same(run_replication_fast(variant, seed=5, replication=2), base), name


def _count_node_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the fan-out nodes rerun from now on (the memo's swaps rerun only those)."""
    from yzt.sim.stages import fanout

    runs: list[str] = []
    real = fanout._run_node

    def counting(*args: Any) -> Any:
        runs.append(args[1])
        return real(*args)

    monkeypatch.setattr(fanout, "_run_node", counting)
    return runs


def test_a_node_swap_is_taken_and_a_wrong_swap_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """One node's new connection count is swapped into the memoised combination (no full rerun),
    and a swap that forgot to take the old node out would give different reply times."""
    from yzt.sim.stages import fanout

    sc = _congested()
    staged = StagedReplication(seed=5, replication=2, threads=1)
    staged.records(sc)
    runs = _count_node_runs(monkeypatch)
    variant = with_overrides(sc, operators={"R07": {"concurrency": 3}})
    memo = staged.records(variant)
    assert runs == ["R07"]
    fresh = run_replication_fast(variant, seed=5, replication=2)
    assert _same(memo, fresh) == []

    def keeps_old(self: Any, index: int, nid: str, key: Any, run: Any) -> Any:
        out = original(self, index, nid, key, run)
        out.done_max = np.maximum(out.done_max, self.done_max)  # the old node's answers stay in
        return out

    original = fanout._Fanout.swapped
    monkeypatch.setattr(fanout._Fanout, "swapped", keeps_old)
    slower = with_overrides(sc, operators={"R07": {"concurrency": 50}})
    staged2 = StagedReplication(seed=5, replication=2, threads=1)
    staged2.records(sc)
    assert "fanout_done" in _same(staged2.records(slower),
                                  run_replication_fast(slower, seed=5, replication=2))


def test_a_few_nodes_swap_at_once_and_a_wrong_swap_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two nodes' new connection counts are swapped into the memoised combination together (the
    kept largest answers give the rest's largest exactly): only those two nodes rerun, and the
    records are a fresh run's. Leaving one old node's answers in would be seen."""
    from yzt.sim.stages import fanout

    sc = _congested()
    staged = StagedReplication(seed=5, replication=2, threads=1)
    staged.records(sc)
    runs = _count_node_runs(monkeypatch)
    both = with_overrides(sc, operators={"R07": {"concurrency": 3}, "R02": {"concurrency": 2}})
    memo = staged.records(both)
    assert sorted(runs) == ["R02", "R07"]
    assert _same(memo, run_replication_fast(both, seed=5, replication=2)) == []

    def keeps_old(self: Any, others: Any, new: Any) -> Any:
        out = original(self, others, new)
        out.done_max = np.maximum(out.done_max, self.done_max)  # the old nodes' answers stay in
        return out

    original = fanout._Fanout.swapped_many
    monkeypatch.setattr(fanout._Fanout, "swapped_many", keeps_old)
    slower = with_overrides(sc, operators={"R07": {"concurrency": 50}, "R02": {"concurrency": 50}})
    staged2 = StagedReplication(seed=5, replication=2, threads=1)
    staged2.records(sc)
    assert "fanout_done" in _same(staged2.records(slower),
                                  run_replication_fast(slower, seed=5, replication=2))


def _lowered(sc: Scenario, ids: list[str], connections: int = 50) -> Scenario:
    return with_overrides(sc, operators={i: {"concurrency": connections} for i in ids})


def test_many_nodes_changed_rerun_only_those_the_node_memo_lacks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A combination that differs from every memoised one in more nodes than a swap takes
    reruns only the nodes whose run the node memo does not hold, and folds the others' kept
    runs: the records are a fresh run's, bit for bit."""
    sc = _congested()
    first, second = ["R01", "R02", "R03", "R04"], ["R05", "R06", "R07", "R08"]
    staged = StagedReplication(seed=5, replication=2, threads=2)
    staged.records(sc)
    runs = _count_node_runs(monkeypatch)
    for ids, rerun in ((first, first), (second, second), (first + second, [])):
        variant = _lowered(sc, ids)
        memo = staged.records(variant)
        assert sorted(runs) == rerun, ids
        assert _same(memo, run_replication_fast(variant, seed=5, replication=2)) == [], ids
        runs.clear()


def test_a_wrong_node_memo_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node memo that handed back a node's latest run whatever its connections (keyed on the
    node alone) would give different reply times than a fresh run."""
    from yzt.sim import fast
    from yzt.sim.stages import fanout

    class Stale(fast.Lru):
        def get(self, key: Any) -> Any:
            del key
            values = self.values()
            return values[-1] if values else None

    original = fanout.Fast._node_memo

    def stale_memo(self: Any, front_key: Any, keep: bool, nids: list[str]) -> Any:
        by_node = original(self, front_key, keep, nids)
        for nid, lru in by_node.items():
            if not isinstance(lru, Stale):
                by_node[nid] = stale = Stale(lru.size)
                stale.items = lru.items
        return by_node

    monkeypatch.setattr(fanout.Fast, "_node_memo", stale_memo)
    sc = _congested()
    first, second = ["R01", "R02", "R03", "R07"], ["R05", "R06", "R08", "R09"]
    staged = StagedReplication(seed=5, replication=2, threads=1)
    staged.records(sc)
    staged.records(_lowered(sc, first))
    back = _lowered(sc, second)  # the first four back at their connections, taken from the memo
    assert "fanout_done" in _same(staged.records(back),
                                  run_replication_fast(back, seed=5, replication=2))


def _node_runs(staged: Any) -> list[list[Any]]:
    """Per node of a replication's fan-out memo: its kept runs, least recently used first."""
    part = staged._parts["fanout"]
    return [lru.values() for by_node in part._nodes.values() for lru in by_node.values()]


def test_over_its_bound_the_plan_memo_trims_before_dropping_a_replication(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``yzt plan``'s memo of replications, over its bound, first keeps one run a node in each
    replication, least recently used first, and drops a whole replication (which the next
    candidate would run again from the start) only when that is not enough, never one another
    thread is running."""
    from collections import OrderedDict

    from yzt.sim import plan

    monkeypatch.setattr(plan, "_STAGED", OrderedDict())
    monkeypatch.setattr(plan, "_STAGED_BYTES", {})
    sc = _congested()
    variant = _lowered(sc, ["R01", "R02", "R03", "R04"])
    for rep in (0, 1):
        plan.fast_engine(sc, 5, rep)
        plan.fast_engine(variant, 5, rep)
    old = plan._STAGED[(5, 0)]
    older_runs = sum(r.nbytes for runs in _node_runs(old) for r in runs[:-1])
    assert older_runs > 0 and max(len(r) for r in _node_runs(old)) == 2
    total = sum(s.nbytes for s in plan._STAGED.values())
    monkeypatch.setattr(plan, "STAGED_BYTES_MAX", total - older_runs // 2)
    plan.fast_engine(variant, 5, 1)
    assert list(plan._STAGED) == [(5, 0), (5, 1)]  # both kept
    assert max(len(r) for r in _node_runs(old)) == 1  # the older one trimmed
    assert max(len(r) for r in _node_runs(plan._STAGED[(5, 1)])) == 2  # enough: not this one
    monkeypatch.setattr(plan, "STAGED_BYTES_MAX", 1)  # nothing fits
    with old.lock:  # another thread is running it: it stays
        plan.fast_engine(variant, 5, 1)
    assert list(plan._STAGED) == [(5, 0), (5, 1)]
    plan.fast_engine(variant, 5, 1)
    assert list(plan._STAGED) == [(5, 1)]  # the newest is kept
