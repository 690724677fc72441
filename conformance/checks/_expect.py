"""Small judgements shared by the checks: an expected problem, an expected JSON answer, a schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from yzt.client import Exchange
from yzt.conformance import schemas
from yzt.conformance.registry import Finding, failed, warning

UUID_PATH = "[0-9a-fA-F-]{36}"
ENDPOINT_SCHEMAS: tuple[tuple[str, re.Pattern[str], int, str], ...] = (
    ("POST", re.compile(r"/v1/card-count"), 200, "card_count_response"),
    ("POST", re.compile(r"/v1/card-details"), 200, "card_details_response"),
    ("POST", re.compile(r"/v1/disputes"), 202, "dispute_accepted"),
    ("GET", re.compile(rf"/v1/disputes/{UUID_PATH}"), 200, "dispute_status"),
    ("POST", re.compile(r"/v1/cancellations"), 202, "cancellation_accepted"),
    ("GET", re.compile(rf"/v1/cancellations/{UUID_PATH}"), 200, "cancellation_status"),
    ("GET", re.compile(r"/v1/service-info"), 200, "service_info"),
)


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
        return failed(outcome(ex), f"{status} with a JSON body", ex)
    if not isinstance(body, dict):
        return failed(f"{status} with a body that is not a JSON object", f"{status} with a JSON object",
                      ex)
    return body


def schema_for(ex: Exchange) -> str | None:
    """The schema a successful answer to this request must satisfy."""
    for method, path, status, name in ENDPOINT_SCHEMAS:
        if ex.method == method and path.fullmatch(ex.path) and ex.status == status:
            return name
    return None


def schema_findings(ex: Exchange, name: str, *, ignore: tuple[str, ...] = (),
                    consequence_of: str | None = None) -> Iterator[Finding]:
    """Schema problems of the answer (failures) and its extra members (warnings: responses are
    open, protocol v1.2). Problems at paths containing an ``ignore`` part are skipped (those fields
    are judged by their own requirement)."""
    body = ex.json()
    if body is None:
        yield failed(f"{outcome(ex)} with a body that is not JSON", f"JSON valid against {name}", ex,
                     consequence_of=consequence_of)
        return
    judged = schemas.judge_response(name, body)
    problems = [p for p in judged.problems if not any(part in p.split(":")[0] for part in ignore)]
    if problems:
        yield failed("; ".join(problems[:3]), f"a body valid against the {name} schema", ex,
                     consequence_of=consequence_of)
    if judged.extra_members:
        yield warning(f"extra members {', '.join(judged.extra_members[:6])} in {name} answers "
                      "(allowed: responses are open and the platform ignores them)", ex)
