"""Legal variants of the reference operator: each one a freedom the protocol leaves to an operator.

``yzt serve --variant NAME`` (repeatable) turns one on. Where the seeded defects
(:mod:`yzt.server.defects`) prove that every check can fail, the variants prove that no check fails
a correct operator that chose differently: the variant matrix (``tests/test_variant_matrix.py``)
runs the whole of ``yzt check URL`` against them. Each row names the protocol sentence that allows
it; a variant that makes a check fail is a bug in that check or in the protocol
(``docs/protocol-decisions.md`` says which).

Variants are a layer around the clean operator: aiohttp middlewares that delay, limit, restyle,
extend or re-frame finished answers, a response hook for ``Date``, and strategies the operator is
built with (:func:`apply`: how it writes times and card refs, when its lifecycles move, which
outcome a dispute reaches), each set on a step of :class:`~yzt.server.steps.Steps`. The handlers
never ask which variant is on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http import HttpVersion10
from aiohttp.typedefs import Handler, Middleware

from yzt.server import lifecycle
from yzt.server.faults import FaultInjector, FaultProfile, Latency
from yzt.server.problems import Problem, problem_response
from yzt.server.steps import Answer, Call, RefCodec

if TYPE_CHECKING:
    from yzt.server.config import ServerConfig
    from yzt.server.steps import Steps
    from yzt.server.store import Store


class VariantName(StrEnum):
    """Every legal variant's name (``config.varies(VariantName.CHUNKED)``)."""

    DATE_SANDBOX_CLOCK = "date-sandbox-clock"
    NO_SANDBOX_CLOCK = "no-sandbox-clock"
    NO_RATE_LIMIT = "no-rate-limit"
    RATE_LIMIT_503 = "rate-limit-503"
    EXTRA_MEMBERS = "extra-members"
    JSON_STYLE = "json-style"
    CONNECTION_CLOSE = "connection-close"
    CHUNKED = "chunked"
    HTTP10 = "http10"
    LATENCY_LOGNORMAL = "latency-lognormal"
    FRACTIONAL_SECONDS = "fractional-seconds"
    CARD_REF_SHAPE = "card-ref-shape"
    LIFECYCLE_TIMING = "lifecycle-timing"
    DISPUTE_OUTCOMES = "dispute-outcomes"
    GZIP = "gzip"


V = VariantName

#: The checks a sandbox without its clock cannot run (they need days to pass).
CLOCK_CHECKS = ("OIF-DSP-3 dispute_outcome_effect", "OIF-DSP-4 resolved_by_deadline",
                "OIF-DSP-5 outcome_agrees_with_truth", "OIF-CXL-2 completed_by_deadline")
#: The checks an operator that never answers 429/503 leaves without an overload answer to judge.
OVERLOAD_CHECKS = ("OIF-ERR-2 overload_has_retry_after",)


@dataclass(frozen=True)
class Variant:
    """A named, legal difference from the reference operator, and the sentence that allows it."""

    name: VariantName
    #: The sentence of docs/protocol.md (or of the HTTP standard it builds on) that allows it.
    allowed_by: str
    changes: str
    #: ``requirement check`` of every check this variant leaves not testable (exit 3, named).
    untestable: tuple[str, ...] = ()
    #: Variants it cannot be combined with, and why (one reason for all).
    conflicts: tuple[VariantName, ...] = ()


