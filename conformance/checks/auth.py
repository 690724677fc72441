"""OIF-AUTH: signatures, key ids, timestamp skew, replayed nonces, authentication first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from yzt.client import Exchange
from yzt.conformance.checks._expect import outcome, problem
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, check, failed
from yzt.signing import (
    HEADER_KEY_ID,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SKEW_SECONDS,
    new_nonce,
    sign,
)

PATH = "/v1/card-count"


def _body(ctx: RunContext) -> dict[str, Any]:
    subject = ctx.readonly[0]
    return ctx.subject_body(subject.name, subject.id_number)


@check("OIF-AUTH-1", endpoint=f"POST {PATH}")
def missing_signature(ctx: RunContext) -> Iterator[Finding]:
    """A valid body without any signature header gets 401 signature_invalid."""
    yield from problem(ctx.post(PATH, _body(ctx), sign=False), 401, "signature_invalid")


@check("OIF-AUTH-1", endpoint=f"POST {PATH}")
def wrong_signature(ctx: RunContext) -> Iterator[Finding]:
    """A request signed with another secret gets 401 signature_invalid."""
    ex = ctx.post(PATH, _body(ctx), secret=b"not-the-shared-secret")
    yield from problem(ex, 401, "signature_invalid")


@check("OIF-AUTH-1", endpoint=f"POST {PATH}")
def signature_over_other_body(ctx: RunContext) -> Iterator[Finding]:
    """A signature computed over a different body (tampered in transit) gets 401 signature_invalid."""
    body = _body(ctx)
    raw = json.dumps(body, ensure_ascii=False).encode()
    from yzt.signing import signed_headers

    headers = signed_headers(ctx.client.key_id, ctx.client.secret, "POST", PATH, raw + b" ",
                             timestamp=ctx.client.timestamp())
    ex = ctx.client.send("POST", PATH, raw=raw, sign=False, headers=headers)
    yield from problem(ex, 401, "signature_invalid")


@check("OIF-AUTH-1", endpoint=f"POST {PATH}")
def unknown_key_id(ctx: RunContext) -> Iterator[Finding]:
    """A key id the operator never issued gets 401 signature_invalid (even if the HMAC is right)."""
    ex = ctx.post(PATH, _body(ctx), key_id=f"{ctx.client.key_id}-unknown")
    yield from problem(ex, 401, "signature_invalid")


@check("OIF-AUTH-2", endpoint=f"POST {PATH}")
def timestamp_in_the_past(ctx: RunContext) -> Iterator[Finding]:
    """A timestamp 600 s behind the operator's clock gets 401 timestamp_skew."""
    ex = ctx.post(PATH, _body(ctx), timestamp=ctx.client.timestamp() - 2 * SKEW_SECONDS)
    yield from problem(ex, 401, "timestamp_skew")


@check("OIF-AUTH-2", endpoint=f"POST {PATH}")
def timestamp_in_the_future(ctx: RunContext) -> Iterator[Finding]:
    """A timestamp 600 s ahead of the operator's clock gets 401 timestamp_skew."""
    ex = ctx.post(PATH, _body(ctx), timestamp=ctx.client.timestamp() + 2 * SKEW_SECONDS)
    yield from problem(ex, 401, "timestamp_skew")


def _signed_over(ctx: RunContext, timestamp: str, nonce: str) -> Exchange:
    """A valid card-count, correctly signed over ``timestamp`` exactly as given (any string)."""
    raw = json.dumps(_body(ctx), ensure_ascii=False).encode()
    c = ctx.client
    headers = {HEADER_KEY_ID: c.key_id, HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce,
               HEADER_SIGNATURE: sign(c.secret, "POST", PATH, timestamp, nonce, raw)}
    return c.send("POST", PATH, raw=raw, sign=False, headers=headers)


@check("OIF-AUTH-2", endpoint=f"POST {PATH}")
def huge_timestamp(ctx: RunContext) -> Iterator[Finding]:
    """A signed request whose timestamp is a huge number gets 401 timestamp_skew: 20 digits (past
    64-bit integers), then 4,301 digits (past Python's int()) twice with one nonce, so a parser
    that gives up cannot let the request, or its replay, through."""
    nonce = new_nonce()
    for digits, this_nonce, again in ((20, new_nonce(), ""), (4301, nonce, ""),
                                      (4301, nonce, " (the same nonce again)")):
        ex = _signed_over(ctx, "9" * digits, this_nonce)
        if ex.error or ex.status != 401 or ex.problem_code not in (None, "timestamp_skew"):
            yield failed(f"{outcome(ex)} to a timestamp of {digits} digits{again}",
                         "401 timestamp_skew (a time the operator cannot place is outside the "
                         "window)", ex)
            return


@check("OIF-AUTH-2", endpoint=f"POST {PATH}")
def unreadable_timestamp(ctx: RunContext) -> Iterator[Finding]:
    """A signed request whose timestamp is not Unix seconds (a sign, a fraction, an exponent,
    an underscore) gets 401, timestamp_skew or signature_invalid: never let through."""
    now = ctx.client.timestamp()
    for stamp in (f"-{now}", f"+{now}", f"{now}.0", f"{now}e0", f"1_{now}"):
        ex = _signed_over(ctx, stamp, new_nonce())
        if ex.error or ex.status != 401 or ex.problem_code not in (
                None, "timestamp_skew", "signature_invalid"):
            yield failed(f"{outcome(ex)} to X-YZT-Timestamp {stamp!r}",
                         "401 timestamp_skew (or signature_invalid)", ex)
            return  # one is enough: a hostile endpoint is not asked five times


@check("OIF-AUTH-3", endpoint=f"POST {PATH}")
def replayed_nonce(ctx: RunContext) -> Iterator[Finding]:
    """A second request reusing a nonce seen seconds ago gets 401 replayed_request."""
    nonce = new_nonce()
    first = ctx.post(PATH, _body(ctx), nonce=nonce)
    if first.status != 200:
        yield failed(f"{outcome(first)} to the first, valid request", "200", first)
        return
    yield from problem(ctx.post(PATH, _body(ctx), nonce=nonce), 401, "replayed_request")


@check("OIF-AUTH-4", endpoint=f"POST {PATH}")
def unsigned_garbage_body(ctx: RunContext) -> Iterator[Finding]:
    """An unsigned request whose body is not JSON gets 401, not 400."""
    ex = ctx.client.send("POST", PATH, raw=b"\x00\xff garbage {", sign=False)
    yield from problem(ex, 401, "signature_invalid")


@check("OIF-AUTH-4", endpoint=f"POST {PATH}")
def unsigned_invalid_subject(ctx: RunContext) -> Iterator[Finding]:
    """An unsigned request with an invalid ID number and no verification gets 401, not 422/403."""
    body = ctx.subject_body("张三", "110105194912310021", verification=False)
    yield from problem(ctx.post(PATH, body, sign=False), 401, "signature_invalid")


@check("OIF-AUTH-4", endpoint=f"POST {PATH}")
def unsigned_wrong_content_type(ctx: RunContext) -> Iterator[Finding]:
    """An unsigned text/plain request gets 401, not 415."""
    ex = ctx.post(PATH, _body(ctx), sign=False, content_type="text/plain")
    yield from problem(ex, 401, "signature_invalid")
