"""Distributed load: a worker trusts only a master that proves the secret, and only for its target.

A false master (``fake_locust_peer.py master``, Locust's own ``locust.rpc`` classes on a loopback
port) hands a real ``yzt load --worker`` a configuration for a target of its choice; a loopback HTTP
server stands in for that target and counts what reaches it. An eavesdropper (``… relay``) records a
genuine handshake between a real worker and a real master and replays it to that master. A real
master whose target differs from the worker's ``--target`` is refused by name.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from yzt.domain.topology import load_topology
from yzt.fixtures import generate_fixtures, write_fixtures
from yzt.loadtests.handshake import (
    config_mac,
    handshake_key,
    master_proof,
    matches,
    same_target,
    worker_proof,
)
from yzt.loadtests.shapes import steady
from yzt.loadtests.traffic import RunConfig, people_for
from yzt.server.testing import DEFAULT_SECRET, free_port, running_server

PEER = Path(__file__).with_name("fake_locust_peer.py")
ENV = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())
ID_NUMBER = re.compile(r"\d{17}[\dXx]")


@contextmanager
def counting_target() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that answers 200 to everything and lists every request it got."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            hits.append(f"{self.command} {self.path} {body}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """One reference operator for the module: these runs judge the handshake, not the operator."""
    with running_server() as url:
        yield url


def _peer(*args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, str(PEER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), proc.communicate(timeout=10)
    return proc, int(line)


def _worker(port: int, target: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "yzt", "load", "--worker", "--master-host", "127.0.0.1",
                             "--master-port", str(port), "--target", target], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(*procs: subprocess.Popen[str]) -> None:
    """SIGTERM (``yzt load`` then stops its Locust processes too), SIGKILL if it lingers."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()


def _subjects(seed: int, subjects: int) -> tuple[set[str], set[str]]:
    """ID numbers and names of the known subjects a configuration with this seed lets a worker use."""
    config = RunConfig(target="http://x", operator="R07", key_id="k1", shape=steady(1, 1), out_dir="",
                       seed=seed, subjects=subjects)
    known = [p for p in people_for(config) if p.known]
    return {p.id_number for p in known}, {p.name for p in known}


# -- the handshake's arithmetic ---------------------------------------------------------------

def test_handshake_macs_are_bound_to_role_nonces_and_configuration():
    key = handshake_key(b"s3cret")
    wn, mn = "a" * 32, "b" * 32
    assert key != b"s3cret" and handshake_key(b"other") != key
    assert master_proof(key, wn, mn) != worker_proof(key, wn, mn)  # no reflection between roles
    assert master_proof(key, wn, mn) != master_proof(key, wn, "c" * 32)  # a fresh nonce, a new proof
    assert master_proof(key, wn, mn) != master_proof(handshake_key(b"other"), wn, mn)
    mac = config_mac(key, wn, mn, '{"target": "http://a"}', None)
    assert mac != config_mac(key, wn, mn, '{"target": "http://b"}', None)
    assert mac != config_mac(key, wn, mn, '{"target": "http://a"}', "")  # no fixtures ≠ empty fixtures
    assert mac != config_mac(key, wn, "c" * 32, '{"target": "http://a"}', None)
    assert matches(mac, mac) and not matches(mac, mac.upper()) and not matches(mac, None)
    assert not matches(mac, ["x"])
    assert same_target("HTTP://127.0.0.1:8700/", "http://127.0.0.1:8700")
    assert not same_target("http://127.0.0.1:8700", "http://127.0.0.1:8701")


