"""The operator fails closed on what it cannot parse: 400 problem+json, never a 500, never an echo.

Raw sockets against a real ``yzt serve`` on loopback, so requests the HTTP client libraries would
refuse to send (bad request lines, oversized headers, lying Content-Length) reach the server.
"""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from server_helpers import client, dispute, query, subject_with

from yzt.client import PlatformClient
from yzt.server.app import BODY_DEADLINE_S
from yzt.server.checks import MAX_JSON_DEPTH
from yzt.server.testing import running_server

pytestmark = pytest.mark.integration

MARK = b"ECHOED-MARKER-7f3a"  # sent in every hostile request; must never come back


def exchange(base_url: str, raw: bytes, *, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes, float]:
    """Send ``raw`` on a new connection; read until the server closes it or sends a whole answer.

    Returns (status, headers, body, seconds until the connection was closed by the server).
    """
    url = urlsplit(base_url)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    elapsed = time.monotonic() - started
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)}
    return status, headers, body, elapsed


def assert_problem(status: int, headers: dict[str, str], body: bytes, code: str) -> None:
    assert headers["content-type"].split(";")[0] == "application/problem+json", (status, body)
    doc = json.loads(body)
    assert (status, doc["status"], doc["code"]) == (doc["status"], status, code), doc
    assert set(doc) >= {"type", "title", "status", "code", "detail"}
    assert MARK not in body and MARK.decode() not in json.dumps(doc)


HTTP_LAYER_CASES = {
    "garbage request line": b"GARBAGE " + MARK + b"\r\n\r\n",
    "non-HTTP bytes": b"\x16\x03\x01\x02\x00" + MARK + b"\r\n\r\n",
    "bad method token": b"G(T /v1/health HTTP/1.1\r\nHost: x\r\nX-M: " + MARK + b"\r\n\r\n",
    "request line too long": b"GET /" + MARK + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header field too large": b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + MARK + b"b" * 9000
                              + b"\r\n\r\n",
    "too many header fields": b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                              + b"".join(b"X-%d: " % i + MARK + b"\r\n" for i in range(200)) + b"\r\n",
    "non-numeric Content-Length": b"POST /v1/card-count HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                  + MARK + b"\r\n\r\n",
    "negative Content-Length": b"POST /v1/card-count HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n"
                               b"X-M: " + MARK + b"\r\n\r\n",
    "Content-Length and chunked": b"POST /v1/card-count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                  b"Transfer-Encoding: chunked\r\nX-M: " + MARK + b"\r\n\r\n0\r\n\r\n",
    "bad chunk size": b"POST /v1/card-count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      b"\r\n" + MARK + b"\r\n\r\n",
    "space in header name": b"GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Name: " + MARK + b"\r\n\r\n",
    "bare LF in header": b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\nX-M: " + MARK + b"\r\n\r\n",
}


@pytest.mark.parametrize("case", list(HTTP_LAYER_CASES))
def test_http_layer_errors_are_problem_json_without_echo(base_url: str, case: str) -> None:
    status, headers, body, _ = exchange(base_url, HTTP_LAYER_CASES[case])
    assert 400 <= status < 500
    assert_problem(status, headers, body, "malformed_request")


def signed_raw(c: PlatformClient, path: str, raw: bytes) -> tuple[int | None, str | None, str]:
    ex = c.send("POST", path, raw=raw)
    return ex.status, ex.problem_code, ex.content_type


def test_lone_surrogate_is_400_not_500(c: PlatformClient) -> None:
    s = subject_with(1)
    body = json.dumps(query(c, s))
    ticket = query(c, s)["verification"]["ticket"]
    for where in ('"name": "', f'"ticket": "{ticket[:5]}'):
        raw = body.replace(where, where + "\\ud800", 1).encode()
        assert raw != body.encode()
        assert signed_raw(c, "/v1/card-count", raw) == (400, "malformed_request",
                                                         "application/problem+json")
    # a lone surrogate in a dispute, where the body is hashed and stored
    d = json.dumps(dispute(c, s, "r" * 20)).replace('"claim": "not_mine"', '"claim": "\\udfff"')
    assert signed_raw(c, "/v1/disputes", d.encode())[:2] == (400, "malformed_request")
    # a proper pair is a character: the body is read, and later rules answer (not 400, not 5xx)
    paired = body.replace('"name": "', '"name": "\\ud83d\\ude00', 1).encode()
    status, code, _ = signed_raw(c, "/v1/card-count", paired)
    assert status in (403, 422) and code != "malformed_request"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 5000])