_VARIANTS = (
    Variant(V.DATE_SANDBOX_CLOCK,
            "\"The HTTP `Date` header is not part of this protocol: an operator may send real time "
            "there while its sandbox clock is advanced\" (sandbox clock) — and so may send the "
            "sandbox time",
            "the HTTP `Date` header follows the sandbox clock instead of real time"),
    Variant(V.NO_SANDBOX_CLOCK,
            "\"`POST /v1/sandbox/clock` (optional, sandbox only) … An operator without it answers "
            "404; `yzt` then reports those checks as not testable, never as passed.\"",
            "`POST /v1/sandbox/clock` answers 404 `not_found`", untestable=CLOCK_CHECKS),
    Variant(V.NO_RATE_LIMIT,
            "OIF-ERR-2 \"Overload is 429 `rate_limited` or 503 `unavailable`\" says how overload "
            "is answered, not that an operator must be overloaded by a burst",
            "never answers 429 or 503 (refuses `--rate-limit` and a fault profile's rate limit)",
            untestable=OVERLOAD_CHECKS, conflicts=(V.RATE_LIMIT_503,)),
    Variant(V.RATE_LIMIT_503,
            "OIF-ERR-2 \"Overload is 429 `rate_limited` or 503 `unavailable`, each with "
            "`Retry-After`\"; the limit itself is the operator's",
            "the rate limit (`--rate-limit RPS`, else 100 req/s; a token bucket with one second of "
            "burst, on service-info and the business endpoints) answers 503 `unavailable` with "
            "`Retry-After: 2` instead of 429 `rate_limited` with `Retry-After: 1`",
            conflicts=(V.NO_RATE_LIMIT,)),
    Variant(V.EXTRA_MEMBERS,
            "\"Responses are open: an operator may return members beyond those listed … and the "
            "platform ignores them. A conformance run reports them as warnings, never as "
            "failures.\"",
            "members the protocol does not name in every JSON answer, nested ones included "
            "(`api_version`, `plan_type` on each card, `by` on each history entry, `fee` on the "
            "hotline, `languages`, `instance` and `retryable` on problems, the status answers' "
            "`received_at`/`accepted_at`/`complete_by`), the same for customers and non-customers, "
            "none holding personal data; an `X-Request-Id` header"),
    Variant(V.JSON_STYLE,
            "OIF-T-1 \"JSON over HTTP(S), UTF-8\": JSON (RFC 8259) gives member order and "
            "whitespace no meaning",
            "members in reverse order, indented with spaces around `:`, non-ASCII written as "
            "`\\uXXXX`, a final newline, `Content-Type: application/json; charset=utf-8`"),
    Variant(V.CONNECTION_CLOSE,
            "OIF-T-1 \"JSON over HTTP(S)\": persistent connections are an HTTP choice of the server "
            "(RFC 9112 §9.6)",
            "`Connection: close` on every answer; each connection carries one exchange"),
    Variant(V.CHUNKED,
            "OIF-T-1 \"JSON over HTTP(S)\": chunked transfer coding is HTTP/1.1 framing any "
            "server may use (RFC 9112 §7.1)",
            "every answer sent with `Transfer-Encoding: chunked` in several chunks, no "
            "`Content-Length`", conflicts=(V.HTTP10,)),
    Variant(V.HTTP10,
            "OIF-T-1 \"JSON over HTTP(S)\": a server may answer in HTTP/1.0 (RFC 9110 §6.2: it "
            "sends the highest version it conforms to, and a 1.x client must accept 1.0)",
            "status line `HTTP/1.0`, `Content-Length` on every answer, no keep-alive (the connection "
            "closes after each answer)", conflicts=(V.CHUNKED,)),
    Variant(V.GZIP,
            "OIF-T-1 \"JSON over HTTP(S), UTF-8\": content coding is HTTP's, and a server may use "
            "any coding the request's `Accept-Encoding` allows (RFC 9110 §12.5.3)",
            "answers compressed with `Content-Encoding: gzip` (or deflate) whenever the request "
            "accepts it"),
    Variant(V.LATENCY_LOGNORMAL,
            "SLA-LAT-1 \"card-count latency at the contracted rate | p95 ≤ 300 ms, p99 ≤ 1 s\" "
            "(and SLA-LAT-2/3) bound percentiles, not each answer: latency inside them may vary",
            "a lognormal delay before each answer (p50 / p99): card-count 10 / 200 ms, card-details "
            "15 / 300 ms, disputes and cancellations 20 / 500 ms, service-info 15 / 150 ms. The two "
            "queries' p99 is two thirds of their SLA's p95 limit (SLA-LAT-1 300 ms, SLA-LAT-2 "
            "500 ms): about 1 answer in 250 is slower than that limit while the p95 is near 30 % "
            "of it, room left for a loaded test machine's own delay; submissions' p99 is a quarter "
            "of SLA-LAT-3's 2 s"),
    Variant(V.FRACTIONAL_SECONDS,
            "\"All times are RFC 3339 UTC with `Z`\": RFC 3339 allows a fraction of a second "
            "(`time-secfrac`)",
            "every time is written with milliseconds (`2026-12-04T21:50:56.123Z`), and submissions "
            "are stamped to the millisecond, so deadlines and history keep their fractions"),
    Variant(V.CARD_REF_SHAPE,
            "OIF-DET-3 \"`card_ref` is opaque and stable (same card, same ref, across queries), "
            "at most 64 characters, and contains neither the MSISDN nor the ID number\": its shape "
            "is the operator's",
            "card refs like `urn:yzt:card:R07:` + 43 characters of base64url (60-61 characters, "
            "upper and lower case, `:` `-` `_`), stable per database; the usual `c_…` refs are "
            "unknown (404 `card_not_found`)"),
    Variant(V.LIFECYCLE_TIMING,
            "OIF-DSP-2 \"States go `received` → `verifying` → `resolved`\", OIF-DSP-4 "
            "\"`resolve_by` is at most 15 days after `received_at` (complaint rule), and the dispute "
            "is resolved by then\", OIF-CXL-2 \"`complete_by` is at most 72 h after "
            "`accepted_at`\": when within those bounds is the operator's",
            "disputes go `verifying` after 14 days and `resolved` 1 s before `resolve_by` (15 days "
            "exactly); cancellations complete at once (the POST still answers `accepted`, the next "
            "read shows `completed`)"),
    Variant(V.DISPUTE_OUTCOMES,
            "OIF-DSP-5 \"a card marked not genuine is never `confirmed_owner`; a genuine one is never "
            "`unbound` or `cancelled`\", OIF-DSP-3 \"after `suspended` it stays, with status "
            "`suspended`\": which of the allowed outcomes is the operator's",
            "a disputed genuine card is `suspended` (not `confirmed_owner`), a card not genuine is "
            "`cancelled`"),
)