# -- a false master ---------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.parametrize("scenario", ["config", "forged"])
def test_a_fake_master_gets_nothing_from_a_worker(tmp_path, scenario):
    """It sends the worker's own target, so only the handshake stands between it and the traffic:
    no request reaches any target, no proof and nothing about a subject comes back, exit 2."""
    out = tmp_path / "seen.json"
    with counting_target() as (target, hits):
        fake, port = _peer("master", "--scenario", scenario, "--target", target, "--out", str(out),
                           "--seconds", "8")
        worker = _worker(port, target, tmp_path)
        try:
            fake.communicate(timeout=40)
            try:
                w_out, w_err = worker.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                w_out, w_err = "", "(the worker was still running after the false master left)"
        finally:
            _finish(fake, worker)
        seen = json.loads(out.read_text(encoding="utf-8"))
        types = [m["type"] for m in seen]
        assert "yzt_hello" in types, (types, w_out, w_err)  # the worker did talk to the false master
        assert hits == [], f"{len(hits)} requests reached the false master's target, e.g. {hits[0]}"
    assert "yzt_proof" not in types and "yzt_rows" not in types, types
    text = json.dumps(seen, ensure_ascii=False)
    ids, names = _subjects(7, 50)
    assert not ID_NUMBER.search(text) and not any(n in text for n in names)
    assert not ids & set(ID_NUMBER.findall(text))
    assert worker.returncode == 2, (w_out, w_err)
    expected = ("did not prove it holds this worker's secret" if scenario == "forged"
                else "not bound to this worker's handshake")
    assert expected in w_err and "nothing was sent to any target" in w_err, w_err
    assert "Traceback" not in w_err


# -- a replayed handshake ---------------------------------------------------------------------

