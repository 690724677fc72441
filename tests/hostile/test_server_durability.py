"""Durability as a test: SIGKILL at random moments while disputes and cancellations are accepted.

Every 202 the platform received must be found after a restart on the same database (its status
readable, its replay answered with the same bytes), and a second server on that database is
refused while the first runs.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from server_helpers import cancellation, client, dispute, query, server_process, subject_with

from yzt.client import Exchange
from yzt.fixtures import Subject
from yzt.server.testing import DEFAULT_SECRET, free_port, serve_command, stop_process

pytestmark = pytest.mark.integration

ROUNDS = 6  # SIGKILLs
WORKERS = 3
MAX_RUN_S = 1.5  # each round is killed within this many seconds of its first 202
ENV = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())
Accepted = dict[str, tuple[str, dict[str, object], bytes]]  # id → (path, request, answer bytes)


def server(db: Path, log: Path) -> AbstractContextManager[tuple[str, subprocess.Popen[bytes]]]:
    return server_process(db, log, "--no-access-log")


def cards(url: str) -> list[tuple[Subject, str]]:
    """(subject, card_ref) of a few live cards; refs are stable across restarts of one db."""
    found = []
    with client(url) as c:
        for skip in range(4):
            s = subject_with(2, skip=skip)
            listed = c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"]
            found += [(s, x["card_ref"]) for x in listed]
    return found


def traffic(url: str, targets: list[tuple[Subject, str]], seed: int, stop: threading.Event,
            accepted: Accepted, lock: threading.Lock, errors: list[str]) -> None:
    """Disputes and cancellations until ``stop`` or the server dies; record every 202."""
    try:
        _traffic(url, targets, seed, stop, accepted, lock)
    except Exception as exc:  # reported by the test, not lost in the thread
        errors.append(repr(exc))


def _traffic(url: str, targets: list[tuple[Subject, str]], seed: int, stop: threading.Event,
             accepted: Accepted, lock: threading.Lock) -> None:
    rng = random.Random(seed)
    with client(url) as c:
        while not stop.is_set():
            s, ref = rng.choice(targets)
            if rng.random() < 0.5:
                path, body, key = "/v1/disputes", dispute(c, s, ref), "dispute_id"
            else:
                path, body, key = "/v1/cancellations", cancellation(c, s, ref), "cancellation_id"
            ex: Exchange = c.send("POST", path, body=body)
            if ex.status == 202:
                with lock:
                    accepted[str(body[key])] = (path, body, ex.response_body)
            elif ex.status is None:
                return  # killed: whatever was in flight was not answered, so it is not owed
            else:
                raise AssertionError(ex.describe())


def test_every_202_survives_sigkill_at_random_moments(tmp_path: Path) -> None:
    db, log = tmp_path / "op.sqlite", tmp_path / "server.log"
    rng = random.Random(20261203)
    accepted: Accepted = {}
    lock = threading.Lock()
    errors: list[str] = []
    with server(db, log) as (url, _proc):
        targets = cards(url)
    assert len(targets) >= 8
    for round_ in range(ROUNDS):
        with server(db, log) as (url, proc):
            stop = threading.Event()
            workers = [threading.Thread(target=traffic, args=(url, targets, round_ * 10 + w, stop,
                                                              accepted, lock, errors))
                       for w in range(WORKERS)]
            before = len(accepted)
            for w in workers:
                w.start()
            # the kill lands at a random moment after this round's first 202 (a loaded machine
            # may take a while to answer the first one)
            waited = time.monotonic()
            while len(accepted) == before and time.monotonic() - waited < 20 and not errors:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, MAX_RUN_S))
            if round_ == 0:  # a second server on the live database is refused, naming this one
                second = subprocess.run(
                    serve_command("R07", 7, 200, free_port(), "k1", db, (), ()), env=ENV,
                    capture_output=True, text=True, timeout=60)
                assert second.returncode == 2 and f"(pid {proc.pid})" in second.stderr
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            stop.set()
            for w in workers:
                w.join(timeout=30)
                assert not w.is_alive()
            assert errors == []
            assert len(accepted) > before, "no 202 in this round: the kill came too early"
    with server(db, log) as (url, proc), client(url) as c:
        for key, (path, body, answer) in accepted.items():
            status = c.send("GET", f"{path}/{key}")
            assert status.status == 200, (key, status.describe())
            again = c.send("POST", path, body=body)  # the idempotent replay: the same bytes
            assert (again.status, again.response_body) == (202, answer), key
        stop_process(proc)
    assert len(accepted) >= ROUNDS
