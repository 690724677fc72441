"""The platform client (the one HTTP seam), with a fake transport: signing, tickets, error records."""

from __future__ import annotations

import json

import httpx

from yzt.client import MAX_RESPONSE_BYTES, PlatformClient
from yzt.signing import make_ticket, sign


def _client(handler) -> PlatformClient:
    return PlatformClient("http://op.test/yzt", "k1", b"secret", transport=httpx.MockTransport(handler))


def test_requests_are_signed_over_the_protocol_path() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    with _client(handler) as client:
        ex = client.send("POST", "/v1/card-count", body={"a": "张"})
    req = seen[0]
    assert req.url.path == "/yzt/v1/card-count"
    expected = sign(b"secret", "POST", "/v1/card-count", req.headers["x-yzt-timestamp"],
                    req.headers["x-yzt-nonce"], req.content)
    assert req.headers["x-yzt-signature"] == expected
    assert req.headers["content-type"] == "application/json"
    assert ex.status == 200 and ex.json() == {"ok": True}


def test_unsigned_request_has_no_auth_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    with _client(handler) as client:
        client.send("GET", "/v1/health", sign=False)
    assert not any(h.startswith("x-yzt-") for h in seen[0].headers)


def test_transport_errors_are_recorded_not_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _client(handler) as client:
        ex = client.send("GET", "/v1/health", sign=False)
    assert ex.status is None
    assert ex.error is not None and "connection refused" in ex.error


def test_huge_body_is_cut_and_flagged() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * (MAX_RESPONSE_BYTES * 3))

    with _client(handler) as client:
        ex = client.send("GET", "/v1/health", sign=False)
    assert ex.error is not None and "too large" in ex.error
    assert len(ex.response_body) == MAX_RESPONSE_BYTES
    assert ex.json() is None


def test_clock_follows_the_sandbox_clock() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"now": "2030-01-01T00:00:00Z"})

    with _client(handler) as client:
        client.advance_clock(0)
        assert client.now().year == 2030
        block = client.verification("张三", "11010519491231002X")
    assert block["verified_at"].startswith("2029-12-31T23:59")
    assert block["ticket"] == make_ticket(b"secret", "sms_code", "11010519491231002X", "张三",
                                          block["verified_at"])


def test_problem_code_reads_problem_bodies() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"type": "urn:yzt:problem:not_found", "code": "not_found", "status": 404}
        return httpx.Response(404, content=json.dumps(body),
                              headers={"content-type": "application/problem+json"})

    with _client(handler) as client:
        ex = client.send("GET", "/v1/nothing")
    assert ex.problem_code == "not_found"
    assert ex.content_type == "application/problem+json"


def test_advance_clock_follows_the_clock_endpoint_not_the_date_header(tmp_path) -> None:
    """The offset comes from the clock endpoint's ``now``; a Date header days away changes nothing
    (protocol v1.3), and the offset is remembered for the next process when there is a memory."""
    from datetime import UTC, datetime

    from yzt.clock import ClockMemory

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/yzt/v1/sandbox/clock" and "x-yzt-signature" in request.headers
        return httpx.Response(200, json={"now": "2030-01-01T00:00:00Z"},
                              headers={"date": "Tue, 01 Jan 2041 00:00:00 GMT"})

    memory = ClockMemory(tmp_path)
    with PlatformClient("http://op.test/yzt", "k1", b"secret", transport=httpx.MockTransport(handler),
                        clock_memory=memory) as client:
        client.advance_clock(0)
        target = datetime(2030, 1, 1, tzinfo=UTC)
        assert abs((client.now() - target).total_seconds()) < 5
    remembered = memory.recall("http://op.test/yzt/", "k1")
    assert remembered is not None
    assert abs(remembered.offset_s - (target - datetime.now(UTC)).total_seconds()) < 5
    assert not hasattr(PlatformClient, "sync_clock")
