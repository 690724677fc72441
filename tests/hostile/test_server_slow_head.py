"""A request head that never arrives whole does not hold a connection open for good.

A raw socket sends half a request line and waits: ``yzt serve`` closes the connection once the head
has taken longer than its bound (10 s by default, ``--header-timeout``). A head that arrives slowly
but within the bound is served, and a kept-alive connection idling between requests is not cut by
this bound (aiohttp's keep-alive timeout governs that).
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from yzt.server.http import HEADER_TIMEOUT_S
from yzt.server.testing import running_server

pytestmark = pytest.mark.integration

#: Scheduling on a shared machine: the close may come this much after the bound.
SLACK_S = 3.0


def _connect(base_url: str, timeout: float) -> socket.socket:
    url = urlsplit(base_url)
    return socket.create_connection((url.hostname, url.port), timeout=timeout)


def _closed_after(s: socket.socket, started: float) -> float:
    """Seconds from ``started`` until the server closed ``s`` (it must send nothing before)."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    assert data == b"", data[:200]  # nothing answered to half a request
    return time.monotonic() - started


def _get_health(s: socket.socket) -> bytes:
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = s.recv(65536)
        assert chunk, f"connection closed; got {data[:200]!r}"
        data += chunk
    return data


def test_half_a_request_line_is_closed_within_the_default_bound() -> None:
    assert HEADER_TIMEOUT_S == 10.0  # the documented default
    with running_server() as url, _connect(url, timeout=HEADER_TIMEOUT_S + 30) as s:
        started = time.monotonic()
        s.sendall(b"GET /v1/hea")
        took = _closed_after(s, started)
    assert HEADER_TIMEOUT_S - 0.5 <= took <= HEADER_TIMEOUT_S + SLACK_S


@pytest.mark.parametrize("partial", [b"", b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: y"])
def test_the_bound_is_configurable_and_counts_from_the_connection(partial: bytes) -> None:
    """Nothing at all, or a request line and some fields: closed at the configured bound."""
    with running_server(extra_args=["--header-timeout", "1.5"]) as url, _connect(url, 30) as s:
        started = time.monotonic()
        s.sendall(partial)
        took = _closed_after(s, started)
    assert 1.0 <= took <= 1.5 + SLACK_S


def test_a_slow_head_within_the_bound_is_served_and_idle_keep_alive_is_not_cut() -> None:
    with running_server(extra_args=["--header-timeout", "2"]) as url, _connect(url, 30) as s:
        for piece in (b"GET /v1/he", b"alth HTTP/1.1\r\n", b"Host: x\r\n"):
            s.sendall(piece)
            time.sleep(0.4)
        assert b" 200 " in _get_health_rest(s)
        time.sleep(3.0)  # idle longer than the head bound, between two requests
        assert b" 200 " in _get_health(s).split(b"\r\n", 1)[0]
        # the next request's head has its own bound, counted from its first byte
        started = time.monotonic()
        s.sendall(b"GET /v1/health HTTP/1.1\r\n")
        took = _closed_after(s, started)
    assert 1.5 <= took <= 2 + SLACK_S


def _get_health_rest(s: socket.socket) -> bytes:
    """Finish the head sent piecewise and read the answer's status line."""
    s.sendall(b"\r\n")
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, "connection closed"
        data += chunk
    status_line = data.split(b"\r\n", 1)[0]
    while not data.rstrip().endswith(b"}"):  # drain the small JSON body
        data += s.recv(65536)
    return status_line
