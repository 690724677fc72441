"""Time the OIF-PII-1 sweep on 10 MB bodies, and ``yzt conform`` against an endpoint whose every answer
is 10 MB.

Part 1 scans one 10 MB body with the fixture values a conformance run knows (R07, seed 7, 300
subjects: about 1,300 ID numbers, MSISDNs and names) two ways:

- ``loop``: one ``value in text`` per known value (how the sweep worked before);
- ``one pass``: :func:`yzt.conformance.checks.pii.leaked_values`, one Aho–Corasick pass for the
  known values plus the stand-alone shape patterns.

Part 2 (``--conform``) serves a 10 MB body to every request from a local thread and times a whole
``yzt conform`` run against it (the client keeps the first 1 MiB of each answer). ``--pythonpath
DIR`` runs that ``yzt`` from another source tree, e.g. an older commit unpacked with ``git archive``,
to compare. Run from the repository root:

    python benchmarks/pii_sweep_bench.py --markdown --conform
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from yzt.conformance.checks.pii import leaked_values, shaped_like_pii
from yzt.domain.masking import KnownValues, mask_id_number, mask_msisdn, mask_name
from yzt.domain.topology import load_topology
from yzt.fixtures import generate_fixtures

SIZE = 10 * 1024 * 1024


def known_values() -> dict[str, str]:
    """Full value → masked form, as a conformance run registers them."""
    fixtures = generate_fixtures(load_topology().get("R07"), 7, 300)
    known: dict[str, str] = {}
    for card in fixtures.cards:
        known[card.msisdn] = mask_msisdn(card.msisdn)
        known[card.id_number] = mask_id_number(card.id_number)
        if len(card.name) >= 2:
            known[card.name] = mask_name(card.name)
    return known


def bodies(known: dict[str, str]) -> dict[str, str]:
    """Three 10 MB bodies: letters, digits, and JSON records with one known MSISDN at the very end."""
    rng = random.Random(1)
    digits = "".join(rng.choice("0123456789") for _ in range(1 << 20))
    records = json.dumps([{"card_ref": f"c{rng.randrange(10**12)}", "n": rng.randrange(10**17),
                           "status": "active"} for _ in range(SIZE // 60)])[:SIZE - 40]
    last = next(v for v in known if v.isdigit() and len(v) == 11)
    return {"letters": "x" * SIZE, "digits": (digits * 10)[:SIZE],
            "json records": records + f' "{last}"'}


def loop_sweep(text: str, known: dict[str, str]) -> list[str]:
    leaked = sorted({masked for value, masked in known.items() if value in text})
    return leaked + sorted(set(shaped_like_pii(text)) - set(leaked))


def timed(fn: Callable[[], list[str]]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    found = fn()
    return time.perf_counter() - started, found


def serve_big_body() -> tuple[ThreadingHTTPServer, str]:
    body = b'{"filler":"' + b"3141592653" * ((SIZE - 13) // 10) + b'"}'

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        do_GET = do_POST = _answer  # http.server's naming

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def time_conform(pythonpath: str | None) -> tuple[float, int]:
    server, url = serve_big_body()
    env = {**os.environ, "YZT_SECRET": "bench-secret"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    try:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "yzt", "conform", url, "--operator", "R07",
                               "--key-id", "k", "--seed", "7", "--subjects", "300", "--timeout", "5"],
                              env=env, capture_output=True, text=True, timeout=900,
                              cwd=pythonpath)  # ``-m`` puts the working folder first on the path
        return time.perf_counter() - started, done.returncode
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--conform", action="store_true", help="also time a whole yzt conform run")
    parser.add_argument("--pythonpath", help="run that yzt conform from this source tree")
    args = parser.parse_args()
    known = known_values()
    matcher = KnownValues(known)
    print(f"machine: nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}; "
          f"{len(known)} known values")
    print("\n| body (10 MB) | loop over values s | one pass s | same findings |\n|---|---:|---:|---|")
    for name, text in bodies(known).items():
        before, found_before = timed(lambda text=text: loop_sweep(text, known))  # type: ignore[misc]
        after, found_after = timed(lambda text=text: leaked_values(text, matcher))  # type: ignore[misc]
        print(f"| {name} | {before:.2f} | {after:.2f} | {found_before == found_after} |")
    if args.conform:
        took, status = time_conform(args.pythonpath)
        tree = args.pythonpath or "this tree"
        print(f"\n`yzt conform` against a 10 MB answer to every request ({tree}): {took:.1f} s, "
              f"exit {status}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
