"""One federation worker process: a share of the nodes, each a reference operator on its own port.

``python -P -m yzt.spawn PARENT yzt.twin.worker SPEC.json`` (see :mod:`yzt.spawn`: the worker dies
with the process that started it). Every node is a whole reference operator
(:func:`yzt.server.app.create_app`: its own fixtures, key and SQLite file) wrapped in its scenario
behaviour (:mod:`yzt.twin.behaviour`); all of them run on one event loop, each on its own
127.0.0.1 port. The worker reports on standard output, one JSON line a node
(``{"node": "R07", "port": 41234}``) and ``{"ready": true}`` when all listen, then serves until
SIGTERM or SIGINT. Handlers are cancelled when their client disconnects, so a node's in-flight
count falls as soon as the platform gives up a call (its timeout holds the connection, not the
server's sleep).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

#: Seconds a stopping worker waits for its handlers (hung outage calls are cut short).
SHUTDOWN_S = 1.0


def _fixtures(node: dict[str, Any]) -> Path:
    """The node's fixture file, generated from its seed when it is not there yet."""
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, write_fixtures

    path = Path(node["fixtures"])
    if not path.exists():
        fixtures = generate_fixtures(load_topology().get(node["operator"]), int(node["fixture_seed"]),
                                     int(node["subjects"]))
        tmp = path.with_suffix(".tmp")
        write_fixtures(fixtures, tmp)
        tmp.replace(path)
    return path


def build_app(node: dict[str, Any]) -> web.Application:
    """The reference operator of one node, with the node's behaviour outermost."""
    from yzt.server.app import create_app
    from yzt.server.config import ServerConfig
    from yzt.twin.behaviour import NodeBehaviour, NodeState, middleware

    secret = Path(node["secret_file"]).read_text(encoding="utf-8").strip().encode()
    config = ServerConfig(operator_id=node["operator"], key_id=node["key_id"], secret=secret,
                          db=Path(node["db"]), fixtures=_fixtures(node))
    app = create_app(config)
    state = NodeState(NodeBehaviour.from_dict(node["behaviour"]), node["node"])
    app.middlewares.insert(0, middleware(state))
    return app


def _say(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


async def serve(spec: dict[str, Any]) -> None:
    """Start every node of ``spec``, report each port, serve until SIGTERM or SIGINT."""
    from yzt.server.http import MAX_FIELD_SIZE, MAX_HEADERS, MAX_LINE_SIZE, YztAppRunner

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runners: list[YztAppRunner] = []
    from yzt.twin.behaviour import LOOP_LAG

    watch = asyncio.create_task(LOOP_LAG.watch())
    try:
        for node in spec["nodes"]:
            runner = YztAppRunner(build_app(node), problem_errors=True, head_timeout=10.0,
                                  handler_cancellation=True, access_log=None,
                                  shutdown_timeout=SHUTDOWN_S, max_line_size=MAX_LINE_SIZE,
                                  max_field_size=MAX_FIELD_SIZE, max_headers=MAX_HEADERS)
            await runner.setup()
            runners.append(runner)
            site = web.TCPSite(runner, "127.0.0.1", int(node.get("port", 0)))
            await site.start()
            _say({"node": node["node"], "port": int(runner.addresses[0][1])})
            if stop.is_set():
                return
        _say({"ready": True})
        await stop.wait()
    finally:
        watch.cancel()
        for runner in runners:
            await runner.cleanup()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m yzt.twin.worker SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    asyncio.run(serve(spec))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
