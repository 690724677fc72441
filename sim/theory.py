"""Closed forms the simulation is checked against: Erlang B/C/A, the fan-out maximum, Little's law.

Pure numpy, no scipy, so that the runtime needs nothing the tests do not. Rates are per second.
Erlang B uses the stable recursion ``B_k = a·B_{k-1} / (k + a·B_{k-1})``; Erlang A (M/M/c+M) is
solved exactly on its birth-death chain, truncated where the tail mass is below 1e-15.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of M/M/c/c with ``offered_load`` erlangs."""
    if servers < 0 or offered_load < 0:
        raise ValueError("servers and offered_load must be >= 0")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


@dataclass(frozen=True)
class QueueTheory:
    """Stationary metrics of one call-centre queue (times in seconds)."""

    p_wait: float
    """Probability an arrival finds every agent busy."""
    asa: float
    """Mean wait in queue over all arrivals (answered or not)."""
    service_level: float
    """P(answered within the target), abandoned calls counted in the denominator."""
    p_abandon: float
    """Share of arrivals that abandon (0 without abandonment)."""
    mean_queue: float
    """Mean number waiting (Lq)."""


def erlang_c(servers: int, arrival_rate: float, mean_service: float, target: float) -> QueueTheory:
    """M/M/c: probability of waiting, ASA and service level within ``target`` seconds."""
    a = arrival_rate * mean_service
    if a >= servers:
        raise ValueError(f"unstable: offered load {a:.3f} erlangs >= {servers} servers")
    rho = a / servers
    b = erlang_b(servers, a)
    c = b / (1.0 - rho * (1.0 - b))
    drain = servers / mean_service - arrival_rate
    asa = c / drain
    sl = 1.0 - c * math.exp(-drain * target)
    return QueueTheory(p_wait=c, asa=asa, service_level=sl, p_abandon=0.0, mean_queue=arrival_rate * asa)


def _erlang_a_chain(servers: int, lam: float, mu: float, theta: float) -> np.ndarray:
    """Stationary distribution of M/M/c+M, truncated when the tail is negligible."""
    logp = [0.0]
    n = 0
    while True:
        n += 1
        death = min(n, servers) * mu + max(n - servers, 0) * theta
        logp.append(logp[-1] + math.log(lam / death))
        if n > servers and n > lam / theta and logp[-1] < max(logp) - 40.0:
            break
        if n > 1_000_000:  # pragma: no cover - only for absurd inputs
            raise ValueError("Erlang A chain does not converge")
    arr = np.exp(np.array(logp) - max(logp))
    return np.asarray(arr / arr.sum())


def _served_within(k_ahead: int, servers: int, mu: float, theta: float, t: float) -> float:
    """P(a caller with ``k_ahead`` callers ahead is answered within ``t`` and before abandoning).

    The tagged caller moves from ``i`` callers ahead to ``i-1`` at rate ``c·mu + i·theta``, is
    answered from 0 ahead at rate ``c·mu`` and abandons at rate ``theta``: a small absorbing chain
    solved by uniformisation.
    """
    size = k_ahead + 1  # transient states: i = k_ahead .. 0 ahead
    rates_out = np.array([servers * mu + i * theta + theta for i in range(k_ahead, -1, -1)])
    q = float(rates_out.max())
    # p: probability vector over transient states; served: absorbed mass.
    p = np.zeros(size)
    p[0] = 1.0
    poisson = math.exp(-q * t)
    steps = int(q * t + 12.0 * math.sqrt(q * t + 1.0) + 30)
    # cumulative absorbed probability after j jumps, weighted by P(N(t) >= j)
    absorbed_after = []
    a_cum = 0.0
    forward = np.array([servers * mu + i * theta for i in range(k_ahead, -1, -1)])
    for _ in range(steps):
        a_cum += float(p[-1] * forward[-1] / q)
        nxt = p * (1.0 - rates_out / q)
        nxt[1:] += p[:-1] * forward[:-1] / q
        p = nxt
        absorbed_after.append(a_cum)
    # P(absorbed by t) = sum_j P(N(t)=j) * absorbed_after_j
    weights = []
    w = poisson
    for j in range(steps + 1):
        weights.append(w)
        w = w * q * t / (j + 1)
    return float(sum(weights[j + 1] * absorbed_after[j] for j in range(steps)))


def erlang_a(
    servers: int, arrival_rate: float, mean_service: float, mean_patience: float, target: float
) -> QueueTheory:
    """M/M/c+M (Erlang A): exponential patience with mean ``mean_patience`` seconds.

    ``service_level`` is P(answered within ``target``) over all arrivals, abandoned ones included.
    """
    mu = 1.0 / mean_service
    theta = 1.0 / mean_patience
    p = _erlang_a_chain(servers, arrival_rate, mu, theta)
    p_wait = float(p[servers:].sum())
    queue = np.maximum(np.arange(p.size) - servers, 0)
    lq = float((p * queue).sum())
    p_abandon = theta * lq / arrival_rate
    asa = lq / arrival_rate
    sl = float(p[:servers].sum())
    for n in range(servers, p.size):
        if p[n] < 1e-14:
            continue
        sl += float(p[n]) * _served_within(n - servers, servers, mu, theta, target)
    return QueueTheory(p_wait=p_wait, asa=asa, service_level=sl, p_abandon=p_abandon, mean_queue=lq)


def max_cdf(cdfs: Sequence[Callable[[float], float]], t: float) -> float:
    """CDF of the maximum of independent variables at ``t``: the product of their CDFs."""
    out = 1.0
    for f in cdfs:
        out *= f(t)
    return out


def lognormal_cdf(median: float, sigma: float) -> Callable[[float], float]:
    """CDF of a lognormal with the given median and log-standard deviation."""
    mu = math.log(median)

    def cdf(t: float) -> float:
        if t <= 0:
            return 0.0
        return 0.5 * math.erfc(-(math.log(t) - mu) / (sigma * math.sqrt(2.0)))

    return cdf


def little_l(arrival_rate: float, mean_time: float) -> float:
    """Little's law: mean number in a system = arrival rate × mean time in it."""
    return arrival_rate * mean_time


# Two-sided Student t quantiles t_{0.975} and t_{0.995} for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
_T995 = (63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055,
         3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797,
         2.787, 2.779, 2.771, 2.763, 2.756, 2.750)
_Z = {0.95: 1.959964, 0.99: 2.575829}


def t_quantile(confidence: float, df: int) -> float:
    """Two-sided Student t critical value for ``confidence`` 0.95 or 0.99 (Cornish-Fisher past 30)."""
    if confidence not in _Z:
        raise ValueError("confidence must be 0.95 or 0.99")
    if df < 1:
        raise ValueError("need at least 2 replications for a confidence interval")
    table = _T975 if confidence == 0.95 else _T995
    if df <= len(table):
        return table[df - 1]
    z = _Z[confidence]
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )
