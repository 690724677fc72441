"""Benchmark of the reference operator: signed card-count vs a bare "hello" endpoint, same stack.

Starts ``yzt serve --bench-hello --no-access-log`` in its own process, then runs a load generator in
another process (asyncio + aiohttp, ``--clients`` concurrent clients, no think time, bounded by
``--seconds`` and ``--max-requests``) against each endpoint in turn. The generator does the same work
for both (it signs a card-count body and sends it), so the ratio isolates the server's cost.

    python benchmarks/server_bench.py --clients 50 --seconds 8 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SECRET = b"bench-secret-0123456789abcdef"


def _subjects(n: int) -> list[tuple[str, str]]:
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures

    fx = generate_fixtures(load_topology().get("R07"), 7, 200)
    return [(s.name, s.id_number) for s in fx.subjects().values()][:n]


async def _load(url: str, path: str, clients: int, seconds: float, max_requests: int,
                subjects: list[tuple[str, str]]) -> dict[str, Any]:
    import uuid

    import aiohttp

    from yzt.signing import format_time, make_ticket, signed_headers

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    sent = 0

    async def worker(session: aiohttp.ClientSession, k: int) -> None:
        nonlocal errors, sent
        i = k
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            name, id_number = subjects[i % len(subjects)]
            i += clients
            at = format_time(__import__("datetime").datetime.now(__import__("datetime").UTC))
            body = json.dumps({"query_id": str(uuid.uuid4()),
                               "subject": {"name": name, "id_type": "resident_id",
                                           "id_number": id_number},
                               "verification": {"method": "sms_code", "verified_at": at,
                                                "ticket": make_ticket(SECRET, "sms_code", id_number,
                                                                      name, at)}},
                              ensure_ascii=False).encode()
            headers = signed_headers("k1", SECRET, "POST", "/v1/card-count", body,
                                     timestamp=int(time.time()))
            headers["Content-Type"] = "application/json"
            started = time.perf_counter()
            async with session.post(url + path, data=body, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, k) for k in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"path": path, "requests": len(latencies), "errors": errors, "seconds": elapsed,
            "rps": len(latencies) / elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


def _generator(url: str, path: str, clients: int, seconds: float, max_requests: int,
               out: Any) -> None:
    out.put(asyncio.run(_load(url, path, clients, seconds, max_requests, _subjects(200))))


def run_load(url: str, path: str, args: argparse.Namespace) -> dict[str, Any]:
    """One load run in a separate process (the generator must not share the server's CPU time)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_generator, args=(url, path, args.clients, args.seconds,
                                                args.max_requests, queue))
    proc.start()
    result: dict[str, Any] = queue.get(timeout=args.seconds + 120)
    proc.join(timeout=30)
    return result


def cpu_model() -> str:
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate hello and card-count this many times; the median ratio counts "
                        "(this machine's speed drifts between runs more than the effect measured)")
    args = parser.parse_args()
    from yzt.server.testing import free_port, wait_healthy

    port = free_port()
    env = dict(os.environ, YZT_SECRET=SECRET.decode())
    cmd = [sys.executable, "-m", "yzt", "serve", "--operator", "R07", "--seed", "7", "--subjects",
           "200", "--key-id", "k1", "--port", str(port), "--bench-hello", "--no-access-log"]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        run_load(url, "/bench/hello", argparse.Namespace(**{**vars(args), "seconds": 1.0}))  # warm-up
        pairs = [(run_load(url, "/bench/hello", args), run_load(url, "/v1/card-count", args))
                 for _ in range(max(1, args.rounds))]
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}")
    print(f"load: {args.clients} concurrent clients, {args.seconds:.0f} s each, asyncio+aiohttp "
          f"generator in its own process, {len(pairs)} alternating round(s)")
    ratios = []
    for i, (hello, count) in enumerate(pairs, start=1):
        for r in (hello, count):
            print(f"round {i} {r['path']:<16} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                  f"p99 {r['p99_ms']:6.1f} ms  ({r['requests']} requests, {r['errors']} errors)")
        ratios.append(count["rps"] / hello["rps"])
        print(f"round {i} ratio card-count / hello: {ratios[-1]:.2f}")
    median = sorted(ratios)[len(ratios) // 2]
    print(f"median ratio card-count / hello over {len(ratios)} round(s): {median:.2f} (target >= 0.6)")
    errors = sum(h["errors"] + c["errors"] for h, c in pairs)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
