"""OIF-ERR: problem+json everywhere, Retry-After on overload, and the order of checks.

Each ordering check sends a request that is wrong at two adjacent steps of OIF-ERR-3 and expects
the earlier step to answer. Authentication's place is OIF-AUTH-4's (checked there).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from yzt.client import Exchange
from yzt.conformance import schemas
from yzt.conformance.checks._expect import outcome, problem
from yzt.conformance.checks.transport import MAX_BODY
from yzt.conformance.context import RunContext, make_id
from yzt.conformance.registry import (
    Finding,
    NothingToJudge,
    check,
    failed,
    not_applicable,
    not_testable,
)

COUNT = "/v1/card-count"
#: The overload probe: at most this many unsigned service-info requests, for at most this long.
PROBE_REQUESTS = 400
PROBE_SECONDS = 3.0
PROBE_WORKERS = 16


def _bad_subject(ctx: RunContext, **kwargs: Any) -> dict[str, Any]:
    s = ctx.readonly[0]
    return ctx.subject_body(s.name, make_id(s.id_number[:10] + "0230" + s.id_number[14:17]), **kwargs)


@check("OIF-ERR-1", endpoint="(every error response)", phase="sweep")
def problem_shape(ctx: RunContext) -> Iterator[Finding]:
    """Every 4xx/5xx body is application/problem+json {type, title, status, code, detail} with
    type and status matching its code."""
    judged = 0
    for ex in ctx.exchanges():
        if ex.error or ex.status is None or ex.status < 400:
            continue
        judged += 1
        if ex.content_type != "application/problem+json":
            yield failed(f"Content-Type {ex.content_type or '(none)'!r} on {ex.status} to {ex.method} "
                         f"{ex.path}", "application/problem+json", ex)
        body = ex.json()
        if not isinstance(body, dict):
            yield failed(f"{ex.status} to {ex.method} {ex.path} with a body that is not a JSON object",
                         "a problem+json object", ex)
            continue
        problems = schemas.validate("problem", body)
        if ex.status == 405 and body.get("code") == "method_not_allowed":
            problems = [p for p in problems if "code" not in p and "status" not in p]  # extension
        if problems:
            yield failed(f"{ex.status} body: {'; '.join(problems[:2])}", "a valid problem object", ex)
        if body.get("status") != ex.status:
            yield failed(f"status {body.get('status')!r} in the body of a {ex.status}",
                         "the HTTP status", ex)
        if body.get("type") != f"urn:yzt:problem:{body.get('code')}":
            yield failed(f"type {body.get('type')!r} with code {body.get('code')!r}",
                         "type = urn:yzt:problem:<code>", ex)
    if not judged:
        raise NothingToJudge("no error answer (4xx/5xx) was received in this run")


#: Over the 8 KiB most HTTP servers accept for one header field or the request line.
OVERSIZED = 10 * 1024


@check("OIF-ERR-1", endpoint="GET /v1/health")
def http_layer_errors_are_problems(ctx: RunContext) -> Iterator[Finding]:
    """What the HTTP layer refuses (a 10 KiB header field, a 10 KiB request line) is answered as
    problem+json like any other error, echoing nothing of the request."""
    marker = f"yzt-echo-{ctx.rng.getrandbits(48):012x}"
    pad = marker + "x" * OVERSIZED
    probes = (ctx.get("/v1/health", sign=False, headers={"X-YZT-Padding": pad}),
              ctx.get(f"/v1/health?padding={pad}", sign=False))
    judged = 0
    for ex in probes:
        if ex.error or ex.status is None or ex.status < 400:
            continue
        judged += 1
        where = f"{ex.status} to a request with {OVERSIZED // 1024} KiB in one line"
        if ex.content_type != "application/problem+json":
            yield failed(f"Content-Type {ex.content_type or '(none)'!r} on {where}",
                         "application/problem+json", ex)
        if marker.encode() in ex.response_body:
            yield failed(f"the request's bytes echoed in the body of {where}",
                         "nothing of the request in the answer", ex)
    if not judged:
        raise NothingToJudge(f"the endpoint accepted {OVERSIZED // 1024} KiB header fields and "
                             "request lines: no error from its HTTP layer to judge")


def _overload_seen(ctx: RunContext) -> list[Exchange]:
    return [ex for ex in ctx.exchanges() if ex.status in (429, 503)]


def _judge_overload(seen: list[Exchange]) -> Iterator[Finding]:
    for ex in seen:
        code = "rate_limited" if ex.status == 429 else "unavailable"
        retry = ex.response_headers.get("retry-after", "")
        if not retry.strip():
            yield failed(f"{ex.status} without Retry-After", f"{ex.status} {code} with Retry-After", ex)
        elif ex.problem_code not in (None, code):
            yield failed(outcome(ex), f"{ex.status} {code}", ex)


@check("OIF-ERR-2", endpoint="GET /v1/service-info", phase="late")
def overload_has_retry_after(ctx: RunContext) -> Iterator[Finding]:
    """Provoke overload if the run saw none: every 429 / 503 carries Retry-After and the right code.

    The burst is at most 400 unsigned service-info requests within 3 s, stopped at the first 429 or
    503. An operator that sheds no load under it cannot be judged: incomplete, never passed. The
    production profile sends no burst (load is ``yzt load``'s business): not applicable there.
    """
    seen = _overload_seen(ctx)
    sent = 0
    started = time.monotonic()
    if not seen and ctx.profile == "production":
        yield not_applicable("not applicable in the production profile: no overload was seen and "
                             "none is provoked against a production endpoint")
        return
    if not seen:
        with ThreadPoolExecutor(PROBE_WORKERS) as pool:
            while sent < PROBE_REQUESTS and time.monotonic() - started < PROBE_SECONDS:
                batch = list(pool.map(lambda _: ctx.get("/v1/service-info", sign=False,
                                                          retry_overload=False),
                                      range(PROBE_WORKERS * 5)))
                sent += len(batch)
                seen = [ex for ex in batch if ex.status in (429, 503)]
                if seen or any(ex.error for ex in batch):
                    break
    if not seen:
        yield not_testable(f"no 429 or 503 seen ({sent} quick service-info requests in "
                           f"{time.monotonic() - started:.1f} s); run the sandbox with a rate limit "
                           "to test OIF-ERR-2")
        return
    yield from _judge_overload(seen)


@check("OIF-ERR-2", endpoint="(every 429 and 503)", phase="sweep")
def overload_answers_retry_after(ctx: RunContext) -> Iterator[Finding]:
    """Every 429 / 503 answer seen in the run carries Retry-After and the matching code."""
    seen = _overload_seen(ctx)
    if not seen:
        yield not_applicable("no 429 or 503 answer in this run (overload_has_retry_after judges "
                             "whether one can be provoked)")
        return
    yield from _judge_overload(seen)


@check("OIF-ERR-3", endpoint=f"POST {COUNT}")
def size_before_authentication(ctx: RunContext) -> Iterator[Finding]:
    """An unsigned body over 16 KiB gets 413 (size is checked before authentication)."""
    ex = ctx.client.send("POST", COUNT, raw=b"{" + b" " * (MAX_BODY + 512) + b"}", sign=False)
    yield from problem(ex, 413, "payload_too_large")


@check("OIF-ERR-3", endpoint=f"POST {COUNT}")
def content_type_before_json(ctx: RunContext) -> Iterator[Finding]:
    """A signed text/plain body that is not JSON gets 415, not 400."""
    ex = ctx.client.send("POST", COUNT, raw=b"query_id=1", content_type="text/plain")
    yield from problem(ex, 415, "unsupported_media_type")


@check("OIF-ERR-3", endpoint=f"POST {COUNT}")
def shape_before_subject(ctx: RunContext) -> Iterator[Finding]:
    """A body without query_id and with an invalid ID number gets 400, not 422."""
    body = _bad_subject(ctx)
    del body["query_id"]
    yield from problem(ctx.post(COUNT, body), 400, "malformed_request")


@check("OIF-ERR-3", endpoint=f"POST {COUNT}")
def subject_before_verification(ctx: RunContext) -> Iterator[Finding]:
    """An invalid ID number without verification gets 422, not 403."""
    yield from problem(ctx.post(COUNT, _bad_subject(ctx, verification=False)), 422, "invalid_id_number")


@check("OIF-ERR-3", endpoint="POST /v1/disputes")
def verification_before_business(ctx: RunContext) -> Iterator[Finding]:
    """A dispute on an unknown card_ref without verification gets 403, not 404."""
    s = ctx.readonly[0]
    body = ctx.subject_body(s.name, s.id_number, verification=False, id_key="dispute_id",
                            card_ref="no-such-card-ref", claim="not_mine")
    yield from problem(ctx.post("/v1/disputes", body), 403, "verification_required")


@check("OIF-ERR-3", endpoint=f"POST {COUNT}")
def verification_before_conflict(ctx: RunContext) -> Iterator[Finding]:
    """A reused query_id with a changed body and a forged ticket gets 403, not 409."""
    s = ctx.readonly[0]
    body = ctx.subject_body(s.name, s.id_number)
    first = ctx.post(COUNT, body)
    if first.status != 200:
        yield failed(f"{outcome(first)} to a valid card-count", "200", first)
        return
    forged = dict(body["verification"], ticket="A" * 43)
    yield from problem(ctx.post(COUNT, dict(body, verification=forged)), 403, "verification_invalid")
