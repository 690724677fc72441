"""Start ``yzt serve`` as a subprocess for tests: ``with running_server() as base_url: ...``.

The server runs in its own process exactly as users run it, on a free loopback port, with its
output in a temporary file that is shown when it fails to start. It is started as yzt starts every
child (:mod:`yzt.spawn`): a test process killed outright takes its servers with it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from yzt.spawn import yzt_command

DEFAULT_SECRET = b"yzt-test-secret-0123456789abcdef"
START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_command(operator: str, seed: int, subjects: int, port: int, key_id: str,
                  db: Path | None, defects: Sequence[str], extra_args: Sequence[str]) -> list[str]:
    """The ``yzt serve`` command line that :func:`running_server` runs; start it from this process
    (the child dies with the process that built the command)."""
    cmd = yzt_command("serve", "--operator", operator, "--key-id", key_id, "--port", str(port))
    if "--fixtures" not in extra_args:
        cmd += ["--seed", str(seed), "--subjects", str(subjects)]
    if db is not None:
        cmd += ["--db", str(db)]
    for name in defects:
        cmd += ["--defect", name]
    return cmd + list(extra_args)


def wait_healthy(base_url: str, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT_S) -> None:
    """Poll ``GET /v1/health`` until it answers 200; raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    # one client for every poll: a new one each time loads the CA store again (~30-100 ms of CPU)
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"yzt serve exited with status {proc.returncode}")
            try:
                if http.get(base_url + "/v1/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"yzt serve did not answer /v1/health within {timeout:.0f} s")


@contextmanager
def running_server(
    operator: str = "R07",
    seed: int = 7,
    subjects: int = 200,
    defects: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    secret: bytes = DEFAULT_SECRET,
    key_id: str = "k1",
    db: Path | None = None,
) -> Iterator[str]:
    """Run ``yzt serve`` on a free port; yield its base URL; stop it with SIGTERM at the end.

    ``extra_args`` go to ``yzt serve`` as they are (e.g. ``["--base-path", "/yzt"]``, in which case
    the yielded URL includes the prefix).
    """
    with tempfile.TemporaryDirectory(prefix="yzt-test-server-") as tmp:
        log_path = Path(tmp) / "server.log"
        env = dict(os.environ, YZT_SECRET=secret.decode("utf-8"))
        prefix = ""
        if "--base-path" in extra_args:
            prefix = list(extra_args)[list(extra_args).index("--base-path") + 1]
        for _attempt in range(3):
            port = free_port()
            cmd = serve_command(operator, seed, subjects, port, key_id, db, defects, extra_args)
            with log_path.open("wb") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_healthy(base + prefix, proc)
            except RuntimeError as exc:
                stop_process(proc)
                output = log_path.read_text("utf-8", errors="replace")
                if "address already in use" in output.lower():
                    continue
                raise RuntimeError(f"{exc}; its output:\n{output[-4000:]}") from None
            break
        else:  # pragma: no cover - three busy ports in a row
            raise RuntimeError("could not find a free port for yzt serve")
        try:
            yield base + prefix
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s: a server that hangs on shutdown never hangs its caller."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
