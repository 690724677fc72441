"""Reading a request body (OIF-T-3): bounded in size and in time, JSON only.

A body is read only after its route is known and before authentication (the signature covers it).
It must fit the size limit (413, also when streamed without a ``Content-Length``) and arrive within
:data:`BODY_DEADLINE_S` (a ``Content-Length`` larger than what is sent, or a dripping body, must not
hold the connection).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from yzt.server.problems import Problem

#: The protocol's bound on a request body, in bytes.
MAX_BODY = 16 * 1024
#: The application's own bound: no body beyond it is ever buffered, whatever the limit above says.
HARD_MAX_BODY = 1 << 20
#: The whole body must arrive within this many seconds of the handler asking for it.
BODY_DEADLINE_S = 10.0


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The body, at most ``limit`` bytes (413 above), arrived within :data:`BODY_DEADLINE_S` (400)."""
    if request.content.is_eof():  # all of it arrived with the headers: no timer needed
        return await _read(request, limit)
    try:
        async with asyncio.timeout(BODY_DEADLINE_S):
            return await _read(request, limit)
    except TimeoutError:
        raise Problem("malformed_request", f"the body did not arrive within {BODY_DEADLINE_S:g} s",
                      close=True) from None


async def _read(request: web.Request, limit: int) -> bytes:
    length = request.content_length
    if length is not None:
        if length > limit:
            raise Problem("payload_too_large", f"the body is over {limit} bytes")
        return await request.read()  # the declared length is within the limit
    chunks: list[bytes] = []  # chunked: count as it streams in, stop at the limit
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise Problem("payload_too_large", f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def require_json(content_type: str, charset: str | None) -> None:
    """415 ``unsupported_media_type`` unless the body is ``application/json`` in UTF-8."""
    if content_type != "application/json" or charset not in (None, "utf-8"):
        raise Problem("unsupported_media_type", "send Content-Type: application/json")
