"""The Locust side of ``yzt load``: an open-model generator acting as the platform.

Runs only inside Locust processes (``python -m locust -f <this file>``), never in yzt's own process:
importing Locust patches the interpreter with gevent. Configuration comes from the JSON file named
by ``YZT_LOAD_CONFIG`` and the shared secret from ``YZT_SECRET``.

How the open model works here: each generating process (the single local one, or each worker) draws
the intended send times of its share of the arrival curve (:func:`~yzt.loadtests.shapes.intended_times`).
A fixed pool of users takes the next due slot, sleeps until it, sends, and records
``latency = completion − intended time``. When every user is busy (a slow server), slots are taken
late and the wait counts in the latency; slots still unsent when the run's send window closes are
counted as *not offered*, which makes the run incomplete. Raw per-request records go to
``raw/rows-*.npy`` (workers send theirs to the master with Locust's custom messages), so the verdict
uses exact latencies rather than Locust's rounded percentiles.

A capacity search runs its probes one after another in one standalone process (``YZT_LOAD_SERIES``
names a control folder): each probe is a fresh :class:`Generator` on its own configuration, as a
process of its own would run it, without paying Locust's start-up per probe (see :func:`_series`).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gevent
from gevent.lock import BoundedSemaphore
from locust import FastHttpUser, LoadTestShape, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from yzt.domain.masking import scrub
from yzt.loadtests.handshake import (
    config_mac,
    handshake_key,
    is_nonce,
    master_proof,
    matches,
    new_nonce,
    same_target,
    worker_proof,
)
from yzt.loadtests.shapes import intended_times
from yzt.loadtests.traffic import (
    ENDPOINT_NAMES,
    PROTOCOL_REQUIREMENTS,
    PROTOCOL_UNCHECKED,
    PROTOCOL_VALID,
    PROTOCOL_VIOLATION,
    RequestBuilder,
    RunConfig,
    classify,
    load_record,
    people_for,
    protocol_requirement,
    records_npy,
)

#: The run's configuration: from the file named by ``YZT_LOAD_CONFIG``, or, in a worker that joined
#: from another machine (``yzt load --worker``), from the master's ``yzt_config`` message.
CONFIG: RunConfig = (RunConfig.load(Path(os.environ["YZT_LOAD_CONFIG"])) if os.environ.get("YZT_LOAD_CONFIG")
                     else RunConfig.placeholder())
CONFIGURED = bool(os.environ.get("YZT_LOAD_CONFIG"))
SECRET = os.environ.get("YZT_SECRET", "").encode("utf-8")
ROW_CHUNK = 5000
#: Bodies are read up to this size; a larger answer is cut, counted as a broken answer ("schema").
MAX_BODY_BYTES = 1 << 20

try:  # the conformance schemas; without them the load still runs, and the results say so
    from yzt.conformance.schemas import judge_response as _judge

    def _validate(schema: str, body: Any) -> list[str]:
        # responses are open (protocol v1.2): members the protocol does not name are no violation
        return _judge(schema, body).problems

    VALIDATE: Any = _validate
except ImportError:  # pragma: no cover - depends on the installed tree
    VALIDATE = None


#: Subjects by what they are rebuilt from: the probes of a series share them (they are one run's).
_PEOPLE: dict[tuple[Any, ...], list[Any]] = {}


def _people() -> list[Any]:
    key = (CONFIG.operator, CONFIG.seed, CONFIG.subjects, CONFIG.fixtures, CONFIG.unknown_share)
    if key not in _PEOPLE:
        _PEOPLE[key] = people_for(CONFIG)
    return _PEOPLE[key]


class Generator:
    """One process's share of the arrival curve, its request builder and its raw records."""

    def __init__(self) -> None:
        self.people = _people()
        #: The pool: at most ``users_per_process`` requests in flight (users beyond it, left from a
        #: larger probe of a series, wait here).
        self.pool = BoundedSemaphore(CONFIG.users_per_process)
        self.builder: RequestBuilder | None = None
        self.times: Iterator[float] = iter(())
        self.origin = 0.0
        self.started = False
        self.exhausted = False
        self.finished = False
        self.rows: list[tuple[float, ...]] = []
        self.scheduled = 0
        self.dropped = 0
        self.in_flight: dict[int, tuple[int, float, float]] = {}
        self.schema_checked = 0
        self.schema_examples: list[str] = []
        self.cpu0 = self.wall0 = 0.0
        self.cpu_window: tuple[float, float] | None = None
        self.samples: list[tuple[float, float]] = []
        self.tag = ""
        self.index = 0

    # -- schedule ---------------------------------------------------------------------------
    def start(self, index: int) -> None:
        share = 1.0 / max(1, CONFIG.workers)
        self.index = index
        self.tag = f"{socket.gethostname()}-{os.getpid()}-w{index}"
        rng = random.Random(f"yzt-load|{CONFIG.traffic_seed}|{index}")
        self.builder = RequestBuilder(self.people, CONFIG.key_id, SECRET, CONFIG.mix, rng,
                                      unknown_share=CONFIG.unknown_share)
        self.times = intended_times(CONFIG.shape.scaled(share), rng, poisson=CONFIG.poisson,
                                    phase=index * share)
        self.origin = time.perf_counter() + CONFIG.lead_s
        self.wall0 = self.origin
        self.started = True
        gevent.spawn(self._monitor)

    @property
    def send_until(self) -> float:
        """Seconds from the origin after which a due slot is no longer sent (counted as not offered)."""
        return CONFIG.shape.duration + max(0.5, CONFIG.grace_s - CONFIG.timeout_s - 0.5)

    def next_slot(self) -> tuple[float, bool] | None:
        """(intended time, picked ahead of time) of the next slot, or ``None`` when none is left."""
        if self.exhausted:
            return None
        now = time.perf_counter() - self.origin
        for at in self.times:
            self.scheduled += 1
            if now > self.send_until:
                self.dropped += 1
                continue
            return at, at > now
        self.exhausted = True
        return None

    # -- one request ------------------------------------------------------------------------
    def offer(self, client: Any, at: float, early: bool) -> None:
        assert self.builder is not None
        prep = self.builder.build(now=datetime.now(UTC) + timedelta(seconds=CONFIG.clock_offset_s))
        delay = self.origin + at - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        code = ENDPOINT_NAMES.index(prep.endpoint)
        t_send = time.perf_counter()
        key = id(prep)
        self.in_flight[key] = (code, at, t_send)
        # One deadline for the whole exchange (connect, headers, body): the client's own timeouts
        # count per socket read, so a body dripping a byte a second would never trip them.
        deadline = gevent.Timeout(CONFIG.timeout_s)
        deadline.start()
        try:  # the full URL: the target the configuration named, whatever host a spawn message sets
            with client.request(prep.method, CONFIG.target + prep.path, data=prep.body, headers=prep.headers,
                                name=prep.endpoint, catch_response=True, stream=True) as resp:
                content, too_large = _read_capped(resp)
                t_done = time.perf_counter()
                error = repr(resp.error) if getattr(resp, "error", None) else None
                status = int(resp.status_code or 0)
                kind = classify(status, error, prep.expected)
                sample = VALIDATE is not None and (CONFIG.schema_sample >= 1.0 or
                                                   self.builder.rng.random() < CONFIG.schema_sample)
                protocol = PROTOCOL_UNCHECKED
                if kind == "ok" and too_large:
                    self.schema_checked += 1
                    self._example(f"{prep.endpoint}: body over {MAX_BODY_BYTES} bytes")
                    protocol = PROTOCOL_VIOLATION + PROTOCOL_REQUIREMENTS.index(
                        protocol_requirement(prep.endpoint, None))
                elif kind == "ok" and (sample or prep.endpoint == "card-details"):
                    protocol = self._inspect(prep.endpoint, prep.schema, prep.person, content, sample)
                resp.request_meta["response_time"] = (t_done - self.origin - at) * 1000
                resp.request_meta["response_length"] = len(content)
                if kind != "ok":
                    resp.failure(f"{kind} (HTTP {status})")
                elif protocol >= PROTOCOL_VIOLATION:
                    resp.failure("protocol violation "
                                 f"({PROTOCOL_REQUIREMENTS[protocol - PROTOCOL_VIOLATION]})")
                else:
                    resp.success()
        except gevent.Timeout as fired:
            if fired is not deadline:
                raise
            t_done, kind, protocol = time.perf_counter(), "timeout", PROTOCOL_UNCHECKED
            events.request.fire(  # type: ignore[no-untyped-call]
                request_type=prep.method, name=prep.endpoint, response_length=0,
                response_time=(t_done - self.origin - at) * 1000, context={},
                exception=TimeoutError(f"no complete answer in {CONFIG.timeout_s:g} s"))
        finally:
            deadline.close()
            self.in_flight.pop(key, None)
        self.rows.append(load_record(code, at, t_send - self.origin - at, t_done - self.origin - at,
                                     kind, early, protocol))

    def _inspect(self, endpoint: str, schema: str, person: int, content: bytes | None,
                 sample: bool) -> int:
        """Check a served answer against its schema; the protocol code of the raw record."""
        assert self.builder is not None
        try:
            body = json.loads(content or b"")
        except ValueError:
            self.schema_checked += 1
            self._example(f"{endpoint}: response is not JSON")
            return PROTOCOL_VIOLATION + PROTOCOL_REQUIREMENTS.index(protocol_requirement(endpoint, None))
        if endpoint == "card-details":
            self.builder.learn(person, body)
        if not sample:
            return PROTOCOL_UNCHECKED
        self.schema_checked += 1
        problems = VALIDATE(schema, body)
        if problems:
            self._example(f"{endpoint}: {problems[0]}")
            requirement = protocol_requirement(endpoint, problems[0])
            return PROTOCOL_VIOLATION + PROTOCOL_REQUIREMENTS.index(requirement)
        return PROTOCOL_VALID

    def _example(self, text: str) -> None:
        if len(self.schema_examples) < 5:
            self.schema_examples.append(scrub(text))

    # -- end of the run ---------------------------------------------------------------------
    def _monitor(self) -> None:
        """Sample CPU; finish when every slot was offered and answered, or at the hard end."""
        gevent.sleep(max(0.0, self.origin - time.perf_counter()))
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        end = CONFIG.shape.duration
        hard_end = end + CONFIG.grace_s
        while True:
            gevent.sleep(0.25)
            now = time.perf_counter() - self.origin
            self.samples.append((now, time.process_time() - self.cpu0))
            if self.cpu_window is None and now >= end:
                self.cpu_window = (time.process_time() - self.cpu0, time.perf_counter() - self.wall0)
            if (self.exhausted and not self.in_flight and self.cpu_window) or now > hard_end:
                break
        for code, at, t_send in list(self.in_flight.values()):  # still unanswered at the hard end
            self.rows.append(load_record(code, at, t_send - self.origin - at, now - at, "timeout", False,
                                         PROTOCOL_UNCHECKED))
        self.finish()

    def summary(self) -> dict[str, Any]:
        cpu, wall = self.cpu_window or (time.process_time() - self.cpu0, time.perf_counter() - self.wall0)
        peak = 0.0
        for (t0, c0), (t1, c1) in zip(self.samples, self.samples[4:], strict=False):
            if t1 <= CONFIG.shape.duration and t1 > t0:
                peak = max(peak, (c1 - c0) / (t1 - t0))
        return {
            "tag": self.tag, "index": self.index, "host": socket.gethostname(), "pid": os.getpid(),
            "scheduled": self.scheduled, "sent": len(self.rows), "dropped": self.dropped,
            "unfinished": len(self.in_flight), "users": CONFIG.users_per_process,
            "cpu_seconds": cpu, "wall_seconds": wall, "cpu_fraction": cpu / wall if wall > 0 else 0.0,
            "cpu_peak_fraction": peak, "schema_checked": self.schema_checked,
            "schema_examples": self.schema_examples, "schema_validation": VALIDATE is not None,
        }

    def finish(self, interrupted: bool = False) -> None:
        if self.finished:
            return
        self.finished = True
        runner = ENV.runner if ENV is not None else None
        summary = self.summary()
        summary["interrupted"] = interrupted
        if interrupted:  # requests still in flight are cut short, not timed out: leave them out
            self.in_flight.clear()
        if isinstance(runner, WorkerRunner):
            for i in range(0, len(self.rows), ROW_CHUNK):
                runner.send_message("yzt_rows", {"tag": self.tag, "rows": self.rows[i:i + ROW_CHUNK]})
            runner.send_message("yzt_done", summary)
            print(f"yzt load worker {self.index}: sent {summary['sent']} requests", flush=True)
        else:
            write_records(summary, self.rows)
            if SERIES:  # the records are complete: the probe is done
                (Path(SERIES) / f"done-{STAGE[0]:03d}").write_text(
                    "interrupted" if interrupted else "done", encoding="utf-8")


