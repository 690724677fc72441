"""Schemathesis, generated from yzt/openapi.yaml, against the live reference operator.

Every case is signed the way the platform signs (the "hook": body serialised once, then signed), so
generated inputs reach the checks behind authentication. Positive and negative generation: no 5xx
ever, every 4xx is problem+json, and every negative (schema-violating) input is rejected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_helpers import client

from yzt import endpoints
from yzt.client import PlatformClient
from yzt.conformance.schemas import validate
from yzt.server.testing import running_server

schemathesis = pytest.importorskip("schemathesis")
pytestmark = pytest.mark.integration
OPENAPI = endpoints.openapi_path()
SCHEMA = schemathesis.openapi.from_path(str(OPENAPI))
OPERATIONS = [r.ok() for r in SCHEMA.get_all_operations()]
#: Request schema of each operation with a body (to tell a truly negative case from one whose only
#: mutation was in the signature headers, which the signing hook replaces).
REQUEST_SCHEMAS = {"/v1/card-count": "card_count_request", "/v1/card-details": "card_details_request",
                   "/v1/disputes": "dispute_request", "/v1/cancellations": "cancellation_request",
                   "/v1/sandbox/clock": "sandbox_clock_request"}
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
CASES = [(op, mode) for op in OPERATIONS for mode in sorted(("positive", "negative"))
         if mode == "positive" or op.path not in ("/v1/service-info", "/v1/health")]
MODES = {"positive": schemathesis.GenerationMode.POSITIVE,
         "negative": schemathesis.GenerationMode.NEGATIVE}


@pytest.fixture(scope="module")
def c() -> Iterator[PlatformClient]:
    with running_server(subjects=20) as url, client(url) as platform:
        yield platform


def send_signed(c: PlatformClient, case: object) -> tuple[int, str, object]:
    """Serialise the generated case, sign it and send it; (status, content type, JSON body)."""
    from schemathesis.core import NotSet

    path = case.formatted_path  # type: ignore[attr-defined]
    if case.query:  # type: ignore[attr-defined]
        path += "?" + urlencode(case.query, doseq=True)  # type: ignore[attr-defined]
    body = case.body  # type: ignore[attr-defined]
    if isinstance(body, NotSet):
        raw = None
    elif isinstance(body, bytes):  # negative generation may send raw bytes
        raw = body
    else:
        raw = json.dumps(body, ensure_ascii=False).encode()
    media = case.media_type or "application/json"  # type: ignore[attr-defined]
    e = c.send(case.method, path, raw=raw, content_type=media)  # type: ignore[attr-defined]
    assert e.error is None, e.error
    assert e.status is not None
    if e.status == 200 and case.path == "/v1/sandbox/clock":  # type: ignore[attr-defined]
        from datetime import UTC, datetime

        from yzt.signing import parse_time

        c.clock_offset = (parse_time(e.json()["now"]) - datetime.now(UTC)).total_seconds()
    return e.status, e.content_type, e.json()


def violates_schema(case: object) -> bool:
    """True when the generated body or path parameter breaks the protocol's schema."""
    from schemathesis.core import NotSet

    path, body = case.path, case.body  # type: ignore[attr-defined]
    if "{" in path:
        return not all(isinstance(v, str) and UUID.fullmatch(v)
                       for v in case.path_parameters.values())  # type: ignore[attr-defined]
    if path in REQUEST_SCHEMAS:
        return isinstance(body, NotSet | bytes) or validate(REQUEST_SCHEMAS[path], body) != []
    return False


@pytest.mark.parametrize(("operation", "mode"), CASES,
                         ids=[f"{op.method.upper()} {op.path} {mode}" for op, mode in CASES])
def test_generated_requests(c: PlatformClient, operation: object, mode: str) -> None:
    strategy = operation.as_strategy(generation_mode=MODES[mode])  # type: ignore[attr-defined]

    @settings(max_examples=15, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy)
        status, ctype, body = send_signed(c, case)
        assert status < 500, (case.method, case.formatted_path, status, body)
        if status >= 400:
            assert ctype == "application/problem+json", (status, ctype)
            assert status == 405 or validate("problem", body) == [], body
        if mode == "negative" and violates_schema(case):
            assert 400 <= status < 500, (case.method, case.formatted_path, case.body, status)

    run()
