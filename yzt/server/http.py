"""The HTTP layer of the reference operator: bounded parsing, problem+json for its own errors, run.

aiohttp answers what it cannot parse (a bad request line, an oversized header, a bad
Content-Length…) itself, as ``text/plain`` that quotes the offending bytes. Here those answers
are problem+json like every other error (OIF-ERR-1) and echo nothing of the request; the
parser's limits are stated once; a request head that does not arrive whole within
:data:`HEADER_TIMEOUT_S` (``yzt serve --header-timeout``) closes its connection, so a client
that sends half a request line and waits holds no connection for good (aiohttp has no such
bound); and :func:`serve` binds, reports a busy port or a bad host as a user error, and stops on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from yzt.errors import UserError
from yzt.server.problems import CODES, problem_body

#: Parser bounds: request line and each header field at most 8190 bytes, at most 64 fields.
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190
MAX_HEADERS = 64
#: Seconds a refused request's unread body is drained before the connection closes.
LINGERING_S = 2.0
#: Seconds a request head (request line and header fields) may take to arrive, counted from the
#: connection's opening or the first byte of a later request on it; then the connection closes.
HEADER_TIMEOUT_S = 10.0
#: Marks a response made by the HTTP layer (the access log shows no request line for it).
HTTP_LAYER = "yzt_http_layer_error"
#: Whether the application wants the HTTP layer's own errors as problem+json (a seeded defect,
#: ``plain-http-errors``, sets it false).
PROBLEM_ERRORS: web.AppKey[bool] = web.AppKey("problem_errors", bool)
_LOG = logging.getLogger("yzt.server")


def _code_for(status: int) -> str:
    for code, (code_status, _title) in CODES.items():
        if code_status == status:
            return code
    return "malformed_request" if status < 500 else "internal_error"


class HeadDeadlineHandler(RequestHandler):
    """aiohttp's connection handler with a deadline on each request head.

    The timer starts when the connection opens, or when bytes arrive while the connection waits
    for a request (the first bytes of the next request on a kept-alive connection), and stops
    when a whole head has been parsed. An idle kept-alive connection is aiohttp's keep-alive
    timeout's business, not this one's: no bytes, no timer.
    """

    __slots__ = ("_head_timer", "head_timeout")

    def __init__(self, *args: Any, head_timeout: float = HEADER_TIMEOUT_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def _waiting_for_head(self) -> bool:
        """No request queued, being read or handled (attributes of aiohttp 3.10+'s handler)."""
        return (not self._messages and not getattr(self, "_request_in_progress", False)
                and getattr(self, "_current_request", None) is None)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self.head_timeout > 0:
            self._head_timer = self._loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def data_received(self, data: bytes) -> None:
        """Parse as aiohttp does; start the head's clock on its first bytes, stop it once parsed."""
        waiting, before = self._waiting_for_head(), self._request_count
        super().data_received(data)
        if self._request_count > before:
            self._stop_head_timer()
        elif waiting and data:
            self._arm_head_timer()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._waiting_for_head() and self.transport is not None:
            _LOG.info("closed a connection whose request head did not arrive within %g s",
                      self.head_timeout)
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)


class ProblemRequestHandler(HeadDeadlineHandler):
    """The handler above with aiohttp's error page replaced by a problem+json answer."""

    __slots__ = ()

    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """A problem answer naming the error's class, never its message (which quotes the bytes)."""
        if status >= 500:
            _LOG.error("internal error in the HTTP layer", exc_info=exc)
        else:
            _LOG.info("refused an unparsable request: %s", type(exc).__name__ if exc else status)
        if request.writer.output_size > 0:  # a response is half sent: only closing is left
            raise ConnectionError("response already started")
        code = _code_for(status)
        what = type(exc).__name__ if exc is not None else "an unreadable request"
        detail = (f"the HTTP layer could not read the request ({what})" if status < 500
                  else "internal error")
        resp = web.Response(status=CODES[code][0], body=problem_body(code, detail),
                            content_type="application/problem+json")
        resp[HTTP_LAYER] = True
        resp.force_close()
        return resp


class YztServer(web.Server):
    """Makes a handler of ``handler_class`` for each connection, with the head deadline set."""

    handler_class: type[HeadDeadlineHandler] = ProblemRequestHandler
    head_timeout: float = HEADER_TIMEOUT_S

    def __call__(self) -> RequestHandler:
        return self.handler_class(self, loop=self._loop, head_timeout=self.head_timeout, **self._kwargs)


class YztAppRunner(web.AppRunner):
    """An AppRunner whose server is a :class:`YztServer`."""

    def __init__(self, app: web.Application, *, problem_errors: bool, head_timeout: float,
                 **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.problem_errors = problem_errors
        self.head_timeout = head_timeout

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = YztServer  # same object, with the handler factory above
        assert isinstance(server, YztServer)
        server.handler_class = ProblemRequestHandler if self.problem_errors else HeadDeadlineHandler
        server.head_timeout = self.head_timeout
        return server


async def serve(app: web.Application, host: str, port: int, *, access_log: logging.Logger | None,
                access_log_class: type[AbstractAccessLogger],
                on_ready: Callable[[int], None], problem_errors: bool = True,
                header_timeout: float = HEADER_TIMEOUT_S, stop: asyncio.Event | None = None) -> None:
    """Serve ``app`` until SIGTERM or SIGINT (or, given ``stop``, until it is set: the caller
    then owns the signals); ``on_ready(port)`` once listening.

    A busy port, or a host that is not an address of this machine, is a :class:`UserError`.
    ``problem_errors=False``, or an application whose :data:`PROBLEM_ERRORS` is false, keeps
    aiohttp's own error pages.
    ``header_timeout``: seconds a request head may take to arrive (0: no bound).
    """
    problem_errors = problem_errors and app.get(PROBLEM_ERRORS, True)
    runner = YztAppRunner(
        app, problem_errors=problem_errors, head_timeout=header_timeout, shutdown_timeout=5.0,
        access_log=access_log, access_log_class=access_log_class,
        max_line_size=MAX_LINE_SIZE, max_field_size=MAX_FIELD_SIZE, max_headers=MAX_HEADERS,
        lingering_time=LINGERING_S)
    if stop is None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except socket.gaierror as exc:
            raise UserError(f"--host {host!r} is not an address this machine can listen on "
                            f"({exc.strerror}); use e.g. --host 127.0.0.1") from None
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; is another "
                            "server using it? pick another --port (0: any free port)") from None
        addresses = runner.addresses  # the real port when 0 was asked
        on_ready(int(addresses[0][1]) if addresses else port)
        await stop.wait()
    finally:
        await runner.cleanup()