@pytest.mark.integration
def test_a_replayed_handshake_gets_no_configuration(tmp_path, server):
    """An eavesdropper records a genuine worker's complete handshake (the master then sent that
    worker its configuration and fixture file) and replays it to the same master: no configuration,
    nothing about a subject, and the master names the refusal."""
    fixtures = tmp_path / "fixtures.jsonl"
    subjects = generate_fixtures(load_topology().get("R07"), 7, 200)
    write_fixtures(subjects, fixtures)
    ids = {s.id_number for s in subjects.subjects().values()}
    out, seen = tmp_path / "out", tmp_path / "seen.json"
    master_port = free_port()
    url = server
    master = subprocess.Popen(
        [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k1", "--fixtures",
         str(fixtures), "--rate", "20", "--duration", "4s", "--workers", "0", "--remote-workers", "2",
         "--master-port", str(master_port), "--out", str(out)],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    relay, relay_port = _peer("relay", "--master-port", str(master_port), "--out", str(seen),
                              "--seconds", "60")
    worker = _worker(relay_port, url, tmp_path)
    try:
        relay.communicate(timeout=90)
    finally:
        _finish(worker, master, relay)
    record = json.loads(seen.read_text(encoding="utf-8"))
    # the genuine exchange was complete and carried the fixtures: there was something to steal
    genuine = [m for m in record["downstream"] if m["type"] == "yzt_config"]
    assert genuine and ids & set(ID_NUMBER.findall(genuine[0]["data"]["fixtures_text"]))
    assert "yzt_hello" in [m["type"] for m in record["captured"]]
    replayed = record["replayed"]
    types = [m["type"] for m in replayed]
    assert "ack" in types, types  # the master did listen to the replay
    assert "yzt_config" not in types, types
    assert not ids & set(ID_NUMBER.findall(json.dumps(replayed, ensure_ascii=False)))
    refusals = [json.loads(p.read_text(encoding="utf-8"))["reason"] for p in (out / "raw").glob("refused-*")]
    assert any("did not prove it holds the master's secret" in r for r in refusals), refusals


# -- a genuine master with another target ---------------------------------------------------

@pytest.mark.integration
def test_a_worker_refuses_a_master_that_sends_another_target(tmp_path, server):
    port = free_port()
    url = server
    with counting_target() as (other, hits):
        master = subprocess.Popen(
            [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k1", "--seed", "7",
             "--subjects", "200", "--rate", "20", "--duration", "4s", "--workers", "0",
             "--remote-workers", "1", "--master-port", str(port), "--out", str(tmp_path / "out")],
            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        worker = _worker(port, other, tmp_path)
        try:
            w_out, w_err = worker.communicate(timeout=90)
        finally:
            _finish(worker, master)
        assert hits == []
    assert worker.returncode == 2, (w_out, w_err)
    assert f"master sent target {url}; this worker was started for {other}" in w_err, w_err
    assert "Traceback" not in w_err


@pytest.mark.integration
def test_another_secret_is_named_on_both_sides(tmp_path, server):
    """An honest mistake (another YZT_SECRET on the worker): the worker says the master did not prove
    the secret and sends nothing; the master names the worker that declined."""
    port = free_port()
    out = tmp_path / "out"
    url = server
    master = subprocess.Popen(
        [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k1", "--seed", "7",
         "--subjects", "200", "--rate", "20", "--duration", "4s", "--workers", "0",
         "--remote-workers", "1", "--master-port", str(port), "--out", str(out)],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "yzt", "load", "--worker", "--master-host", "127.0.0.1", "--master-port",
         str(port), "--target", url], cwd=tmp_path, env=dict(ENV, YZT_SECRET="another-secret"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        w_out, w_err = worker.communicate(timeout=90)
        deadline = time.monotonic() + 20
        while not list((out / "raw").glob("refused-*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        _finish(worker, master)
    assert worker.returncode == 2, (w_out, w_err)
    assert "did not prove it holds this worker's secret" in w_err, w_err
    refusals = [json.loads(p.read_text(encoding="utf-8"))["reason"] for p in (out / "raw").glob("refused-*")]
    assert any(r.startswith("the worker declined: the master at") for r in refusals), refusals


# -- the master's and the worker's address flags ----------------------------------------------

def _busy_port() -> Iterator[int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.integration
def test_master_bind_host_that_is_no_address_names_the_flag(tmp_path, server):
    """After a passing preflight, ``--master-bind-host 256.0.0.1`` was a traceback from Locust's port
    probe."""
    url = server
    run = subprocess.run(
        [sys.executable, "-m", "yzt", "load", url, "--operator", "R07", "--key-id", "k1", "--seed", "7",
         "--subjects", "200", "--rate", "5", "--duration", "2s", "--remote-workers", "1",
         "--master-bind-host", "256.0.0.1", "--out", str(tmp_path / "out")],
        env=ENV, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2, run.stderr
    assert "--master-bind-host '256.0.0.1' is not an address" in run.stderr
    assert "Traceback" not in run.stderr


LOAD = ["load", "http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1", "--seed", "7", "--rate", "5"]


@pytest.mark.parametrize(("argv", "message"), [
    ([*LOAD, "--workers", "2", "--master-bind-host", "no.such.host.invalid"],
     "--master-bind-host 'no.such.host.invalid' is not an address"),
    ([*LOAD, "--workers", "2", "--master-bind-host", "192.0.2.1"],
     "--master-bind-host '192.0.2.1': cannot listen there"),
    ([*LOAD, "--workers", "2", "--master-port", "70000"], "--master-port must be between 1 and 65535"),
    ([*LOAD, "--workers", "2", "--master-port", "BUSY"], "--master-port BUSY is already in use"),
    ([*LOAD, "--target", "http://127.0.0.1:9"], "--target is for --worker"),
    (["load", "--worker", "--master-host", "127.0.0.1"], "--worker needs --target URL"),
    (["load", "--worker", "--master-host", "127.0.0.1", "--target", "http://127.0.0.1:9",
      "--master-port", "-5"], "--master-port must be between 1 and 65535"),
    (["load", "--worker", "--master-host", "no.such.host.invalid", "--target", "http://127.0.0.1:9"],
     "--master-host 'no.such.host.invalid' does not resolve"),
])
def test_master_and_worker_address_flags_name_the_flag(argv, message, monkeypatch, capsys):
    """``yzt ARGV`` in this process (the flags are refused before any process or load starts)."""
    from yzt.cli import main

    monkeypatch.setenv("YZT_SECRET", DEFAULT_SECRET.decode())
    busy = _busy_port()
    port = str(next(busy))
    argv = [port if a == "BUSY" else a for a in argv]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    busy.close()
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert message.replace("BUSY", port) in err, err
    assert "Traceback" not in err
