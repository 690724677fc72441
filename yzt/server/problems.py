"""Problem responses (OIF-ERR-1): ``application/problem+json`` with ``type``, ``code`` and ``status``.

Every error leaves the server through :func:`problem`, so the one place that could leak personal
data into a detail (OIF-PII-1) is here, and it scrubs.
"""

from __future__ import annotations

import json

from aiohttp import web

from yzt.domain.masking import scrub

#: code → (HTTP status, title). ``method_not_allowed`` (405) is yzt's documented extension.
CODES: dict[str, tuple[int, str]] = {
    "malformed_request": (400, "Malformed request"),
    "signature_invalid": (401, "Signature invalid"),
    "timestamp_skew": (401, "Timestamp outside the allowed window"),
    "replayed_request": (401, "Replayed request"),
    "verification_required": (403, "Identity verification required"),
    "verification_invalid": (403, "Identity verification invalid"),
    "verification_expired": (403, "Identity verification expired"),
    "verification_insufficient": (403, "Identity verification insufficient"),
    "card_not_found": (404, "Card not found"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "idempotency_conflict": (409, "Idempotency conflict"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "invalid_id_number": (422, "Invalid ID number"),
    "invalid_name": (422, "Invalid name"),
    "rate_limited": (429, "Rate limited"),
    "internal_error": (500, "Internal error"),
    "unavailable": (503, "Service unavailable"),
}


class Problem(Exception):
    """Raised anywhere in request handling; turned into a problem response by the dispatcher."""

    def __init__(self, code: str, detail: str, *, headers: dict[str, str] | None = None,
                 raw_detail: bool = False, close: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.status = CODES[code][0]
        #: ``raw_detail`` skips scrubbing: only the seeded ``echo-id-number`` defect uses it.
        self.detail = detail if raw_detail else scrub(detail)
        self.headers = headers or {}
        #: close the connection after answering (the rest of the request cannot be trusted)
        self.close = close


def problem_body(code: str, detail: str) -> bytes:
    """The JSON bytes of a problem body."""
    status, title = CODES[code]
    return json.dumps({"type": f"urn:yzt:problem:{code}", "title": title, "status": status,
                       "code": code, "detail": detail}, ensure_ascii=False).encode("utf-8")


def problem_response(p: Problem) -> web.Response:
    """The ``application/problem+json`` response for ``p``."""
    resp = web.Response(status=p.status, body=problem_body(p.code, p.detail), headers=p.headers,
                        content_type="application/problem+json")
    if p.close:
        resp.force_close()
    return resp
