"""OIF-AUTH: signatures, key ids, timestamp skew, replayed nonces, authentication first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from yzt.conformance.checks._expect import outcome, problem
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, check, failed
from yzt.signing import SKEW_SECONDS, new_nonce

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
