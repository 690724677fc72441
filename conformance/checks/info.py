"""OIF-INFO-1: service-info is published without signature and every channel is filled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from yzt.conformance.checks._expect import json_answer, schema_findings
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, check, failed


@check("OIF-INFO-1", endpoint="GET /v1/service-info")
def service_info_published(ctx: RunContext) -> Iterator[Finding]:
    """Unsigned GET /v1/service-info answers 200, valid, with every channel and procedure filled."""
    ex = ctx.get("/v1/service-info", sign=False)
    body = json_answer(ex)
    if isinstance(body, Finding):
        yield body
        return
    yield from schema_findings(ex, "service_info")
    channels: dict[str, Any] = body["channels"] if isinstance(body.get("channels"), dict) else {}
    for name in ("query", "cancellation", "dispute", "complaint"):
        value = channels.get(name)
        if not isinstance(value, list) or not value or not all(
                isinstance(v, str) and v.strip() for v in value):
            yield failed(f"channels.{name} = {value!r}", "a non-empty list of non-empty strings", ex)
    procedures: dict[str, Any] = (body["procedures"] if isinstance(body.get("procedures"), dict)
                                  else {})
    for name in ("card_details", "cancellation", "dispute"):
        value = procedures.get(name)
        if not isinstance(value, str) or not value.strip():
            yield failed(f"procedures.{name} = {value!r}", "a URL or non-empty text", ex)
    if body.get("operator_id") != ctx.operator_id:
        yield failed(f"operator_id {body.get('operator_id')!r}", f"{ctx.operator_id!r}", ex)
