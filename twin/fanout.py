"""A real platform: the model's fan-out, sent as signed HTTP requests to a federation.

Each verified query calls every node at once, as ``yzt.sim.operators`` has it:

- a call waits, first come first served, for one of the node's ``concurrency`` connections
  (:class:`Pool`; ``null``: no limit), and that wait is recorded;
- the request (``POST /v1/card-count`` about one of the node's fixture subjects, signed with the
  node's key by :func:`yzt.signing.signed_headers`, ticket by :func:`yzt.signing.make_ticket`)
  has ``timeout_s``; a call that passes it holds its connection for the whole timeout and is then
  abandoned (the connection closed, so the server stops too);
- any answer but 200, a timeout or a transport error fails the attempt; it is retried after
  ``min(backoff_max, initial·factor^(k−1))`` seconds times a uniform jitter in
  ``[1−jitter, 1+jitter]``, re-entering the pool's queue, until ``max_attempts`` or until the
  next try would start after the query's reply deadline (then the node has given up);
- the query's answer time is when its last node answered (or gave up).

The arrivals are the model's own (:func:`window_offsets`): the same front door
(``yzt.sim.arrivals.front_door``) with the same seed and replication, the scenario's
``queries_per_day`` multiplied by ``scale``, cut to a window and replayed in real time.
Everything is recorded per request (node, query, attempt, enqueue, start, end, pool wait,
outcome, status) and per query (scheduled, fan-out start, last answer, complete), and written as a
results file of kind ``twin-live`` (schema ``twin-live.schema.json`` of this package).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from yzt.signing import format_time, make_ticket, signed_headers
from yzt.sim.scenario import OperatorParams, Scenario
from yzt.twin.behaviour import FAULT_HEADER

PATH = "/v1/card-count"
#: Seconds between the replay's event-loop lag measurements.
LAG_TICK_S = 0.05
#: Outcomes of one attempt.
OK, ERROR, TIMEOUT, OUTAGE, REJECTED, TRANSPORT, CUT = (
    "ok", "error", "timeout", "outage", "rejected", "transport", "cut")


@dataclass(frozen=True)
class Target:
    """One node as the platform sees it: where, with which key, which subjects, which rules."""

    node: str
    url: str
    key_id: str
    secret: bytes
    params: OperatorParams
    subjects: tuple[tuple[str, str], ...]
    """(name, id_number) of the node's fixture subjects."""


def targets(topology: dict[str, Any], sc: Scenario) -> list[Target]:
    """The nodes of a topology document (:func:`yzt.twin.federation.read_topology`), each with
    its operator's parameters from ``sc``."""
    from yzt.errors import UserError
    from yzt.fixtures import load_fixtures

    out = []
    for node, entry in sorted(topology["nodes"].items()):
        try:
            params = sc.operator(entry["operator"])
        except KeyError:
            raise UserError(f"topology node {node}: operator {entry['operator']!r} is not in "
                            f"scenario {sc.name!r}") from None
        secret = Path(entry["secret_file"]).read_text(encoding="utf-8").strip().encode()
        fixtures = load_fixtures(Path(entry["fixtures"]))
        subjects = tuple((s.name, s.id_number) for s in fixtures.subjects().values())
        out.append(Target(node, entry["url"], entry["key_id"], secret, params, subjects))
    return out


def window_offsets(sc: Scenario, *, seed: int, start_h: float, duration_s: float,
                   scale: float = 1.0, replication: int = 0) -> list[float]:
    """The model's verified-query times (front door of ``replication`` under ``seed``, arrivals
    × ``scale``) inside ``[start_h, start_h + duration_s)``, as offsets from the window's start."""
    from yzt.sim.arrivals import front_door
    from yzt.sim.rng import Streams
    from yzt.sim.scenario import with_overrides

    scaled = sc if scale == 1.0 else with_overrides(
        sc, arrivals={"queries_per_day": sc.arrivals.queries_per_day * scale})
    verified = front_door(scaled, Streams(seed, replication)).verified_at
    t0 = start_h * 3600.0
    return [float(t - t0) for t in verified if t0 <= t < t0 + duration_s]


class Pool:
    """``size`` connections handed out first come, first served (``None``: no limit)."""

    def __init__(self, size: int | None) -> None:
        self.size = size
        self.busy = 0
        self.max_busy = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.size is None or (self.busy < self.size and not self._waiting):
            self._take()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(fut)
        try:
            await fut  # the releaser took the connection for us
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()
            else:
                self._waiting.remove(fut)
            raise

    def _take(self) -> None:
        self.busy += 1
        self.max_busy = max(self.max_busy, self.busy)

    def release(self) -> None:
        self.busy -= 1
        while self._waiting:
            fut = self._waiting.popleft()
            if not fut.done():
                self._take()
                fut.set_result(None)
                return


