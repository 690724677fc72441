"""Set up one conformance run: reach the target, read its sandbox clock, run the selected checks.

Both ``yzt conform`` and the tests call :func:`open_context` and :func:`run_suite`, so the tests
drive exactly what users run (with an ``httpx.MockTransport`` when they want canned answers).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date

import httpx

from yzt.conformance.context import RunContext, new_client
from yzt.conformance.registry import load_checks
from yzt.conformance.runner import Listener, RunFinished, Runner
from yzt.conformance.waivers import Waiver
from yzt.errors import UserError
from yzt.fixtures import FixtureSet


def open_context(target: str, operator_id: str, key_id: str, secret: bytes, fixtures: FixtureSet,
                 *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None,
                 run_seed: int | None = None) -> RunContext:
    """A ready context; a target that refuses connections is a usage error (exit 2).

    ``run_seed`` picks the subjects that disputes and cancellations change (a random one by
    default, so that a rerun against the same sandbox picks fresh subjects).
    """
    if not target.startswith(("http://", "https://")):
        raise UserError(f"TARGET_URL must start with http:// or https://, got {target!r}")
    if fixtures.operator_id != operator_id:
        raise UserError(f"the fixtures are for {fixtures.operator_id}, not --operator {operator_id}")
    client = new_client(target, key_id, secret, timeout=timeout, transport=transport)
    first = client.send("GET", "/v1/service-info", sign=False)
    if first.error and first.error.startswith("cannot connect"):
        client.close()
        reason = "connection refused" if "refused" in first.error.lower() else first.error
        raise UserError(f"cannot reach {target} — {reason}")
    seed = run_seed if run_seed is not None else random.SystemRandom().randrange(1 << 31)
    # A sandbox clock moved by an earlier run is days ahead: follow its Date header first, so the
    # signed clock read below is not refused for timestamp skew.
    client.sync_clock()
    ctx = RunContext(client, fixtures, operator_id, rng=random.Random(seed), run_seed=seed)
    ctx.detect_sandbox_clock()
    return ctx


def run_suite(ctx: RunContext, *, target: str = "", only: str | None = None,
              waivers: Sequence[Waiver] = (), listeners: Sequence[Listener] = (),
              today: date | None = None) -> RunFinished:
    """Run the registered checks (those under ``only`` when given) and return the final event."""
    specs = load_checks().select(only)
    if not specs:
        raise UserError(f"--only {only!r} selects no check (see yzt conform --list)")
    return Runner(ctx, specs, target=target, waivers=waivers, listeners=listeners,
                  today=today).run()
