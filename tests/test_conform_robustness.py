"""A misbehaving endpoint fails the affected checks with a clear cause, and the run always ends."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from yzt.conformance.preflight import PreflightError
from yzt.conformance.session import open_context, run_suite
from yzt.domain.topology import load_topology
from yzt.fixtures import generate_fixtures
from yzt.verdict import Verdict

FIXTURES = generate_fixtures(load_topology().get("R07"), 3, 30)
HUGE = 10 * 1024 * 1024


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mode = ""
    stop = threading.Event()


class _Handler(socketserver.StreamRequestHandler):
    """Reads HTTP/1.1 requests and answers each in the server's bad way."""

    server: _Server

    def handle(self) -> None:
        try:
            while True:
                length = 0
                line = self.rfile.readline()
                if not line:
                    return
                while line not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                    line = self.rfile.readline()
                self.rfile.read(length)
                mode = self.server.mode
                if mode == "hang":
                    self.server.stop.wait(30)
                    return
                if mode == "reset":  # RST instead of an answer
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                body = b"<html>oops</html>" if mode == "nonjson" else b"{" + b" " * HUGE + b"}"
                ctype = b"text/html" if mode == "nonjson" else b"application/json"
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
                                 + str(len(body)).encode() + b"\r\n\r\n" + body)
        except OSError:
            return


@contextmanager
def misbehaving(mode: str) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.mode = mode
    server.stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize(("mode", "cause"), [
    ("hang", "timed out 3 times in a row (hung; per-request timeout 0.5 s)"),
    ("reset", "Server disconnected"),
    ("nonjson", "body that is not a JSON object"),
    ("huge", "body too large"),
])
def test_misbehaving_endpoint_fails_with_cause_and_completes(mode, cause):
    started = time.monotonic()
    with misbehaving(mode) as url:
        # the checks themselves must cope; the preflight (which stops such a run at once) is
        # shown below
        ctx = open_context(url, "R07", "k1", b"secret", FIXTURES, timeout=0.5, run_seed=1,
                           check_first=False)
        try:
            run = run_suite(ctx, target=url)
        finally:
            ctx.client.close()
    elapsed = time.monotonic() - started
    assert elapsed < 20, f"{mode}: the run took {elapsed:.1f} s"
    assert run.verdict is Verdict.FAIL
    failed = [r for r in run.results if r.verdict is Verdict.FAIL]
    assert len(failed) >= 20
    assert any(cause in r.message for r in failed), [r.message for r in failed][:5]
    # Nothing passes but the PII scan of answers that did arrive (an HTML page, 1 MiB of spaces).
    passed = {r.check for r in run.results
              if r.verdict not in (Verdict.FAIL, Verdict.INCOMPLETE, Verdict.NOT_APPLICABLE)}
    assert passed <= ({"no_pii_in_responses"} if mode in ("nonjson", "huge") else set())


@pytest.mark.parametrize(("mode", "cause"), [
    ("hang", "preflight health: cannot reach {url} — timed out"),
    ("nonjson", "preflight health: GET /v1/health answered 200 ''; expected 200 {{status: ok|degraded}}"),
])
def test_preflight_stops_a_misbehaving_endpoint_with_its_cause(mode, cause):
    with misbehaving(mode) as url, pytest.raises(PreflightError) as caught:
        open_context(url, "R07", "k1", b"secret", FIXTURES, timeout=0.5, run_seed=1)
    assert str(caught.value).startswith(cause.format(url=url))
    assert caught.value.exit_code == 2