@dataclass
class LiveRecords:
    """What happened, per request and per query (times in seconds after the replay's start)."""

    req_node: list[str] = field(default_factory=list)
    req_query: list[int] = field(default_factory=list)
    req_attempt: list[int] = field(default_factory=list)
    req_enqueued: list[float] = field(default_factory=list)
    req_start: list[float] = field(default_factory=list)
    req_end: list[float] = field(default_factory=list)
    req_outcome: list[str] = field(default_factory=list)
    req_status: list[int | None] = field(default_factory=list)
    q_scheduled: list[float] = field(default_factory=list)
    q_start: list[float] = field(default_factory=list)
    q_last: list[float] = field(default_factory=list)
    q_complete: list[bool] = field(default_factory=list)
    max_busy: dict[str, int] = field(default_factory=dict)

    def add_request(self, node: str, query: int, attempt: int, enqueued: float, start: float,
                    end: float, outcome: str, status: int | None) -> None:
        self.req_node.append(node)
        self.req_query.append(query)
        self.req_attempt.append(attempt)
        self.req_enqueued.append(enqueued)
        self.req_start.append(start)
        self.req_end.append(end)
        self.req_outcome.append(outcome)
        self.req_status.append(status)

    def requests(self) -> list[dict[str, Any]]:
        """One mapping a request (for tests and summaries)."""
        return [{"node": n, "query": q, "attempt": a, "enqueued": e, "start": s, "end": d,
                 "pool_wait": s - e, "outcome": o, "status": st}
                for n, q, a, e, s, d, o, st in zip(
                    self.req_node, self.req_query, self.req_attempt, self.req_enqueued,
                    self.req_start, self.req_end, self.req_outcome, self.req_status, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": {"node": self.req_node, "query": self.req_query,
                         "attempt": self.req_attempt, "enqueued_s": self.req_enqueued,
                         "start_s": self.req_start, "end_s": self.req_end,
                         "pool_wait_s": [s - e for s, e in zip(self.req_start, self.req_enqueued,
                                                                strict=True)],
                         "outcome": self.req_outcome, "status": self.req_status},
            "queries": {"scheduled_s": self.q_scheduled, "fanout_start_s": self.q_start,
                        "last_answer_s": self.q_last, "complete": self.q_complete},
            "pool_max_busy": self.max_busy,
        }


class _Node:
    """The platform's side of one node: its pool, HTTP session, jitter stream, subjects."""

    def __init__(self, target: Target, seed: int) -> None:
        self.t = target
        self.pool = Pool(target.params.concurrency)
        self.rng = random.Random(f"yzt-twin|{seed}|{target.node}")
        self.session: aiohttp.ClientSession | None = None

    def body(self, query: int) -> tuple[bytes, dict[str, str]]:
        name, id_number = self.t.subjects[query % len(self.t.subjects)]
        at = format_time(datetime.now(UTC) - timedelta(minutes=1))
        doc = {"query_id": str(uuid.uuid4()),
               "subject": {"name": name, "id_type": "resident_id", "id_number": id_number},
               "verification": {"method": "sms_code", "verified_at": at,
                                "ticket": make_ticket(self.t.secret, "sms_code", id_number, name, at)}}
        payload = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        headers.update(signed_headers(self.t.key_id, self.t.secret, "POST", PATH, payload,
                                      timestamp=int(time.time())))
        return payload, headers

    def backoff(self, attempt: int) -> float:
        r = self.t.params.retry
        wait = min(r.backoff_max_s, r.backoff_initial_s * r.backoff_factor ** (attempt - 1))
        if r.jitter:
            wait *= 1.0 + r.jitter * (2.0 * self.rng.random() - 1.0)
        return wait


