"""Small judgements shared by the checks: an expected problem, an expected JSON answer, a schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from yzt import endpoints
from yzt.client import Exchange
from yzt.conformance import schemas
from yzt.conformance.registry import Finding, Said, failed, warning


def outcome(ex: Exchange) -> str:
    """``401 signature_invalid``, ``200``, or the transport error, for messages."""
    if ex.error:
        return f"{ex.error} ({ex.method} {ex.path})"
    code = ex.problem_code
    return f"{ex.status} {code}" if code and (ex.status or 0) >= 400 else f"{ex.status}"


def problem(ex: Exchange, status: int, code: str) -> Iterator[Finding]:
    """Expect an error answer with ``status`` and ``code``.

    When the body carries no readable ``code`` only the status is judged here: the body's shape is
    judged once, by OIF-ERR-1's sweep, so one defect does not fail every error check.
    """
    got = ex.problem_code if not ex.error else None
    if ex.error or ex.status != status or (got is not None and got != code):
        yield failed(outcome(ex), f"{status} {code}", ex)


def json_answer(ex: Exchange, status: int = 200) -> dict[str, Any] | Finding:
    """The JSON object of a successful answer, or a finding saying what came instead."""
    body = ex.json()
    if ex.error or ex.status != status:
        return failed(outcome(ex), Said.of("status_json_body", status=str(status)), ex)
    if not isinstance(body, dict):
        return failed(Said.of("status_not_object", status=str(status)),
                      Said.of("status_json_object", status=str(status)), ex)
    return body


def schema_for(ex: Exchange) -> str | None:
    """The schema a successful answer to this request must satisfy."""
    endpoint = endpoints.find(ex.method, ex.path)
    if endpoint is None or ex.status != endpoint.success_status:
        return None
    return endpoint.response_schema


def schema_findings(ex: Exchange, name: str, *, ignore: tuple[str, ...] = (),
                    consequence_of: str | None = None) -> Iterator[Finding]:
    """Schema problems of the answer (failures) and its extra members (warnings: responses are
    open, protocol v1.2). Problems at paths containing an ``ignore`` part are skipped (those fields
    are judged by their own requirement)."""
    body = ex.json()
    if body is None:
        yield failed(Said.of("not_json", outcome=outcome(ex)), Said.of("json_valid_against", schema=name),
                     ex, consequence_of=consequence_of)
        return
    judged = schemas.judge_response(name, body)
    problems = [p for p in judged.problems if not any(part in p.split(":")[0] for part in ignore)]
    if problems:
        yield failed(Said.join(problems[:3]), Said.of("valid_against_schema", schema=name), ex,
                     consequence_of=consequence_of)
    if judged.extra_members:
        yield warning(Said.of("extra_members", members=", ".join(judged.extra_members[:6]),
                              schema=name), ex)


_MASKED_MSISDN = re.compile(r"[0-9]{3}\*{4}[0-9]{4}")
_MASKED_ID = re.compile(r"[0-9]{6}\*{11}[0-9Xx]")
_FULL_MSISDN = re.compile(r"1[3-9][0-9]{9}")
_FULL_ID = re.compile(r"[1-9][0-9]{16}[0-9Xx]")


def shape_of(masked: str) -> Said:
    """What a leaked value is, from its masked form, in words that never reprint it: ``an 11-digit
    number with no mask``, ``an 18-character ID number``, ``the subject's name``.

    A finding that quoted the masked form would read like a compliant answer (``165****8750``)."""
    if _MASKED_MSISDN.fullmatch(masked):
        return Said.of("shape.msisdn")
    if _MASKED_ID.fullmatch(masked):
        return Said.of("shape.id_number")
    return Said.of("shape.name")


def shapes(masked: list[str]) -> Said:
    """The distinct shapes of leaked values, in the order found."""
    return Said.join(dict.fromkeys(shape_of(m) for m in masked), "and")


def unmasked_shape(value: str) -> Said | None:
    """The shape of ``value`` when it is a full MSISDN or ID number (a mask that masks nothing),
    else None: then the value itself may be quoted."""
    if _FULL_MSISDN.fullmatch(value):
        return Said.of("shape.msisdn")
    if _FULL_ID.fullmatch(value):
        return Said.of("shape.id_number")
    return None
