"""OIF-T: JSON with the right content types, paths under the base URL, 413 / 400 / 415."""

from __future__ import annotations

import json
from collections.abc import Iterator

from yzt.conformance.checks._expect import outcome, problem
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, NothingToJudge, check, failed

MAX_BODY = 16 * 1024


def _valid_body(ctx: RunContext) -> dict[str, object]:
    subject = ctx.readonly[0]
    return ctx.subject_body(subject.name, subject.id_number)


@check("OIF-T-1", endpoint="(every response)", phase="sweep")
def content_types(ctx: RunContext) -> Iterator[Finding]:
    """Every successful response body seen in the run is application/json in UTF-8.

    Error bodies are judged once, by OIF-ERR-1 (application/problem+json and its shape).
    """
    judged = 0
    for ex in ctx.exchanges():
        if ex.error or ex.status is None or not ex.response_body or ex.status >= 400:
            continue
        judged += 1
        if ex.content_type != "application/json":
            yield failed(f"Content-Type {ex.content_type or '(none)'!r} on {outcome(ex)} to "
                         f"{ex.method} {ex.path}", "application/json", ex)
        charset = ex.response_headers.get("content-type", "").lower()
        if "charset=" in charset and "charset=utf-8" not in charset.replace('"', ""):
            yield failed(f"Content-Type {charset!r}", "UTF-8 (no other charset)", ex)
    if not judged:
        raise NothingToJudge("no successful answer with a body was received in this run")


@check("OIF-T-2", endpoint="(base URL)")
def paths_under_base_url(ctx: RunContext) -> Iterator[Finding]:
    """Protocol paths resolve under the base URL, signed without its prefix; unknown paths get 404."""
    ex = ctx.post("/v1/card-count", _valid_body(ctx))
    if ex.status != 200:
        yield failed(f"{outcome(ex)} to a valid request signed over the path /v1/card-count",
                     "200 (PATH in the signature excludes the base URL's own path)", ex)
    missing = ctx.get("/v1/no-such-endpoint")
    yield from problem(missing, 404, "not_found")


@check("OIF-T-3", endpoint="POST /v1/card-count")
def oversized_body_413(ctx: RunContext) -> Iterator[Finding]:
    """A signed body over 16 KiB gets 413 payload_too_large."""
    body = _valid_body(ctx)
    body["padding"] = "x" * (MAX_BODY + 512)
    yield from problem(ctx.post("/v1/card-count", body), 413, "payload_too_large")


@check("OIF-T-3", endpoint="POST /v1/card-count")
def non_json_body_400(ctx: RunContext) -> Iterator[Finding]:
    """A signed application/json body that is not JSON gets 400 malformed_request."""
    ex = ctx.client.send("POST", "/v1/card-count", raw=b'{"query_id": "not json at all')
    yield from problem(ex, 400, "malformed_request")


@check("OIF-T-3", endpoint="POST /v1/card-count")
def malformed_shape_400(ctx: RunContext) -> Iterator[Finding]:
    """JSON of the wrong shape (no query_id, an unknown field) gets 400 malformed_request."""
    body = _valid_body(ctx)
    del body["query_id"]
    body["unexpected"] = True
    yield from problem(ctx.post("/v1/card-count", body), 400, "malformed_request")


@check("OIF-T-3", endpoint="POST /v1/card-count")
def non_json_content_type_415(ctx: RunContext) -> Iterator[Finding]:
    """A signed request with Content-Type text/plain gets 415 unsupported_media_type."""
    ex = ctx.post("/v1/card-count", _valid_body(ctx), content_type="text/plain")
    yield from problem(ex, 415, "unsupported_media_type")


#: Deep enough to exhaust a recursive parser's stack (Python's stops near 1,000), within 16 KiB.
DEEP = 5000


@check("OIF-T-3", endpoint="POST /v1/card-count")
def deep_json_400(ctx: RunContext) -> Iterator[Finding]:
    """Signed JSON nested 5,000 deep (10 KB, within the size limit) gets 400, not 5xx."""
    for raw in (b"[" * DEEP + b"]" * DEEP, b'{"query_id":' + b"[" * DEEP + b"]" * DEEP + b"}"):
        findings = list(problem(ctx.client.send("POST", "/v1/card-count", raw=raw), 400,
                                "malformed_request"))
        yield from findings
        if findings:
            return


@check("OIF-T-3", endpoint="POST /v1/card-count")
def lone_surrogate_400(ctx: RunContext) -> Iterator[Finding]:
    """A signed valid body whose name holds the escape \\ud800 (a lone surrogate, no character)
    gets 400 malformed_request, not 5xx."""
    text = json.dumps(_valid_body(ctx), ensure_ascii=False)
    raw = text.replace('"name": "', '"name": "\\ud800', 1).encode()
    yield from problem(ctx.client.send("POST", "/v1/card-count", raw=raw), 400, "malformed_request")
