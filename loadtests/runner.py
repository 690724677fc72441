"""Process orchestration: Locust runs headless in its own processes, yzt reads their files after.

Standalone (one process) by default; with ``workers > 1`` a master plus local workers, and the master
can wait for more workers joining from other machines (``--master-host``). Every run is bounded: a
hard wall-clock limit kills the whole process group on overrun. Locust runs as
:func:`yzt.spawn.python_command` starts it: never from the current directory, and killed with
``yzt load`` even when ``yzt load`` is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from yzt.errors import UserError
from yzt.loadtests.traffic import RunConfig
from yzt.shutdown import claim_folder, remove_orphan_folders, stop_tree
from yzt.spawn import python_command

if TYPE_CHECKING:
    from yzt.clock import ClockReading

#: Seconds allowed for Locust to start, connect its workers and write its reports.
STARTUP_SLACK_S = 30.0
#: Seconds allowed for workers on other machines to join before the run is abandoned.
REMOTE_JOIN_S = 300.0


def locustfile_path() -> Path:
    return Path(__file__).resolve().with_name("locustfile.py")


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """GET ``/v1/health`` before any load; exit 2 with a plain message when the target is not there.

    Through :class:`~yzt.client.PlatformClient`, so the probe itself ends within ``timeout`` however
    slowly the target answers (connect, headers and body together).
    """
    from yzt.client import PlatformClient

    with PlatformClient(url, "", b"", timeout=timeout) as client:
        exchange = client.send("GET", "/v1/health", sign=False)
    health = url.rstrip("/") + "/v1/health"
    if exchange.error and exchange.error.startswith("cannot connect"):
        reason = "connection refused" if "refused" in exchange.error.lower() else exchange.error
        raise UserError(f"cannot reach {url} — {reason} (is the operator running?)")
    if exchange.error or exchange.status is None:
        raise UserError(f"cannot reach {url} — {health}: {exchange.error}")
    if exchange.status != 200:
        raise UserError(f"{health} answered HTTP {exchange.status}, expected 200: check the base URL")


def read_operator_clock(url: str, key_id: str, secret: bytes, *, explicit: float | None = None,
                        timeout: float = 3.0) -> ClockReading:
    """The operator's sandbox clock, found as :func:`yzt.clock.discover_clock` says, for the run's
    ``clock_offset_s`` (every generator process signs on it).

    A conformance run moves a sandbox clock days ahead; requests signed on our clock would then all
    fail with ``timestamp_skew``. The clock is read with a signed ``advance_seconds: 0`` (which
    never moves it) at the offsets ``explicit`` (``--clock-offset``), remembered and real time;
    0 without a sandbox clock. Raises :class:`yzt.errors.PreflightError` (exit 2) when no offset
    is accepted; a clock read without an answer signs on the first candidate (the remembered offset
    the preflight just read, say): the run's own requests judge the endpoint's transport.
    """
    from yzt.client import PlatformClient
    from yzt.clock import ClockMemory, discover_clock

    with PlatformClient(url, key_id, secret, timeout=timeout,
                        clock_memory=ClockMemory.default()) as client:
        return discover_clock(client, explicit=explicit, stop_unreachable=False)


@dataclass(frozen=True)
class Launch:
    """How to start Locust for one run."""

    local_workers: int = 1
    expect_workers: int = 1
    master_bind_host: str = "127.0.0.1"
    master_port: int | None = None


@dataclass(frozen=True)
class LocustOutcome:
    exit_code: int
    elapsed_s: float
    timed_out: bool
    console_log: Path


def _env(config_path: Path, secret: bytes) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env.update(YZT_LOAD_CONFIG=str(config_path), YZT_SECRET=secret.decode("utf-8"),
               PYTHONUNBUFFERED="1")
    return env


def run_locust(config: RunConfig, secret: bytes, launch: Launch,
               python: str = sys.executable) -> LocustOutcome:
    """Start Locust (standalone, or master + workers), wait with a hard limit, return its status."""
    out = Path(config.out_dir).resolve()  # Locust runs in it: a relative path would nest
    raw = out / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    (out / "locust").mkdir(parents=True, exist_ok=True)
    config_path = out / "run-config.json"
    config_path.write_text(config.to_json(), encoding="utf-8")
    env = _env(config_path, secret)
    base = python_command("locust", "-f", str(locustfile_path()), "--headless", "--loglevel", "WARNING",
                          "--logfile", str(out / "locust" / "locust.log"), python=python)
    reports = ["--csv", str(out / "locust" / "locust"), "--html", str(out / "locust" / "report.html"),
               "--only-summary"]
    commands: list[list[str]] = []
    if launch.expect_workers <= 1 and launch.local_workers == launch.expect_workers:
        commands.append(base + reports)
    else:
        from yzt.server.testing import free_port  # with httpx: only a distributed run needs it

        port = launch.master_port or free_port(launch.master_bind_host)
        commands.append(base + reports + [
            "--master", "--master-bind-host", launch.master_bind_host, "--master-bind-port", str(port),
            "--expect-workers", str(launch.expect_workers)])
        connect = "127.0.0.1" if launch.master_bind_host in ("0.0.0.0", "") else launch.master_bind_host
        for _ in range(launch.local_workers):
            commands.append([*base, "--worker", "--master-host", connect, "--master-port", str(port)])
    limit = config.lead_s + config.shape.duration + config.grace_s + config.join_s + STARTUP_SLACK_S
    console = out / "locust" / "console.log"
    started = time.monotonic()
    procs: list[subprocess.Popen[bytes]] = []
    timed_out = False
    with console.open("wb") as log:
        try:
            for cmd in commands:
                procs.append(subprocess.Popen(cmd, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, start_new_session=True))
            timed_out = not _wait_with_progress(procs[0], limit, config.lead_s + config.shape.duration,
                                                out / "locust" / "locust_stats.csv")
            for p in procs[1:]:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=0 if timed_out else 15)
        finally:
            for p in procs:
                stop_tree(p)
    code = procs[0].returncode if procs and not timed_out else -1
    return LocustOutcome(code, time.monotonic() - started, timed_out, console)


class LocustSeries:
    """One standalone Locust process that runs the probes of a capacity search one after another.

    Locust's start (the interpreter, gevent, Locust and yzt imported, about a CPU-second) is paid
    once per search instead of once per probe. Each probe is still a fresh generator on its own
    ``run-config.json`` in its own out folder (the locustfile's ``_series``), so its records and
    verdict are what a process of its own gives; Locust's own CSV, HTML report and logs cover the
    whole search, in ``out/locust/``. Use as a context manager: the process ends with it.
    """

    def __init__(self, out: Path, secret: bytes, python: str = sys.executable) -> None:
        # Locust runs in ``out``: its report paths relative to the caller's folder would nest there
        self.out, self.secret, self.python = out.resolve(), secret, python
        remove_orphan_folders(Path(tempfile.gettempdir()), "yzt-series-")  # of searches killed -9
        self.control = Path(tempfile.mkdtemp(prefix="yzt-series-"))
        claim_folder(self.control)
        self.proc: subprocess.Popen[bytes] | None = None
        self.probes = 0
        self.console = self.out / "locust" / "console.log"

    def __enter__(self) -> LocustSeries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(graceful=exc[0] is None)

    def run(self, config: RunConfig) -> LocustOutcome:
        """One probe at ``config`` (its ``out_dir`` receives the raw records); returns when they
        are written, or when the probe's time limit ran out (``timed_out``)."""
        out = Path(config.out_dir)
        shutil.rmtree(out / "raw", ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        config_path = out / "run-config.json"
        config_path.write_text(config.to_json(), encoding="utf-8")
        self.probes += 1
        started = time.monotonic()
        if self.proc is None:
            self._start(config_path)
        else:
            announce = self.control / f"stage-{self.probes:03d}"
            pending = announce.with_suffix(".tmp")
            pending.write_text(str(config_path), encoding="utf-8")
            pending.replace(announce)  # the locustfile reads it whole or not at all
        assert self.proc is not None
        limit = config.lead_s + config.shape.duration + config.grace_s + config.join_s + STARTUP_SLACK_S
        done = self.control / f"done-{self.probes:03d}"
        try:
            finished = _wait_for(done, self.proc, limit, config.lead_s + config.shape.duration)
        except BaseException:
            self.close(graceful=False)  # SIGTERM: the probe's generator writes what it measured
            raise
        elapsed = time.monotonic() - started
        if finished:
            return LocustOutcome(0, elapsed, False, self.console)
        ended = self.proc.poll()  # None: still running past the limit
        self.close(graceful=False)
        if ended is None:
            return LocustOutcome(-1, elapsed, True, self.console)
        return LocustOutcome(ended or 2, elapsed, False, self.console)  # ended without the records

    def _start(self, config_path: Path) -> None:
        out = self.out
        (out / "locust").mkdir(parents=True, exist_ok=True)
        env = _env(config_path, self.secret)
        env["YZT_LOAD_SERIES"] = str(self.control)
        cmd = python_command("locust", "-f", str(locustfile_path()), "--headless", "--loglevel", "WARNING",
                             "--logfile", str(out / "locust" / "locust.log"), "--csv",
                             str(out / "locust" / "locust"), "--html", str(out / "locust" / "report.html"),
                             "--only-summary", python=self.python)
        with self.console.open("wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def close(self, graceful: bool = True) -> None:
        """End the series: ``stop`` and a short wait when ``graceful`` (Locust writes its reports),
        then stop the process tree whatever it is doing."""
        try:
            if self.proc is not None:
                if graceful and self.proc.poll() is None:
                    (self.control / "stop").write_text("stop", encoding="utf-8")
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.proc.wait(timeout=15)
                stop_tree(self.proc)
        finally:
            shutil.rmtree(self.control, ignore_errors=True)


def _wait_for(done: Path, proc: subprocess.Popen[bytes], limit: float, expected_s: float) -> bool:
    """Wait up to ``limit`` seconds for the file ``done`` while ``proc`` runs; a progress bar on a
    terminal meanwhile (elapsed seconds of the probe). False when it did not come."""
    from tqdm import tqdm

    deadline = time.monotonic() + limit
    total = max(1, round(expected_s))
    with tqdm(total=total, unit="s", desc="yzt load", file=sys.stderr, disable=None,
              leave=False, bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s") as bar:
        began = time.monotonic()
        while not done.exists():
            if proc.poll() is not None or time.monotonic() >= deadline:
                return done.exists()
            time.sleep(0.05)
            bar.n = min(total, round(time.monotonic() - began))
            bar.refresh()
    return True


def _requests_so_far(stats_csv: Path) -> int | None:
    """The Aggregated request count of Locust's stats CSV (rewritten about once a second)."""
    try:
        for line in stats_csv.read_text(encoding="utf-8").splitlines():
            fields = line.split(",")
            if len(fields) > 3 and fields[1] == "Aggregated":
                return int(fields[2])
    except (OSError, ValueError):
        return None
    return None


def _wait_with_progress(master: subprocess.Popen[bytes], limit: float, expected_s: float,
                        stats_csv: Path) -> bool:
    """Wait for Locust's master up to ``limit`` seconds; a progress bar on a terminal meanwhile.

    Returns False when the limit ran out. The bar is off when stderr is not a terminal (CI logs).
    """
    from tqdm import tqdm

    deadline = time.monotonic() + limit
    total = max(1, round(expected_s))
    with tqdm(total=total, unit="s", desc="yzt load", file=sys.stderr, disable=None,
              leave=False, bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s {postfix}") as bar:
        began = time.monotonic()
        while master.poll() is None:
            if time.monotonic() >= deadline:
                return False
            with contextlib.suppress(subprocess.TimeoutExpired):
                master.wait(timeout=1.0)
            bar.n = min(total, round(time.monotonic() - began))
            sent = _requests_so_far(stats_csv)
            bar.set_postfix_str("" if sent is None else f"{sent} requests", refresh=True)
    return True


def worker_command(master_host: str, port: int, target: str) -> str:
    """The command to run on another machine to join a master as one more generator process: it
    needs yzt, the secret and the target it may send to (the rest comes from the master)."""
    return (f"YZT_SECRET=... yzt load --worker --master-host {master_host} --master-port {port} "
            f"--target {target}")


@dataclass(frozen=True)
class WorkerOutcome:
    exit_code: int
    #: Why the worker stopped without generating (a master that failed the handshake, another target,
    #: a refusal by the master), or ``None``.
    reason: str | None


def run_worker(master_host: str, port: int, secret: bytes, target: str,
               python: str = sys.executable) -> WorkerOutcome:
    """Run one Locust worker that joins ``master_host:port``, authenticates it (both sides prove the
    secret) and takes its run configuration, for ``target`` only; its exit status (0 when it generated
    its share and sent its records) and, when it stopped early, why."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_") and k != "YZT_LOAD_CONFIG"}
    with tempfile.TemporaryDirectory(prefix="yzt-worker-") as tmp:
        report = Path(tmp) / "reason.txt"
        env.update(YZT_SECRET=secret.decode("utf-8"), PYTHONUNBUFFERED="1", YZT_WORKER_TARGET=target,
                   YZT_WORKER_REPORT=str(report))
        cmd = python_command("locust", "-f", str(locustfile_path()), "--worker", "--master-host",
                             master_host, "--master-port", str(port), "--loglevel", "WARNING",
                             python=python)
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = proc.wait()
        finally:
            stop_tree(proc)
        try:
            reason: str | None = report.read_text(encoding="utf-8").strip() or None
        except OSError:
            reason = None
    return WorkerOutcome(code, reason)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
