"""Fan-out calls to one operator (or one provincial node of a carrier).

Each call waits for one of the platform's ``concurrency`` connections to the operator (FCFS), then
takes a lognormal latency. It fails when the latency passes ``timeout_s`` (the connection is held
for the whole timeout), with probability ``failure_ratio`` (an error answer after the latency), or
during an outage (``timeout``: hangs until the timeout; ``refuse``: fails after 50 ms). A failed call
is retried after ``min(backoff_max, initial·factor^(k−1))`` seconds, scaled by a uniform jitter in
``[1−jitter, 1+jitter]``, until ``max_attempts`` or until the next try would start after the
query's reply deadline; then the operator has *given up* on that query and the reply is incomplete.

Draws come from the node's own streams (latency, failure, backoff), so changing another operator
leaves them identical (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from yzt.sim.records import CallCounts
from yzt.sim.rng import Streams
from yzt.sim.scenario import OperatorParams
from yzt.sim.station import Job, Station

REFUSE_S = 0.05
"""How long a refused connection takes (an outage in ``refuse`` mode)."""

OK, ERROR, TIMEOUT, OUTAGE = 0, 1, 2, 3


class Call(Job):
    """One operator call of one query, across its retries."""

    __slots__ = ("attempt", "deadline", "node", "outcome", "query")

    def __init__(self, node: OperatorNode, query: int, deadline: float) -> None:
        super().__init__()
        self.node = node
        self.query = query
        self.deadline = deadline
        self.attempt = 0
        self.outcome = OK

    def begin(self, now: float) -> float:
        return self.node.begin(self, now)

    def finish(self, now: float) -> None:
        self.node.finish(self, now)


class OperatorNode:
    """The platform's connection pool to one operator node, with its retry policy."""

    def __init__(
        self,
        env: simpy.Environment,
        node_id: str,
        operator: OperatorParams,
        streams: Streams,
        one_in: int,
        done: Callable[[int, float, bool], None],
    ) -> None:
        self.env = env
        self.id = node_id
        self.operator = operator
        conc = operator.concurrency
        self.servers = math.inf if conc is None else max(1, round(conc / one_in))
        self.station = Station(env, f"{node_id}/fanout", self.servers)
        self._lat = streams.get(node_id, "latency")
        self._fail = streams.get(node_id, "failure")
        self._jit = streams.get(node_id, "backoff")
        self._outages = tuple(
            (o.start_h * 3600.0, (o.start_h + o.duration_h) * 3600.0, o.mode) for o in operator.outages
        )
        self._done = done
        self.counters = CallCounts()

    def call(self, query: int, deadline: float) -> None:
        """Start the call of ``query`` now; it must end before ``deadline`` (s)."""
        self.station.arrive(Call(self, query, deadline))

    def _outage(self, now: float) -> str | None:
        for start, end, mode in self._outages:
            if start <= now < end:
                return mode
        return None

    def begin(self, call: Call, now: float) -> float:
        op = self.operator
        c = self.counters
        c.attempts += 1
        call.attempt += 1
        mode = self._outage(now) if self._outages else None
        if mode is not None:
            call.outcome = OUTAGE
            return op.timeout_s if mode == "timeout" else REFUSE_S
        latency = self._lat.lognormal(op.latency.median, op.latency.sigma)
        if latency > op.timeout_s:
            call.outcome = TIMEOUT
            return op.timeout_s
        call.outcome = ERROR if self._fail.uniform() < op.failure_ratio else OK
        if call.outcome == OK:
            c.durations.append(latency)
            c.latency_sum += latency
        return latency

    def finish(self, call: Call, now: float) -> None:
        c = self.counters
        outcome = call.outcome
        if outcome == OK:
            c.successes += 1
            self._done(call.query, now, True)
            return
        if outcome == ERROR:
            c.errors += 1
        elif outcome == TIMEOUT:
            c.timeouts += 1
        else:
            c.outage_failures += 1
        r = self.operator.retry
        backoff = min(r.backoff_max_s, r.backoff_initial_s * r.backoff_factor ** (call.attempt - 1))
        if r.jitter:
            backoff *= 1.0 + r.jitter * (2.0 * self._jit.uniform() - 1.0)
        if (r.max_attempts is not None and call.attempt >= r.max_attempts) or (
            now + backoff >= call.deadline
        ):
            c.gave_up += 1
            self._done(call.query, now, False)
            return
        c.retries += 1
        ev = self.env.timeout(backoff)
        ev.callbacks.append(lambda _e: self.station.arrive(call))
