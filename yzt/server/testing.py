"""Start ``yzt serve`` as a subprocess for tests: ``with running_server() as base_url: ...``.

The server runs in its own process exactly as users run it, on a free loopback port, with its
output in a temporary file that is shown when it fails to start. It is started as yzt starts every
child (:mod:`yzt.spawn`): a test process killed outright takes its servers with it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from yzt.spawn import python_command, yzt_command

DEFAULT_SECRET = b"yzt-test-secret-0123456789abcdef"
START_TIMEOUT_S = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port of ``host`` that was free a moment ago (another program may take it before it is
    bound: :func:`start_on_free_ports` retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def serve_args(operator: str, seed: int, subjects: int, port: int, key_id: str,
               db: Path | None, defects: Sequence[str], extra_args: Sequence[str]) -> list[str]:
    """The arguments after ``yzt`` of the ``yzt serve`` that :func:`running_server` runs."""
    args = ["serve", "--operator", operator, "--key-id", key_id, "--port", str(port)]
    if "--fixtures" not in extra_args:
        args += ["--seed", str(seed), "--subjects", str(subjects)]
    if db is not None:
        args += ["--db", str(db)]
    for name in defects:
        args += ["--defect", name]
    return args + list(extra_args)


def serve_command(operator: str, seed: int, subjects: int, port: int, key_id: str,
                  db: Path | None, defects: Sequence[str], extra_args: Sequence[str]) -> list[str]:
    """The ``yzt serve`` command line that :func:`running_server` runs; start it from this process
    (the child dies with the process that built the command)."""
    return yzt_command(*serve_args(operator, seed, subjects, port, key_id, db, defects, extra_args))


def _base_path(extra_args: Sequence[str]) -> str:
    args = list(extra_args)
    return args[args.index("--base-path") + 1] if "--base-path" in args else ""


def said_ready(log: Path, base_url: str, since: int = 0) -> bool:
    """Whether the output in ``log`` (from byte ``since`` on) holds ``yzt serve``'s ready line for
    ``base_url``: the line it prints once it listens there."""
    try:
        with log.open("rb") as fh:
            fh.seek(since)
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return False
    return re.search(rf"^yzt serve: \S+ on {re.escape(base_url)}(?=\s)", text, re.MULTILINE) is not None


def wait_healthy(base_url: str, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT_S, *,
                 log: Path | None = None, since: int = 0) -> None:
    """Poll ``GET /v1/health`` until it answers 200; raise if the process dies or time runs out.

    With ``log`` (the child's output, from byte ``since`` on), a 200 counts only once the child has
    said it listens on ``base_url``: a port that was free a moment ago may have been taken by
    another server meanwhile, and that server's health would answer for a child that never bound
    the port (which then exits, "address already in use")."""
    deadline = time.monotonic() + timeout
    # one client for every poll: a new one each time loads the CA store again (~30-100 ms of CPU)
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"yzt serve exited with status {proc.returncode}")
            try:
                if (http.get(base_url + "/v1/health").status_code == 200
                        and (log is None or said_ready(log, base_url, since))):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"yzt serve did not answer /v1/health within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s: a server that hangs on shutdown never hangs its caller."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ServerStartError(RuntimeError):
    """A ``yzt serve`` child that did not start for another reason than a taken port."""

    def __init__(self, reason: str, output: str) -> None:
        super().__init__(f"{reason}; its output:\n{output[-4000:]}")
        #: why it did not start (exited, or did not answer in time), and all it printed
        self.reason, self.output = reason, output


def started(urls: list[str], proc: subprocess.Popen[bytes], log_path: Path,
            stop: Callable[[subprocess.Popen[bytes]], object] = stop_process) -> bool:
    """Whether the child serves every URL; False (child stopped with ``stop``) when a port was
    taken meanwhile, so the caller tries other ports; any other start failure raises
    :class:`ServerStartError`."""
    try:
        for url in urls:
            wait_healthy(url, proc, log=log_path)
    except RuntimeError as exc:
        stop(proc)
        output = log_path.read_text("utf-8", errors="replace")
        if "address already in use" in output.lower():
            return False
        raise ServerStartError(str(exc), output) from None
    return True


#: A start on ports free a moment ago is tried this many times before giving up.
PORT_TRIES = 3


def start_on_free_ports(
    count: int, launch: Callable[[list[int]], tuple[subprocess.Popen[bytes], list[str]]],
    log_path: Path, stop: Callable[[subprocess.Popen[bytes]], object] = stop_process,
) -> tuple[subprocess.Popen[bytes], list[str]] | None:
    """A server child on ``count`` distinct ports that were free a moment ago: ``launch(ports)``
    starts it (its output in ``log_path``) and says which URLs it must serve. A port taken meanwhile
    means other ports, up to :data:`PORT_TRIES` times; ``None`` when every try met a taken port.
    Any other start failure raises :class:`ServerStartError` (see :func:`started`)."""
    for _attempt in range(PORT_TRIES):
        ports: list[int] = []
        while len(ports) < count:
            port = free_port()
            if port not in ports:
                ports.append(port)
        proc, urls = launch(ports)
        if started(urls, proc, log_path, stop=stop):
            return proc, urls
    return None


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

        def launch(ports: list[int]) -> tuple[subprocess.Popen[bytes], list[str]]:
            cmd = serve_command(operator, seed, subjects, ports[0], key_id, db, defects, extra_args)
            with log_path.open("wb") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            return proc, [f"http://127.0.0.1:{ports[0]}{_base_path(extra_args)}"]

        up = start_on_free_ports(1, launch, log_path)
        if up is None:  # pragma: no cover - three busy ports in a row
            raise RuntimeError("could not find a free port for yzt serve")
        proc, (url,) = up
        try:
            yield url
        finally:
            stop_process(proc)


@contextmanager
def running_servers(
    servers: Sequence[tuple[Sequence[str], Sequence[str]]],
    operator: str = "R07",
    seed: int = 7,
    subjects: int = 200,
    secret: bytes = DEFAULT_SECRET,
    key_id: str = "k1",
) -> Iterator[list[str]]:
    """:func:`running_server` for several servers at once, each ``(defects, extra_args)``: every one
    a real HTTP server on its own loopback port with its own store, all served by one process (one
    Python start, one set of imports, fixtures generated once). Yields their base URLs in order.

    Each is built by ``yzt serve``'s own code (:func:`yzt.commands.serve.prepare`) from the same
    arguments :func:`running_server` passes; they share the process's CPU, so a test that loads
    them runs one at a time against each process. Every server needs ``--no-access-log``.
    """
    if not all("--no-access-log" in extra for _, extra in servers):
        raise ValueError("running_servers: every server needs --no-access-log (one process, one log)")
    with tempfile.TemporaryDirectory(prefix="yzt-test-servers-") as tmp:
        log_path = Path(tmp) / "servers.log"
        env = dict(os.environ, YZT_SECRET=secret.decode("utf-8"))

        def launch(ports: list[int]) -> tuple[subprocess.Popen[bytes], list[str]]:
            argvs = [serve_args(operator, seed, subjects, port, key_id, None, defects, extra)
                     for port, (defects, extra) in zip(ports, servers, strict=True)]
            with log_path.open("wb") as log:
                proc = subprocess.Popen(python_command(__name__, json.dumps(argvs)), stdout=log,
                                        stderr=subprocess.STDOUT, env=env)
            return proc, [f"http://127.0.0.1:{port}{_base_path(extra)}"
                          for port, (_, extra) in zip(ports, servers, strict=True)]

        up = start_on_free_ports(len(servers), launch, log_path)
        if up is None:  # pragma: no cover - a busy port three times in a row
            raise RuntimeError("could not find free ports for the servers")
        proc, urls = up
        try:
            yield urls
        finally:
            stop_process(proc)


def serve_many(argvs: Sequence[Sequence[str]]) -> int:
    """Serve every ``yzt serve`` argument list in one process until SIGTERM or SIGINT (the process
    :func:`running_servers` starts)."""
    import asyncio
    import contextlib
    import signal
    import sys

    from yzt.cli import build_parser
    from yzt.commands.serve import prepare
    from yzt.errors import UserError

    parser = build_parser()
    with contextlib.ExitStack() as folders:
        try:
            servers = [prepare(parser.parse_args(list(argv)),
                               Path(folders.enter_context(tempfile.TemporaryDirectory(prefix="yzt-serve-"))))
                       for argv in argvs]

            async def all_of_them() -> None:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, stop.set)
                await asyncio.gather(*(serve(stop=stop) for serve in servers))

            asyncio.run(all_of_them())
        except UserError as exc:
            print(f"yzt serve: error: {exc}", file=sys.stderr, flush=True)
            return 2
    print("yzt serve: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(serve_many(json.loads(sys.argv[1])))
