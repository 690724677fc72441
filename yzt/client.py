"""The platform side of the protocol: one HTTP seam that signs requests and mints tickets.

Conformance checks, the reference operator's tests and ``yzt validate`` talk to operators only
through :class:`PlatformClient`. Unit tests hand it an ``httpx.MockTransport``; integration tests use
the real network on loopback. Every exchange comes back as an :class:`Exchange` record, whatever
happened (timeouts, resets, huge or non-JSON bodies are recorded, never raised), so that a check can
judge it and a report can show it, masked.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from yzt.signing import format_time, make_ticket, new_nonce, signed_headers

if TYPE_CHECKING:
    from yzt.clock import ClockMemory

#: Responses larger than this are cut and recorded as ``error="body too large"``.
MAX_RESPONSE_BYTES = 1 << 20


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the current exchange's deadline.

    httpx's timeouts count per socket operation, so a server that drips one byte every two seconds
    never trips a 5 s read timeout. Here each operation gets only the time left of the whole
    exchange (connect, headers and body together), and none once it has run out.
    """

    def __init__(self, inner: httpcore.NetworkStream, backend: _DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.budget(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname,
                                      self._backend.budget(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner, self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with one deadline per exchange (set by :meth:`exchange`)."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._local = threading.local()

    @contextmanager
    def exchange(self, seconds: float) -> Iterator[None]:
        """Every socket operation inside this block ends by ``seconds`` from now."""
        self._local.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.deadline = None

    def expired(self) -> bool:
        deadline: float | None = getattr(self._local, "deadline", None)
        return deadline is not None and time.monotonic() >= deadline

    def budget(self, timeout: float | None, error: type[Exception]) -> float | None:
        """The smaller of an operation's own timeout and the time left; raise ``error`` if none is."""
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise error("the exchange's deadline has passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, self.budget(timeout, httpcore.ConnectTimeout),
                                         local_address, socket_options)
        return _DeadlineStream(stream, self)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, self.budget(timeout, httpcore.ConnectTimeout),
                                                 socket_options)
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _deadline_transport(backend: _DeadlineBackend) -> httpx.HTTPTransport:
    """httpx's own transport (its error mapping, pooling, TLS) over the deadline backend.

    httpx takes no ``network_backend`` argument, so the pool is replaced after construction with an
    equivalent one that uses it; tests/hostile/test_client_deadlines.py shows it holds.
    """
    ssl_context = httpx.create_ssl_context()  # one context (loading the CA store costs CPU), not two
    transport = httpx.HTTPTransport(verify=ssl_context)
    transport._pool = httpcore.ConnectionPool(  # private: see the docstring
        ssl_context=ssl_context, max_connections=100, max_keepalive_connections=20,
        keepalive_expiry=5.0, network_backend=backend)
    return transport


@dataclass
class Exchange:
    """One request and what came back (or the transport error instead)."""

    method: str
    path: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    elapsed_s: float = 0.0
    error: str | None = None

    @property
    def content_type(self) -> str:
        return self.response_headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The response body as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.response_body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting is not JSON to us
            return None

    @property
    def problem_code(self) -> str | None:
        body = self.json()
        return body.get("code") if isinstance(body, dict) else None

    def describe(self) -> str:
        """``POST /v1/card-count → 200`` (or the error), for messages."""
        outcome = self.error if self.error else str(self.status)
        return f"{self.method} {self.path} → {outcome}"


class PlatformClient:
    """Signs and sends protocol requests to one operator's base URL.

    ``clock_offset`` follows the operator's sandbox clock: after ``POST /v1/sandbox/clock`` moves it,
    every timestamp and ``verified_at`` the client sends moves by the same amount. Set it with
    :func:`yzt.clock.discover_clock`, never from the HTTP ``Date`` header (protocol v1.3). With a
    ``clock_memory`` every clock the client advances or reads is remembered for later commands.
    """

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret: bytes,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        clock_memory: ClockMemory | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock_memory = clock_memory
        self.key_id = key_id
        self.secret = secret
        self.clock_offset = 0.0
        self.timeout = timeout
        self._deadline = _DeadlineBackend()
        self._http = httpx.Client(timeout=timeout, follow_redirects=False,
                                  transport=transport or _deadline_transport(self._deadline))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time -------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The operator's clock as the platform believes it to be."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def timestamp(self) -> int:
        return int(self.now().timestamp())

    # -- message parts ----------------------------------------------------------------------
    def verification(
        self,
        name: str,
        id_number: str,
        *,
        method: str = "sms_code",
        age: timedelta = timedelta(minutes=1),
        verified_at: str | None = None,
    ) -> dict[str, str]:
        """A valid verification block for a subject, verified ``age`` ago on the operator's clock."""
        at = verified_at or format_time(self.now() - age)
        return {"method": method, "verified_at": at,
                "ticket": make_ticket(self.secret, method, id_number, name, at)}

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    # -- sending ----------------------------------------------------------------------------
    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = "application/json",
        sign: bool = True,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
        key_id: str | None = None,
        secret: bytes | None = None,
    ) -> Exchange:
        """Send one request; never raises for network trouble (see :class:`Exchange`).

        The whole exchange (connect, headers and the whole body) ends within the client's
        ``timeout``: a dripping or endless answer is recorded as ``timed out``, a huge one as ``body
        too large`` after :data:`MAX_RESPONSE_BYTES`. ``body`` is JSON-encoded; ``raw`` sends bytes as
        they are. The signing knobs let checks send deliberately wrong requests (wrong key, stale
        timestamp, replayed nonce).
        """
        payload = raw if raw is not None else (
            b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8"))
        hdrs: dict[str, str] = {}
        if payload and content_type:
            hdrs["Content-Type"] = content_type
        if sign:
            hdrs.update(signed_headers(
                key_id or self.key_id, secret if secret is not None else self.secret,
                method, path, payload,
                timestamp=timestamp if timestamp is not None else self.timestamp(),
                nonce=nonce or new_nonce()))
        hdrs.update(headers or {})
        exchange = Exchange(method.upper(), path, hdrs, payload)
        started = time.perf_counter()
        chunks: list[bytes] = []
        try:
            with self._deadline.exchange(self.timeout), \
                    self._http.stream(method, self.base_url + path, content=payload,
                                      headers=hdrs) as response:
                exchange.status = response.status_code
                exchange.response_headers = {k.lower(): v for k, v in response.headers.items()}
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        exchange.error = f"body too large (over {MAX_RESPONSE_BYTES} bytes)"
                        break
                    if time.perf_counter() - started > self.timeout:  # a transport without deadline
                        raise httpx.ReadTimeout("the exchange's deadline has passed")
        except httpx.TimeoutException:
            exchange.error = "timed out"
        except httpx.ConnectError as exc:
            exchange.error = f"cannot connect: {exc}"
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
        exchange.response_body = b"".join(chunks)[:MAX_RESPONSE_BYTES]
        exchange.elapsed_s = time.perf_counter() - started
        return exchange

    def advance_clock(self, seconds: float) -> Exchange:
        """Move the sandbox clock and follow it (``0`` reads it); see the protocol's sandbox clock.

        The new offset is written to the client's clock memory, when it has one, so that the next
        command signing for this base URL and key id finds the clock (:mod:`yzt.clock`).
        """
        from yzt.endpoints import by_name

        clock = by_name("sandbox/clock")  # method and path from the endpoint table
        exchange = self.send(clock.method, clock.path, body={"advance_seconds": seconds})
        body = exchange.json()
        if exchange.status == 200 and isinstance(body, dict) and isinstance(body.get("now"), str):
            from yzt.signing import parse_time

            try:
                operator_now = parse_time(body["now"])
            except ValueError:
                return exchange
            self.clock_offset = (operator_now - datetime.now(UTC)).total_seconds()
            if self.clock_memory is not None:
                self.clock_memory.remember(self.base_url, self.key_id, self.clock_offset)
        return exchange
