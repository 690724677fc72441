"""``yzt serve``: the reference operator, a real sandbox server for the whole protocol."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from yzt.commands.common import add_secret_argument, add_subjects_argument, read_secret
from yzt.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="run the reference operator (a sandbox server for the whole protocol)",
        description="Serve the YZT operator interface for one operator on loopback, with its cards "
        "from a fixture file or generated from a seed, durable state in SQLite, optional fault "
        "injection and seeded defects. The shared secret comes from YZT_SECRET or --secret-file.",
    )
    p.add_argument("--operator", help="operator id: CMCC, CUCC, CTCC or R01…R39")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--fixtures", type=Path, metavar="FILE", help="fixture file (JSON Lines)")
    src.add_argument("--seed", type=int, help="generate fixtures from this seed (default 1)")
    add_subjects_argument(p)
    p.add_argument("--key-id", help="the key id the platform signs with (X-YZT-Key-Id)")
    add_secret_argument(p)
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8700, help="listen port (default 8700)")
    p.add_argument("--db", type=Path, help="SQLite file for durable state (default: a temporary file)")
    p.add_argument("--base-path", default="", help="serve under this prefix, e.g. /yzt")
    p.add_argument("--defect", action="append", default=[], metavar="NAME",
                   help="turn on a seeded defect (repeatable; see --list-defects)")
    p.add_argument("--list-defects", action="store_true", help="list the seeded defects and exit")
    p.add_argument("--variant", action="append", default=[], metavar="NAME",
                   help="turn on a legal variant: a freedom the protocol leaves to an operator "
                   "(repeatable, combinable; see --list-variants)")
    p.add_argument("--list-variants", action="store_true",
                   help="list the legal variants and exit")
    p.add_argument("--no-sandbox-clock", action="store_true",
                   help="answer POST /v1/sandbox/clock with 404 like a production operator")
    p.add_argument("--extra-members", action="store_true",
                   help="add members the protocol does not name to dispute and cancellation status "
                   "answers (received_at, accepted_at, complete_by), as some operators do: allowed, "
                   "reported by yzt conform as warnings")
    p.add_argument("--bench-hello", action="store_true",
                   help="add GET /bench/hello, a bare endpoint for benchmarks")
    p.add_argument("--faults", type=Path, metavar="FILE", help="fault profile (YAML)")
    p.add_argument("--latency-p50-ms", type=float, help="lognormal latency: median (ms)")
    p.add_argument("--latency-p99-ms", type=float, help="lognormal latency: 99th percentile (ms)")
    p.add_argument("--error-ratio", type=float, default=0.0, help="share of requests failing (0-1)")
    p.add_argument("--error-status", type=int, choices=(500, 503), action="append",
                   help="status of injected errors (repeatable; default 503)")
    p.add_argument("--rate-limit", type=float, metavar="RPS", help="answer 429 above this rate")
    p.add_argument("--outage", action="append", default=[], metavar="START:END",
                   help="503 between START and END seconds after start (repeatable)")
    p.add_argument("--access-log", type=Path, metavar="FILE",
                   help="access log file, appended to (default stderr)")
    p.add_argument("--no-access-log", action="store_true", help="no access log (benchmarks)")
    p.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="close a connection whose request line and headers have not all arrived "
                   "within this many seconds (default 10; 0: no bound)")
    p.set_defaults(func=run)


def _faults(args: argparse.Namespace) -> object:
    from yzt.server.faults import FaultProfile, Latency, Outage, load_profile

    if args.faults:
        flags = (args.latency_p50_ms, args.latency_p99_ms, args.rate_limit, args.error_status)
        if any(f is not None for f in flags) or args.error_ratio or args.outage:
            raise UserError("give faults either in --faults FILE or as flags, not both")
        return load_profile(args.faults)
    latency = None
    if (args.latency_p50_ms is None) != (args.latency_p99_ms is None):
        raise UserError("--latency-p50-ms and --latency-p99-ms go together")
    if args.latency_p50_ms is not None:
        try:
            latency = Latency(args.latency_p50_ms, args.latency_p99_ms)
        except ValueError as exc:
            raise UserError(f"--latency-p50-ms/--latency-p99-ms: {exc}") from None
    if not 0.0 <= args.error_ratio <= 1.0:
        raise UserError(f"--error-ratio must be between 0 and 1, got {args.error_ratio}")
    if args.rate_limit is not None and args.rate_limit <= 0:
        raise UserError(f"--rate-limit must be > 0 requests per second, got {args.rate_limit}")
    outages = []
    for spec in args.outage:
        try:
            start, end = (float(x) for x in spec.split(":"))
        except ValueError:
            raise UserError(f"--outage {spec!r}: use START:END in seconds after start, e.g. 10:20") from None
        if not 0 <= start < end:
            raise UserError(f"--outage {spec!r}: need 0 <= START < END")
        outages.append(Outage(start, end))
    return FaultProfile(latency=latency, error_ratio=args.error_ratio,
                        error_statuses=tuple(args.error_status or (503,)), outages=tuple(outages),
                        rate_limit=args.rate_limit)


def _access_log_handler(path: Path | None) -> logging.Handler:
    """The access log's handler: ``path`` opened for appending, or standard error. A path that
    cannot be written is a :class:`UserError` naming ``--access-log`` and the fix."""
    if path is None:
        return logging.StreamHandler(sys.stderr)
    if path.is_dir():
        raise UserError(f"--access-log {path} is a directory; give a file path, e.g. "
                        f"--access-log {path / 'access.log'}")
    try:
        return logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        folder = "its folder does not exist" if isinstance(exc, FileNotFoundError) else exc.strerror
        raise UserError(f"--access-log {path}: cannot write to it ({folder}); give a file in a "
                        "folder you can write to, or leave the flag out to log to standard error"
                        ) from None


def list_defects() -> str:
    """The catalogue as text, one defect a line: name, requirement, description."""
    from yzt.server.defects import DEFECTS

    width = max(len(n) for n in DEFECTS)
    return "\n".join(f"{d.name:<{width}}  {d.requirement:<11}  {d.description}"
                     for d in DEFECTS.values())


def list_variants() -> str:
    """The variants as text, one a line: name, then what it changes."""
    from yzt.server.variants import VARIANTS

    width = max(len(n) for n in VARIANTS)
    return "\n".join(f"{v.name:<{width}}  {v.changes}" for v in VARIANTS.values())


def _variants(names: list[str]) -> frozenset[str]:
    """``--variant`` values checked: known names that can run together."""
    from yzt.server.variants import VariantName, conflicts

    unknown = [n for n in names if n not in VariantName.__members__.values()]
    if unknown:
        raise UserError(f"--variant {unknown[0]!r} is not a variant (see yzt serve --list-variants)")
    if clash := conflicts(names):
        raise UserError(clash)
    return frozenset(names)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile

    if args.list_defects:
        print(list_defects())
        return 0
    if args.list_variants:
        print(list_variants())
        return 0
    with tempfile.TemporaryDirectory(prefix="yzt-serve-") as tmp:
        asyncio.run(prepare(args, Path(tmp))())
        print("yzt serve: stopped", file=sys.stderr, flush=True)
    return 0


def prepare(args: argparse.Namespace, tmp: Path) -> Callable[..., Coroutine[Any, Any, None]]:
    """Check the flags, open the store (in ``tmp`` without ``--db``) and build the application;
    return the coroutine function that serves it until SIGTERM or SIGINT (or until the ``stop``
    event it may be given is set: several servers in one process, as yzt's tests run them)."""
    import functools

    from yzt.domain.masking import MaskingFilter
    from yzt.server.app import ACCESS_LOG, AccessLogger, create_app
    from yzt.server.config import ServerConfig
    from yzt.server.defects import DefectName
    from yzt.server.faults import FaultProfile
    from yzt.server.http import serve
    from yzt.server.variants import VariantName

    if not args.operator:
        raise UserError("--operator is required (e.g. --operator R07)")
    if not args.key_id:
        raise UserError("--key-id is required (the key id the platform signs with)")
    unknown = [d for d in args.defect if d not in DefectName.__members__.values()]
    if unknown:
        raise UserError(f"unknown defect {unknown[0]!r} (see yzt serve --list-defects)")
    if not 1 <= args.subjects <= 1_000_000:
        raise UserError(f"--subjects must be between 1 and 1000000, got {args.subjects}")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be 0-65535, got {args.port}")
    if not (math.isfinite(args.header_timeout) and 0 <= args.header_timeout <= 3600):
        raise UserError(f"--header-timeout must be between 0 and 3600 seconds, got "
                        f"{args.header_timeout:g}")
    variants = _variants(args.variant)
    secret = read_secret(args)
    faults = _faults(args)
    handler = _access_log_handler(None if args.no_access_log else args.access_log)
    assert isinstance(faults, FaultProfile)
    from yzt.domain.topology import load_topology

    load_topology().get(args.operator)
    try:
        config = ServerConfig(
            operator_id=args.operator, key_id=args.key_id, secret=secret,
            db=args.db or tmp / "operator.sqlite", fixtures=args.fixtures,
            seed=args.seed if args.seed is not None else 1, subjects=args.subjects,
            base_path=args.base_path, defects=frozenset(DefectName(d) for d in args.defect),
            variants=frozenset(VariantName(v) for v in variants),
            sandbox_clock=not args.no_sandbox_clock, extra_members=args.extra_members,
            bench_hello=args.bench_hello, faults=faults)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    app = create_app(config)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    handler.addFilter(MaskingFilter())
    ACCESS_LOG.handlers[:] = [handler]
    ACCESS_LOG.setLevel(logging.INFO)
    ACCESS_LOG.propagate = False
    defects = f" with defects {', '.join(sorted(args.defect))}" if args.defect else ""
    if variants:
        defects += f" with variants {', '.join(sorted(variants))}"

    def ready(port: int) -> None:
        print(f"yzt serve: {args.operator} on http://{args.host}:{port}{args.base_path}"
              f"{defects} (db {config.db})", file=sys.stderr, flush=True)

    return functools.partial(serve, app, args.host, args.port,
                             access_log=None if args.no_access_log else ACCESS_LOG,
                             access_log_class=AccessLogger, on_ready=ready,
                             problem_errors=not config.has(DefectName.PLAIN_HTTP_ERRORS),
                             header_timeout=args.header_timeout)