def _read_capped(resp: Any) -> tuple[bytes, bool]:
    """(body, cut) of a streamed response: at most MAX_BODY_BYTES are kept; an endless or huge
    body is cut there and its connection closed instead of read to the end."""
    raw = getattr(resp, "_response", None)
    if raw is None:  # no HTTP answer (a connection error): nothing to read
        return b"", False
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = raw.read(65536)
        if not chunk:
            return _decoded(b"".join(chunks), resp)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raw.release()  # an unfinished message: the pool closes the socket instead of reusing it
            return b"".join(chunks)[:MAX_BODY_BYTES], True


def _decoded(body: bytes, resp: Any) -> tuple[bytes, bool]:
    """(body, cut) with the gzip or deflate content coding the client accepted undone (an operator
    may compress: protocol-decisions, "Legal variants"); decoded bodies are cut at MAX_BODY_BYTES
    too. A coding that does not decode leaves the bytes as they came (so: not JSON)."""
    coding = str((getattr(resp, "headers", None) or {}).get("content-encoding") or "").strip().lower()
    if coding not in ("gzip", "x-gzip", "deflate") or not body:
        return body, False
    for wbits in ((16 + zlib.MAX_WBITS,) if coding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)):
        try:
            inflater = zlib.decompressobj(wbits)
            plain = inflater.decompress(body, MAX_BODY_BYTES + 1)
        except zlib.error:
            continue
        return plain[:MAX_BODY_BYTES], len(plain) > MAX_BODY_BYTES
    return body, False


