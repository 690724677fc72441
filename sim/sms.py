"""The SMS gateway (port 10699000) that sends each complete reply.

A throughput limit of ``rate_per_s`` messages a second is modelled as ``channels`` parallel
submit lanes, each taking ``channels / rate`` seconds a message (so the lanes together submit
``rate`` a second). A submit fails with ``failure_ratio`` and is queued again after
``retry_backoff_s``; a submitted message reaches the phone after a lognormal delivery delay.
Under sampling (1 in N) the rate is divided by N so that the sampled stream sees the same load.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from yzt.sim.rng import Streams
from yzt.sim.scenario import Sms
from yzt.sim.station import Job, Station


class SmsJob(Job):
    __slots__ = ("gateway", "query")

    def __init__(self, gateway: SmsGateway, query: int) -> None:
        super().__init__()
        self.gateway = gateway
        self.query = query

    def begin(self, now: float) -> float:
        return self.gateway.submit_s

    def finish(self, now: float) -> None:
        self.gateway.finish(self, now)


class SmsGateway:
    """Submit queue, failures with retry, delivery delay; calls ``delivered(query, t)``."""

    def __init__(
        self,
        env: simpy.Environment,
        sms: Sms,
        one_in: int,
        streams: Streams,
        delivered: Callable[[int, float], None],
    ) -> None:
        self.env = env
        self.sms = sms
        self.submit_s = sms.channels / (sms.rate_per_s / one_in)
        self.station = Station(env, "sms", sms.channels)
        self._fail = streams.get("sms", "failure")
        self._delivery = streams.get("sms", "delivery")
        self._delivered = delivered
        self.failures = 0
        self.sent = 0

    def send(self, query: int) -> None:
        """Queue the reply of ``query`` now."""
        self.station.arrive(SmsJob(self, query))

    def finish(self, job: SmsJob, now: float) -> None:
        if self._fail.uniform() < self.sms.failure_ratio:
            self.failures += 1
            ev = self.env.timeout(self.sms.retry_backoff_s)
            ev.callbacks.append(lambda _e: self.station.arrive(job))
            return
        self.sent += 1
        d = self.sms.delivery
        self._delivered(job.query, now + self._delivery.lognormal(d.median, d.sigma))

    @property
    def backlog(self) -> int:
        """Messages waiting or being submitted."""
        return self.station.waiting + self.station.busy