def test_deep_json_within_the_size_limit_is_400(c: PlatformClient, depth: int) -> None:
    for raw in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        assert len(raw) <= 16 * 1024 or depth == 5000
        status, code, _ = signed_raw(c, "/v1/card-count", raw)
        assert (status, code) in ((400, "malformed_request"), (413, "payload_too_large"))
        if len(raw) <= 16 * 1024:
            assert status == 400


def test_brackets_inside_strings_are_not_nesting(c: PlatformClient) -> None:
    body = query(c, subject_with(1))
    body["subject"]["name"] = "[" * 200 + "{" * 200
    assert signed_raw(c, "/v1/card-count", json.dumps(body).encode())[:2] == (422, "invalid_name")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_400(c: PlatformClient, constant: str) -> None:
    raw = b'{"advance_seconds": ' + constant.encode() + b"}"
    assert signed_raw(c, "/v1/sandbox/clock", raw)[:2] == (400, "malformed_request")


def test_content_length_larger_than_the_body_is_cut_off(base_url: str) -> None:
    """The old server waited for the missing bytes for as long as the client kept the socket."""
    raw = (b"POST /v1/card-count HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 1000\r\n\r\n{\"query_id\":")
    status, headers, body, elapsed = exchange(base_url, raw, timeout=BODY_DEADLINE_S + 20)
    assert_problem(status, headers, body, "malformed_request")
    assert headers.get("connection", "").lower() == "close"
    # the answer comes at the deadline, and the server closes the connection right after it
    assert BODY_DEADLINE_S - 1 <= elapsed <= BODY_DEADLINE_S + 10


def test_dripping_chunked_body_is_cut_off(base_url: str) -> None:
    url = urlsplit(base_url)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=BODY_DEADLINE_S + 20) as s:
        s.sendall(b"POST /v1/card-count HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        s.settimeout(1.0)
        answer = b""
        while time.monotonic() - started < BODY_DEADLINE_S + 20:
            if not answer:  # once answered, stop dripping and wait for the close
                try:
                    s.sendall(b"1\r\n \r\n")  # one byte a second, for ever
                except OSError:
                    break
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                # the server closed with our unread drip in its buffer, after its answer: a reset
                break
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert time.monotonic() - started <= BODY_DEADLINE_S + 10


def test_crlf_in_the_path_cannot_forge_an_access_log_line(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    forged = "/v1/health%0d%0a2026-01-01 00:00:00,000 GET /v1/admin 200 0.1ms%0aX"
    with running_server(extra_args=["--access-log", str(log)]) as url, client(url) as c:
        for path in (forged, "/v1/health%0D%0AFORGED", "/v1/health%1b[31mred", "/v1/health"):
            c.send("GET", path, sign=False)
        exchange(url, b"GARBAGE\r\nX: " + MARK + b"\r\n\r\n")
    lines = log.read_text("utf-8").splitlines()
    line_shape = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (GET|-) \S+ (\S+ )?\d{3} [\d.]+ms")
    assert all(line_shape.fullmatch(line) for line in lines), lines
    assert not any(line.startswith("2026-01-01") for line in lines)  # the forged line
    assert sum("/v1/admin" in line for line in lines) == 1  # inside the one escaped path
    assert sum("FORGED" in line for line in lines) == 1
    assert not any(MARK.decode() in line or "\x1b" in line for line in lines)
    assert lines[-1].endswith(" - (unparsable request) 400 " + lines[-1].rsplit(" ", 1)[1])
