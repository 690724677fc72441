"""The HTTP layer of the reference operator: bounded parsing, problem+json for its own errors, run.

aiohttp answers what it cannot parse (a bad request line, an oversized header, a bad
Content-Length…) itself, as ``text/plain`` that quotes the offending bytes. Here those answers
are problem+json like every other error (OIF-ERR-1) and echo nothing of the request; the
parser's limits are stated once; and :func:`serve` binds, reports a busy port or a bad host as a
user error, and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable

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
#: Marks a response made by the HTTP layer (the access log shows no request line for it).
HTTP_LAYER = "yzt_http_layer_error"
_LOG = logging.getLogger("yzt.server")


def _code_for(status: int) -> str:
    for code, (code_status, _title) in CODES.items():
        if code_status == status:
            return code
    return "malformed_request" if status < 500 else "internal_error"


class ProblemRequestHandler(RequestHandler):
    """aiohttp's connection handler with its error page replaced by a problem+json answer."""

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


class ProblemServer(web.Server):
    """Makes a :class:`ProblemRequestHandler` for each connection."""

    def __call__(self) -> RequestHandler:
        return ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


class ProblemAppRunner(web.AppRunner):
    """An AppRunner whose server is a :class:`ProblemServer`."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = ProblemServer  # same object, with the handler factory above
        return server


async def serve(app: web.Application, host: str, port: int, *, access_log: logging.Logger | None,
                access_log_class: type[AbstractAccessLogger],
                on_ready: Callable[[int], None], problem_errors: bool = True) -> None:
    """Serve ``app`` until SIGTERM or SIGINT; ``on_ready(port)`` once listening.

    A busy port, or a host that is not an address of this machine, is a :class:`UserError`.
    ``problem_errors=False`` (the ``plain-http-errors`` defect) keeps aiohttp's own error pages.
    """
    runner_class = ProblemAppRunner if problem_errors else web.AppRunner
    runner = runner_class(
        app, shutdown_timeout=5.0, access_log=access_log, access_log_class=access_log_class,
        max_line_size=MAX_LINE_SIZE, max_field_size=MAX_FIELD_SIZE, max_headers=MAX_HEADERS,
        lingering_time=LINGERING_S)
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
