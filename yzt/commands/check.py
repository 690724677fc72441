"""``yzt check``: the whole job on the embedded default, in one command.

It writes fixtures, starts the reference operator on loopback, runs the conformance suite and a
short load test against it, runs a simulation scenario, and writes one report (HTML with plots,
Markdown, JSON, JUnit) from the records those runs left, with ``check.json`` naming the steps, so
``yzt report`` on the same folder renders the same report again. Each step is the same public command a
user would run (``yzt serve``, ``yzt conform``, ``yzt load``, ``yzt sim``), run as a child process,
so the check exercises exactly what users get, and a step that fails leaves the others' results.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from yzt.commands.common import add_lang_argument, add_subjects_argument, output_dir
from yzt.errors import UserError
from yzt.verdict import Verdict, from_exit_code

if TYPE_CHECKING:
    from collections.abc import Iterator


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check",
        help="run everything on the embedded default and write one report",
        description="Generate fixtures, start the reference operator on 127.0.0.1, run the "
        "conformance suite, a short load test and a simulation scenario, then write a report "
        "(report.html, report.md, report.json, junit.xml) to --out.",
    )
    p.add_argument("--out", type=output_dir, default=Path("out/check"),
                   help="output folder, created if missing (default out/check)")
    p.add_argument("--operator", default="R07", help="operator id to impersonate (default R07)")
    p.add_argument("--seed", type=int, default=7, help="seed for fixtures and simulation (default 7)")
    add_subjects_argument(p)
    p.add_argument("--load-rate", type=float, default=20.0, help="load test rate, req/s (default 20)")
    p.add_argument("--load-duration", default="10s", help="load test duration (default 10s)")
    p.add_argument("--scenario", default="baseline", help="simulation scenario (default baseline)")
    p.add_argument("--replications", type=int, default=4, help="simulation replications (default 4)")
    p.add_argument("--rate-limit", type=float, default=150.0,
                   help="the reference operator answers 429 above this rate, so that overload handling "
                   "(OIF-ERR-2) can be judged; keep it above --load-rate (default 150)")
    p.add_argument("--skip", action="append", default=[], choices=["conform", "load", "sim"],
                   help="leave out a step (repeatable)")
    add_lang_argument(p)
    p.set_defaults(func=run)


def _yzt(*args: str) -> list[str]:
    return [sys.executable, "-m", "yzt", *args]


@contextmanager
def _reference_operator(args: argparse.Namespace, fixtures: Path, env: dict[str, str],
                        log: Path) -> Iterator[str]:
    """Start ``yzt serve`` on a free loopback port; yield its base URL; stop it with SIGTERM."""
    from yzt.server.testing import free_port, stop_process, wait_healthy

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = args.out / "operator.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with log.open("w", encoding="utf-8") as log_fh:
        proc = subprocess.Popen(
            _yzt("serve", "--operator", args.operator, "--fixtures", str(fixtures), "--key-id",
                 "yzt-check", "--host", "127.0.0.1", "--port", str(port), "--db", str(db),
                 "--rate-limit", str(args.rate_limit)),
            env=env, stdout=log_fh, stderr=subprocess.STDOUT)
        try:
            try:
                wait_healthy(url, proc)
            except RuntimeError as exc:
                raise UserError(f"the reference operator did not start: {exc}; see {log}") from None
            yield url
        finally:
            stop_process(proc)


def _step(name: str, cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> Verdict:
    """Run one sub-command; return the verdict its exit status tells."""
    print(f"yzt check: {name} …", file=sys.stderr, flush=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as log_fh:
        try:
            proc = subprocess.run(cmd, env=env, stdout=log_fh, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            print(f"yzt check: {name} did not finish within {timeout:.0f} s (see {log})", file=sys.stderr)
            return Verdict.ERROR
    verdict = from_exit_code(proc.returncode)
    print(f"yzt check: {name}: {verdict.value} ({time.monotonic() - started:.1f} s, log {log})",
          file=sys.stderr, flush=True)
    return verdict


def run(args: argparse.Namespace) -> int:
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, write_fixtures
    from yzt.reports.readers import read_dirs
    from yzt.reports.render import write_report

    if args.replications < 1:
        raise UserError(f"--replications must be at least 1, got {args.replications}")
    if args.load_rate >= args.rate_limit:
        raise UserError(f"--load-rate ({args.load_rate:g}) must stay below --rate-limit "
                        f"({args.rate_limit:g}), or the load test measures the rate limit")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    operator = load_topology().get(args.operator)
    fixtures_path = out / "fixtures.jsonl"
    write_fixtures(generate_fixtures(operator, args.seed, args.subjects), fixtures_path)
    # The secret is made here, handed to children in their environment, and never written down.
    env = {**os.environ, "YZT_SECRET": secrets.token_hex(32)}
    common = ["--operator", args.operator, "--key-id", "yzt-check", "--fixtures", str(fixtures_path),
              "--lang", args.lang]
    verdicts: dict[str, Verdict] = {}
    if not {"conform", "load"} <= set(args.skip):
        with _reference_operator(args, fixtures_path, env, logs / "serve.log") as url:
            if "conform" not in args.skip:
                verdicts["conform"] = _step(
                    "conformance suite", _yzt("conform", url, *common, "--out", str(out / "conform")),
                    env, logs / "conform.log", timeout=300)
            if "load" not in args.skip:
                verdicts["load"] = _step(
                    "load test", _yzt("load", url, *common, "--rate", str(args.load_rate), "--duration",
                                      args.load_duration, "--out", str(out / "load")),
                    env, logs / "load.log", timeout=600)
    if "sim" not in args.skip:
        verdicts["sim"] = _step(
            "simulation", _yzt("sim", args.scenario, "--replications", str(args.replications),
                               "--seed", str(args.seed), "--out", str(out / "sim"), "--quiet"),
            env, logs / "sim.log", timeout=1800)

    record = {"operator": args.operator, "steps": {k: v.value for k, v in verdicts.items()}}
    (out / "check.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    report = read_dirs([out], args.lang, out_dir=out)
    paths = write_report(report, out)
    print(f"yzt check: verdict {report.verdict.value.upper()} — report {paths['html']}",
          file=sys.stderr)
    return report.verdict.exit_code
