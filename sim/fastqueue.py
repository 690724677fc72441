"""Exact FCFS queue recursions for the fast engine, compiled with numba.

No event loop: jobs are taken in arrival order and each is given the earliest moment a server is
free for it (``start = max(arrival, earliest free)``, queuecomputer's recursion). Work that
re-enters a queue later (a retried operator call, a resubmitted SMS, a repeat call) is merged into
the arrival stream from a time-ordered heap, which keeps the recursion exact. Random draws are
handed in as arrays and consumed in the order the SimPy model consumes them (latency and failure
draws in start order, back-off jitter in finish order); when an array runs short the kernel
returns a status naming that stream (:mod:`yzt.sim.kernels`) and the caller draws a longer prefix
of the same stream and runs it again.

Time series: an event at time ``x`` changes every sample taken at ``t_k >= x``; kernels add ±1 at
``ceil(x / inv)`` into an increment array, the caller takes the cumulative sum.

Each kernel takes parameter records (:mod:`yzt.sim.kernels`: the node, station or gateway, its
draws, the clock, where to write) and returns a float64 vector indexed by the ``F_*``/``S_*``
constants below.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numba
import numpy as np

from yzt.sim.kernels import (
    DONE,
    FLAG_ABANDONED,
    FLAG_FROM_PLATFORM,
    FLAG_REPEAT,
    GATEWAY_SHORT_DELIVERY,
    GATEWAY_SHORT_FAILURE,
    NODE_SHORT_BACKOFF,
    NODE_SHORT_FAILURE,
    NODE_SHORT_LATENCY,
    OUTAGE_REFUSES,
    OUTAGE_TIMES_OUT,
    OUTCOME_ERROR,
    OUTCOME_OK,
    OUTCOME_OUTAGE,
    OUTCOME_TIMEOUT,
    STATION_SHORT_JOBS,
    STATION_SHORT_OFFSET,
    STATION_SHORT_PATIENCE,
    STATION_SHORT_REPEAT_E,
    STATION_SHORT_REPEAT_U,
    STATION_SHORT_SERVICE,
    Clock,
    GatewayDraws,
    GatewayOutputs,
    GatewayParams,
    NodeDraws,
    NodeOutputs,
    NodeParams,
    StationDraws,
    StationJobs,
    StationOutputs,
    StationParams,
)

_F = TypeVar("_F", bound=Callable[..., Any])


def _compiled(fn: _F) -> _F:
    """numba ``njit`` (cached on disk, releases the GIL so nodes run on several threads)."""
    return cast(_F, numba.njit(cache=True, nogil=True)(fn))


def _inlined(fn: _F) -> _F:
    """numba ``njit`` inlined into its callers (a helper called once per job and not inlined made
    a fresh launch-day replication a fifth slower)."""
    return cast(_F, numba.njit(cache=True, nogil=True, inline="always")(fn))


INF = math.inf

# Fan-out node outputs.
(F_STATUS, F_ATTEMPTS, F_SUCCESSES, F_ERRORS, F_TIMEOUTS, F_OUTAGE, F_RETRIES, F_GAVE_UP,
 F_LATENCY_SUM, F_ARRIVALS, F_STARTED, F_WAIT_SUM, F_SERVICE_SUM, F_QUEUE_AREA, F_BUSY_AREA,
 F_MAX_QUEUE, F_N_DURATIONS, F_SIZE) = range(18)

# Station (hotline, back office) outputs.
(S_STATUS, S_ARRIVALS, S_STARTED, S_ABANDONED, S_WAIT_SUM, S_SERVICE_SUM, S_QUEUE_AREA,
 S_BUSY_AREA, S_MAX_QUEUE, S_N_JOBS, S_FAILURES, S_SIZE) = range(12)


# -- the codes the cached kernels were compiled with -------------------------------------------------
@_compiled
def _frozen_codes() -> tuple[int, ...]:
    """The :mod:`yzt.sim.kernels` codes as compiled into this module (numba froze them in)."""
    return (DONE, OUTCOME_OK, OUTCOME_ERROR, OUTCOME_TIMEOUT, OUTCOME_OUTAGE, OUTAGE_TIMES_OUT,
            OUTAGE_REFUSES, FLAG_REPEAT, FLAG_FROM_PLATFORM, FLAG_ABANDONED, NODE_SHORT_LATENCY,
            NODE_SHORT_FAILURE, NODE_SHORT_BACKOFF, GATEWAY_SHORT_FAILURE, GATEWAY_SHORT_DELIVERY,
            STATION_SHORT_PATIENCE, STATION_SHORT_JOBS, STATION_SHORT_SERVICE,
            STATION_SHORT_REPEAT_U, STATION_SHORT_REPEAT_E, STATION_SHORT_OFFSET)


_cache_checked = False


def check_cache() -> bool:
    """Recompile this module's kernels if their on-disk cache predates a change of a code in
    :mod:`yzt.sim.kernels` (numba keys the cache on this file's source only, so it would keep
    serving kernels with the old value). True if it recompiled.

    Call it before the first kernel in a process (:class:`yzt.sim.fast.StagedReplication` does),
    so the probe is cached with the kernels. Its cost is numba's start-up, which the first kernel
    call would pay anyway (measured: 0.6 s then, 0.015 s for that kernel); it is not run at import
    because SimPy-only runs import this module too."""
    global _cache_checked
    if _cache_checked:
        return False
    _cache_checked = True
    py_func = getattr(_frozen_codes, "py_func", None)
    if py_func is None:  # NUMBA_DISABLE_JIT=1: the kernels run as Python, nothing is cached
        return False
    if _frozen_codes() == py_func():
        return False
    for obj in list(globals().values()):
        if isinstance(obj, numba.core.registry.CPUDispatcher):
            obj.recompile()  # also empties its on-disk index: the next call compiles afresh
    return True


def cache_is_cold() -> bool:
    """True when the kernels have no on-disk cache yet (a new install, a changed source).

    Worker processes started then would each compile every kernel (~10 CPU-s apiece); a caller
    that runs one replication here first leaves them the cache to load. The index file is numba's
    own (``cache=True``); a stale one counts as warm, as numba then recompiles on its own."""
    index = getattr(getattr(getattr(fanout_node, "_cache", None), "_cache_file", None),
                    "_index_path", None)
    return isinstance(index, str) and not Path(index).exists()


# -- a binary min-heap of float64 in an array -------------------------------------------------------
@_compiled
def _hpush(h: np.ndarray, n: int, x: float) -> int:
    i = n
    h[i] = x
    while i > 0:
        p = (i - 1) >> 1
        if h[p] <= x:
            break
        h[i] = h[p]
        i = p
    h[i] = x
    return n + 1


@_compiled
def _hpop(h: np.ndarray, n: int) -> int:
    """Remove the root; return the new size."""
    n -= 1
    if n == 0:
        return 0
    x = h[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and h[c + 1] < h[c]:
            c += 1
        if h[c] >= x:
            break
        h[i] = h[c]
        i = c
    h[i] = x
    return n


@_compiled
def _grow(h: np.ndarray) -> np.ndarray:
    out = np.empty(2 * h.size, np.float64)
    out[: h.size] = h
    return out


@_compiled
def _room(buf: np.ndarray, head: int, tail: int) -> tuple[np.ndarray, int, int]:
    """Room at ``buf[tail]`` for a window ``buf[head:tail]`` that reached the end (callers test
    that, this is the rare path): slide the window to the front, or grow the array if it is full."""
    if head > 0:
        buf[: tail - head] = buf[head:tail]
        return buf, 0, tail - head
    return _grow(buf), head, tail


@_inlined
def _queue_join(fifo: np.ndarray, head: int, tail: int, a: float, s: float,
                max_q: int) -> tuple[int, int, int]:
    """Queue-length bookkeeping for a job arriving at ``a`` that starts at ``s``: starts are
    monotone, so the waiting jobs are a FIFO of start times in ``fifo[head:tail]``. Those started
    by ``a`` leave; a job that waits joins (the caller has made room at ``fifo[tail]``, see
    :func:`_room`); ``max_q`` is the longest queue seen. Returns ``head, tail, max_q``."""
    while head < tail and fifo[head] <= a:
        head += 1
    if s > a:
        fifo[tail] = s
        tail += 1
        if tail - head > max_q:
            max_q = tail - head
    return head, tail, max_q


@_compiled
def _tick(inc: np.ndarray, x: float, inv_step: float, d: int) -> None:
    """Samples at ``t_k = k * step >= x`` see the event: +d from index ceil(x / step) on."""
    if x < INF:
        k = int(x * inv_step) + 1
        if k < inc.size:
            inc[k] += d


@_compiled
def _servers_at(bp_t: np.ndarray, bp_c: np.ndarray, t: float) -> float:
    k = int(np.searchsorted(bp_t, t, side="right")) - 1
    return float(bp_c[max(k, 0)])


@_compiled
def next_open(bp_t: np.ndarray, bp_c: np.ndarray, t: float) -> float:
    """First time >= t with a server on duty (-1 if none in the step function)."""
    k = max(int(np.searchsorted(bp_t, t, side="right")) - 1, 0)
    if bp_c[k] > 0:
        return t
    for j in range(k + 1, bp_t.size):
        if bp_c[j] > 0:
            return float(bp_t[j])
    return -1.0


# -- one fan-out node ----------------------------------------------------------------------------
@_compiled
def fanout_node(arr: np.ndarray, node: NodeParams, draws: NodeDraws, clock: Clock,
                dest: NodeOutputs) -> np.ndarray:
    """Every call of every query (verified at ``arr``) at one node: FCFS over ``node.servers``
    connections (<= 0: no limit), retries re-entering the queue; per query the final answer time
    goes into ``dest.done_max`` (max), a give-up into ``dest.done_fail``, an answer after the end
    of the run into ``dest.done_nd``."""
    deadline_s = node.deadline_s
    servers = node.servers
    median = node.latency_median_s
    sigma = node.latency_sigma
    timeout_s = node.timeout_s
    failure_ratio = node.failure_ratio
    refuse_s = node.refuse_s
    o_start = node.outage_start_s
    o_end = node.outage_end_s
    o_mode = node.outage_mode
    r_init = node.backoff_initial_s
    r_factor = node.backoff_factor
    r_max = node.backoff_max_s
    r_jitter = node.jitter
    r_max_attempts = node.max_attempts
    lat = draws.latency
    fail = draws.failure
    jit = draws.backoff
    end_s = clock.end_s
    inc_q = dest.inc_queue
    inc_b = dest.inc_busy
    done_max = dest.done_max
    done_fail = dest.done_fail
    done_nd = dest.done_nd
    durations = dest.durations
    keep = dest.keep_durations
    out = np.zeros(F_SIZE)
    inv = 1.0 / clock.step_s
    n = arr.size
    # Finish times of the calls holding a connection, sorted, in ring[head:tail]: most calls end
    # soon after they start, so an insertion from the top is nearly always O(1).
    ring = np.empty(1024, np.float64)
    r_head = 0
    r_tail = 0
    fifo = np.empty(1024, np.float64)  # starts of queued jobs (monotone): queue length
    f_head = 0
    f_tail = 0
    retry_h = [(0.0, 0, 0, 0)]
    retry_h.pop()
    fail_h = [(0.0, 0, 0, 0, 0)]
    fail_h.pop()
    kl = kf = kj = kd = 0
    seq = 0
    i = 0
    n_out = o_start.size
    attempts = successes = errors = timeouts = outage = retries = gave_up = 0
    arrivals = started = 0
    lat_sum = wait_sum = svc_sum = q_area = b_area = 0.0
    max_q = 0
    t_ret = INF  # heads of the two heaps, kept up to date on each push and pop
    t_fail = INF
    while True:
        t_new = arr[i] if i < n else INF
        if t_fail == INF and t_new == INF and t_ret == INF:
            break
        if t_fail <= t_new and t_fail <= t_ret:
            f, _s, q, att, outcome = heapq.heappop(fail_h)
            t_fail = fail_h[0][0] if len(fail_h) else INF
            if f >= end_s:
                done_nd[q] = True
                continue
            if outcome == OUTCOME_ERROR:
                errors += 1
            elif outcome == OUTCOME_TIMEOUT:
                timeouts += 1
            else:
                outage += 1
            backoff = min(r_max, r_init * r_factor ** (att - 1))
            if r_jitter != 0.0:
                if kj >= jit.size:
                    out[F_STATUS] = NODE_SHORT_BACKOFF
                    return out
                backoff *= 1.0 + r_jitter * (2.0 * jit[kj] - 1.0)
                kj += 1
            if (r_max_attempts > 0 and att >= r_max_attempts) or f + backoff >= arr[q] + deadline_s:
                gave_up += 1
                done_fail[q] = True
                if f > done_max[q]:
                    done_max[q] = f
            else:
                retries += 1
                heapq.heappush(retry_h, (f + backoff, seq, q, att))
                t_ret = retry_h[0][0]
                seq += 1
            continue
        if t_new <= t_ret:
            a = t_new
            q = i
            att = 0
            i += 1
        else:
            a, _s2, q, att = heapq.heappop(retry_h)
            t_ret = retry_h[0][0] if len(retry_h) else INF
        if a >= end_s:
            done_nd[q] = True
            continue
        arrivals += 1
        # the earliest free connection
        if servers <= 0:
            s = a
        else:
            while r_head < r_tail and ring[r_head] <= a:
                r_head += 1
            if r_tail - r_head < servers:
                s = a
            else:
                s = ring[r_head]
                r_head += 1
        if f_tail >= fifo.size:
            fifo, f_head, f_tail = _room(fifo, f_head, f_tail)
        f_head, f_tail, max_q = _queue_join(fifo, f_head, f_tail, a, s, max_q)
        if s >= end_s:
            q_area += end_s - a
            _tick(inc_q, a, inv, 1)
            done_nd[q] = True
            continue
        started += 1
        wait_sum += s - a
        q_area += s - a
        if s > a:
            _tick(inc_q, a, inv, 1)
            _tick(inc_q, s, inv, -1)
        _tick(inc_b, s, inv, 1)
        att += 1
        attempts += 1
        in_outage = False
        mode = OUTAGE_TIMES_OUT
        for k in range(n_out):
            if o_start[k] <= s < o_end[k]:
                in_outage = True
                mode = o_mode[k]
                break
        if in_outage:
            outcome = OUTCOME_OUTAGE
            dur = refuse_s if mode == OUTAGE_REFUSES else timeout_s
        else:
            if kl >= lat.size:
                out[F_STATUS] = NODE_SHORT_LATENCY
                return out
            latency = median * math.exp(sigma * lat[kl])
            kl += 1
            if latency > timeout_s:
                outcome = OUTCOME_TIMEOUT
                dur = timeout_s
            else:
                if kf >= fail.size:
                    out[F_STATUS] = NODE_SHORT_FAILURE
                    return out
                outcome = OUTCOME_ERROR if fail[kf] < failure_ratio else OUTCOME_OK
                kf += 1
                dur = latency
                if outcome == OUTCOME_OK:
                    lat_sum += latency
                    if keep:
                        if kd >= durations.size:
                            out[F_STATUS] = NODE_SHORT_LATENCY
                            return out
                        durations[kd] = latency
                        kd += 1
        svc_sum += dur
        f = s + dur
        if servers > 0:
            if r_tail >= ring.size:
                ring, r_head, r_tail = _room(ring, r_head, r_tail)
            k = r_tail
            while k > r_head and ring[k - 1] > f:
                ring[k] = ring[k - 1]
                k -= 1
            ring[k] = f
            r_tail += 1
        b_area += min(f, end_s) - s
        _tick(inc_b, f, inv, -1)
        if outcome == OUTCOME_OK:
            if f < end_s:
                successes += 1
                if f > done_max[q]:
                    done_max[q] = f
            else:
                done_nd[q] = True
        else:
            heapq.heappush(fail_h, (f, seq, q, att, outcome))
            t_fail = fail_h[0][0]
            seq += 1
    out[F_ATTEMPTS] = attempts
    out[F_SUCCESSES] = successes
    out[F_ERRORS] = errors
    out[F_TIMEOUTS] = timeouts
    out[F_OUTAGE] = outage
    out[F_RETRIES] = retries
    out[F_GAVE_UP] = gave_up
    out[F_LATENCY_SUM] = lat_sum
    out[F_ARRIVALS] = arrivals
    out[F_STARTED] = started
    out[F_WAIT_SUM] = wait_sum
    out[F_SERVICE_SUM] = svc_sum
    out[F_QUEUE_AREA] = q_area
    out[F_BUSY_AREA] = b_area
    out[F_MAX_QUEUE] = max_q
    out[F_N_DURATIONS] = kd
    return out


# -- the SMS gateway ------------------------------------------------------------------------------
@_compiled
def sms_gateway(arr: np.ndarray, query: np.ndarray, gateway: GatewayParams,
                draws: GatewayDraws, clock: Clock, dest: GatewayOutputs) -> np.ndarray:
    """Replies for ``query`` sent at ``arr``: FCFS over ``channels`` lanes of constant
    ``submit_s``; a failed submit re-enters after ``retry_s``. Finishes are monotone in start
    order, so the failure draw taken at each finish is the SimPy one, and the resubmissions form
    a FIFO. ``dest.order_query``/``order_finish`` receive the delivered messages in finish order
    (for the after-reply draws)."""
    channels = gateway.channels
    submit_s = gateway.submit_s
    failure_ratio = gateway.failure_ratio
    retry_s = gateway.retry_s
    d_median = gateway.delivery_median_s
    d_sigma = gateway.delivery_sigma
    fail = draws.failure
    deliv = draws.delivery
    end_s = clock.end_s
    inc = dest.inc_backlog
    delivered = dest.delivered
    order_q = dest.order_query
    order_f = dest.order_finish
    out = np.zeros(S_SIZE)
    inv = 1.0 / clock.step_s
    n = arr.size
    busy = np.empty(max(channels, 1), np.float64)
    nb = 0
    r_t = np.empty(max(fail.size, 1), np.float64)
    r_q = np.empty(max(fail.size, 1), np.int64)
    r_head = r_tail = 0
    fifo = np.empty(1024, np.float64)
    f_head = f_tail = 0
    i = kf = kd = n_out = 0
    arrivals = started = failures = 0
    wait_sum = svc_sum = q_area = b_area = 0.0
    max_q = 0
    while True:
        t_new = arr[i] if i < n else INF
        t_ret = r_t[r_head] if r_head < r_tail else INF
        if t_new == INF and t_ret == INF:
            break
        if t_new <= t_ret:
            a = t_new
            q = query[i]
            i += 1
        else:
            a = t_ret
            q = r_q[r_head]
            r_head += 1
        if a >= end_s:
            continue
        arrivals += 1
        _tick(inc, a, inv, 1)
        while nb > 0 and busy[0] <= a:
            nb = _hpop(busy, nb)
        if nb < channels:
            s = a
        else:
            s = busy[0]
            nb = _hpop(busy, nb)
        if f_tail >= fifo.size:
            fifo, f_head, f_tail = _room(fifo, f_head, f_tail)
        f_head, f_tail, max_q = _queue_join(fifo, f_head, f_tail, a, s, max_q)
        if s >= end_s:
            q_area += end_s - a
            continue
        started += 1
        wait_sum += s - a
        q_area += s - a
        svc_sum += submit_s
        f = s + submit_s
        nb = _hpush(busy, nb, f)
        b_area += min(f, end_s) - s
        _tick(inc, f, inv, -1)
        if f >= end_s:
            continue
        if kf >= fail.size:
            out[S_STATUS] = GATEWAY_SHORT_FAILURE
            return out
        u = fail[kf]
        kf += 1
        if u < failure_ratio:
            failures += 1
            r_t[r_tail] = f + retry_s
            r_q[r_tail] = q
            r_tail += 1
            continue
        if kd >= deliv.size:
            out[S_STATUS] = GATEWAY_SHORT_DELIVERY
            return out
        delivered[q] = f + d_median * math.exp(d_sigma * deliv[kd])
        kd += 1
        order_q[n_out] = q
        order_f[n_out] = f
        n_out += 1
    out[S_ARRIVALS] = arrivals
    out[S_STARTED] = started
    out[S_WAIT_SUM] = wait_sum
    out[S_SERVICE_SUM] = svc_sum
    out[S_QUEUE_AREA] = q_area
    out[S_BUSY_AREA] = b_area
    out[S_MAX_QUEUE] = max_q
    out[S_N_JOBS] = n_out
    out[S_FAILURES] = failures
    return out


# -- a staffed station: hotline or back office ------------------------------------------------------
@_compiled
def staffed_station(jobs: StationJobs, station: StationParams, draws: StationDraws,
                    clock: Clock, dest: StationOutputs) -> np.ndarray:
    """FCFS over a step function of servers (``shift_start_s``/``shift_servers``: a lowered count
    lets busy servers finish), with exponential patience (``patience_mean_s`` inf: none) in exact
    FCFS order: a caller whose start would come after arrival + patience leaves at that moment and
    takes no server. Service of the k-th start is ``draws.service[k] * jobs.scale[job]``. Served
    jobs (finish before ``end_s``) call again with probability ``repeat_share`` after an
    exponential delay, at the next opening (+ exponential ``callback_mean_s``) when closed, with
    ``FLAG_REPEAT`` set and ``FLAG_FROM_PLATFORM`` kept.

    Per processed job (arrival order) in ``dest``: input index (-1: a repeat), arrival, start
    (inf: not started), leave (finish, abandonment time, or inf), flags (``FLAG_ABANDONED`` set:
    abandoned)."""
    arr = jobs.arrival
    flags = jobs.flags
    scale = jobs.scale
    bp_t = station.shift_start_s
    bp_c = station.shift_servers
    pat_mean = station.patience_mean_s
    rep_share = station.repeat_share
    rep_mean_s = station.repeat_delay_mean_s
    off_mean_s = station.callback_mean_s
    pat_e = draws.patience
    svc = draws.service
    rep_u = draws.repeat_u
    rep_e = draws.repeat_e
    off_e = draws.offset
    end_s = clock.end_s
    inc_q = dest.inc_queue
    inc_b = dest.inc_busy
    j_id = dest.job_id
    j_arr = dest.job_arrival
    j_start = dest.job_start
    j_leave = dest.job_leave
    j_flags = dest.job_flags
    out = np.zeros(S_SIZE)
    inv = 1.0 / clock.step_s
    n = arr.size
    busy = np.empty(64, np.float64)
    nb = 0
    waitq = np.empty(64, np.float64)  # leave-queue times of waiting jobs (min-heap)
    nw = 0
    rep_h = [(0.0, 0, 0)]
    rep_h.pop()
    i = kp = ks = kr = ke = ko = nj = seq = 0
    last_start = 0.0
    blocked = 0.0
    arrivals = started = abandoned = 0
    wait_sum = svc_sum = q_area = b_area = 0.0
    max_q = 0
    while True:
        t_new = arr[i] if i < n else INF
        t_rep = rep_h[0][0] if len(rep_h) else INF
        if t_new == INF and t_rep == INF:
            break
        if t_new <= t_rep:
            a = t_new
            jid = i
            fl = flags[i]
            sc = scale[i]
            i += 1
        else:
            a, _s, fl = heapq.heappop(rep_h)
            jid = -1
            sc = 1.0
        if a >= end_s:
            continue
        arrivals += 1
        if pat_mean < INF:
            if kp >= pat_e.size:
                out[S_STATUS] = STATION_SHORT_PATIENCE
                return out
            pat = pat_mean * pat_e[kp]
            kp += 1
        else:
            pat = INF
        _tick(inc_q, a, inv, 1)
        _tick(inc_b, a, inv, 1)
        # earliest t >= max(a, last start) with busy(t) < servers(t)
        # FCFS: not before the caller ahead started, nor before a caller ahead who waited in
        # vain left (no server came free while they waited)
        t = max(a, last_start, blocked)
        give_up = a + pat
        abandon = False
        while True:
            if t > give_up:  # (also when the caller ahead starts only after this one's patience)
                abandon = True
                break
            if t >= end_s:
                break
            while nb > 0 and busy[0] <= t:
                nb = _hpop(busy, nb)
            if nb < _servers_at(bp_t, bp_c, t):
                break
            k = int(np.searchsorted(bp_t, t, side="right"))
            nxt = bp_t[k] if k < bp_t.size else INF
            if nb > 0 and busy[0] < nxt:
                nxt = busy[0]
            t = nxt
        if abandon:
            leave = give_up
            s = INF
            if give_up > blocked:
                blocked = give_up
        else:
            s = t
            leave = s
        # queue length
        while nw > 0 and waitq[0] <= a:
            nw = _hpop(waitq, nw)
        if leave > a:
            if nw >= waitq.size:
                waitq = _grow(waitq)
            nw = _hpush(waitq, nw, leave)
            if nw > max_q:
                max_q = nw
        if nj >= j_id.size:
            out[S_STATUS] = STATION_SHORT_JOBS
            return out
        j_id[nj] = jid
        j_arr[nj] = a
        if abandon:
            q_area += min(give_up, end_s) - a
            _tick(inc_q, give_up, inv, -1)
            _tick(inc_b, give_up, inv, -1)
            if give_up < end_s:
                abandoned += 1
                wait_sum += give_up - a
            j_start[nj] = INF
            j_leave[nj] = give_up
            j_flags[nj] = fl | FLAG_ABANDONED
            nj += 1
            continue
        if s >= end_s:
            q_area += end_s - a
            j_start[nj] = INF
            j_leave[nj] = INF
            j_flags[nj] = fl
            nj += 1
            continue
        last_start = s
        started += 1
        wait_sum += s - a
        q_area += s - a
        _tick(inc_q, s, inv, -1)
        if ks >= svc.size:
            out[S_STATUS] = STATION_SHORT_SERVICE
            return out
        dur = svc[ks] * sc
        ks += 1
        svc_sum += dur
        f = s + dur
        if nb >= busy.size:
            busy = _grow(busy)
        nb = _hpush(busy, nb, f)
        b_area += min(f, end_s) - s
        _tick(inc_b, f, inv, -1)
        j_start[nj] = s
        j_leave[nj] = f
        j_flags[nj] = fl
        nj += 1
        if rep_share > 0.0 and f < end_s:
            if kr >= rep_u.size:
                out[S_STATUS] = STATION_SHORT_REPEAT_U
                return out
            u = rep_u[kr]
            kr += 1
            if u < rep_share:
                if ke >= rep_e.size:
                    out[S_STATUS] = STATION_SHORT_REPEAT_E
                    return out
                when = f + rep_mean_s * rep_e[ke]
                ke += 1
                opening = next_open(bp_t, bp_c, when)
                if opening >= 0.0 and opening < end_s:
                    if opening > when:
                        if ko >= off_e.size:
                            out[S_STATUS] = STATION_SHORT_OFFSET
                            return out
                        opening += off_mean_s * off_e[ko]
                        ko += 1
                    heapq.heappush(rep_h, (opening, seq,
                                           (fl & FLAG_FROM_PLATFORM) | FLAG_REPEAT))
                    seq += 1
    out[S_ARRIVALS] = arrivals
    out[S_STARTED] = started
    out[S_ABANDONED] = abandoned
    out[S_WAIT_SUM] = wait_sum
    out[S_SERVICE_SUM] = svc_sum
    out[S_QUEUE_AREA] = q_area
    out[S_BUSY_AREA] = b_area
    out[S_MAX_QUEUE] = max_q
    out[S_N_JOBS] = nj
    return out


# -- combining fan-out nodes -----------------------------------------------------------------------
@_compiled
def fold_node_top(index: int, x_max: np.ndarray, x_fail: np.ndarray, x_nd: np.ndarray,
                  top_v: np.ndarray, top_i: np.ndarray, fail_count: np.ndarray,
                  nd_count: np.ndarray) -> None:
    """Fold one node's per-query answers into the running combination of all nodes, keeping the
    ``k`` largest answers per query (``top_v[q]``, descending, with their nodes in ``top_i[q]``;
    ``-1``: none yet), so that up to ``k - 1`` nodes can later be replaced at once exactly
    (:func:`others_max`). A tie goes after the equal answers already kept. Give-ups and answers
    after the run are counted, not or-ed, for the same reason."""
    k = top_v.shape[1]
    for q in range(x_max.size):
        v = x_max[q]
        p = k
        for j in range(k):
            if v > top_v[q, j]:
                p = j
                break
        if p < k:
            for j in range(k - 1, p, -1):
                top_v[q, j] = top_v[q, j - 1]
                top_i[q, j] = top_i[q, j - 1]
            top_v[q, p] = v
            top_i[q, p] = index
        if x_fail[q]:
            fail_count[q] += 1
        if x_nd[q]:
            nd_count[q] += 1


@_compiled
def others_max(top_v: np.ndarray, top_i: np.ndarray, changed: np.ndarray,
               out: np.ndarray) -> int:
    """``out[q]``: the largest answer to query ``q`` of the nodes not ``changed`` (by node index),
    from the kept largest answers (:func:`fold_node_top`). Returns how many queries kept only
    changed nodes' answers (their largest other answer is not known: 0 means ``out`` is exact)."""
    k = top_v.shape[1]
    unknown = 0
    for q in range(top_v.shape[0]):
        found = False
        for j in range(k):
            i = top_i[q, j]
            if i < 0 or not changed[i]:
                out[q] = top_v[q, j]
                found = True
                break
        if not found:
            unknown += 1
    return unknown


@_compiled
def merge_sorted(t1: np.ndarray, q1: np.ndarray, t2: np.ndarray, q2: np.ndarray,
                 t_out: np.ndarray, q_out: np.ndarray) -> None:
    """Merge two runs sorted by (time, query) into one: the order a stable argsort by time of
    the union in query order gives, so a swapped fan-out's SMS arrivals need no full sort."""
    i = j = k = 0
    while i < t1.size and j < t2.size:
        if t2[j] < t1[i] or (t2[j] == t1[i] and q2[j] < q1[i]):
            t_out[k] = t2[j]
            q_out[k] = q2[j]
            j += 1
        else:
            t_out[k] = t1[i]
            q_out[k] = q1[i]
            i += 1
        k += 1
    while i < t1.size:
        t_out[k] = t1[i]
        q_out[k] = q1[i]
        i += 1
        k += 1
    while j < t2.size:
        t_out[k] = t2[j]
        q_out[k] = q2[j]
        j += 1
        k += 1
