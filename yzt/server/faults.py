"""Fault injection: latency, error ratio, outage windows and a rate limit, from flags or a YAML file.

Faults make the reference operator a stand-in for a real reseller in load tests and calibration.
They apply to the protocol's business endpoints and service-info, never to ``/v1/health`` or the
sandbox clock (test control must keep working while the operator "fails").
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yzt.server.problems import Problem

#: z-score of the 99th percentile of a standard normal distribution.
_Z99 = 2.3263478740408408
#: Endpoints that may be named in a fault profile's per-endpoint latency.
ENDPOINTS = ("card-count", "card-details", "disputes", "cancellations", "service-info")


@dataclass(frozen=True)
class Latency:
    """A lognormal latency given by its median and 99th percentile, in milliseconds."""

    p50_ms: float
    p99_ms: float

    def __post_init__(self) -> None:
        if self.p50_ms <= 0 or self.p99_ms < self.p50_ms:
            raise ValueError(f"latency needs 0 < p50_ms <= p99_ms, got {self.p50_ms} and {self.p99_ms}")

    def sample_s(self, rng: random.Random) -> float:
        """One draw, in seconds: exp(N(ln p50, σ)) with σ = ln(p99/p50) / z99."""
        sigma = math.log(self.p99_ms / self.p50_ms) / _Z99
        return rng.lognormvariate(math.log(self.p50_ms), sigma) / 1000.0


@dataclass(frozen=True)
class Outage:
    """A window of wall-clock time during which every faulted request gets 503 ``unavailable``.

    ``start``/``end`` are seconds after server start when ``absolute`` is False, else Unix times.
    """

    start: float
    end: float
    absolute: bool = False


@dataclass(frozen=True)
class FaultProfile:
    """All faults of one run; the default injects nothing."""

    latency: Latency | None = None
    endpoint_latency: tuple[tuple[str, Latency], ...] = ()
    error_ratio: float = 0.0
    error_statuses: tuple[int, ...] = (503,)
    retry_after_s: int = 1
    outages: tuple[Outage, ...] = ()
    rate_limit: float | None = None
    seed: int = 0

    @property
    def active(self) -> bool:
        return bool(self.latency or self.endpoint_latency or self.error_ratio or self.outages
                    or self.rate_limit)


def _time_value(value: Any) -> tuple[float, bool]:
    if isinstance(value, str):
        from yzt.signing import parse_time

        return parse_time(value).timestamp(), True
    return float(value), False


def profile_from_document(doc: dict[str, Any]) -> FaultProfile:
    """Build a profile from a document already validated by ``faults.schema.json``."""
    lat = doc.get("latency") or {}
    latency = Latency(lat["p50_ms"], lat["p99_ms"]) if "p50_ms" in lat else None
    per = tuple((name, Latency(v["p50_ms"], v["p99_ms"]))
                for name, v in sorted((lat.get("endpoints") or {}).items()))
    err = doc.get("error_ratio") or {}
    outages = []
    for o in doc.get("outages") or []:
        start, abs_start = _time_value(o["start"])
        end, abs_end = _time_value(o["end"])
        if abs_start != abs_end:
            raise ValueError("an outage's start and end must both be offsets or both be times")
        if end <= start:
            raise ValueError(f"an outage must end after it starts ({o['start']} → {o['end']})")
        outages.append(Outage(start, end, abs_start))
    rl = doc.get("rate_limit") or {}
    return FaultProfile(
        latency=latency, endpoint_latency=per,
        error_ratio=float(err.get("ratio", 0.0)),
        error_statuses=tuple(err.get("statuses", [503])),
        retry_after_s=int(doc.get("retry_after_s", 1)),
        outages=tuple(outages),
        rate_limit=float(rl["rps"]) if "rps" in rl else None,
        seed=int(doc.get("seed", 0)),
    )


def load_profile(path: Path) -> FaultProfile:
    """Load and validate a fault profile YAML; problems name the field (InputFileError)."""
    from yzt.errors import InputFileError
    from yzt.validation import load_document, package_schema

    doc = load_document(path, package_schema("yzt.scenarios", "faults"))
    try:
        return profile_from_document(doc)
    except ValueError as exc:
        raise InputFileError(str(path), [str(exc)]) from None


@dataclass
class FaultInjector:
    """The running state of a profile: a token bucket, a seeded RNG and the server's start time."""

    profile: FaultProfile
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"yzt-faults|{self.profile.seed}")
        self._tokens = self.profile.rate_limit or 0.0
        self._last = time.monotonic()
        self._per = dict(self.profile.endpoint_latency)

    def in_outage(self, now: float | None = None) -> float | None:
        """Seconds until the current outage ends, or ``None`` outside outages."""
        now = time.time() if now is None else now
        for o in self.profile.outages:
            start, end = (o.start, o.end) if o.absolute else (self.started + o.start,
                                                              self.started + o.end)
            if start <= now < end:
                return end - now
        return None

    def take_token(self) -> bool:
        """Token bucket of ``rate_limit`` per second with a one-second burst."""
        rate = self.profile.rate_limit
        if rate is None:
            return True
        now = time.monotonic()
        self._tokens = min(rate, self._tokens + (now - self._last) * rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def latency_s(self, endpoint: str) -> float:
        """Injected delay for one request to ``endpoint`` (0 when none is configured)."""
        lat = self._per.get(endpoint, self.profile.latency)
        return lat.sample_s(self._rng) if lat else 0.0

    def error_status(self) -> int | None:
        """500 or 503 for the unlucky share of requests, else ``None``."""
        if self.profile.error_ratio and self._rng.random() < self.profile.error_ratio:
            return self._rng.choice(self.profile.error_statuses)
        return None

    async def inject(self, endpoint: str) -> None:
        """The faults of one request to ``endpoint``, in order: rate limit (429), outage (503),
        latency, injected error (500 or 503). Raises the :class:`Problem` answered instead."""
        if not self.profile.active:
            return
        retry = str(self.profile.retry_after_s)
        if not self.take_token():
            raise Problem("rate_limited", "over the contracted rate", headers={"Retry-After": retry})
        remaining = self.in_outage()
        if remaining is not None:
            raise Problem("unavailable", "planned outage",
                          headers={"Retry-After": str(max(1, int(remaining + 0.999)))})
        delay = self.latency_s(endpoint)
        if delay > 0:
            await asyncio.sleep(delay)
        status = self.error_status()
        if status == 500:
            raise Problem("internal_error", "injected failure")
        if status == 503:
            raise Problem("unavailable", "injected failure", headers={"Retry-After": retry})
