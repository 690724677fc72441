"""The front door: who arrives, who passes identity verification, who the 24-hour rule turns away.

This stage has no capacity limit, so it is exact to draw it vectorised before the event run:

- arrivals are a non-homogeneous Poisson process, rate = queries_per_day/86 400 × diurnal weight of
  the hour × (1 + Σ (peak−1)·exp(−(t−start)/decay)) for each surge, drawn by thinning
  (Lewis & Shedler) and sampled 1 in ``one_in``;
- verification: the SMS code arrives after a lognormal delay; users whose (exponential) patience
  runs out first give up, a ``fail_share`` of the rest fail (wrong code, phone not registered to
  the ID); the query is verified when the code is entered;
- the one-query-per-ID-per-24-h rule: a ``repeat_share`` of verified users ask again after an
  exponential delay; a repeat inside ``one_query_per_h`` is refused, a later one is a new query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yzt.sim.rng import Streams
from yzt.sim.scenario import Arrivals, Scenario


def rate_per_s(arr: Arrivals, t_s: np.ndarray) -> np.ndarray:
    """Arrival rate (queries/s, before sampling) at times ``t_s``, in ascending order (thinning
    draws millions of candidates a day: a surge's term is computed only from its start on)."""
    hour = (t_s // 3600.0).astype(np.int64) % 24
    rate = arr.queries_per_day / 86_400.0 * np.asarray(arr.diurnal)[hour]
    boost = np.ones_like(t_s)
    for s in arr.surges:
        start = s.start_h * 3600.0
        i = int(np.searchsorted(t_s, start, side="left"))
        boost[i:] += (s.peak_multiplier - 1.0) * np.exp(-((t_s[i:] - start) / (s.decay_h * 3600.0)))
    return np.asarray(rate * boost)


def rate_bound(arr: Arrivals) -> float:
    """An upper bound of :func:`rate_per_s` for thinning."""
    return arr.peak_rate_per_s()


@dataclass(frozen=True)
class FrontDoor:
    """Outcome of the front door for one replication (counts are of the sampled stream)."""

    verified_at: np.ndarray
    """Sorted verification times (s) of the queries that go to the operators."""
    attempts: int
    gave_up: int
    failed: int
    refused_24h: int
    repeats_accepted: int


def front_door(sc: Scenario, streams: Streams) -> FrontDoor:
    """Draw the arrivals, verification and 24-hour rule of one replication."""
    arr = sc.arrivals
    horizon = sc.horizon_h * 3600.0
    gen = streams.generator("platform", "arrivals")
    bound = rate_bound(arr) / sc.one_in
    n = int(gen.poisson(bound * horizon))
    cand = np.sort(gen.uniform(0.0, horizon, n))
    keep = gen.random(n) * bound < rate_per_s(arr, cand) / sc.one_in
    t = cand[keep]

    ver = sc.verification
    vgen = streams.generator("platform", "verification")
    code = ver.code_latency.median * np.exp(ver.code_latency.sigma * vgen.standard_normal(t.size))
    patience = vgen.exponential(ver.patience_mean_s, t.size)
    fail_u = vgen.random(t.size)
    gave_up = code > patience
    failed = ~gave_up & (fail_u < ver.fail_share)
    ok = ~gave_up & ~failed
    verified = t[ok] + code[ok]

    rgen = streams.generator("platform", "repeats")
    asks_again = rgen.random(verified.size) < arr.repeat_share
    delay = rgen.exponential(arr.repeat_delay_mean_h * 3600.0, verified.size)
    refused = asks_again & (delay < arr.one_query_per_h * 3600.0)
    again = asks_again & ~refused
    extra = verified[again] + delay[again]
    return FrontDoor(
        verified_at=np.sort(np.concatenate([verified, extra])),
        attempts=int(t.size),
        gave_up=int(gave_up.sum()),
        failed=int(failed.sum()),
        refused_24h=int(refused.sum()),
        repeats_accepted=int(again.sum()),
    )
