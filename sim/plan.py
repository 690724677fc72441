"""Capacity planning: the least capacity per operator, resource and shift that meets every SLA.

Every planned resource is a :class:`yzt.sim.stages.Resource` registered by its stage's module;
this planner iterates the registry and names none (docs/planning.md, docs/architecture.md).

Method (docs/planning.md):

1. **Current run.** The scenario is simulated as it stands (replications ``0..n-1`` of one seed).
   Its SLA rows give the "current" column, and each resource's ``details`` read from its records
   what its first guess needs.
2. **Analytic first guesses.** Each resource's ``start`` hook: a queueing formula, a fluid bound
   (the measured work over the time there is to do it), or the scenario's value; with the search
   bound and first step.
3. **Bisection in simulation.** Each (operator, resource) is one *item* with an integer search
   variable. A bracket is found by steps that double, then bisected. Every candidate is judged on
   the same seed and replications (common random numbers: every stream is keyed by owner and
   purpose, so changing one operator leaves every other draw as it was). An item *holds* when
   each of its SLA rows holds at the chosen confidence: the pessimistic end of the Student-t
   interval (each stage says which end of its metrics is pessimistic) meets the target, judged
   by :func:`yzt.sim.results.sla_verdicts`, the code that judges ``yzt sim``.
4. **Phases.** The model is feed-forward (nothing flows back), so resources are planned phase by
   phase, upstream first, each phase's values fixed for the next. A resource whose items share
   one platform row is searched jointly (only values that hold together are committed,
   :meth:`Planner.run_coupled`) or item after item; resources whose rows depend on their own
   capacity only are planned at once: one simulation judges every operator's candidate.
5. **Confirmation.** The planned scenario is simulated once more; its rows are the plan's verdict.

Speed: each round is one Executor task per replication holding every candidate, and the fast
engine memoises each replication's stages in the worker (:func:`fast_engine`), so a candidate
reruns only what its capacities change.

The engine is a parameter (``scenario, seed, replication → ReplicationRecords``), so any engine that
produces the model's records plans the same way; metrics come from :mod:`yzt.sim.results` only.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from yzt import resultfile
from yzt.errors import UserError
from yzt.sim import memory, stages
from yzt.sim.fast import StagedReplication
from yzt.sim.records import ReplicationRecords
from yzt.sim.results import Metrics, profile_sources, replication_metrics, sla_verdicts
from yzt.sim.scenario import Scenario, from_document, merge
from yzt.sim.shifts import Roster, ShiftPattern, roster_of
from yzt.sim.stages import PLATFORM, GuessInput, ItemKey, Resource, Value, staffing
from yzt.sim.stats import estimate
from yzt.sim.theory import t_quantile
from yzt.verdict import Verdict

Engine = Callable[[Scenario, int, int, str], ReplicationRecords]
"""``(scenario, seed, replication, upto) → records``: :func:`fast_engine`, :func:`simpy_engine`
or another. ``upto`` names the last stage whose records are read (a resource's ``upto``); an
engine may run more."""

RESOURCES = tuple(r.name for r in stages.resources())
"""The registered resources (``--resources``' words), in the registry's order."""
#: Hours of the hour-by-hour table: the day of arrivals and the reply deadline after it.
MAX_TABLE_HOURS = 72
#: Bound on search rounds per stage (a bracket of 2^20 units needs 40 at most).
MAX_ROUNDS = 40
#: Replications a platform-row try runs before the rest: a try that already fails a 100 % row
#: there is decided (:meth:`Planner.simulate_deciding`). Fixed, so that a plan does not depend on
#: the machine; two keeps both CPUs of a small machine busy.
DECIDING_REPLICATIONS = 2
#: Confidence of deciding a try early on a share or time objective
#: (:func:`misses_beyond_recovery`): the Student t bound at 99 % two-sided, so 99.5 % one-sided,
#: on the mean of the replications not yet run.
DECIDING_CONFIDENCE = 0.99


#: Largest memo of staged replications one process keeps (bytes of per-query arrays): set by the
#: process's first run from the memory the machine has available then
#: (:func:`yzt.sim.memory.plan_memo_bytes`: 2 to 5.5 GiB; a full-scale ``launch-day`` plan uses
#: 5.5, docs/benchmarks.md). Over it, the replications' memos are trimmed first, least recently
#: used first (:func:`_bound`), then the least recently used are dropped.
STAGED_BYTES_MAX: int | None = None
_STAGED: OrderedDict[tuple[int, int], StagedReplication] = OrderedDict()
_STAGED_LOCK = threading.Lock()
_STAGED_BYTES: dict[tuple[int, int], int] = {}


def fast_engine(sc: Scenario, seed: int, replication: int, upto: str = "all") -> ReplicationRecords:
    """The fast engine with each replication's stages memoised in this process: the candidates
    of a plan differ in a few capacities, so most stages of a candidate are the previous
    candidates' (exact, see :class:`yzt.sim.fast.StagedReplication`). A stage that reruns all
    its nodes spreads them over the CPUs (the Executor's other task may be idle: five
    replications on two threads); ``upto`` stops after that stage."""
    key = (seed, replication)
    with _STAGED_LOCK:
        staged = _STAGED.pop(key, None) or StagedReplication(seed, replication)
        _STAGED[key] = staged
    with staged.lock:  # two threads may hold tasks of one replication
        rec = staged.records(sc, arrays=True, upto=upto)
    with _STAGED_LOCK:
        _bound()
    return rec


def _bound() -> None:
    """Hold the memo to :data:`STAGED_BYTES_MAX`: trim the replications, least recently used
    first, then drop the least recently used. A replication another thread is running is
    neither trimmed nor dropped (dropping it would run it again from the start next time); that
    thread bounds the memo when its run ends. Called under ``_STAGED_LOCK``."""
    global STAGED_BYTES_MAX
    if STAGED_BYTES_MAX is None:
        STAGED_BYTES_MAX = memory.plan_memo_bytes()
    bound = STAGED_BYTES_MAX

    def total() -> int:
        return sum(_nbytes(k, s) for k, s in _STAGED.items())

    if total() <= bound:
        return
    idle = []
    for key, staged in list(_STAGED.items()):
        if staged.lock.acquire(blocking=False):
            try:
                staged.trim()
                _STAGED_BYTES[key] = staged.nbytes
            finally:
                staged.lock.release()
            idle.append(key)
        if total() <= bound:
            return
    newest = next(reversed(_STAGED))
    for key in idle:
        if key == newest or total() <= bound:
            break
        del _STAGED[key]
        _STAGED_BYTES.pop(key, None)


def _nbytes(key: tuple[int, int], staged: StagedReplication) -> int:
    """``staged.nbytes`` read under its lock; while another thread's task holds it (and changes
    that memo), the size read last time. Called under ``_STAGED_LOCK``."""
    if staged.lock.acquire(blocking=False):
        try:
            _STAGED_BYTES[key] = staged.nbytes
        finally:
            staged.lock.release()
    return _STAGED_BYTES.get(key, 0)


def simpy_engine(sc: Scenario, seed: int, replication: int, upto: str = "all") -> ReplicationRecords:
    """The SimPy model; it has no stages to stop at, so ``upto`` runs the whole replication."""
    from yzt.sim.engine import run_replication

    return run_replication(sc, seed, replication)


def engine_function(name: str) -> Engine:
    """``fast`` or ``simpy`` (resolve ``auto`` with :func:`yzt.sim.replicate.choose_engine`)."""
    return fast_engine if name == "fast" else simpy_engine


# -- the worker ------------------------------------------------------------------------------------
def evaluate_replication(engine: Engine, sc: Scenario, seed: int, index: int, hours: int,
                         upto: str = "all", details: bool = False) -> dict[str, Any]:
    """One replication's metrics (those the SLA rows read); with ``details`` also what each
    resource's first guess reads from the records (its ``details`` hook).

    ``upto``: only the stages up to that one are needed (a row of the platform); the fast engine
    then skips the later ones."""
    rec = stages.derive(sc, engine(sc, seed, index, upto))
    out: dict[str, Any] = {"metrics": replication_metrics(rec, distributions=False, sc=sc)}
    if not details:
        return out
    return {**out, "details": {r.name: r.details(rec, hours) for r in stages.resources()
                               if r.details is not None}}


def evaluate_candidates(engine: Engine, scenarios: Sequence[Scenario], seed: int, index: int,
                        hours: int, upto: str = "all", details: bool = False
                        ) -> list[dict[str, Any]]:
    """Worker entry point: replication ``index`` of every candidate of a round, in one task, so
    the candidates share that replication's memoised stages in one process."""
    return [evaluate_replication(engine, sc, seed, index, hours, upto, details) for sc in scenarios]


# -- judging ---------------------------------------------------------------------------------------
def _summary(per_rep: Sequence[Metrics], confidence: float) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for scope in per_rep[0]:
        out[scope] = {name: estimate([r[scope][name] for r in per_rep], confidence).as_dict()
                      for name in per_rep[0][scope]}
    return out


def _pessimistic(summary: dict[str, dict[str, dict[str, Any]]],
                 sc: Scenario | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """The summary with each judged metric's mean replaced by its pessimistic interval end."""
    ends = stages.pessimistic(sc)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for scope, metrics in summary.items():
        out[scope] = {}
        for name, e in metrics.items():
            end = ends.get(name)
            bound = e.get(end) if end else None
            out[scope][name] = {**e, "mean": e["mean"] if bound is None else bound}
    return out


def item_rows(sc: Scenario | None, resource: str, operator: str) -> list[tuple[str, str]]:
    """The rows that judge an item: (requirement, scope) of its resource's SLA rows, then of
    ``sc``'s service objectives that bind the resource."""
    r = stages.resource(resource)
    out = [(req, r.scope(operator)) for req in r.slas]
    if sc is not None:
        out += [(oid, operator if per_op else PLATFORM)
                for oid, per_op in stages.objectives_of(sc, resource)]
    return out


def tightest_s(sc: Scenario, resource: str) -> float | None:
    """The tightest time an objective that binds ``resource`` asks (s): a share's window
    (``within_s``) or a time target (a p95); ``None`` when none binds it (the SLA rows' own times,
    e.g. the reply deadline, then set the first guess)."""
    declared = stages.objective_metrics()
    times = [o.within_s if o.within_s is not None else o.target for o in sc.objectives
             if resource in declared[o.metric].judges
             and (o.within_s is not None or not declared[o.metric].share)]
    return min(times) if times else None


@dataclass
class Judged:
    """The SLA and objective rows of one simulated scenario: at the mean and at the chosen
    confidence."""

    summary: dict[str, dict[str, dict[str, Any]]]
    rows_mean: list[dict[str, Any]]
    rows_confident: list[dict[str, Any]]
    sc: Scenario | None = None
    """The scenario judged (its objectives bind items beside the SLA rows)."""

    def status(self, requirement: str, scope: str, confident: bool = True) -> Verdict:
        """The row's verdict; ``not_applicable`` when there is no such row (nothing to judge)."""
        rows = self.rows_confident if confident else self.rows_mean
        for r in rows:
            if r["requirement"] == requirement and r["name"] == scope:
                return Verdict.parse(r["verdict"])
        return Verdict.NOT_APPLICABLE

    def holds(self, resource: str, scope: str, confident: bool = True) -> bool:
        return all(self.status(req, sc, confident) is not Verdict.FAIL
                   for req, sc in item_rows(self.sc, resource, scope))

    def fails_outright(self, resource: str, scope: str) -> bool:
        """A row of ``resource`` that asks for 100 % fails at the mean. A share is at most
        100 %, so a mean over more replications that include these fails too, at the mean and
        at any confidence: the try is decided whatever the others show."""
        r = stages.resource(resource)
        sc = r.scope(scope)
        return any(row["requirement"] in r.slas and row["name"] == sc and row.get("target") == 1.0
                   and Verdict.parse(row["verdict"]) is Verdict.FAIL for row in self.rows_mean)

    def evidence(self, resource: str, scope: str) -> dict[str, Any]:
        r = stages.resource(resource)
        sc = r.scope(scope)
        rows = item_rows(self.sc, resource, scope)
        metrics = {m: self.summary.get(sc, {}).get(m) for m in r.metrics}
        metrics.update({stages.objective_key(o): self.summary.get(s, {}).get(stages.objective_key(o))
                        for o in (self.sc.objectives if self.sc else ()) for req, s in rows
                        if o.id == req})
        return {
            "holds": self.holds(resource, scope),
            "holds_at_mean": self.holds(resource, scope, confident=False),
            "rows": {req: self.status(req, s).value for req, s in rows},
            "metrics": metrics,
        }


def judge(sc: Scenario, per_rep: Sequence[Metrics], confidence: float) -> Judged:
    """Rows of ``sc`` from per-replication metrics, by :func:`yzt.sim.results.sla_verdicts`."""
    summary = _summary(per_rep, confidence)
    return Judged(summary, sla_verdicts(sc, summary),
                  sla_verdicts(sc, _pessimistic(summary, sc)), sc)


# -- capacities as document overrides -------------------------------------------------------------
ConfigKey = tuple[tuple[ItemKey, Value], ...]


def config_key(values: Mapping[ItemKey, Value]) -> ConfigKey:
    """Planned values in one order (by label): what ``planned.yaml`` writes in, and a set member
    for the joint tries that failed."""
    return tuple(sorted(values.items(), key=lambda kv: kv[0].label))


def current_value(sc: Scenario, key: ItemKey) -> Value:
    return stages.resource(key.resource).current(sc, key)


def overrides(sc: Scenario, values: dict[ItemKey, Value]) -> dict[str, Any]:
    """The scenario fields that set ``values`` (what ``planned.yaml`` writes over its parent)."""
    doc: dict[str, Any] = {}
    for key, value in config_key(values):
        stages.resource(key.resource).override(sc, key, value, doc)
    return doc


def with_values(sc: Scenario, values: dict[ItemKey, Value]) -> Scenario:
    """``sc`` with capacities replaced, validated like any scenario file."""
    if not values:
        return sc
    return from_document(merge(sc.document, overrides(sc, values)), sc.source)


# -- the search ------------------------------------------------------------------------------------
@dataclass
class Item:
    """One (operator, resource) searched over an integer ``k`` mapped to a capacity.

    A single value (a resource declared ``single``) is ``k`` itself. Shifts are searched as one
    offset ``k`` over the analytic guess (each shift ``max(minimum, guess + k)``); with several
    shifts, the plan is then refined one shift at a time, one unit lower while the item holds.
    """

    key: ItemKey
    current: Value
    guess: Value
    minimum: int
    cap: int
    """Largest ``k`` the search may try (the search bound)."""
    lo: int | None = None
    """Largest ``k`` known to fail (``None``: none yet)."""
    hi: int | None = None
    """Smallest ``k`` known to hold."""
    step: int = 1
    tried: dict[int, dict[str, Any]] = field(default_factory=dict)
    refine: list[int] = field(default_factory=list)
    """Shifts still to try one unit lower (several shifts only)."""
    refined: dict[int, dict[str, Any]] = field(default_factory=dict)
    base: Value = ()
    """The refined value (several shifts only)."""
    infeasible: str | None = None
    curve: dict[Value, dict[str, Any]] = field(default_factory=dict)
    """Extra points of the staffing curve around the plan."""
    infeasible_note: str | None = None
    """Why no capacity can work, known before simulating."""
    pending: tuple[str, int] = ("k", 0)
    step_before: int = 1
    note: Any = None
    """What the resource's first guess kept for the plan's entry (:class:`~yzt.sim.stages.Start`)."""

    @property
    def resource(self) -> Resource:
        return stages.resource(self.key.resource)

    @property
    def single(self) -> bool:
        return self.resource.single

    def value(self, k: int) -> Value:
        if self.single:
            return (k,)
        return tuple(max(self.minimum, g + k) for g in self.guess)

    def k_min(self) -> int:
        return self.minimum if self.single else self.minimum - max(self.guess)

    def k_start(self) -> int:
        return self.guess[0] if self.single else 0

    def bracketed(self) -> bool:
        return self.hi is not None and (self.hi <= self.k_min() or
                                        (self.lo is not None and self.hi - self.lo <= 1))

    @property
    def done(self) -> bool:
        return bool(self.infeasible) or (self.bracketed() and not self.refine)

    def planned(self) -> Value:
        if self.hi is None:
            return self.current
        return self.base or self.value(self.hi)

    def propose(self) -> Value | None:
        """The next capacity to simulate, or ``None`` when the search has ended."""
        if self.infeasible:
            return None
        if self.bracketed():
            if not self.refine:
                return None
            s = self.refine[0]
            lowered = list(self.base)
            lowered[s] -= 1
            self.pending = ("refine", s)
            return tuple(lowered)
        self.step_before = self.step
        if not self.tried:
            k = self.k_start()
        elif self.hi is None:  # expand upwards
            assert self.lo is not None
            if self.lo >= self.cap:
                self.infeasible = "no capacity up to the search bound meets the SLA"
                return None
            k = min(self.cap, self.lo + self.step)
            self.step *= 2
        elif self.lo is None:  # expand downwards
            k = max(self.k_min(), self.hi - self.step)
            self.step *= 2
        else:
            k = (self.lo + self.hi) // 2
        self.pending = ("k", k)
        return self.value(k)

    def defer(self) -> None:
        """Forget the last proposal (not judged): the next one is the same."""
        self.step = self.step_before

    def record(self, value: Value, evidence: dict[str, Any]) -> None:
        """The simulation's answer for ``value`` narrows the bracket (or the refinement)."""
        kind, k = self.pending
        if kind == "refine":
            self.refined[k] = {"value": list(value), **evidence}
            if evidence["holds"]:
                self.base = value
                if value[k] <= self.minimum:
                    self.refine.pop(0)
            else:
                self.refine.pop(0)
            return
        self.tried[k] = {"value": list(value), **evidence}
        if evidence["holds"]:
            self.hi = k if self.hi is None else min(self.hi, k)
        else:
            self.lo = k if self.lo is None else max(self.lo, k)
        if self.bracketed() and len(self.guess) > 1 and not self.base:
            assert self.hi is not None
            self.base = self.value(self.hi)
            self.refine = [s for s in range(len(self.guess)) if self.base[s] > self.minimum]

    def one_unit_less(self) -> list[dict[str, Any]]:
        """Evidence that each planned unit is needed: the failing try just below the plan."""
        if self.infeasible or self.hi is None:
            return []
        out: list[dict[str, Any]] = []
        if self.lo is not None and self.hi - self.lo <= 1 and self.lo in self.tried:
            out.append({"shift": None, **self.tried[self.lo]})
        out += [{"shift": s, **t} for s, t in sorted(self.refined.items()) if not t["holds"]]
        return out


@dataclass(frozen=True)
class PlanOptions:
    """What to plan (``operators=None``: all) and how surely (``confidence`` 0.95 or 0.99)."""

    operators: tuple[str, ...] | None = None
    resources: tuple[str, ...] = RESOURCES
    confidence: float = 0.95
    replications: int | None = None
    seed: int = 1
    design_shifts: bool = False
    """Design the shifts of every resource with roster hooks from allowed patterns
    (:func:`design_rosters`) instead of keeping the scenario's windows."""
    shift_target: str = "run"
    """What a designed roster must meet: ``run``, the item's rows over the whole run (what the
    fixed-window plan meets), at least cost; ``hourly``, every hour at the full target."""


Progress = Callable[[str], object]


class Planner:
    """Runs the stages of a plan through an Executor (see the module docstring)."""

    def __init__(self, sc: Scenario, options: PlanOptions, executor: Executor, engine: Engine,
                 progress: Progress | None = None) -> None:
        self.sc = sc
        self.opt = options
        self.ex = executor
        self.engine = engine
        self.progress = progress or (lambda _m: None)
        self.n = options.replications or sc.replications
        if self.n < 2:
            raise UserError("--replications must be at least 2 (confidence intervals need 2)")
        self.hours = int(min(MAX_TABLE_HOURS, math.ceil(sc.horizon_h + sc.deadline_h)))
        self.runs = 0
        self.joint_seen: dict[ConfigKey, Judged] = {}
        """Joint tries that failed, by configuration (what lowering them all together did)."""

    # -- simulation --------------------------------------------------------------------------
    def simulate(self, scenarios: Sequence[Scenario], upto: str = "all", details: bool = False,
                 reps: Sequence[int] | None = None) -> list[list[dict[str, Any]]]:
        """Replications ``reps`` (default 0..n-1) of each scenario (same seed: common random
        numbers)."""
        reps = range(self.n) if reps is None else reps
        futures = [self.ex.submit(evaluate_candidates, self.engine, list(scenarios), self.opt.seed,
                                  i, self.hours, upto, details) for i in reps]
        per_rep = [f.result() for f in futures]
        if reps and reps[0] == 0:  # a scenario counts once, in the pass that starts it
            self.runs += len(scenarios)
        return [[per_rep[i][j] for i in range(len(per_rep))] for j in range(len(scenarios))]

    def simulate_deciding(self, scenarios: Sequence[Scenario], keys: Sequence[ItemKey]
                          ) -> list[list[dict[str, Any]]]:
        """As :meth:`simulate` for tries of ``keys`` (items judged on a shared row, up to their
        resource's ``upto``), but a scenario that fails a 100 % row of one of them in its first
        :data:`DECIDING_REPLICATIONS` replications (:meth:`Judged.fails_outright`), or misses one
        of their objectives by more than the rest could recover (:func:`misses_beyond_recovery`),
        is not run further: the verdict is the same; its evidence says ``n``."""
        first = min(self.n, DECIDING_REPLICATIONS)
        upto = _upto(keys)
        outs = self.simulate(scenarios, upto, reps=range(first))
        go_on = [j for j, sc in enumerate(scenarios)
                 if not _decided(sc, self.judge(sc, outs[j]), keys, outs[j], self.n)]
        if go_on and first < self.n:
            rest = self.simulate([scenarios[j] for j in go_on], upto, reps=range(first, self.n))
            for j, more in zip(go_on, rest, strict=True):
                outs[j] = outs[j] + more
        return outs

    def simulate_hints(self, base: Scenario, scenarios: Sequence[Scenario], keys: Sequence[ItemKey]
                       ) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
        """Tries of one item each (``keys[j]`` lowered in ``scenarios[j]``, the others at ``base``,
        which runs first in each replication's task for the engine's memo). After the first
        :data:`DECIDING_REPLICATIONS` replications a try decided as in :meth:`simulate_deciding`
        stops, and so does a try that holds at their mean: a hint only, whose evidence holds fewer
        replications than the plan's (:meth:`complete` runs the rest before it is committed as
        holding); the others run all ``n``. Returns the base's first replications and the tries'."""
        first = min(self.n, DECIDING_REPLICATIONS)
        upto = _upto(keys)
        base_outs, *outs = self.simulate([base, *scenarios], upto, reps=range(first))
        go_on = []
        for j, (sc, k) in enumerate(zip(scenarios, keys, strict=True)):
            judged = self.judge(sc, outs[j])
            if not (_decided(sc, judged, [k], outs[j], self.n)
                    or judged.holds(k.resource, k.operator, confident=False)):
                go_on.append(j)
        if go_on and first < self.n:
            rest = self.simulate([base, *(scenarios[j] for j in go_on)], upto,
                                 reps=range(first, self.n))[1:]
            for j, more in zip(go_on, rest, strict=True):
                outs[j] = outs[j] + more
        return base_outs, outs

    def complete(self, base: Scenario, sc: Scenario, outs: list[dict[str, Any]],
                 keys: Sequence[ItemKey]) -> list[dict[str, Any]]:
        """``outs`` (the first replications of ``sc``) with the rest of the plan's ``n``."""
        if len(outs) >= self.n:
            return outs
        return outs + self.simulate([base, sc], _upto(keys), reps=range(len(outs), self.n))[1]

    def judge(self, sc: Scenario, outs: Sequence[dict[str, Any]]) -> Judged:
        return judge(sc, [o["metrics"] for o in outs], self.opt.confidence)

    # -- items -------------------------------------------------------------------------------
    def operators(self) -> list[str]:
        ids = [op.id for op in self.sc.operators]
        if self.opt.operators is None:
            return ids
        return [i for i in ids if i in self.opt.operators]

    def selected(self) -> list[Resource]:
        """The registered resources this plan sizes, in the registry's order."""
        return [r for r in stages.resources() if r.name in self.opt.resources]

    def make_items(self, base: Sequence[dict[str, Any]]) -> list[Item]:
        """The items of every selected resource: the platform's first, then each operator's in
        planning order; each starts from its resource's analytic guess."""
        sc = self.sc
        chosen = self.selected()
        keys = [k for r in chosen if not r.per_operator for k in r.items(sc, PLATFORM)]
        per_op = sorted((r for r in chosen if r.per_operator), key=lambda r: r.phase)
        keys += [k for op_id in self.operators() for r in per_op for k in r.items(sc, op_id)]
        inp = GuessInput(sc, base, self.hours, {r.name: t for r in chosen
                                                if (t := tightest_s(sc, r.name)) is not None})
        items: list[Item] = []
        for key in keys:
            r = stages.resource(key.resource)
            cur = r.current(sc, key)
            start = r.start(inp, key, cur)
            it = Item(key, cur, start.guess, r.minimum, start.cap, note=start.note)
            it.step = start.step
            reason = r.infeasible(sc, key)
            if reason:  # try the search bound once: it gives the best value reached
                it.infeasible_note = reason
                it.lo = it.k_start()
                it.tried[it.lo] = {"value": list(it.value(it.lo)), "holds": False,
                                   "holds_at_mean": False, "metrics": {}, "note": reason}
                it.step = max(1, it.cap - it.lo)
            items.append(it)
        return items

    # -- phases ------------------------------------------------------------------------------
    def run_separable(self, items: list[Item], fixed: dict[ItemKey, Value], stage: str) -> None:
        """Items whose rows depend on their own capacity only: one simulation per round."""
        for rnd in range(MAX_ROUNDS):
            proposals = {it.key: v for it in items if (v := it.propose()) is not None}
            if not proposals:
                return
            self.progress(f"{stage}: round {rnd + 1}, {len(proposals)} item(s) searching")
            values = {**fixed, **{it.key: it.planned() for it in items if it.hi is not None},
                      **proposals}
            sc = with_values(self.sc, values)
            judged = self.judge(sc, self.simulate([sc], _upto([it.key for it in items]))[0])
            for it in items:
                if it.key in proposals:
                    it.record(proposals[it.key], judged.evidence(it.key.resource, it.key.operator))
        for it in items:
            if not it.done:
                it.infeasible = it.infeasible or f"search stopped after {MAX_ROUNDS} rounds"

    def run_coupled(self, items: list[Item], fixed: dict[ItemKey, Value], stage: str) -> None:
        """Items judged on one shared row (e.g. every operator's share of the platform's row).

        The values that every item meets on its own do not meet the row together (each
        operator's answers are late by a little, and the reply waits for the latest), so the
        committed values always hold *jointly*: first one common offset over every item's
        analytic guess is searched with joint tries; then each item is tried one unit lower on
        its own (the others at the committed values), and the lower values that held are
        committed only after a joint try of them together holds."""
        # tries judged on an objective (a share or a time, not 100 %) are seldom decided early:
        # tries alone stop at hints, and the joint tries are as few as the rows' slack allows
        hints = bool(stages.objectives_of(self.sc, items[0].key.resource))
        # lowering several together takes more of a shared row's slack than their parts alone
        # add up to (the reply waits for the latest answer): the largest ratio seen so far
        ratio = [1.0]

        def observe(part: Sequence[ItemKey], judged: Judged, room: float,
                    part_of: Mapping[ItemKey, float]) -> None:
            alone_sum = sum(part_of.get(k, 0.0) for k in part)
            drop = room - (slack(judged, part[0]) or 0.0)
            if alone_sum > 0 and drop > 0:
                ratio[0] = max(ratio[0], drop / alone_sum)
        known_bad: set[ConfigKey] = set()
        if len(items) > 1:
            bad = self._common_offset(items, fixed, stage)
            if hints:
                known_bad |= bad
        for rnd in range(MAX_ROUNDS):
            proposals = {it.key: v for it in items if (v := it.propose()) is not None}
            if not proposals:
                return
            self.progress(f"{stage}: round {rnd + 1}, {len(proposals)} item(s) searching")
            held = {it.key: it.planned() for it in items if it.hi is not None}
            current = {it.key: it.current for it in items if it.hi is None}
            base = {**fixed, **current, **held}
            by_item = {it.key: it for it in items}
            together = config_key({**base, **proposals})
            if len(proposals) == 1 or (not hints and together not in known_bad):
                joint_sc = with_values(self.sc, {**base, **proposals})
                joint = self.judge(joint_sc, self.simulate_deciding([joint_sc], list(proposals))[0])
                if all(joint.holds(k.resource, k.operator) for k in proposals) or len(proposals) == 1:
                    for k, v in proposals.items():
                        by_item[k].record(v, joint.evidence(k.resource, k.operator))
                    continue
                known_bad.add(together)
            # several: each alone (one node reruns each), then the longest part of those that
            # held which holds together (every node reruns: a joint try costs tens of single
            # ones; with hints, none is made of lowerings already seen to fail alone)
            keys = list(proposals)
            scs = {k: with_values(self.sc, {**base, k: proposals[k]}) for k in keys}
            # the base goes first in each replication's task: every candidate differs from it in
            # one operator, so the engine's memo reruns only that operator's node
            base_sc = with_values(self.sc, base)
            if hints:
                base_outs, outs = self.simulate_hints(base_sc, list(scs.values()), keys)
            else:
                base_outs, *outs = self.simulate_deciding([base_sc, *scs.values()], keys)
            tries = dict(zip(keys, outs, strict=True))
            alone: dict[ItemKey, Judged] = {k: self.judge(scs[k], tries[k]) for k in keys}
            failed: dict[ItemKey, dict[str, Any]] = {}
            good = []
            for k in keys:  # fails on its own: fails with the others lower still (monotone)
                if alone[k].holds(k.resource, k.operator, confident=len(tries[k]) >= self.n):
                    good.append(k)
                else:
                    failed[k] = alone[k].evidence(k.resource, k.operator)
            # the lowerings that leave the shared rows the most slack first: the longest first
            # part of them that holds together is then the longest. Each takes the base's slack
            # down by its own part (in the same first replications); the first joint try is the
            # longest part whose parts sum to less than the base's slack
            predicted = len(good)
            m = min(self.n, DECIDING_REPLICATIONS)
            room = slack(self.judge(base_sc, base_outs[:m]), good[0]) if hints and good else None
            part_of: dict[ItemKey, float] = {}
            if room is not None:
                part_of = {k: max(0.0, room - (slack(self.judge(scs[k], tries[k][:m]), k) or 0.0))
                           for k in keys}
                good.sort(key=lambda k: part_of[k])
                offset_try = self.joint_seen.get(config_key({**base, **proposals}))
                if offset_try is not None:
                    observe(keys, offset_try, room, part_of)  # every lowering together: the offset
                used, predicted = 0.0, 0
                for k in good:
                    used += part_of[k] * ratio[0]
                    if used >= room:
                        break
                    predicted += 1

            def complete(k: ItemKey, base_sc: Scenario = base_sc,
                         scs: dict[ItemKey, Scenario] = scs,
                         tries: dict[ItemKey, list[dict[str, Any]]] = tries,
                         failed: dict[ItemKey, dict[str, Any]] = failed) -> dict[str, Any]:
                tries[k] = self.complete(base_sc, scs[k], tries[k], [k])
                ev = self.judge(scs[k], tries[k]).evidence(k.resource, k.operator)
                if not ev["holds"]:
                    failed[k] = ev
                return ev

            def seen(part: list[ItemKey], judged: Judged, room: float | None = room,
                     part_of: dict[ItemKey, float] = part_of) -> None:
                if room is not None:
                    observe(part, judged, room, part_of)

            committed = self._commit(good, proposals, base, complete, known_bad, predicted,
                                     hints=hints, seen=seen)
            if hints and committed:
                self._one_by_one(good, proposals, {**base, **{k: proposals[k] for k in committed}},
                                 committed, failed, known_bad)
            if hints:
                self.progress(f"{stage}: round {rnd + 1}: {len(keys) - len(good)} failed alone, "
                              f"{len(good)} held alone (the first {predicted} predicted to hold "
                              f"together), {len(committed)} committed")
            for k in keys:
                if k in committed:
                    by_item[k].record(proposals[k], committed[k])
                elif k in failed:
                    by_item[k].record(proposals[k], failed[k])
                else:
                    by_item[k].defer()
        for it in items:
            if not it.done:
                it.infeasible = it.infeasible or f"search stopped after {MAX_ROUNDS} rounds"

    def _commit(self, good: list[ItemKey], proposals: dict[ItemKey, Value],
                base: dict[ItemKey, Value], complete: Callable[[ItemKey], dict[str, Any]],
                known_bad: set[ConfigKey], predicted: int, hints: bool = True,
                seen: Callable[[list[ItemKey], Judged], None] | None = None
                ) -> dict[ItemKey, dict[str, Any]]:
        """The lower values that held on their own and also hold together (with their evidence):
        the longest first part of them that holds, found by bisection on its length (a longer
        part lowers more capacities, so it holds less: the rows are monotone), starting from the
        first ``predicted``. Committing many in one round matters when a shared row has little
        slack left (an objective): committing one item a round took as many rounds as there are
        operators. With ``hints`` the tries alone stopped once they held in their first
        replications, so a part of one is the first one's try alone run to the plan's
        replications (``complete``); without, the first one held in all of them."""
        if not good:
            return {}
        best: dict[ItemKey, dict[str, Any]] = {}
        held, failed = 0, len(good) + 1  # lengths known to hold and to fail
        if not hints:
            best, held = {good[0]: complete(good[0])}, 1
        length = max(1, min(len(good), predicted))
        while held + 1 < failed:
            part = good[:length]
            values = {**base, **{k: proposals[k] for k in part}}
            together = config_key(values)
            ok = False
            if length == 1:
                ev = complete(part[0])
                ok = ev["holds"]
                if ok:
                    best = {part[0]: ev}
            elif together not in known_bad:
                sc = with_values(self.sc, values)
                judged = self.judge(sc, self.simulate_deciding([sc], part)[0])
                ok = all(judged.holds(k.resource, k.operator) for k in part)
                if seen is not None:
                    seen(part, judged)
                if ok:
                    best = {k: judged.evidence(k.resource, k.operator) for k in part}
                else:
                    known_bad.add(together)
            if ok:
                held = length
            else:
                failed = length
            length = (held + failed) // 2
        return best

    def _one_by_one(self, good: list[ItemKey], proposals: dict[ItemKey, Value],
                    values: dict[ItemKey, Value], committed: dict[ItemKey, dict[str, Any]],
                    failed: dict[ItemKey, dict[str, Any]], known_bad: set[ConfigKey]) -> None:
        """After the longest part that holds: each other lowering that held alone, in order, with
        every one committed so far (``values``): committed when it holds, else failed (with the
        others lower still it fails too, so the item is done at its value). One more node each
        time, so the engine's memo reruns a node or a few, not every node; and every lowering is
        settled in this round instead of being tried alone again in the next."""
        for k in good:
            if k in committed or k in failed:
                continue
            mine = {**values, k: proposals[k]}
            if config_key(mine) in known_bad:
                continue
            sc = with_values(self.sc, mine)
            ev = self.judge(sc, self.simulate_deciding([sc], [k])[0]).evidence(k.resource,
                                                                               k.operator)
            if ev["holds"]:
                committed[k] = ev
                values = mine
            else:
                failed[k] = ev
                known_bad.add(config_key(mine))

    def _common_offset(self, items: list[Item], fixed: dict[ItemKey, Value], stage: str
                       ) -> set[ConfigKey]:
        """Every item at ``max(minimum, guess + k)`` for one ``k``: the least ``k`` whose joint try
        holds, by doubling steps then bisection. Each item then starts from its value there.
        Returns the joint configurations that failed (the first joint try of the items one lower
        is one of them)."""
        k_min = min(it.minimum - it.guess[0] for it in items)
        k_max = max(it.cap - it.guess[0] for it in items)

        def values(k: int) -> dict[ItemKey, Value]:
            return {it.key: (max(it.minimum, min(it.cap, it.guess[0] + k)),) for it in items}

        tried: dict[int, Judged] = {}
        bad: set[ConfigKey] = set()
        lo: int | None = None
        hi: int | None = None
        k, step = 0, 1
        for rnd in range(MAX_ROUNDS):
            self.progress(f"{stage}: common offset {k:+d} over the analytic guesses "
                          f"(round {rnd + 1})")
            sc = with_values(self.sc, {**fixed, **values(k)})
            tried[k] = judged = self.judge(sc, self.simulate_deciding([sc], [it.key for it in items])[0])
            if all(judged.holds(it.key.resource, it.key.operator) for it in items):
                hi = k
            else:
                lo = k
                bad.add(config_key({**fixed, **values(k)}))
                self.joint_seen[config_key({**fixed, **values(k)})] = judged
            if hi is not None and (hi <= k_min or (lo is not None and hi - lo <= 1)):
                break
            if hi is None:
                if k >= k_max:
                    break
                k = min(k_max, k + step)
            elif lo is None:
                k = max(k_min, k - step)
            else:
                k = (lo + hi) // 2
            step *= 2
        if hi is None:  # no common offset within the bound: search each item from its bound
            return bad
        for it in items:
            v = values(hi)[it.key]
            it.hi = v[0]
            it.tried[v[0]] = {"value": list(v), **tried[hi].evidence(it.key.resource,
                                                                      it.key.operator)}
            it.step = 1
        return bad


def _upto(keys: Sequence[ItemKey]) -> str:
    """The engine stage the rows of ``keys`` need: their resources' common ``upto``, else all."""
    uptos = {stages.resource(k.resource).upto for k in keys}
    return uptos.pop() if len(uptos) == 1 else "all"


def slack(judged: Judged, key: ItemKey) -> float | None:
    """How far the objectives that judge ``key`` are from their targets at the mean, the least
    over its rows, as a part of the room the target leaves: a share's ``(value - target) /
    (1 - target)`` (0.995 of 0.99: 0.5), a time's ``(target - value) / target``. Orders the
    lowerings of a shared row (``None`` when no objective judges it)."""
    sc = judged.sc
    if sc is None:
        return None
    declared = stages.objective_metrics()
    out = math.inf
    for req, scope in item_rows(sc, key.resource, key.operator):
        for o in sc.objectives:
            e = judged.summary.get(scope, {}).get(stages.objective_key(o)) if o.id == req else None
            if e is None or e.get("mean") is None or math.isnan(e["mean"]):
                continue
            spec, v, t = declared[o.metric], float(e["mean"]), o.target
            room = (1.0 - t) if spec.share and spec.bound == "min" else abs(t)
            gap = (v - t) if spec.bound == "min" else (t - v)
            out = min(out, gap / room if room > 0 else gap)
    return None if math.isinf(out) else out


def _decided(sc: Scenario, judged: Judged, keys: Sequence[ItemKey],
             outs: Sequence[dict[str, Any]], n: int) -> bool:
    return (any(judged.fails_outright(k.resource, k.operator) for k in keys)
            or misses_beyond_recovery(sc, outs, keys, n))


def misses_beyond_recovery(sc: Scenario, outs: Sequence[dict[str, Any]], keys: Sequence[ItemKey],
                           n: int) -> bool:
    """The first replications ``outs`` of a try miss an objective row of one of ``keys`` by more
    than the other ``n - len(outs)`` could recover (:func:`cannot_recover`): the try fails at the
    mean of all ``n``, so at the plan's confidence too, and is decided without them."""
    m = len(outs)
    if m >= n or not sc.objectives:
        return False
    declared = stages.objective_metrics()
    for o in sc.objectives:
        spec = declared[o.metric]
        key = stages.objective_key(o)
        scopes = {scope for k in keys for req, scope in item_rows(sc, k.resource, k.operator)
                  if req == o.id}
        for scope in sorted(scopes):
            xs = [r["metrics"].get(scope, {}).get(key) for r in outs]
            values = [float(x) for x in xs if x is not None and not math.isnan(x)]
            if len(values) == m and cannot_recover(values, n, o.target, spec.bound, spec.share):
                return True
    return False


def cannot_recover(xs: Sequence[float], n: int, target: float, bound: str, share: bool) -> bool:
    """Sequential decision on a floor (``bound`` ``min``) or a ceiling (``max``) judged on the mean
    of ``n`` replications, from the first ``len(xs)``: the mean of the others is at best the
    :data:`DECIDING_CONFIDENCE` Student t prediction bound
    ``mean ± t · s · sqrt(1/m + 1/(n - m))`` (and never past what the metric can be: a share is at
    most 1, a time at least 0). When even that final mean misses ``target``, the try fails (at
    the mean, so at any confidence bound) with that confidence; two equal values decide at once."""
    m = len(xs)
    if m < 2 or m >= n:
        return False
    mean = math.fsum(xs) / m
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (m - 1))
    reach = t_quantile(DECIDING_CONFIDENCE, m - 1) * sd * math.sqrt(1.0 / m + 1.0 / (n - m))
    if bound == "min":
        rest = min(1.0, mean + reach) if share else mean + reach
        return (m * mean + (n - m) * rest) / n < target
    rest = max(0.0, mean - reach)
    return (m * mean + (n - m) * rest) / n > target


def infeasible_reason(sc: Scenario, key: ItemKey) -> str | None:
    """A reason no capacity of ``key`` can meet its SLA, known before simulating (or ``None``)."""
    return stages.resource(key.resource).infeasible(sc, key)


def _fmt_value(v: Value) -> list[int]:
    return [int(x) for x in v]


def _phases(items: list[Item]) -> list[tuple[str, list[Item]]]:
    """The searches of a plan, in order: per phase, the joint items of each resource, each item
    of an ``each`` resource alone, then every separable item of the phase at once."""
    out: list[tuple[str, list[Item]]] = []
    for phase in sorted({it.resource.phase for it in items}):
        mine = [it for it in items if it.resource.phase == phase]
        names = list(dict.fromkeys(it.key.resource for it in mine))
        for name in names:
            of = [it for it in mine if it.key.resource == name]
            if of[0].resource.coupling == "joint":
                out.append((name, of))
            elif of[0].resource.coupling == "each":
                out += [(f"{name} {it.key.part}".strip(), [it]) for it in of]
        sep = [it for it in mine if it.resource.coupling == "separable"]
        if sep:
            out.append((" and ".join(n for n in names if stages.resource(n).coupling == "separable"),
                        sep))
    return out


def plan(sc: Scenario, options: PlanOptions, executor: Executor, engine: Engine = fast_engine,
         progress: Progress | None = None) -> dict[str, Any]:
    """Plan ``sc``; returns the ``plan.json`` document (deterministic for one seed)."""
    pl = Planner(sc, options, executor, engine, progress)
    pl.progress("current capacities: simulating")
    base_outs = pl.simulate([sc], details=True)[0]
    current = pl.judge(sc, base_outs)
    items = pl.make_items(base_outs)
    fixed: dict[ItemKey, Value] = {}
    for label, group in _phases(items):  # upstream first; each search's values fixed for the next
        if group[0].resource.coupling == "separable":
            pl.run_separable(group, fixed, label)
        else:
            pl.run_coupled(group, fixed, label)
        fixed.update({it.key: it.planned() if not it.infeasible else it.current for it in group})
    planned = {it.key: (it.planned() if not it.infeasible else it.current) for it in items}
    curve = [it for it in items if it.resource.curve is not None and not it.infeasible]
    offsets = {it.key: it.resource.curve.offsets for it in curve if it.resource.curve}
    for d in sorted({d for ds in offsets.values() for d in ds}):  # one run judges every item
        values = {it.key: tuple(max(1, v + d) for v in planned[it.key]) for it in curve
                  if d in offsets[it.key]}
        values = {k: v for k, v in values.items() if v != planned[k]}
        if not values:
            continue
        pl.progress(f"curve: plan {d:+d}")
        s = with_values(sc, {**planned, **values})
        judged = pl.judge(s, pl.simulate([s])[0])
        for it in curve:
            if it.key in values:
                it.curve[values[it.key]] = {"value": list(values[it.key]),
                                            **judged.evidence(it.key.resource, it.key.operator)}
    rosters = design_rosters(pl, items, planned) if options.design_shifts else {}
    final_sc = with_values(sc, dict(planned.items()))
    if rosters:
        final_sc = from_document(merge(sc.document, roster_overrides(sc, planned, rosters)), sc.source)
    pl.progress("planned capacities: confirming")
    final_outs = pl.simulate([final_sc])[0]
    final = pl.judge(final_sc, final_outs)
    document = _document(sc, options, pl, items, planned, current, final, final_sc)
    if rosters:
        _add_rosters(document, sc, planned, rosters)
    if sc.costs is not None:
        add_costs(document, sc, items, planned, rosters)
    return document


def add_costs(document: dict[str, Any], sc: Scenario, items: list[Item],
              planned: dict[ItemKey, Value], rosters: Mapping[ItemKey, Designed]) -> None:
    """Each item's cost a day at its current and planned value (a designed roster's paid hours
    when shifts were designed), from the scenario's unit ``costs:`` and the quantity its resource
    bills; the plan's totals. An item whose unit has no cost given is left out of both."""
    costs = sc.costs
    assert costs is not None
    total = {"current": 0.0, "planned": 0.0}
    by_key = {it.key: it for it in items}
    for e in document["items"]:
        key = ItemKey(e["resource"], e["operator"], e["part"] or "")
        it = by_key[key]
        bill = it.resource.quantity
        if bill is None:
            continue
        unit, now = bill(sc, key, it.current)
        _, then = bill(sc, key, planned[key])
        if key in rosters:
            then = rosters[key].roster.agent_hours
        price = getattr(costs, unit, None)
        if price is None:
            continue
        e["cost"] = {"unit": unit, "unit_cost": price, "current_quantity": now,
                     "planned_quantity": then, "current": now * price, "planned": then * price}
        total["current"] += now * price
        total["planned"] += then * price
    document["costs"] = {"currency": costs.currency, "per": "day", **total,
                         "units": {f.name: getattr(costs, f.name) for f in dataclasses.fields(costs)
                                   if f.name != "currency"}}


# -- shift design ----------------------------------------------------------------------------------
@dataclass
class Designed:
    """One item's designed roster and how simulate-and-adjust reached it."""

    roster: Roster
    open_hours: frozenset[int]
    sipp: list[int]
    """The analytic requirement per hour of the day (folded: the largest over the days)."""
    required: list[int]
    """The requirement the roster covers: the analytic one plus the simulation's raises."""
    rounds: list[dict[str, Any]] = field(default_factory=list)
    holds: bool = False
    raises: dict[int, int] = field(default_factory=dict)
    """Times each hour of the day was raised."""
    fixed_broken: list[str] = field(default_factory=list)
    """Hours of the horizon the fixed-window plan breaks (the same check)."""
    same_target: dict[str, Any] = field(default_factory=dict)
    """The scenario's windows sized to the roster's requirement (each window the largest
    requirement it covers, net of the others), simulated: what fixed windows pay for the same
    hour-by-hour target."""
    search: dict[str, Any] = field(default_factory=dict)
    """``--shift-target run``: the hourly target's share found, where trimming started, the moves
    kept, and one agent less on each pattern of the final roster (each breaks a row)."""


def design_rosters(pl: Planner, items: list[Item], planned: dict[ItemKey, Value]
                   ) -> dict[ItemKey, Designed]:
    """Shift design to the plan's ``shift_target``: :func:`design_rosters_run` (the item's rows
    over the whole run) or :func:`design_rosters_hourly` (every hour)."""
    if pl.opt.shift_target == "hourly":
        return design_rosters_hourly(pl, items, planned)
    if pl.opt.shift_target != "run":
        raise UserError(f"--shift-target: {pl.opt.shift_target!r} is not run or hourly")
    return design_rosters_run(pl, items, planned)


def design_rosters_hourly(pl: Planner, items: list[Item], planned: dict[ItemKey, Value]
                          ) -> dict[ItemKey, Designed]:
    """Shift design with simulate-and-adjust (ISA): for every item whose resource has roster
    hooks, the hourly requirement at the offered load simulated at the plan, folded to one day
    (the scenario's shifts repeat daily), is covered at least cost by the allowed patterns
    (:func:`yzt.sim.shifts.design`); the roster is simulated, every hour that breaks the target
    (or, when none does but the item's rows fail, the worst hour) is raised (by one, by two
    when it breaks again, then four, ...), and the roster designed again, for at most
    :data:`~yzt.sim.stages.staffing.ISA_ROUNDS` rounds. Every item is designed at once: their
    rows depend on their own capacity only."""
    chosen = [it for it in items if it.resource.roster is not None and not it.infeasible]
    if not chosen:
        return {}
    pl.progress("shift design: offered load at the plan")
    outs = pl.simulate([with_values(pl.sc, planned)], details=True)[0]
    state: dict[ItemKey, Designed] = {}
    fixed_broken: dict[ItemKey, list[str]] = {}
    for it in chosen:
        ro = it.resource.roster
        assert ro is not None
        checks = (ro.hour_check(pl.sc, it.key, [o["details"][it.key.resource] for o in outs],
                                pl.hours) if ro.hour_check else [])
        fixed_broken[it.key] = [hour_text(t) for t, ok in enumerate(checks) if ok is False]
    for rnd in range(staffing.ISA_ROUNDS):
        for it in chosen:
            ro = it.resource.roster
            assert ro is not None
            det = [o["details"][it.key.resource] for o in outs]
            need = staffing.fold(ro.requirement(pl.sc, it.key, det, pl.hours, planned[it.key]),
                                 ro.patterns(pl.sc, it.key)[1])
            d = state.get(it.key)
            if d is None:
                _, open_hours = ro.patterns(pl.sc, it.key)
                required = need
            else:
                open_hours, required = d.open_hours, [max(a, b) for a, b in zip(d.required, need,
                                                                                 strict=True)]
            roster = staffing.design_day(ro, pl.sc, it.key, required)
            state[it.key] = Designed(roster, open_hours, d.sipp if d else need, required,
                                     d.rounds if d else [], raises=d.raises if d else {},
                                     fixed_broken=fixed_broken[it.key])
        sc = from_document(merge(pl.sc.document, roster_overrides(pl.sc, planned, state)),
                           pl.sc.source)
        pl.progress(f"shift design: simulate-and-adjust round {rnd + 1}")
        outs = pl.simulate([sc], details=True)[0]
        judged = pl.judge(sc, outs)
        raised_any = False
        for it in chosen:
            ro, d = it.resource.roster, state[it.key]
            assert ro is not None
            det = [o["details"][it.key.resource] for o in outs]
            checks = ro.hour_check(pl.sc, it.key, det, pl.hours) if ro.hour_check else []
            broken = [t for t, ok in enumerate(checks) if ok is False and t % 24 in d.open_hours]
            raise_hours = sorted({t % 24 for t in broken})
            holds = judged.holds(it.key.resource, it.key.operator)
            if not raise_hours and not holds:
                worst = (ro.worst_hour(pl.sc, it.key, det, pl.hours, d.open_hours)
                         if ro.worst_hour else None)
                raise_hours = [worst] if worst is not None else sorted(d.open_hours)
            d.rounds.append({"round": rnd + 1, "agent_hours": d.roster.agent_hours,
                             "rows_hold": holds,
                             "hours_broken": [hour_text(t) for t in broken],
                             "raised": [f"{h:02d}:00" for h in raise_hours]})
            d.holds = not raise_hours
            for h in raise_hours:  # an hour broken again is raised twice as much as before
                d.raises[h] = d.raises.get(h, 0) + 1
                d.required[h] += 2 ** (d.raises[h] - 1)
            raised_any = raised_any or bool(raise_hours)
        if not raised_any:
            break
    for it in chosen:  # the last round's raises are designed in, so the roster covers them
        d = state[it.key]
        ro = it.resource.roster
        assert ro is not None
        if not d.holds:
            d.roster = staffing.design_day(ro, pl.sc, it.key, d.required)
    _same_target(pl, chosen, planned, state)
    return state


HOURLY_RULE = ("every hour meets the target: the hourly requirement (folded to one day: the largest "
               "over the days, as the scenario's shifts repeat daily) covered at least cost by the "
               "allowed patterns, then simulated; every hour that breaks the target is raised (by "
               "one, then twice the last raise each time it breaks again) and the roster designed "
               "again (simulate-and-adjust)")
RUN_RULE = ("each roster meets its item's rows over the whole run (the rows the fixed-window plan "
            "meets) at least agent-hours found in simulation: the hourly requirement at a share of "
            "the target bisected until the rows hold, covered at least cost by the allowed patterns "
            "(folded to one day); from the cheaper of that roster and the fixed-window plan, one "
            "agent less or a shorter pattern while the rows hold; one agent less on any pattern of "
            "the result breaks a row")


def _same_target(pl: Planner, chosen: list[Item], planned: dict[ItemKey, Value],
                 state: dict[ItemKey, Designed]) -> None:
    """The scenario's windows sized to each roster's requirement, simulated: what fixed windows
    pay for the same hour-by-hour target (``Designed.same_target``)."""
    windows = {it.key: staffing.shift_guess(it.resource.roster.shifts(pl.sc, it.key),
                                            state[it.key].required)
               for it in chosen if it.resource.roster is not None}
    pl.progress("shift design: fixed windows at the same requirement")
    sc = with_values(pl.sc, {**planned, **windows})
    outs = pl.simulate([sc], details=True)[0]
    judged = pl.judge(sc, outs)
    for it in chosen:
        ro = it.resource.roster
        assert ro is not None
        checks = (ro.hour_check(pl.sc, it.key, [o["details"][it.key.resource] for o in outs],
                                pl.hours) if ro.hour_check else [])
        state[it.key].same_target = {
            "planned": list(windows[it.key]),
            "agent_hours": staffing.day_agent_hours(ro.shifts(pl.sc, it.key), windows[it.key]),
            "hours_broken": [hour_text(t) for t, ok in enumerate(checks) if ok is False],
            "rows_hold": judged.holds(it.key.resource, it.key.operator)}


def design_rosters_run(pl: Planner, items: list[Item], planned: dict[ItemKey, Value]
                       ) -> dict[ItemKey, Designed]:
    """Shift design to the item's rows over the whole run (``--shift-target run``), the rows the
    fixed-window plan meets, at least agent-hours found in simulation:

    1. **Hourly target.** Each hour is held to a share ``s`` of the target (the resource's
       ``requirement_at``; SIPP, folded to one day, at least one person on each open hour) and the
       least-cost roster covering it is designed; ``s`` is bisected on a grid of
       :data:`~yzt.sim.stages.staffing.TARGET_STEPS` with the simulation judging the rows (a
       requirement already judged is not simulated again).
    2. **Start.** The cheaper of that roster and the fixed-window plan (both hold in simulation).
    3. **Trim.** One agent less on a pattern, or one moved to a shorter allowed pattern inside
       it, most hours saved first, while the rows hold (up to
       :data:`~yzt.sim.stages.staffing.TRIM_WIDTH` moves per item per simulation); a move that
       failed is not tried again (fewer hours do not hold better). It ends with one agent less on
       each pattern simulated at the final roster: each breaks a row (or empties an open hour).

    Every item is designed at once: their rows depend on their own capacity only."""
    chosen = [it for it in items if it.resource.roster is not None and not it.infeasible]
    if not chosen:
        return {}
    sc0 = pl.sc
    pl.progress("shift design: offered load at the plan")
    base_sc = with_values(sc0, planned)
    outs = pl.simulate([base_sc], details=True)[0]
    base = pl.judge(base_sc, outs)
    ro_of: dict[ItemKey, staffing.Rostering] = {}
    for it in chosen:
        assert it.resource.roster is not None
        ro_of[it.key] = it.resource.roster
    det = {k: [o["details"][k.resource] for o in outs] for k in ro_of}
    fixed_broken: dict[ItemKey, list[str]] = {}
    for k, ro in ro_of.items():
        checks = ro.hour_check(sc0, k, det[k], pl.hours) if ro.hour_check else []
        fixed_broken[k] = [hour_text(t) for t, ok in enumerate(checks) if ok is False]
    allowed = {k: ro.patterns(sc0, k) for k, ro in ro_of.items()}
    steps = staffing.TARGET_STEPS

    def required_at(k: ItemKey, step: int) -> tuple[int, ...]:
        """The folded requirement at ``step / steps`` of the hourly target; past ``steps``, the
        full target's and ``step - steps`` more on every open hour."""
        ro = ro_of[k]
        share = min(step, steps) / steps
        raw = (ro.requirement_at(sc0, k, det[k], pl.hours, planned[k], share)
               if ro.requirement_at else ro.requirement(sc0, k, det[k], pl.hours, planned[k]))
        more = max(0, step - steps)
        return tuple(r + more if h in allowed[k][1] else r
                     for h, r in enumerate(staffing.fold(raw, allowed[k][1])))

    def scenario(counts: Mapping[ItemKey, Mapping[ShiftPattern, int]]) -> Scenario:
        doc = overrides(sc0, planned)
        for k, c in sorted(counts.items(), key=lambda kv: kv[0].label):
            staffing.roster_override(ro_of[k], k, roster_of(c, [0] * 24), doc)
        return from_document(merge(sc0.document, doc), sc0.source)

    # 1. the hourly target: bisection over its share, the simulation judging the rows
    lo: dict[ItemKey, int] = dict.fromkeys(ro_of, -1)
    hi: dict[ItemKey, int | None] = dict.fromkeys(ro_of)
    step_of: dict[ItemKey, int | None] = dict.fromkeys(ro_of, steps)
    known: dict[ItemKey, dict[tuple[int, ...], bool]] = {k: {} for k in ro_of}
    designed: dict[tuple[ItemKey, tuple[int, ...]], Roster] = {}
    log: dict[ItemKey, list[dict[str, Any]]] = {k: [] for k in ro_of}

    def settle(k: ItemKey, step: int, holds: bool) -> None:
        if holds:
            hi[k] = step
        else:
            lo[k] = step
        h = hi[k]
        if h is None:  # the full hourly target fails the rows: more on every hour, doubling
            top = steps + staffing.TARGET_EXTRA_MAX
            step_of[k] = None if step >= top else min(top, steps + max(1, 2 * (step - steps)))
        else:
            step_of[k] = (lo[k] + h) // 2 if h - lo[k] > 1 else None

    for rnd in range(2 * steps.bit_length() + staffing.TARGET_EXTRA_MAX.bit_length()):
        tries: dict[ItemKey, tuple[int, tuple[int, ...]]] = {}
        for k in ro_of:
            while (step := step_of[k]) is not None:
                req = required_at(k, step)
                if req not in known[k]:
                    tries[k] = (step, req)
                    break
                settle(k, step, known[k][req])
        if not tries:
            break
        for k, (_, req) in tries.items():
            if (k, req) not in designed:
                designed[k, req] = staffing.design_day(ro_of[k], sc0, k, req)
        pl.progress(f"shift design: hourly target, round {rnd + 1}, {len(tries)} item(s)")
        counts = {k: _counts(designed[k, req]) for k, (_, req) in tries.items()}
        sc = scenario(counts)
        judged = pl.judge(sc, pl.simulate([sc], _upto(list(tries)))[0])
        for k, (step, req) in tries.items():
            holds = judged.holds(k.resource, k.operator)
            known[k][req] = holds
            log[k].append({"round": rnd + 1, "phase": "target", "target_share": step / steps,
                           "agent_hours": designed[k, req].agent_hours, "rows_hold": holds})
            settle(k, step, holds)

    # 2. start from the cheaper roster that holds: the designed one or the fixed-window plan
    state: dict[ItemKey, dict[ShiftPattern, int]] = {}
    start: dict[ItemKey, str] = {}
    required: dict[ItemKey, tuple[int, ...]] = {}
    for k, ro in ro_of.items():
        h = hi[k]
        required[k] = required_at(k, h if h is not None else steps)
        windows = staffing.window_counts(ro.shifts(sc0, k), planned[k])
        fits = windows is not None and all(p in allowed[k][0] for p in windows)
        fixed_ok = fits and base.holds(k.resource, k.operator)
        mine = _counts(designed[k, required[k]]) if h is not None else None
        if h is not None and mine is not None and (not fixed_ok
                                                   or _hours(mine) <= _hours(windows or {})):
            start[k] = (f"designed at {h / steps:.4g} of the hourly target" if h <= steps else
                        f"designed at the full hourly target and {h - steps} more on every open hour")
            state[k] = mine
        elif fixed_ok and windows is not None:
            state[k], start[k] = windows, "the fixed-window plan"
        else:  # nothing found holds: the full hourly target's roster, judged by the confirmation
            state[k] = _counts(staffing.design_day(ro, sc0, k, required[k]))
            start[k] = "designed at the full hourly target (did not hold)"

    # 3. trim while the rows hold: per round and item, the moves that save most and least (a
    # move that held is tried with twice the agents next, one that failed with half; one that
    # failed with one agent is not tried again, nor any move to a pattern inside its own: fewer
    # hours do not hold better); then one agent less on each pattern, at the final roster
    bad: dict[ItemKey, set[staffing.Move]] = {k: set() for k in ro_of}
    failed_at: dict[ItemKey, dict[staffing.Move, tuple[frozenset[Any], dict[str, Any]]]] = {
        k: {} for k in ro_of}
    mult: dict[ItemKey, dict[staffing.Move, int]] = {k: {} for k in ro_of}
    holds_now = {k: not start[k].endswith("(did not hold)") for k in ro_of}
    verified: dict[ItemKey, list[dict[str, Any]]] = {}
    moves_done: dict[ItemKey, list[str]] = {k: [] for k in ro_of}
    width_top = staffing.TRIM_WIDTH // 2

    def one_less(k: ItemKey) -> list[dict[str, Any]] | None:
        """One agent less on each pattern, if every one already failed at this very roster."""
        here = frozenset(state[k].items())
        drops = [m for m in staffing.trim_moves(state[k], *allowed[k]) if m.add is None]
        seen = [failed_at[k].get(m) for m in drops]
        if any(x is None or x[0] != here for x in seen):
            return None
        return [{"shift": m.drop.label, "agent_hours": _hours(state[k]) - m.saves, **x[1]}
                for m, x in zip(drops, seen, strict=True) if x is not None]

    for rnd in range(staffing.TRIM_ROUNDS):
        tries_m: dict[ItemKey, list[staffing.Move]] = {}
        checking: set[ItemKey] = set()
        for k in ro_of:
            if k in verified or not holds_now[k]:
                continue
            pats, open_hours = allowed[k]
            units = [m for m in staffing.trim_moves(state[k], pats, open_hours) if m not in bad[k]]
            if units:
                pick = list(dict.fromkeys(
                    units[:width_top] + units[len(units) - (staffing.TRIM_WIDTH - width_top):]))
                tries_m[k] = [dataclasses.replace(
                    u, count=max(1, min(mult[k].get(u, 1), u.most(state[k], open_hours))))
                    for u in pick]
            elif (done := one_less(k)) is not None:
                verified[k] = done
            else:
                checking.add(k)
                tries_m[k] = [m for m in staffing.trim_moves(state[k], pats, open_hours)
                              if m.add is None]
        if not tries_m:
            break
        width = max(len(v) for v in tries_m.values())
        pl.progress(f"shift design: trimming, round {rnd + 1}, {len(tries_m)} item(s), "
                    f"{width} tries each")
        scs = [scenario({k: staffing.apply_move(state[k], v[j]) for k, v in tries_m.items()
                         if j < len(v)}) for j in range(width)]
        results = pl.simulate(scs, _upto(list(tries_m)))
        judged_j = [pl.judge(s, r) for s, r in zip(scs, results, strict=True)]
        for k, moves in tries_m.items():
            here = frozenset(state[k].items())
            held = []
            for j, m in enumerate(moves):
                ev = judged_j[j].evidence(k.resource, k.operator)
                if ev["holds"]:
                    held.append(m)
                elif m.count > 1:
                    mult[k][m.unit] = m.count // 2
                else:
                    failed_at[k][m.unit] = (here, ev)
                    bad[k] |= {m.unit, *staffing.inside(m, allowed[k][0])}
            if held:
                best = max(held, key=lambda m: m.saves * m.count)
                state[k] = staffing.apply_move(state[k], best)
                mult[k][best.unit] = 2 * best.count
                moves_done[k].append(best.label)
            elif k in checking:
                verified[k] = one_less(k) or []
            log[k].append({"round": rnd + 1, "phase": "check" if k in checking else "trim",
                           "tried": [m.label for m in moves],
                           "held": [m.label for m in held],
                           "agent_hours": _hours(state[k]), "rows_hold": True})
    for k in ro_of:  # every move failed in the last round: the check is already done
        if k not in verified and holds_now[k] and not [
                m for m in staffing.trim_moves(state[k], *allowed[k]) if m not in bad[k]] and (
                done := one_less(k)) is not None:
            verified[k] = done

    out: dict[ItemKey, Designed] = {}
    for k, ro in ro_of.items():
        open_hours = allowed[k][1]
        sipp = list(required_at(k, steps)) if ro.requirement_at else list(required[k])
        roster = staffing.design_counts(ro, sc0, k, state[k], required[k])
        h = hi[k]
        out[k] = Designed(roster, open_hours, sipp, list(required[k]), log[k],
                          holds=holds_now[k], fixed_broken=fixed_broken[k])
        out[k].search = {
            "target": "run",
            "target_share": None if h is None else min(h, steps) / steps,
            "more_per_open_hour": None if h is None else max(0, h - steps),
            "start": start[k], "moves": moves_done[k],
            "minimal": k in verified,
            "one_shift_less": verified.get(k, []),
        }
    _same_target(pl, chosen, planned, out)
    return out


def _counts(roster: Roster) -> dict[ShiftPattern, int]:
    out: dict[ShiftPattern, int] = {}
    for a in roster.assignments:
        out[a.pattern] = out.get(a.pattern, 0) + a.agents
    return out


def _hours(counts: Mapping[ShiftPattern, int]) -> int:
    return sum(len(p.worked) * n for p, n in counts.items())


def hour_text(hour: int) -> str:
    """Hour ``hour`` of the horizon as day and clock: ``D1 09:00``."""
    return f"D{hour // 24 + 1} {hour % 24:02d}:00"


def roster_overrides(sc: Scenario, planned: dict[ItemKey, Value],
                     rosters: Mapping[ItemKey, Designed]) -> dict[str, Any]:
    """The plan's overrides with every designed roster written as its item's shifts."""
    doc = overrides(sc, planned)
    for key, d in sorted(rosters.items(), key=lambda kv: kv[0].label):
        ro = stages.resource(key.resource).roster
        assert ro is not None
        staffing.roster_override(ro, key, d.roster, doc)
    return doc


def _add_rosters(document: dict[str, Any], sc: Scenario, planned: dict[ItemKey, Value],
                 rosters: dict[ItemKey, Designed]) -> None:
    """plan.json with the designed rosters: per item the patterns chosen with head counts, per
    hour required against planned beside the fixed-window plan, and agent-hours of both."""
    total = fixed_total = same_total = 0.0
    for e in document["items"]:
        key = ItemKey(e["resource"], e["operator"], e["part"] or "")
        d = rosters.get(key)
        if d is None:
            continue
        ro = stages.resource(key.resource).roster
        assert ro is not None
        shifts = ro.shifts(sc, key)
        fixed = staffing.agents_by_hour(shifts, planned[key], 24)
        fixed_h = staffing.day_agent_hours(shifts, planned[key])
        total += d.roster.agent_hours
        fixed_total += fixed_h
        same_total += d.same_target["agent_hours"]
        e["roster"] = {
            "patterns": [{"pattern": a.pattern.label, "start_h": a.pattern.start_h,
                          "length_h": a.pattern.length_h, "breaks": list(a.pattern.breaks),
                          "agents": a.agents, "paid_hours": a.paid_hours}
                         for a in d.roster.assignments],
            "shifts": [{"start_h": s.start_h, "end_h": s.end_h, "agents": s.agents}
                       for s in d.roster.to_shifts()],
            "hours": [{"hour": h, "label": f"{h:02d}:00", "required_sipp": d.sipp[h],
                       "required": d.required[h], "planned": c.planned, "fixed_window": fixed[h]}
                      for h, c in enumerate(d.roster.hours)],
            "agent_hours": d.roster.agent_hours,
            "fixed_window_agent_hours": fixed_h,
            "optimal": d.roster.optimal,
            "isa": {"rounds": d.rounds, "holds": d.holds},
            "fixed_window_hours_broken": d.fixed_broken,
            "fixed_window_same_target": d.same_target,
        }
        if d.search:
            e["roster"]["search"] = d.search
    run = any(d.search for d in rosters.values())
    document["shift_design"] = {
        "agent_hours": total, "fixed_window_agent_hours": fixed_total,
        "fixed_window_same_target_agent_hours": same_total,
        "target": "run" if run else "hourly",
        "rounds_max": staffing.TRIM_ROUNDS if run else staffing.ISA_ROUNDS,
        "rule": RUN_RULE if run else HOURLY_RULE,
    }
    document["overrides"] = roster_overrides(sc, planned, rosters)


def _curve(it: Item) -> list[dict[str, Any]]:
    """Every capacity simulated for ``it``, once each, ordered by total head count."""
    seen: dict[tuple[int, ...], dict[str, Any]] = {}
    for t in [*it.tried.values(), *it.refined.values(), *it.curve.values()]:
        seen.setdefault(tuple(t["value"]), {"value": t["value"], "holds": t["holds"],
                                            "metrics": t["metrics"]})
    return [seen[k] for k in sorted(seen, key=lambda v: (sum(v), v))]


def dumps(document: dict[str, Any]) -> str:
    """The text of ``plan.json``, kind ``plan`` (:mod:`yzt.resultfile`)."""
    return resultfile.dumps_kind("plan", document)


def _document(sc: Scenario, opt: PlanOptions, pl: Planner, items: list[Item],
              planned: dict[ItemKey, Value], current: Judged, final: Judged,
              final_sc: Scenario) -> dict[str, Any]:
    entries = []
    for it in items:
        value = planned[it.key]
        less = it.one_unit_less()
        at_plan = final.evidence(it.key.resource, it.key.operator)
        entry: dict[str, Any] = {
            "operator": it.key.operator, "resource": it.key.resource, "part": it.key.part or None,
            "current": _fmt_value(it.current), "planned": _fmt_value(value),
            "analytic_guess": _fmt_value(it.guess),
            "difference": [int(p) - int(c) for p, c in zip(value, it.current, strict=True)],
            "slas": list(it.resource.slas),
            "objectives": [req for req, _ in item_rows(sc, it.key.resource, it.key.operator)
                           if req not in it.resource.slas],
            "binding": binding_rows(less),
            "at_current": current.evidence(it.key.resource, it.key.operator),
            "at_planned": at_plan, "one_unit_less": less,
            "minimum_value": it.minimum,
            "at_minimum": bool(all(v <= it.minimum for v in value)),
            "verdict": (Verdict.FAIL if it.infeasible or not at_plan["holds"] else Verdict.PASS).value,
            "infeasible": None,
            "curve": _curve(it),
        }
        if it.infeasible:
            best = max(it.tried.items(), key=lambda kv: kv[0])[1] if it.tried else {}
            entry["infeasible"] = {"reason": _infeasible_text(it), "best_value": best.get("value"),
                                   "best_metrics": best.get("metrics"), "search_bound": it.cap}
        if it.resource.entry is not None:
            entry.update(it.resource.entry(sc, it.key, value, it.current, it.note))
        entries.append(entry)
    breached = [r for r in final.rows_confident if Verdict.parse(r["verdict"]) is Verdict.FAIL]
    judged = {(scope, req) for it in items
              for req, scope in item_rows(sc, it.key.resource, it.key.operator)}
    mine = [r for r in breached if (r["name"], r["requirement"]) in judged]
    verdict = Verdict.FAIL if mine or any(Verdict.parse(e["verdict"]) is Verdict.FAIL
                                          for e in entries) else Verdict.PASS
    return {
        "scenario": {"name": sc.name},
        "seed": opt.seed, "replications": pl.n, "confidence": opt.confidence,
        "resources": list(opt.resources),
        "operators": pl.operators(),
        **({"operators_selected": True} if opt.operators is not None else {}),
        "rule": (f"an item holds when each of its SLA rows holds at the {opt.confidence:.0%} "
                 "pessimistic confidence bound (lower bound of shares, upper bound of abandonment)"
                 + (", and each of its service objectives' rows too" if sc.objectives else "")),
        "verdict": verdict.value,
        "simulations": pl.runs,
        "items": entries,
        "confirmation": {"rows": final.rows_confident, "rows_at_mean": final.rows_mean,
                         "breached": breached,
                         "breached_outside_plan": [r for r in breached if r not in mine]},
        "current_rows": current.rows_mean,
        "overrides": overrides(sc, dict(planned.items())),
        **({"sla_profile": profile_sources(sc.sla_profile)} if sc.sla_profile else {}),
    }


def binding_rows(less: Sequence[dict[str, Any]]) -> list[str]:
    """The rows that bind an item: those that fail one unit below its plan (in flow order, once
    each); empty when the plan is at its minimum (nothing binds it)."""
    out: list[str] = []
    for t in less:
        out += [req for req, v in t.get("rows", {}).items()
                if Verdict.parse(v) is Verdict.FAIL and req not in out]
    return out


def _infeasible_text(it: Item) -> str:
    slas = "/".join(it.resource.slas)
    why = it.infeasible_note or it.infeasible or "no capacity within the search bound meets it"
    if not it.infeasible_note:
        why += f" (bound: {list(it.value(it.cap))})"
    return f"{it.key.operator} {it.key.resource}: {slas} cannot be met: {why}"


# -- what-if, planned.yaml, console ----------------------------------------------------------------
def merge_docs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of two override documents (``b`` wins)."""
    out: dict[str, Any] = merge(a, b)
    return out


def scale_load(sc: Scenario, factor: float) -> Scenario:
    """``sc`` at ``factor`` times the volume: every stage's ``scale`` hook (the queries a day, and
    any load a stage has of its own)."""
    over: dict[str, Any] = {}
    for st in stages.stages():
        if st.scale is not None:
            over = merge(over, st.scale(sc, factor))
    return from_document(merge(sc.document, over), sc.source)


def what_if(sc: Scenario, options: PlanOptions, executor: Executor, engine: Engine,
            factors: Sequence[float], main: dict[str, Any],
            progress: Progress | None = None) -> list[dict[str, Any]]:
    """The same plan at scaled volumes: one row per factor (factor 1 is the main plan)."""
    out = []
    for f in factors:
        def scaled(message: str, f: float = f) -> None:
            if progress:
                progress(f"load ×{f:g}: {message}")

        doc = main if f == 1.0 else plan(scale_load(sc, f), options, executor, engine, scaled)
        row = {"cost": doc["costs"]["planned"]} if "costs" in doc else {}
        out.append({"load": f, "verdict": doc["verdict"], **row,
                    "items": [{"operator": e["operator"], "resource": e["resource"], "part": e["part"],
                               "planned": e["planned"],
                               "infeasible": bool(e["infeasible"])} for e in doc["items"]]})
    return out


def planned_document(sc: Scenario, document: dict[str, Any], calibration: dict[str, Any],
                     extends: str) -> dict[str, Any]:
    """The scenario that extends the input and sets every planned capacity (and calibration)."""
    doc: dict[str, Any] = {"version": 1, "extends": extends, "name": f"{sc.name}-planned",
                           "description": f"{sc.name} with the capacities yzt plan found "
                                          f"(seed {document['seed']}, {document['replications']} "
                                          "replications).",
                           "replications": document["replications"]}
    if sc.sla_profile:  # the targets the plan was made for (a --sla-profile flag included)
        doc["sla_profile"] = sc.sla_profile
    doc.update(merge(calibration, document["overrides"]))
    return doc


def planned_yaml(doc: dict[str, Any], document: dict[str, Any]) -> str:
    import yaml

    seed = document["seed"]
    run = "yzt sim planned.yaml" + (f" --seed {seed}" if seed != 1 else "")
    head = (f"# Written by yzt plan ({document['verdict']}). Reproduce the verdict with: {run}\n"
            "# Only the capacities the plan sized (and any --calibrate fit) are set here.\n")
    return head + unplanned_comment(document, run) + yaml.safe_dump(
        doc, sort_keys=False, allow_unicode=True, width=100)


def unplanned_comment(document: dict[str, Any], run: str) -> str:
    """``planned.yaml``'s comment on what the plan did not size and what still breaches there
    (the rows ``yzt sim planned.yaml`` then fails on, exit status 1)."""
    lines = []
    left = [r for r in RESOURCES if r not in document["resources"]]
    if left:
        lines.append(f"Not planned (--resources): {', '.join(left)}.")
    if document.get("operators_selected"):
        lines.append(f"Planned only for the operators {', '.join(document['operators'])} "
                     "(--operators); the others keep the scenario's capacities.")
    for e in document["items"]:
        if e["infeasible"]:
            name = e["resource"] + (f".{e['part']}" if e["part"] else "")
            lines.append(f"Not planned (infeasible, kept at the scenario's value): {e['operator']} "
                         f"{name}: {e['infeasible']['reason']}.")
    outside = document["confirmation"]["breached_outside_plan"]
    if outside:
        lines.append(f"Still breached where nothing was planned ({len(outside)} row(s)); "
                     f"'{run}' exits 1 on them:")
        lines += [f"  {r['requirement']} {r['name']}: {r['expected']}" for r in outside]
    else:
        lines.append("Nothing breaches outside the plan.")
    return "".join(f"# {x}\n" for x in lines)


def summary_text(document: dict[str, Any]) -> str:
    """Console table: current against planned per item, then the infeasible answers."""
    lines = [f"plan of {document['scenario']['name']}: {document['replications']} replications, "
             f"seed {document['seed']}, {document['confidence']:.0%} confidence, "
             f"{document['simulations']} simulations",
             f"  {'operator':<9} {'resource':<22} {'current':>12} {'planned':>12}  verdict"]
    for e in document["items"]:
        name = e["resource"] + (f".{e['part']}" if e["part"] else "")
        cur = ",".join(str(x) for x in e["current"])
        new = ",".join(str(x) for x in e["planned"])
        diff = "" if e["current"] == e["planned"] else " *"
        lines.append(f"  {e['operator']:<9} {name:<22} {cur:>12} {new:>12}{diff:<2} {e['verdict']}")
    for e in document["items"]:
        if e["infeasible"]:
            inf = e["infeasible"]
            lines.append(f"INFEASIBLE {inf['reason']}; best value reached {inf['best_value']} "
                         f"with {inf['best_metrics']}")
    for w in document.get("what_if", []):
        changed = sum(1 for i in w["items"] if i["infeasible"])
        lines.append(f"  what-if load ×{w['load']:g}: {w['verdict']}"
                     + (f" ({changed} infeasible)" if changed else ""))
    sd = document.get("shift_design")
    if sd:
        lines.append(f"  designed shifts: {sd['agent_hours']:g} paid hours a day, fixed-window plan "
                     f"{sd['fixed_window_agent_hours']:g}, fixed windows at the same hourly "
                     f"requirement {sd['fixed_window_same_target_agent_hours']:g}")
    money = document.get("costs")
    if money:
        lines.append(f"  cost a day {money['currency']}: current {money['current']:,.2f}, "
                     f"planned {money['planned']:,.2f}")
    outside = document["confirmation"]["breached_outside_plan"]
    if outside:
        lines.append(f"  {len(outside)} SLA row(s) of capacities not planned here still breach "
                     "(widen --operators/--resources to plan them)")
    lines.append(f"verdict: {document['verdict']}")
    return "\n".join(lines)
