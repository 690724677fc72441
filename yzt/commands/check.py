"""``yzt check``: the whole job on the embedded default, in one command.

It writes fixtures, starts the reference operator on loopback, runs the conformance suite and a
short load test against it, runs a simulation scenario, and writes one report (HTML with plots,
Markdown, JSON, JUnit) from the records those runs left. Each step is the same public command a
user would run (``yzt serve``, ``yzt conform``, ``yzt load``, ``yzt sim``), run as a child process,
so the check exercises exactly what users get, and a step that fails leaves the others' results.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from yzt.commands.common import add_subjects_argument, output_dir
from yzt.errors import UserError

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Exit statuses of the sub-commands that mean "ran, and judged" rather than "could not run".
_JUDGED = {0: "pass", 1: "fail", 3: "incomplete"}


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


def _step(name: str, cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> str:
    """Run one sub-command; return its verdict word (pass, fail, incomplete or error)."""
    print(f"yzt check: {name} …", file=sys.stderr, flush=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as log_fh:
        try:
            proc = subprocess.run(cmd, env=env, stdout=log_fh, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            print(f"yzt check: {name} did not finish within {timeout:.0f} s (see {log})", file=sys.stderr)
            return "error"
    verdict = _JUDGED.get(proc.returncode, "error")
    print(f"yzt check: {name}: {verdict} ({time.monotonic() - started:.1f} s, log {log})",
          file=sys.stderr, flush=True)
    return verdict


def run(args: argparse.Namespace) -> int:
    from yzt import __version__
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, write_fixtures
    from yzt.reports.model import Report
    from yzt.reports.render import write_report
    from yzt.reports.sections import conform_section, load_section, missing_section, sim_section

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
    common = ["--operator", args.operator, "--key-id", "yzt-check", "--fixtures", str(fixtures_path)]
    verdicts: dict[str, str] = {}
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

    sections = []
    readers = {"conform": (conform_section, out / "conform" / "results.json"),
               "load": (load_section, out / "load" / "results.json"),
               "sim": (sim_section, out / "sim" / "sim-results.json")}
    for key, verdict in verdicts.items():
        reader, path = readers[key]
        sections.append(reader(path) if path.exists() else missing_section(key, verdict, path))
    report = Report(title=f"yzt check — {args.operator} (reference operator, embedded defaults)",
                    version=__version__, sections=tuple(sections))
    paths = write_report(report, out)
    print(f"yzt check: verdict {report.verdict.upper()} — report {paths['html']}", file=sys.stderr)
    return {"pass": 0, "fail": 1, "incomplete": 3}.get(report.verdict, 1)