VARIANTS: dict[str, Variant] = {v.name: v for v in _VARIANTS}
if set(VARIANTS) != set(VariantName) or len(VARIANTS) != len(_VARIANTS):  # pragma: no cover
    raise RuntimeError("every VariantName has exactly one row in the table")


def conflicts(names: Iterable[str]) -> str | None:
    """Why these variants cannot run together, or ``None`` when they can."""
    chosen = {VariantName(n) for n in names}
    for name in sorted(chosen):
        clash = sorted(str(c) for c in VARIANTS[name].conflicts if c in chosen)
        if clash:
            return f"--variant {name} cannot be combined with --variant {', '.join(clash)}"
    return None


def untestable(names: Iterable[str]) -> set[str]:
    """``requirement check`` of every check the given variants leave not testable."""
    return {c for n in names for c in VARIANTS[VariantName(n)].untestable}


def table_markdown() -> str:
    """The variant table of docs/reference-operator.md (a test keeps the doc equal to it)."""
    rows = ["| variant | allowed by | what it changes | not testable |", "|---|---|---|---|"]
    for v in _VARIANTS:
        cell = ", ".join(f"`{c}`" for c in v.untestable) or "—"
        rows.append(f"| `{v.name}` | {v.allowed_by} | {v.changes} | {cell} |")
    return "\n".join(rows)


# -- strategies and decorators the operator is built with -----------------------------------------
def apply(steps: Steps) -> None:
    """Set the strategies of the variants ``steps.config`` turns on: how the operator writes times
    and card refs, when its lifecycles move, which outcome a dispute reaches; and give the status
    answers their extra members (``extra-members``, or the older ``--extra-members``)."""
    config = steps.config
    if config.varies(V.FRACTIONAL_SECONDS):
        steps.iso = _with_millis
        steps.stamp = lambda now: round(now, 3)
    if config.varies(V.CARD_REF_SHAPE):
        steps.refs = _shaped_refs(config, steps.store)
    if config.varies(V.LIFECYCLE_TIMING):
        steps.timings = lifecycle.LATE_AND_IMMEDIATE
    if config.varies(V.DISPUTE_OUTCOMES):
        steps.outcome = lambda card: "suspended" if card.genuine else "cancelled"
    if config.extra_members:
        _status_members(steps)


