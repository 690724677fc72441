"""Set up one conformance run: reach the target, find its sandbox clock, run the selected checks.

Both ``yzt conform`` and the tests call :func:`open_context` and :func:`run_suite`, so the tests
drive exactly what users run (with an ``httpx.MockTransport`` when they want canned answers).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from datetime import date

import httpx

from yzt.clock import ClockMemory, ClockReading, discover_clock, not_read
from yzt.conformance.context import RecordingClient, RunContext, new_client
from yzt.conformance.preflight import preflight
from yzt.conformance.registry import CheckSpec, load_checks, split_patterns
from yzt.conformance.runner import PROFILES, Listener, Reproducer, RunFinished, Runner
from yzt.conformance.waivers import Waiver
from yzt.errors import UserError
from yzt.fixtures import FixtureSet


def open_context(target: str, operator_id: str, key_id: str, secret: bytes, fixtures: FixtureSet,
                 *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None,
                 run_seed: int | None = None, profile: str = "sandbox",
                 fixture_source: str = "the fixtures given", client: RecordingClient | None = None,
                 check_first: bool = True, id_salt: str | None = None,
                 clock_offset: float | None = None,
                 clock_memory: ClockMemory | None = None) -> RunContext:
    """A ready context, after the preflight (:mod:`yzt.conformance.preflight`): exit 2 when it fails.

    ``run_seed`` picks the subjects that disputes and cancellations change and the request ids (a
    random seed by default, so that a rerun against the same sandbox picks fresh subjects; the
    seed is printed, and giving it again re-runs the same requests). ``client`` replaces the
    network client (``yzt validate`` replays a recorded run through one; its clock is not read).
    ``check_first=False`` skips the preflight and the clock discovery (unit tests of single checks
    against canned answers). The sandbox clock is found as :func:`yzt.clock.discover_clock` says
    (``clock_offset`` is ``--clock-offset``); every clock the run reads or moves is remembered in
    ``clock_memory`` (default: the user's state folder), so the next command finds it.
    """
    if not target.startswith(("http://", "https://")):
        raise UserError(f"TARGET_URL must start with http:// or https://, got {target!r}")
    if fixtures.operator_id != operator_id:
        raise UserError(f"the fixtures are for {fixtures.operator_id}, not --operator {operator_id}")
    if profile not in PROFILES:
        raise UserError(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    replay = client is not None
    if client is None:
        client = new_client(target, key_id, secret, timeout=timeout, transport=transport,
                            clock_memory=clock_memory or ClockMemory.default())
    live_client = client

    def read_clock() -> ClockReading:
        if replay:
            return not_read("a recorded run replayed")
        if profile == "production":
            return not_read("production profile", clock_offset)
        with live_client.unrecorded():  # candidates refused for skew are not the operator's to answer for
            return discover_clock(live_client, explicit=clock_offset)

    seed = run_seed if run_seed is not None else random.SystemRandom().randrange(1 << 31)
    salt = id_salt if id_salt is not None else secrets.token_hex(8)
    client.seed_ids(seed, salt)
    try:
        ctx = RunContext(client, fixtures, operator_id, rng=random.Random(seed), run_seed=seed,
                         profile=profile, id_salt=salt, verify_untouched=check_first)
        if check_first:
            client.current_check = "(preflight)"
            ctx.preflight = preflight(client, fixtures, operator_id=operator_id,
                                      fixture_source=fixture_source, read_clock=read_clock)
            ctx.preflight_note = ctx.preflight.said()
            client.current_check = "(setup)"
        else:
            client.clock_offset = clock_offset or 0.0
        ctx.detect_sandbox_clock()
    except BaseException:
        client.close()
        raise
    return ctx


def run_suite(ctx: RunContext, *, target: str = "", only: Sequence[str] = (),
              waivers: Sequence[Waiver] = (), listeners: Sequence[Listener] = (),
              today: date | None = None, strict: bool = False,
              reproduce: Reproducer | None = None) -> RunFinished:
    """Run the registered checks (those ``only`` selects, when given) and return the final event."""
    specs = select_checks(only)
    return Runner(ctx, specs, target=target, waivers=waivers, listeners=listeners,
                  today=today, strict=strict, reproduce=reproduce).run()


def select_checks(only: Sequence[str] = ()) -> list[CheckSpec]:
    """The checks ``--only`` selects (all without it); a pattern that selects none is a usage
    error, raised before any request is sent."""
    registry = load_checks()
    patterns = split_patterns(only)
    if unknown := registry.unknown(patterns):
        raise UserError(f"--only {', '.join(unknown)} selects no check: give a check name, a "
                        "requirement id, or whole id segments such as OIF-AUTH (see yzt conform "
                        "--list)")
    return registry.select(patterns)
