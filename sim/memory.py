"""One memory estimate of a simulation run, checked before anything is allocated.

Every scenario knob that multiplies arrays is a term here: the queries a replication draws
(``arrivals.queries_per_day`` × ``horizon_h`` ÷ ``sampling.one_in``), the fan-out nodes' calls and
their retries (``operators.*.failure_ratio``, ``retry``), the time-series samples
(``platform.sample_every_min``: one counter per node and per station at each sample, kept for every
replication), the hotline calls and back-office cases (full scale whatever ``one_in``, plus
``background_calls_per_h``), ``replications`` (each keeps its time series until the results are
written), and for ``yzt plan`` its memo of stages and its ``--what-if load`` factors. The sum is
held to :data:`MAX_BYTES`; a run over it is refused naming the knob of the largest term and the
limit. ``yzt sim`` and ``yzt plan`` (so ``yzt check``'s simulation step) call :func:`check`;
loading a scenario checks it with its own ``replications``.

The bytes per item are measured on the fast engine (a national day of 1 M queries peaks at
~480 MiB) and rounded up; the estimate is an upper bound of the order of magnitude, not an
allocation plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from yzt.errors import InputFileError
from yzt.sim.arrivals import rate_per_s
from yzt.sim.scenario import PROVINCES, OperatorParams, Scenario

#: The most one run may ask for (one replication's working set plus what every replication keeps).
MAX_BYTES = 4 << 30
#: Bytes the front door holds per candidate arrival (times, thinning draws and the rate's
#: temporaries, float64 each).
BYTES_PER_CANDIDATE = 64
#: Bytes per verified query through fan-out, SMS gateway and records (per-query arrays of the
#: combination, two nodes in flight, the gateway's draws and order, the records' lists).
BYTES_PER_QUERY = 320
#: Bytes per extra call attempt of one node (latency, failure and jitter draws, grown by
#: doubling, and the retry heap's entry).
BYTES_PER_RETRY = 88
#: Bytes per hotline call or back-office case (arrivals, draws, job arrays, the records' lists).
BYTES_PER_CALL = 300
#: Bytes per time-series sample and counter (an int64), and per sample of a kept series (six
#: Python floats in lists, pickled between processes).
BYTES_PER_COUNTER = 8
BYTES_PER_KEPT_SAMPLE = 6 * 32
#: ``yzt plan`` memoises up to this many hotline and back-office runs per replication
#: (:class:`yzt.sim.fast.StagedReplication`), each with its counters per sample.
PLAN_STATION_MEMO = 1024
#: ``yzt plan``'s memo of stages (:data:`yzt.sim.plan.STAGED_BYTES_MAX`) is a cache: a smaller
#: one gives the same plan, later (it trims and runs replications again). The estimate counts it at
#: this floor; where the machine has memory available, it grows to
#: :data:`PLAN_QUERY_MEMO_MAX_BYTES` (:func:`plan_memo_bytes`).
PLAN_QUERY_MEMO_BYTES = 2 << 30
#: The memo's ceiling: what a full-scale ``launch-day`` plan uses, one run of each of its 42 fan-out
#: nodes kept in each of 5 replications and a second for the nodes a try changes (peak RSS 8.8 GB,
#: docs/benchmarks.md).
PLAN_QUERY_MEMO_MAX_BYTES = 11 << 29


def plan_memo_bytes(available: int | None = None) -> int:
    """The bound of ``yzt plan``'s memo for a plan starting now: half the memory the machine has
    ``available`` (psutil's figure by default), between :data:`PLAN_QUERY_MEMO_BYTES` and
    :data:`PLAN_QUERY_MEMO_MAX_BYTES`. Half, because the memo is about 60 % of a large plan's
    resident memory."""
    if available is None:
        import psutil

        available = int(psutil.virtual_memory().available)
    return int(min(PLAN_QUERY_MEMO_MAX_BYTES, max(PLAN_QUERY_MEMO_BYTES, available // 2)))


@dataclass(frozen=True)
class Term:
    """One part of the estimate: ``count`` items of ``bytes_each``, set by ``knob``."""

    knob: str
    what: str
    count: float
    bytes_each: float
    fix: str

    @property
    def bytes(self) -> float:
        return self.count * self.bytes_each


def expected_arrivals(sc: Scenario) -> float:
    """Mean arrivals over the horizon at full scale (the rate integrated minute by minute)."""
    horizon_s = sc.horizon_h * 3600.0
    t = np.arange(30.0, horizon_s, 60.0)
    if t.size == 0:
        return sc.arrivals.peak_rate_per_s() * horizon_s
    return float(rate_per_s(sc.arrivals, t).mean()) * horizon_s


def samples(sc: Scenario) -> int:
    """Time-series samples of one replication (the engines' sampler: every step from 0 until
    ``horizon_h + deadline_h``, at most the end of the run)."""
    until = min(sc.horizon_h + sc.drain_h, sc.horizon_h + sc.deadline_h) * 3600.0
    return int(until // (sc.sample_every_min * 60.0)) + 1


def nodes(sc: Scenario) -> int:
    """Fan-out nodes: one per operator, 31 per carrier with provincial nodes."""
    per_carrier = len(PROVINCES) if sc.provincial_nodes else 1
    return sum(per_carrier if op.kind == "carrier" else 1 for op in sc.operators)


def attempts_per_call(sc: Scenario, op: OperatorParams) -> float:
    """Expected attempts of one call at ``op``: geometric in the failure chance (errors and
    timeouts), cut by ``retry.max_attempts`` or by the calls that fit in the reply deadline."""
    lat = op.latency
    p_timeout = 0.0
    if lat.sigma > 0:
        z = math.log(op.timeout_s / lat.median) / lat.sigma
        p_timeout = 0.5 * math.erfc(z / math.sqrt(2.0))
    elif lat.median > op.timeout_s:
        p_timeout = 1.0
    p_fail = 1.0 - (1.0 - p_timeout) * (1.0 - op.failure_ratio)
    shortest = min(lat.median, op.timeout_s) + op.retry.backoff_initial_s
    fit = sc.deadline_h * 3600.0 / shortest if shortest > 0 else math.inf
    cap = float(op.retry.max_attempts) if op.retry.max_attempts else fit
    geometric = 1.0 / (1.0 - p_fail) if p_fail < 1.0 else math.inf
    return max(1.0, min(cap, fit, geometric))


def terms(sc: Scenario, replications: int | None = None, *, plan: bool = False,
          load: float = 1.0) -> list[Term]:
    """The estimate of a run of ``sc`` (``replications`` of it, the scenario's by default), as
    terms; ``plan``: as ``yzt plan`` runs it; ``load``: every volume × this factor (a what-if)."""
    n = sc.replications if replications is None else replications
    arr = sc.arrivals
    horizon_s = sc.horizon_h * 3600.0
    end_h = sc.horizon_h + sc.drain_h
    what_if = f" (--what-if load={load:g})" if load != 1.0 else ""
    candidates = arr.peak_rate_per_s() * load * horizon_s / sc.one_in  # the thinning bound
    full = expected_arrivals(sc) * load * (1.0 + arr.repeat_share)  # queries at full scale
    queries = full / sc.one_in
    volume = (f"{arr.queries_per_day:g} queries a day{what_if} over horizon_h {sc.horizon_h:g} h "
              f"(sampling.one_in {sc.one_in})")
    out = [
        Term("arrivals.queries_per_day",
             f"{volume}: up to {candidates:.3g} arrivals drawn, about {queries:.3g} queries",
             1.0, candidates * BYTES_PER_CANDIDATE + queries * BYTES_PER_QUERY,
             "lower queries_per_day or horizon_h, or raise sampling.one_in"),
    ]
    worst = max(sc.operators, key=lambda op: attempts_per_call(sc, op), default=None)
    if worst is not None:
        extra = attempts_per_call(sc, worst) - 1.0
        if extra > 0:
            out.append(Term(
                f"operators.{worst.id}.retry",
                f"{extra + 1:.3g} attempts a call at {worst.id} (failure_ratio "
                f"{worst.failure_ratio:g}, timeout_s {worst.timeout_s:g}, retry.max_attempts "
                f"{worst.retry.max_attempts or 'none'}) for {queries:.3g} queries",
                queries * extra, BYTES_PER_RETRY,
                "set retry.max_attempts, raise retry.backoff_initial_s, or lower failure_ratio"))
    m = samples(sc)
    hot = [op for op in sc.operators if op.hotline.enabled]
    stations = len(hot) + len(sc.operators) + 1
    counters = 2 * nodes(sc) + stations + 8  # per node queue and busy, per station, the sums
    span_h = sc.horizon_h + min(sc.drain_h, sc.deadline_h)
    sampled = (f"sample_every_min {sc.sample_every_min:g} over {span_h:g} h "
               f"(horizon_h + deadline_h) gives {m} samples")
    out.append(Term("platform.sample_every_min",
                    f"{sampled} × {counters} counters, kept for {n} replications",
                    m, counters * BYTES_PER_COUNTER + n * BYTES_PER_KEPT_SAMPLE,
                    "raise sample_every_min (10 is the shipped resolution) or lower replications"))
    after = sc.after_reply
    holds = {op.id: min(1.0, op.card_share * after.customer_factor) for op in sc.operators}
    calls = full * min(1.0, sum(holds[op.id] * after.hotline_share for op in hot))
    background = sum(op.hotline.background_calls_per_h for op in hot) * load * end_h
    cases = full * (min(1.0, sum(h * after.dispute_share for h in holds.values()))
                    + min(1.0, sum(h * after.cancellation_share for h in holds.values())))
    if background > calls:
        out.append(Term("operators.*.hotline.background_calls_per_h",
                        f"{background:.3g} background hotline calls over {end_h:g} h "
                        f"(horizon_h + drain_h){what_if}", background + calls, BYTES_PER_CALL,
                        "lower background_calls_per_h or drain_h"))
    else:
        out.append(Term("after_reply.hotline_share",
                        f"{calls:.3g} hotline calls after the replies (full scale whatever "
                        f"sampling.one_in) and {background:.3g} background calls",
                        calls + background, BYTES_PER_CALL,
                        "lower queries_per_day, customer_factor or hotline_share"))
    out.append(Term("after_reply.dispute_share",
                    f"{cases:.3g} back-office cases (full scale whatever sampling.one_in)",
                    cases, BYTES_PER_CALL,
                    "lower queries_per_day, customer_factor, dispute_share or cancellation_share"))
    if plan:
        memo = float(n) * queries * BYTES_PER_QUERY
        if memo <= PLAN_QUERY_MEMO_BYTES:
            out.append(Term("replications", f"yzt plan's memo of {n} replications' stages",
                            memo, 1.0, "lower --replications"))
        else:  # the memo is held to its cap: what fills it is the volume
            out.append(Term("arrivals.queries_per_day",
                            f"yzt plan's memo of stages, at least {PLAN_QUERY_MEMO_BYTES / 2**30:g} GiB",
                            PLAN_QUERY_MEMO_BYTES, 1.0,
                            "lower queries_per_day (or the --what-if load factors) or raise "
                            "sampling.one_in"))
        out.append(Term("platform.sample_every_min",
                        f"yzt plan's memo of up to {PLAN_STATION_MEMO} hotline and back-office "
                        f"runs × {m} samples × {n} replications", float(PLAN_STATION_MEMO) * n * m,
                        BYTES_PER_COUNTER, "raise sample_every_min or lower --replications"))
    return out


def problem(sc: Scenario, replications: int | None = None, *, plan: bool = False,
            load: float = 1.0) -> str | None:
    """Why a run of ``sc`` would need more than :data:`MAX_BYTES`, naming the knob of the
    largest term and the limit; or None."""
    parts = terms(sc, replications, plan=plan, load=load)
    total = sum(t.bytes for t in parts)
    if total <= MAX_BYTES:
        return None
    top = max(parts, key=lambda t: t.bytes)
    gib = 2.0**30
    return (f"at {top.knob}: {top.what}, about {top.bytes / gib:.3g} GiB; the run would need "
            f"about {total / gib:.3g} GiB of memory (at most {MAX_BYTES / gib:g} GiB): {top.fix}")


def check(sc: Scenario, replications: int | None = None, *, plan: bool = False,
          load: float = 1.0) -> None:
    """Raise :class:`~yzt.errors.InputFileError` (exit 2) naming the scenario file and the knob
    when :func:`problem` finds the run too large."""
    found = problem(sc, replications, plan=plan, load=load)
    if found:
        raise InputFileError(sc.source, [found])
