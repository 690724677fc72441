"""The reference operator as an aiohttp application, assembled in layers.

The clean operator implements the protocol and nothing else: routing and the order of checks
(:mod:`yzt.server.dispatch`), body reading (:mod:`yzt.server.body`), authentication
(:mod:`yzt.server.auth`), group commit (:mod:`yzt.server.commit`) and the endpoints
(:mod:`yzt.server.handlers`), each built from the replaceable steps of :mod:`yzt.server.steps`.
Around it, the legal variants (``yzt serve --variant``, :mod:`yzt.server.variants`) and then the
seeded defects (``yzt serve --defect``, :mod:`yzt.server.defects`) replace or wrap steps, each
registered under the requirement it concerns. Nothing below the layers asks which one is on.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from yzt.domain.masking import scrub
from yzt.server import defects, variants
from yzt.server.body import BODY_DEADLINE_S, HARD_MAX_BODY
from yzt.server.config import ServerConfig
from yzt.server.dispatch import Dispatcher
from yzt.server.handlers import Operator
from yzt.server.http import HTTP_LAYER, PROBLEM_ERRORS
from yzt.server.steps import Steps
from yzt.server.store import Store

__all__ = ["ACCESS_LOG", "BODY_DEADLINE_S", "STORE_KEY", "AccessLogger", "build", "create_app"]

ACCESS_LOG = logging.getLogger("yzt.server.access")
STORE_KEY: web.AppKey[Store] = web.AppKey("store", Store)


def build(config: ServerConfig, store: Store) -> Dispatcher:
    """The operator for ``config`` over ``store``: clean steps, then variants, then defects."""
    steps = Steps(config, store)
    operator = Operator(steps)  # registers its handlers, one per operation of the endpoint table
    variants.apply(steps)
    defects.apply(steps)
    operator.catch_up(store.now())
    return Dispatcher(steps, operator)


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str) -> str:
    """``text`` with control characters (CR, LF, ESC…) shown as ``\\xNN``: one request, one line."""
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)


class AccessLogger(AbstractAccessLogger):
    """One line a request: method, path, status, milliseconds; scrubbed; never a body.

    The path is logged as received (still percent-encoded), so ``%0d%0a`` stays three characters
    each and cannot start a forged line; control characters are escaped all the same.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if response.get(HTTP_LAYER):
            line = f"- (unparsable request) {response.status}"
        else:
            line = _printable(f"{request.method} {request.raw_path} {response.status}")
        self.logger.info(scrub(f"{line} {time * 1000:.1f}ms"))


def create_app(config: ServerConfig) -> web.Application:
    """The application for ``config``: opens the store, loads the cards, wires one catch-all route."""
    from yzt.server.loading import open_store

    store = open_store(config)
    dispatcher = build(config, store)
    # the legal variants' middlewares (delay, framing, style, members, limit); none by default
    app = web.Application(client_max_size=HARD_MAX_BODY, middlewares=variants.middlewares(config))
    app[STORE_KEY] = store
    app[PROBLEM_ERRORS] = dispatcher.s.http_problems
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = dispatcher
    app.router.add_route("*", "/{tail:.*}", handler)

    last_date: list[Any] = [0, ""]  # (whole second, its formatted Date): formatted once a second

    async def date_from_real_time(_request: web.Request, response: web.StreamResponse) -> None:
        # HTTP Date is the origin's real clock (RFC 9110), not the sandbox clock: protocol v1.3
        # gives a platform the sandbox clock only through POST /v1/sandbox/clock.
        second = int(time.time())
        if second != last_date[0]:
            last_date[:] = [second, formatdate(second, usegmt=True)]
        response.headers["Date"] = last_date[1]

    app.on_response_prepare.append(date_from_real_time)

    async def close_store(_app: web.Application) -> None:
        store.close()

    app.on_cleanup.append(close_store)
    # after the operator's own hooks, so a variant's header (Date on the sandbox clock) wins
    app.on_response_prepare.extend(variants.response_hooks(config, store))
    return app
