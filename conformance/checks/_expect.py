"""Small judgements shared by the checks: an expected problem, an expected JSON answer, a schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from yzt.client import Exchange
from yzt.conformance import endpoints, schemas
from yzt.conformance.registry import Finding, failed, warning


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
