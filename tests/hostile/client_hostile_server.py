"""A hostile HTTP endpoint on loopback, run as its own process: ``python client_hostile_server.py MODE``.

It prints its port on the first line of standard output and serves until killed. Modes:

- ``drip``: headers at once, then the body one byte every 2 s (a Content-Length it never reaches);
- ``drip-headers``: the status line and headers themselves one byte every 2 s;
- ``endless``: a chunked body that never ends, sent as fast as the reader takes it;
- ``big``: a complete 10 MB JSON body, a string of digits (the hard case for a scan for numbers);
- ``deep``: a complete JSON body nested 200,000 levels deep.

``--health-ok`` answers ``GET /v1/health`` properly (with a ``Date`` header), so that tools which
probe health first get past it and meet the hostile answers on the protocol's endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

BIG_BYTES = 10 * 1024 * 1024
DRIP_INTERVAL_S = 2.0


async def _read_request(reader: asyncio.StreamReader) -> str:
    """Read one request's head and body; return its path."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return path


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Date: {formatdate(usegmt=True)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _serve(mode: str, health_ok: bool, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            path = await _read_request(reader)
            if health_ok and path.endswith("/v1/health"):
                body = b'{"status":"ok"}'
                writer.write(_head("200 OK", {"Content-Type": "application/json",
                                              "Content-Length": str(len(body))}) + body)
                await writer.drain()
                continue
            await _hostile(mode, writer)
            break
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _hostile(mode: str, writer: asyncio.StreamWriter) -> None:
    json_head = {"Content-Type": "application/json"}
    if mode == "drip":
        writer.write(_head("200 OK", {**json_head, "Content-Length": "100000"}))
        while True:
            await writer.drain()
            await asyncio.sleep(DRIP_INTERVAL_S)
            writer.write(b" ")
    elif mode == "drip-headers":
        for byte in _head("200 OK", {**json_head, "Content-Length": "2"}) + b"{}":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(DRIP_INTERVAL_S)
    elif mode == "endless":
        writer.write(_head("200 OK", {**json_head, "Transfer-Encoding": "chunked"}))
        chunk = b"7" * 65536
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while True:
            writer.write(framed)
            await writer.drain()
    elif mode == "big":
        digits = b"31415926535897932384626433832795028841971693993751"
        filler = (digits * (BIG_BYTES // len(digits) + 1))[:BIG_BYTES - 13]
        body = b'{"filler":"' + filler + b'"}'
        writer.write(_head("200 OK", {**json_head, "Content-Length": str(len(body))}) + body)
        await writer.drain()
    elif mode == "deep":
        depth = 200_000
        body = b"[" * depth + b"]" * depth
        writer.write(_head("200 OK", {**json_head, "Content-Length": str(len(body))}) + body)
        await writer.drain()
    else:  # pragma: no cover - a typo in a test
        raise SystemExit(f"unknown mode {mode!r}")


@contextlib.contextmanager
def running(mode: str, *, health_ok: bool = False) -> Iterator[str]:
    """Start the hostile endpoint as a child process; yield its base URL; kill it (by its pid)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), mode, *(["--health-ok"] if health_ok else [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("drip", "drip-headers", "endless", "big", "deep"))
    parser.add_argument("--health-ok", action="store_true")
    args = parser.parse_args()
    server = await asyncio.start_server(
        lambda r, w: _serve(args.mode, args.health_ok, r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    sys.stdout.close()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
