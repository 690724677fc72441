"""A false load master, or an eavesdropper that replays, speaking Locust's own protocol (``locust.rpc``).

Run as its own process (importing Locust patches the interpreter with gevent); it prints the port it
listens on as the first line of standard output, then writes what it saw as JSON to ``--out``.

- ``master --scenario config|forged --target URL``: a false master. It acks a worker, and on the
  worker's hello sends a run configuration for ``URL`` (seed 7: the subjects' names and ID numbers
  follow from it) and a spawn message: ``config`` straight away, ``forged`` after a challenge and a
  configuration MAC it cannot compute (random bytes). It records every message the worker sends,
  for ``--seconds`` or until the worker quits.
- ``relay --master-port M``: sits between a genuine worker (which connects to it) and a genuine
  master on ``M``, forwarding both ways and recording the worker's handshake. Once the master has
  sent the worker its configuration, it connects to ``M`` itself under another identity and replays
  the worker's recorded handshake messages, recording what the master answers.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import gevent
from locust import __version__
from locust.rpc import Message, zmqrpc

from yzt.loadtests.shapes import steady
from yzt.loadtests.traffic import RunConfig


def _record(msg: Any) -> dict[str, Any]:
    return {"type": msg.type, "data": msg.data}


def fake_master(scenario: str, target: str, out: Path, seconds: float) -> None:
    server = zmqrpc.Server("127.0.0.1", 0)
    print(server.port, flush=True)
    received: list[dict[str, Any]] = []
    clients: set[str] = set()
    config = RunConfig(target=target, operator="R07", key_id="k1", shape=steady(20.0, 3.0), out_dir="",
                       seed=7, subjects=50, users_per_process=5, lead_s=0.2, clock_offset_s=3600.0)

    def attack(client_id: str) -> None:
        def send(kind: str, data: Any) -> None:
            server.send_to_client(Message(kind, data, client_id))

        if scenario == "forged":
            send("yzt_challenge", {"nonce": secrets.token_hex(16), "proof": secrets.token_hex(32)})
            gevent.sleep(0.2)
        send("yzt_config", {"config": config.to_json(), "fixtures_text": None,
                            "mac": secrets.token_hex(32)})
        send("update_user_class", {"user_class_name": "PlatformUser", "host": target})
        gevent.sleep(0.2)
        send("spawn", {"timestamp": time.time(), "user_classes_count": {"PlatformUser": 5}, "host": target,
                       "stop_timeout": None, "parsed_options": {}})

    def receive() -> None:
        while True:
            client_id, msg = server.recv_from_client()
            received.append(_record(msg))
            if msg.type == "client_ready":
                clients.add(client_id)
                server.send_to_client(Message("ack", {"index": 0}, client_id))
            elif msg.type == "yzt_hello":
                gevent.spawn(attack, client_id)

    def heartbeat() -> None:
        while True:
            for client_id in list(clients):
                server.send_to_client(Message("heartbeat", None, client_id))
            gevent.sleep(1.0)

    greenlets = [gevent.spawn(receive), gevent.spawn(heartbeat)]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not any(m["type"] == "quit" for m in received):
        gevent.sleep(0.1)
    gevent.sleep(0.5)  # whatever the worker still sends on its way out
    gevent.killall(greenlets)
    out.write_text(json.dumps(received, ensure_ascii=False), encoding="utf-8")


def relay(master_port: int, out: Path, seconds: float) -> None:
    server = zmqrpc.Server("127.0.0.1", 0)
    print(server.port, flush=True)
    captured: list[dict[str, Any]] = []  # the genuine worker's handshake messages
    downstream: list[dict[str, Any]] = []  # what the genuine master sent it
    replayed: list[dict[str, Any]] = []  # what the master answered the replay
    upstream: list[Any] = []

    def from_master(client: Any) -> None:
        while True:
            msg = client.recv()
            if msg.type.startswith("yzt_"):
                downstream.append(_record(msg))
            server.send_to_client(msg)

    def from_worker() -> None:
        while True:
            client_id, msg = server.recv_from_client()
            if not upstream:
                upstream.append(zmqrpc.Client("127.0.0.1", master_port, client_id))
                gevent.spawn(from_master, upstream[0])
            if msg.type.startswith("yzt_"):
                captured.append(_record(msg))
            upstream[0].send(msg)

    def replay() -> None:
        while not any(m["type"] == "yzt_config" for m in downstream):
            gevent.sleep(0.1)
        attacker = f"attacker_{secrets.token_hex(8)}"
        client = zmqrpc.Client("127.0.0.1", master_port, attacker)

        def listen() -> None:
            while True:
                replayed.append(_record(client.recv()))

        gevent.spawn(listen)
        client.send(Message("client_ready", __version__, attacker))
        gevent.sleep(0.5)
        for message in list(captured):
            client.send(Message(message["type"], message["data"], attacker))
            gevent.sleep(0.5)
        gevent.sleep(3.0)

    greenlets = [gevent.spawn(from_worker)]
    done = gevent.spawn(replay)
    done.join(timeout=seconds)
    gevent.killall([*greenlets, done])
    out.write_text(json.dumps({"captured": captured, "downstream": downstream, "replayed": replayed},
                              ensure_ascii=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("master", "relay"))
    parser.add_argument("--scenario", choices=("config", "forged"), default="config")
    parser.add_argument("--target", default="")
    parser.add_argument("--master-port", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    if args.mode == "master":
        fake_master(args.scenario, args.target, args.out, args.seconds)
    else:
        relay(args.master_port, args.out, args.seconds)
    sys.exit(0)


if __name__ == "__main__":
    main()