class Replay:
    """One live replay of arrival offsets against targets; :meth:`run` returns the records."""

    def __init__(self, targets: Sequence[Target], offsets: Sequence[float], *, deadline_s: float,
                 seed: int = 1, drain_s: float = 60.0,
                 progress: Callable[[str], None] | None = None) -> None:
        self.nodes = [_Node(t, seed) for t in targets]
        self.offsets = sorted(offsets)
        self.deadline_s = deadline_s
        self.drain_s = drain_s
        self.progress = progress
        self.rec = LiveRecords()
        self.t0 = 0.0
        self.wall0 = 0.0
        """Unix time of the replay's start (offset 0)."""
        self.wall1 = 0.0
        """Unix time of the replay's end."""
        self.loop_lags_s: list[float] = []
        """How late the replay's event loop woke a :data:`LAG_TICK_S` sleep, each tick."""
        self.started = 0

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def _call(self, node: _Node, query: int, deadline: float) -> tuple[float, bool]:
        """One node's call of one query, across retries: (answer time, answered)."""
        p = node.t.params
        attempt = 0
        assert node.session is not None
        while True:
            attempt += 1
            enqueued = self.now()
            await node.pool.acquire()
            start = self.now()
            status: int | None = None
            try:
                payload, headers = node.body(query)
                async with asyncio.timeout(p.timeout_s), node.session.post(
                        node.t.url + PATH, data=payload, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
                    fault = resp.headers.get(FAULT_HEADER, "")
                outcome = (OK if status == 200 else OUTAGE if fault == "refuse"
                           else REJECTED if fault == "over-limit" else ERROR)
            except TimeoutError:
                outcome = TIMEOUT
            except aiohttp.ClientError:
                outcome = TRANSPORT
            except asyncio.CancelledError:
                self.rec.add_request(node.t.node, query, attempt, enqueued, start, self.now(), CUT,
                                     None)
                raise
            finally:
                node.pool.release()
            end = self.now()
            self.rec.add_request(node.t.node, query, attempt, enqueued, start, end, outcome, status)
            if outcome == OK:
                return end, True
            wait = node.backoff(attempt)
            if (p.retry.max_attempts is not None and attempt >= p.retry.max_attempts) or (
                    end + wait >= deadline):
                return end, False
            await asyncio.sleep(wait)

    async def _query(self, q: int, scheduled: float) -> None:
        delay = scheduled - self.now()
        if delay > 0:
            await asyncio.sleep(delay)
        start = self.now()
        deadline = start + self.deadline_s
        rec = self.rec
        rec.q_start[q] = start
        self.started += 1
        results = await asyncio.gather(*(self._call(n, q, deadline) for n in self.nodes))
        rec.q_last[q] = max(t for t, _ in results)
        rec.q_complete[q] = all(ok for _, ok in results)

    async def _watch(self) -> None:
        """Measure the event loop's lag every :data:`LAG_TICK_S` (the client's own saturation)
        and report progress about once a second."""
        loop = asyncio.get_running_loop()
        told = loop.time()
        end = self.offsets[-1] if self.offsets else 0.0
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            now = loop.time()
            self.loop_lags_s.append(max(0.0, now - before - LAG_TICK_S))
            if self.progress is not None and now - told >= 1.0:
                told = now
                open_calls = sum(n.pool.busy for n in self.nodes)
                self.progress(f"{min(self.now(), end):.0f}/{end:.0f} s, "
                              f"{self.started}/{len(self.offsets)} queries sent, "
                              f"{len(self.rec.req_node)} requests done, {open_calls} open")

    def run_blocking(self) -> LiveRecords:
        """:meth:`run` to the end from synchronous code. When the calling thread already runs an
        event loop (a notebook, a test session holding a browser), the replay gets a thread and a
        loop of its own instead of failing."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run())
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(lambda: asyncio.run(self.run())).result()

    async def run(self) -> LiveRecords:
        """Replay every offset in real time; outstanding calls are cut ``drain_s`` after the last
        arrival (recorded as ``cut``, their queries incomplete, their last answer ``NaN``)."""
        n = len(self.offsets)
        rec = self.rec
        rec.q_scheduled = list(self.offsets)
        rec.q_start = [math.nan] * n
        rec.q_last = [math.nan] * n
        rec.q_complete = [False] * n
        for node in self.nodes:
            conn = aiohttp.TCPConnector(limit=0, force_close=False, keepalive_timeout=60.0)
            node.session = aiohttp.ClientSession(connector=conn, auto_decompress=False)
        watch = asyncio.create_task(self._watch())
        try:
            self.t0 = time.monotonic()
            self.wall0 = time.time()
            tasks = [asyncio.create_task(self._query(q, t)) for q, t in enumerate(self.offsets)]
            if tasks:
                bound = (self.offsets[-1] if self.offsets else 0.0) + self.drain_s
                _done, pending = await asyncio.wait(tasks, timeout=max(0.0, bound - self.now()))
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            self.wall1 = time.time()
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
            for node in self.nodes:
                if node.session is not None:
                    await node.session.close()
        rec.max_busy = {node.t.node: node.pool.max_busy for node in self.nodes}
        return rec


def merge_records(windows: Sequence[LiveRecords]) -> dict[str, Any]:
    """Several windows' records as one set of columns, each row with its ``window`` (0, 1, …);
    query indices and times stay those of their window."""
    out: dict[str, Any] = {"requests": defaultdict(list), "queries": defaultdict(list),
                           "pool_max_busy": {}}
    for w, rec in enumerate(windows):
        doc = rec.to_dict()
        for part in ("requests", "queries"):
            cols = doc[part]
            for k, v in cols.items():
                out[part][k].extend(v)
            out[part]["window"].extend([w] * len(next(iter(cols.values()))))
        for node, busy in doc["pool_max_busy"].items():
            out["pool_max_busy"][node] = max(busy, out["pool_max_busy"].get(node, 0))
    out["requests"] = dict(out["requests"])
    out["queries"] = dict(out["queries"])
    return out


def write_live(path: Path, rec: LiveRecords | dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write a ``twin-live`` results file: ``meta`` (scenario, window, seed, …) and the records
    (one window's, or :func:`merge_records` of several)."""
    from yzt import resultfile
    from yzt.twin.results import TwinLive

    cols = rec.to_dict() if isinstance(rec, LiveRecords) else rec
    return resultfile.write_typed(path, TwinLive.from_json({**meta, **cols}))
