"""Routing and the protocol's order of checks (OIF-ERR-3), for every request.

One catch-all route hands each request to :class:`Dispatcher`: base path → route (404, then 405
with ``Allow``) → faults → body size (413) → authentication (401: signature, then skew, then
replay) → content type (415, bodies only) → JSON (400) → the endpoint (shape, idempotent replay,
subject, verification, business rules: :mod:`yzt.server.handlers`). Everything after the body has
been read runs synchronously, so a request's SQLite writes are in one transaction that is committed
(:mod:`yzt.server.commit`) before the answer is sent.
"""

from __future__ import annotations

import logging

from aiohttp import web

from yzt.endpoints import Endpoint, endpoints
from yzt.server.body import read_body
from yzt.server.commit import GroupCommit
from yzt.server.handlers import Operator
from yzt.server.problems import Problem
from yzt.server.steps import Call, Incoming, Steps

#: Endpoints faults never reach: test control keeps working while the operator "fails".
UNFAULTED = frozenset({"health", "sandbox/clock"})
NONCE_PRUNE_EVERY = 1000
_BENCH_HELLO = b'{"hello":"world"}'


class Dispatcher:
    """The aiohttp handler of every request: routes from the endpoint table, steps from ``steps``."""

    def __init__(self, steps: Steps, operator: Operator) -> None:
        self.s = steps
        self.operator = operator
        self.commit = GroupCommit(steps.store)
        #: The endpoints this operator serves: those of the table it has a handler for.
        self.routes = tuple(e for e in endpoints() if e.operation_id in steps.handlers)
        self.signed_count = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except Problem as p:
            await self.commit.committed()
            return self.s.problem(p)
        except Exception:  # an unexpected bug: answer 500, never a traceback
            logging.getLogger("yzt.server").exception("internal error")
            return self.s.problem(Problem("internal_error", "internal error"))

    def route(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]]:
        """The endpoint ``method path`` addresses and its path parameters (404, 405 otherwise)."""
        found = [(e, params) for e in self.routes if (params := e.path_params(path)) is not None]
        if not found:
            raise Problem("not_found", "no such path")
        for endpoint, params in found:
            if endpoint.method == method:
                return endpoint, params
        allowed = ", ".join(e.method for e, _ in found)
        raise Problem("method_not_allowed", f"{method} is not allowed here", headers={"Allow": allowed})

    def _target(self, raw_path: str) -> str:
        """The protocol path and query, without the base path (404 outside it)."""
        base = self.s.config.base_path
        if not base:
            return raw_path
        if not (raw_path == base or raw_path.startswith((base + "/", base + "?"))):
            raise Problem("not_found", "no such path")
        return raw_path[len(base):]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        s, store = self.s, self.s.store
        target = self._target(request.raw_path)
        path = target.split("?", 1)[0]
        if s.config.bench_hello and path == "/bench/hello":
            return web.Response(body=_BENCH_HELLO, content_type="application/json")
        endpoint, params = self.route(request.method, path)
        if endpoint.name not in UNFAULTED:
            await s.faults.inject(endpoint.name.split("/")[0])
        if not endpoint.signed:
            return s.answer(*self.operator.respond(endpoint, Call(None, params, store.now())))
        incoming = Incoming(endpoint, request.method, target, request.headers, request.content_type,
                            request.charset, await read_body(request, s.body_limit))
        s.authenticate(incoming, store.now())
        await s.admitted(incoming)
        now = store.now()
        self.signed_count += 1
        if self.signed_count % NONCE_PRUNE_EVERY == 0:
            store.prune_nonces(now)
        self.operator.catch_up(now)
        doc = None
        if endpoint.request_schema is not None:
            if incoming.body:
                s.content_type(incoming)
            doc = s.parse(incoming.body)
        status, payload = self.operator.respond(endpoint, Call(doc, params, now))
        await self.commit.committed()
        return s.answer(status, payload)