def _with_millis(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _shaped_refs(config: ServerConfig, store: Store) -> RefCodec:
    key = store.ref_key()

    def shaped(ref: str) -> str:
        digest = hmac.new(key, f"shape|{ref}".encode(), hashlib.sha256).digest()
        return f"urn:yzt:card:{config.operator_id}:" + base64.urlsafe_b64encode(digest).decode()[:43]
    return RefCodec({ref: shaped(ref) for ref in store.cards_by_ref})


def _status_members(steps: Steps) -> None:
    """The status answers carry the submission's own times, which the protocol does not name."""
    dispute_status, cancellation_status = steps.handlers["getDispute"], steps.handlers["getCancellation"]

    def dispute(call: Call) -> Answer:
        status, doc = dispute_status(call)
        d = steps.store.get_dispute(call.params["dispute_id"])
        assert d is not None  # the handler answered 200
        return status, {**doc, "received_at": steps.iso(d.received_at)}

    def cancellation(call: Call) -> Answer:
        status, doc = cancellation_status(call)
        c = steps.store.get_cancellation(call.params["cancellation_id"])
        assert c is not None
        return status, {**doc, "accepted_at": steps.iso(c.accepted_at),
                        "complete_by": steps.iso(c.complete_by)}

    steps.handlers["getDispute"], steps.handlers["getCancellation"] = dispute, cancellation


# -- the layer around the handlers ---------------------------------------------------------------
#: Paths no variant delays or limits: test control keeps working (as with fault profiles).
_CONTROL = ("/v1/health", "/v1/sandbox/clock")
RATE_503_RPS = 100.0
RATE_503_RETRY_AFTER = "2"
#: The queries' p99 is two thirds of their SLA's p95 limit, so about 1 answer in 250 is slower
#: than that limit while the p95 stays near 30 % of it: a judge that took a short run's maximum for a
#: percentile can fail this variant, and a loaded test machine's own delay still fits in the margin.
LATENCIES = {"card-count": Latency(10, 200), "card-details": Latency(15, 300),
             "disputes": Latency(20, 500), "cancellations": Latency(20, 500),
             "service-info": Latency(15, 150)}


def _protocol_path(config: ServerConfig, request: web.Request) -> str:
    path = request.path
    return path[len(config.base_path):] if config.base_path and path.startswith(config.base_path) else path


def _json_body(resp: web.StreamResponse) -> Any:
    if not isinstance(resp, web.Response) or not isinstance(resp.body, bytes) or not resp.body:
        return None
    if resp.content_type not in ("application/json", "application/problem+json"):
        return None
    try:
        return json.loads(resp.body)
    except ValueError:
        return None


def _rate_limit_503(config: ServerConfig) -> Middleware:
    bucket = FaultInjector(FaultProfile(rate_limit=config.limit_503_rps))

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _protocol_path(config, request) not in _CONTROL and not bucket.take_token():
            return problem_response(Problem("unavailable", "over the sandbox's rate limit",
                                            headers={"Retry-After": RATE_503_RETRY_AFTER}))
        return await handler(request)
    return limit


def _latency(config: ServerConfig) -> Middleware:
    import asyncio

    rng = random.Random("yzt-variant-latency")

    @web.middleware
    async def delay(request: web.Request, handler: Handler) -> web.StreamResponse:
        parts = _protocol_path(config, request).split("/")
        latency = LATENCIES.get(parts[2]) if len(parts) > 2 else None
        if latency is not None:
            await asyncio.sleep(latency.sample_s(rng))
        return await handler(request)
    return delay


def _extras(path: str, status: int, doc: Any) -> Any:
    """``doc`` with members the protocol does not name, deterministic (a replay stays identical)."""
    if not isinstance(doc, dict):
        return doc
    if status >= 400:
        return {**doc, "instance": path, "retryable": status in (429, 503)}
    out = {**doc, "api_version": "1.3"}
    if isinstance(doc.get("cards"), list):
        out["cards"] = [{**c, "plan_type": "unspecified"} if isinstance(c, dict) else c
                        for c in doc["cards"]]
    if isinstance(doc.get("history"), list):
        out["history"] = [{**h, "by": "operator"} if isinstance(h, dict) else h for h in doc["history"]]
    if isinstance(doc.get("hotline"), dict):
        out["hotline"] = {**doc["hotline"], "fee": "free"}
    if "channels" in doc:
        out["languages"] = ["zh-CN"]
    return out


def _restyle(doc: Any) -> bytes:
    def reverse(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reverse(v) for k, v in reversed(value.items())}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value
    return (json.dumps(reverse(doc), indent=2, separators=(", ", " : "), ensure_ascii=True)
            + "\n").encode("ascii")


def _body_layer(config: ServerConfig, extra: bool, style: bool) -> Middleware:
    import uuid

    @web.middleware
    async def rewrite(request: web.Request, handler: Handler) -> web.StreamResponse:
        resp = await handler(request)
        doc = _json_body(resp)
        if doc is None:
            return resp
        assert isinstance(resp, web.Response)
        if extra:
            doc = _extras(_protocol_path(config, request), resp.status, doc)
            resp.headers["X-Request-Id"] = str(uuid.uuid4())
        if style:
            resp.body = _restyle(doc)
            resp.charset = "utf-8"
        else:
            resp.body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        return resp
    return rewrite


CHUNKS = 3


def _framing(close: bool, chunked: bool, http10: bool, gzip: bool) -> Middleware:
    @web.middleware
    async def frame(request: web.Request, handler: Handler) -> web.StreamResponse:
        resp = await handler(request)
        if gzip:
            resp.enable_compression()  # the coding the request's Accept-Encoding prefers, if any
        if close or http10:
            resp.force_close()
        if http10:
            # aiohttp writes the request's version in the status line and has no public setter:
            # the request's version is replaced (private attributes: the parsed version and its
            # cached property; tests/test_server_variants.py reads the raw status line)
            request._version = HttpVersion10
            request._cache.pop("version", None)
        if not chunked or not isinstance(resp, web.Response) or resp.prepared \
                or not isinstance(resp.body, bytes):
            return resp
        body = resp.body
        streamed = web.StreamResponse(status=resp.status, reason=resp.reason, headers=resp.headers)
        streamed.headers.popall("Content-Length", None)
        streamed.enable_chunked_encoding()
        if gzip:
            streamed.enable_compression()
        if resp.keep_alive is False:
            streamed.force_close()
        await streamed.prepare(request)
        size = max(1, math.ceil(len(body) / CHUNKS))
        for start in range(0, len(body), size):
            await streamed.write(body[start:start + size])
        await streamed.write_eof()
        return streamed
    return frame


def middlewares(config: ServerConfig) -> list[Middleware]:
    """The variants' middlewares, outermost first: delay, framing, style, extra members, limit
    (so a 503 of the limit is extended, restyled and framed like every other answer)."""
    layers: list[Middleware] = []
    if config.varies(V.LATENCY_LOGNORMAL):
        layers.append(_latency(config))
    close, chunked, http10, gzip = (config.varies(V.CONNECTION_CLOSE), config.varies(V.CHUNKED),
                                    config.varies(V.HTTP10), config.varies(V.GZIP))
    if close or chunked or http10 or gzip:
        layers.append(_framing(close, chunked, http10, gzip))
    extra, style = config.varies(V.EXTRA_MEMBERS), config.varies(V.JSON_STYLE)
    if extra or style:
        layers.append(_body_layer(config, extra, style))
    if config.varies(V.RATE_LIMIT_503):
        layers.append(_rate_limit_503(config))
    return layers


Hook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def response_hooks(config: ServerConfig, store: Store) -> list[Hook]:
    """Hooks run after the operator's own ``on_response_prepare`` hooks (they have the last word)."""
    hooks: list[Hook] = []
    if config.varies(V.DATE_SANDBOX_CLOCK):
        async def date_on_sandbox_clock(_request: web.Request, response: web.StreamResponse) -> None:
            response.headers["Date"] = formatdate(int(store.now()), usegmt=True)
        hooks.append(date_on_sandbox_clock)
    return hooks


def main() -> None:  # pragma: no cover - prints the table for the doc
    print(table_markdown())


if __name__ == "__main__":  # pragma: no cover
    main()