def write_records(summary: dict[str, Any], rows: list[Any]) -> None:
    raw = Path(CONFIG.out_dir) / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / f"rows-{summary['tag']}.npy").write_bytes(records_npy(rows))
    (raw / f"gen-{summary['tag']}.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


ENV: Any = None
GEN: Generator | None = None
MASTER_ROWS: dict[str, list[Any]] = {}
MASTER_DONE: list[str] = []
#: Workers the master accepted (their Locust client ids): they completed the handshake.
ACCEPTED: set[str] = set()
PENDING_START: list[int] = []
#: The control folder of a series of probes (a capacity search), or "": see :func:`_series`.
SERIES = os.environ.get("YZT_LOAD_SERIES", "")
#: The number of the series' probe now running (the first is the configuration of YZT_LOAD_CONFIG).
STAGE = [1]
#: Set once the series' control folder says ``stop``: the shape then ends the run.
SERIES_STOP: list[bool] = []
#: Users spawned so far in a series: the pool only grows (a smaller probe holds fewer permits).
SERIES_USERS = [0]
#: Seconds a finished probe waits for the next one (or ``stop``) before the process gives up.
SERIES_IDLE_S = 120.0
#: The key of the master–worker handshake (:mod:`yzt.loadtests.handshake`), derived from the secret.
HANDSHAKE_KEY = handshake_key(SECRET)
#: Seconds a worker waits, after its hello, for a master that proves it holds the secret.
HANDSHAKE_S = 30.0


def _versions() -> dict[str, str]:
    from yzt import __version__
    from yzt.conformance.requirements import protocol_version

    return {"yzt": __version__, "protocol": protocol_version()}


def handshake_problem(hello: dict[str, Any]) -> str | None:
    """Why the master refuses a worker's hello (``None``: go on with the challenge): another yzt or
    protocol version, or no usable nonce. The secret is proved in the next two messages."""
    mine = _versions()
    for key, label in (("yzt", "yzt version"), ("protocol", "protocol version")):
        if hello.get(key) != mine[key]:
            return (f"{label} {hello.get(key)!r} differs from the master's {mine[key]!r}: install the "
                    "same yzt on every load machine")
    if not is_nonce(hello.get("nonce")):
        return "the worker's hello carries no valid nonce"
    return None


#: The worker's side of the handshake: its nonce, the master's (once its proof checked out), and
#: whether an authenticated configuration arrived. Nothing is sent to any target before that.
WORKER_NONCE = new_nonce()
MASTER_NONCE: list[str] = []
AUTHENTICATED: list[bool] = []
#: The target a worker from another machine was started for (``yzt load --worker --target URL``).
WORKER_TARGET = os.environ.get("YZT_WORKER_TARGET", "")
#: Master side: per worker (Locust client id), its nonce and the master's, until it answers.
CHALLENGED: dict[str, tuple[str, str]] = {}
#: Master side: who each worker says it is (host and pid, from its hello), for the messages.
WORKER_NAMES: dict[str, str] = {}


def _forget_worker(runner: Any, node_id: str) -> None:
    """Drop a refused worker from the master's books at once, so that it neither counts towards
    ``--expect-workers`` nor, when it leaves, ends a headless run as "the last worker quit"."""
    client = runner.clients.get(node_id)
    if client is None:
        return
    del runner.clients[node_id]
    dispatcher = getattr(runner, "_users_dispatcher", None)
    if dispatcher is not None:
        dispatcher.remove_worker(client)


def _apply_config(config: RunConfig, fixtures_text: str | None) -> None:
    """A worker from another machine takes the master's run configuration (and fixture file)."""
    global CONFIG, CONFIGURED, GEN
    if fixtures_text is not None:
        folder = Path(tempfile.mkdtemp(prefix="yzt-worker-"))  # mode 0700: synthetic, still private
        path = folder / "fixtures.jsonl"
        path.write_text(fixtures_text, encoding="utf-8")
        path.chmod(0o600)
        config = replace(config, fixtures=str(path))
    CONFIG, CONFIGURED = config, True
    PlatformUser.host = config.target
    PlatformUser.network_timeout = PlatformUser.connection_timeout = config.timeout_s
    GEN = Generator()


def _master_listeners(runner: Any) -> None:
    def refuse(node_id: str, who: str, problem: str, tell: bool = True) -> None:
        print(f"yzt load: refused worker {who}: {problem}", flush=True)
        raw = Path(CONFIG.out_dir) / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        (raw / f"refused-{node_id}.json").write_text(
            json.dumps({"worker": who, "reason": problem}), encoding="utf-8")
        CHALLENGED.pop(node_id, None)
        if tell:
            runner.send_message("yzt_refused", {"reason": problem}, client_id=node_id)
        _forget_worker(runner, node_id)

    def on_rows(msg: Any, **_kw: Any) -> None:
        if msg.node_id in ACCEPTED:
            MASTER_ROWS.setdefault(msg.data["tag"], []).extend(msg.data["rows"])

    def on_done(msg: Any, **_kw: Any) -> None:
        if msg.node_id in ACCEPTED:
            write_records(msg.data, MASTER_ROWS.pop(msg.data["tag"], []))
            MASTER_DONE.append(msg.data["tag"])

    def on_hello(msg: Any, **_kw: Any) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        who = f"{data.get('host', '?')} (pid {data.get('pid', '?')})"
        problem = handshake_problem(data)
        if problem:
            refuse(msg.node_id, who, problem)
            return
        master_nonce = new_nonce()  # fresh for every hello: a replayed hello gets a new challenge
        CHALLENGED[msg.node_id] = (data["nonce"], master_nonce)
        WORKER_NAMES[msg.node_id] = who
        runner.send_message("yzt_challenge", {
            "nonce": master_nonce, "proof": master_proof(HANDSHAKE_KEY, data["nonce"], master_nonce)},
            client_id=msg.node_id)

    def on_proof(msg: Any, **_kw: Any) -> None:
        pending = CHALLENGED.pop(msg.node_id, None)  # one answer per challenge
        who = WORKER_NAMES.get(msg.node_id, "?")
        if pending is None:
            refuse(msg.node_id, who, "a proof without a challenge (a replayed handshake?)")
            return
        worker_nonce, master_nonce = pending
        data = msg.data if isinstance(msg.data, dict) else {}
        if not matches(worker_proof(HANDSHAKE_KEY, master_nonce, worker_nonce), data.get("proof")):
            refuse(msg.node_id, who, "the worker did not prove it holds the master's secret (a replayed "
                   "handshake, or another YZT_SECRET: set the same one on every machine)")
            return
        config_text = CONFIG.to_json()
        fixtures_text = (Path(CONFIG.fixtures).read_text(encoding="utf-8")
                         if CONFIG.fixtures and not data.get("configured") else None)
        runner.send_message("yzt_config", {
            "config": config_text, "fixtures_text": fixtures_text,
            "mac": config_mac(HANDSHAKE_KEY, worker_nonce, master_nonce, config_text, fixtures_text)},
            client_id=msg.node_id)
        ACCEPTED.add(msg.node_id)

    def on_declined(msg: Any, **_kw: Any) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        reason = scrub(str(data.get("reason", "?")))[:500]
        ACCEPTED.discard(msg.node_id)
        refuse(msg.node_id, WORKER_NAMES.get(msg.node_id, "?"), f"the worker declined: {reason}",
               tell=False)

    # Custom messages carry the sender's id in their payload: take the one ZeroMQ routed them from.
    handle = runner.handle_message

    def routed(client_id: str, msg: Any) -> None:
        msg.node_id = client_id
        handle(client_id, msg)

    runner.handle_message = routed
    runner.register_message("yzt_rows", on_rows)
    runner.register_message("yzt_done", on_done)
    runner.register_message("yzt_hello", on_hello)
    runner.register_message("yzt_proof", on_proof)
    runner.register_message("yzt_declined", on_declined)


def _worker_listeners(runner: Any) -> None:
    where = f"{getattr(runner, 'master_host', '?')}:{getattr(runner, 'master_port', '?')}"

    def decline(reason: str, tell: bool = True) -> None:
        """Stop before anything is sent anywhere: say why here, in the report file, and (when the
        master proved itself, or to say only that it did not) to the master."""
        if REFUSED:
            return
        print(f"yzt load worker: {reason}", flush=True)
        REFUSED.append(reason)
        _report(reason)
        if tell:
            runner.send_message("yzt_declined", {"reason": reason})
        gevent.spawn_later(0.1, runner.quit)

    def on_challenge(msg: Any, **_kw: Any) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        if MASTER_NONCE or REFUSED:
            return  # one challenge per hello
        nonce = data.get("nonce")
        if not is_nonce(nonce) or not matches(master_proof(HANDSHAKE_KEY, WORKER_NONCE, str(nonce)),
                                              data.get("proof")):
            decline(f"the master at {where} did not prove it holds this worker's secret (another "
                    "YZT_SECRET, or not a yzt master): nothing was sent to any target")
            return
        MASTER_NONCE.append(str(nonce))
        runner.send_message("yzt_proof", {"proof": worker_proof(HANDSHAKE_KEY, str(nonce), WORKER_NONCE),
                                          "configured": CONFIGURED})

    def on_config(msg: Any, **_kw: Any) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        if AUTHENTICATED or REFUSED:
            return
        text, fixtures_text = data.get("config"), data.get("fixtures_text")
        if (not MASTER_NONCE or not isinstance(text, str)
                or not (fixtures_text is None or isinstance(fixtures_text, str))
                or not matches(config_mac(HANDSHAKE_KEY, WORKER_NONCE, MASTER_NONCE[0], text, fixtures_text),
                               data.get("mac"))):
            decline(f"the master at {where} sent a configuration not bound to this worker's handshake: "
                    "refused, nothing was sent to any target")
            return
        if not CONFIGURED:
            try:
                config = RunConfig.from_json(text)
            except (ValueError, TypeError, KeyError) as exc:
                decline(f"the master's configuration does not read ({exc}): install the same yzt")
                return
            if not WORKER_TARGET or not same_target(config.target, WORKER_TARGET):
                decline(f"master sent target {config.target}; this worker was started for "
                        f"{WORKER_TARGET or 'no target (give --target URL)'}")
                return
            _apply_config(config, fixtures_text)
        AUTHENTICATED.append(True)
        if PENDING_START and GEN is not None:
            GEN.start(PENDING_START.pop())

    def on_refused(msg: Any, **_kw: Any) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        reason = scrub(str(data.get("reason", "?")))[:500]
        print(f"yzt load worker: the master refused this worker: {reason}", flush=True)
        REFUSED.append(reason)
        _report(f"the master refused this worker: {reason}")
        gevent.spawn_later(0.1, runner.quit)

    def deadline() -> None:
        if not AUTHENTICATED:
            decline(f"no master at {where} completed the handshake within {HANDSHAKE_S:g} s: nothing "
                    "was sent to any target", tell=False)

    # yzt never changes user classes from the master: a peer must not either (e.g. their host).
    handle = runner.handle_message

    def guarded(msg: Any) -> None:
        if msg.type != "update_user_class":
            handle(msg)

    runner.handle_message = guarded
    runner.register_message("yzt_challenge", on_challenge)
    runner.register_message("yzt_config", on_config)
    runner.register_message("yzt_refused", on_refused)
    runner.send_message("yzt_hello", {**_versions(), "nonce": WORKER_NONCE, "host": socket.gethostname(),
                                      "pid": os.getpid(), "configured": CONFIGURED})
    gevent.spawn_later(HANDSHAKE_S, deadline)


def _report(reason: str) -> None:
    """Leave the reason a worker stopped where ``yzt load --worker`` reads it (``YZT_WORKER_REPORT``)."""
    path = os.environ.get("YZT_WORKER_REPORT")
    if path:
        with contextlib.suppress(OSError):
            Path(path).write_text(reason, encoding="utf-8")


@events.init.add_listener  # type: ignore[untyped-decorator]
def _on_init(environment: Any, **_: Any) -> None:
    global ENV, GEN
    ENV = environment
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        _master_listeners(runner)
        return
    if isinstance(runner, WorkerRunner):
        _worker_listeners(runner)
    else:
        AUTHENTICATED.append(True)  # standalone: no master, nothing to authenticate
    if CONFIGURED:
        GEN = Generator()
    if SERIES and not isinstance(runner, WorkerRunner):
        SERIES_USERS[0] = CONFIG.users_per_process
        gevent.spawn(_series)
    gevent.signal_handler(signal.SIGTERM, _on_sigterm)


def _series() -> None:
    """Run a series' probes one after another: after the first, each is announced by a file
    ``stage-NNN`` in the control folder naming its ``run-config.json`` (written there before the
    file appears); its records done, ``done-NNN`` follows (:meth:`Generator.finish`). The file
    ``stop`` ends the series. Each probe is a new :class:`Generator` on its own configuration, with
    its own pool size, seed and out folder: what a process of its own would do.
    """
    global CONFIG, GEN
    ctl = Path(SERIES)
    idle_since = time.monotonic()
    while True:
        gevent.sleep(0.05)
        if (ctl / "stop").exists():
            SERIES_STOP.append(True)
            return
        if GEN is None or not GEN.finished:
            idle_since = time.monotonic()
            continue
        announced = ctl / f"stage-{STAGE[0] + 1:03d}"
        if not announced.exists():
            if time.monotonic() - idle_since > SERIES_IDLE_S:
                print(f"yzt load: no probe announced in {SERIES_IDLE_S:g} s: stopping", flush=True)
                SERIES_STOP.append(True)
                return
            continue
        CONFIG = RunConfig.load(Path(announced.read_text(encoding="utf-8").strip()))
        STAGE[0] += 1
        # the shape spawns the users a larger pool needs (about a second); the probe then starts
        needed = max(SERIES_USERS[0], CONFIG.users_per_process)
        SERIES_USERS[0] = needed
        waited = time.monotonic()
        while ENV is not None and ENV.runner.user_count < needed and time.monotonic() - waited < 10:
            gevent.sleep(0.05)
        GEN = Generator()
        GEN.start(0)


def _on_sigterm() -> None:
    """Stopped mid-run (``yzt load`` got SIGTERM or SIGINT): write what was measured, then end as
    SIGTERM ends a process. Locust's own handler does not run while a load shape drives the test."""
    if GEN is not None and GEN.started and not GEN.finished:
        GEN.finish(interrupted=True)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


REFUSED: list[str] = []


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _on_test_start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        return
    index = int(getattr(runner, "worker_index", 0)) if isinstance(runner, WorkerRunner) else 0
    if GEN is None or not AUTHENTICATED:
        PENDING_START.append(index)  # the handshake or the configuration has not completed yet
    elif not GEN.started:
        GEN.start(index)


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _on_quitting(environment: Any, **_: Any) -> None:
    # Locust's exit status means only "the generator worked": the SLA verdict is yzt's.
    if isinstance(environment.runner, MasterRunner):
        ok = len(MASTER_DONE) >= CONFIG.workers
    else:
        if GEN is not None and GEN.started and not GEN.finished:
            GEN.finish(interrupted=True)  # stopped early (SIGTERM): keep what was measured
        ok = GEN is not None and GEN.finished and not REFUSED
    environment.process_exit_code = 0 if ok else 2


class OpenModelShape(LoadTestShape):
    """Holds the user pool constant until every generating process has finished its schedule.

    A master spawns no users until every expected worker passed the version handshake and received
    the configuration, so no worker starts without it.
    """

    def tick(self) -> tuple[int, float] | None:
        if SERIES:  # a series ends when told (stop), each probe when its generator finished
            return None if SERIES_STOP else (SERIES_USERS[0], float(SERIES_USERS[0]))
        elapsed: float = self.get_run_time()  # type: ignore[no-untyped-call]
        users = CONFIG.users_per_process * max(1, CONFIG.workers)
        if GEN is None:  # the master
            if len(ACCEPTED) < CONFIG.workers:
                return (0, float(users)) if elapsed < CONFIG.join_s else None
            if not hasattr(self, "began"):
                self.began = elapsed
            elapsed -= self.began
        hard = CONFIG.lead_s + CONFIG.shape.duration + CONFIG.grace_s + 5.0
        done = len(MASTER_DONE) >= CONFIG.workers if GEN is None else GEN.finished
        if done or elapsed > hard:
            return None
        return users, float(users)


class PlatformUser(FastHttpUser):
    """One in-flight request slot of the platform; the pool size caps concurrency per process."""

    host = CONFIG.target
    network_timeout = CONFIG.timeout_s
    connection_timeout = CONFIG.timeout_s
    wait_time = constant(0)

    @task
    def offer(self) -> None:
        gen = GEN
        if gen is None or not gen.started:
            gevent.sleep(0.05)
            return
        if not gen.pool.acquire(timeout=0.2):
            return  # the pool is busy (a series' probe that holds fewer permits than users)
        try:
            slot = gen.next_slot()
            if slot is not None:
                gen.offer(self.client, *slot)
        finally:
            gen.pool.release()
        if slot is None:
            gevent.sleep(0.2)
