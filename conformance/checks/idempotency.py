"""OIF-IDEM: a replayed id with the same body gets the stored answer; a changed body gets 409."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from yzt.client import Exchange
from yzt.conformance.checks._expect import json_answer, outcome, problem
from yzt.conformance.checks.details import refs_by_msisdn
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, check, failed, not_testable
from yzt.fixtures import Subject

COUNT = "/v1/card-count"
#: Not imported from the cancellations module: importing it here would register its checks (and
#: the disputes') before these, and so run the 72 h cancellation flow first.
CANCELLATIONS = "/v1/cancellations"


def _let_time_pass(ctx: RunContext) -> Finding | None:
    """Move the operator's clock 61 s (or wait a real second when it has no sandbox clock)."""
    if ctx.sandbox_clock:
        return ctx.advance(61)
    time.sleep(1.05)
    return None


def _same(first: Exchange, again: Exchange) -> Iterator[Finding]:
    if again.status != first.status or again.json() != first.json():
        yield failed(f"{outcome(again)} {ctx_text(again)}",
                     f"the stored answer {first.status} {ctx_text(first)}", first, again)


def ctx_text(ex: Exchange) -> str:
    return ex.response_body[:160].decode("utf-8", errors="replace")


@check("OIF-IDEM-1", endpoint=f"POST {COUNT}")
def count_replay_identical(ctx: RunContext) -> Iterator[Finding]:
    """The same card-count body sent again later (new nonce) gets the identical JSON, as_of included."""
    s = ctx.readonly[0]
    body = ctx.subject_body(s.name, s.id_number)
    first = ctx.post(COUNT, body)
    answer = json_answer(first)
    if isinstance(answer, Finding):
        yield answer
        return
    if refused := _let_time_pass(ctx):
        yield refused
        return
    yield from _same(first, ctx.post(COUNT, body))


@check("OIF-IDEM-2", endpoint=f"POST {COUNT}")
def count_id_reused_409(ctx: RunContext) -> Iterator[Finding]:
    """A query_id reused with another subject gets 409 idempotency_conflict."""
    if len(ctx.readonly) < 2:
        yield not_testable("the fixtures hold fewer than 2 subjects")
        return
    a, b = ctx.readonly[0], ctx.readonly[1]
    first_body = ctx.subject_body(a.name, a.id_number)
    first = ctx.post(COUNT, first_body)
    if first.status != 200:
        yield failed(f"{outcome(first)} to a valid card-count", "200", first)
        return
    other = ctx.subject_body(b.name, b.id_number, query_id=first_body["query_id"])
    yield from problem(ctx.post(COUNT, other), 409, "idempotency_conflict")


def dispute_replay(ctx: RunContext) -> dict[str, Any] | Finding:
    """Submit a dispute, let time pass, send the identical body again, read its status."""
    def flow() -> dict[str, Any] | Finding:
        s = ctx.pick(lambda x: len(x.live_cards) >= 1, mutable=True)
        if s is None:
            return not_testable("no subject with a live card is left in the fixtures")
        refs = refs_by_msisdn(ctx.details(s), s)
        if not refs:
            return not_testable("card-details gave no card_ref to dispute")
        body = ctx.subject_body(s.name, s.id_number, id_key="dispute_id",
                                card_ref=next(iter(refs.values())), claim="unrecognized")
        first = ctx.post("/v1/disputes", body)
        answer = json_answer(first, 202)
        if isinstance(answer, Finding):
            return answer
        if refused := _let_time_pass(ctx):
            return refused
        again = ctx.post("/v1/disputes", body)
        status = ctx.get(f"/v1/disputes/{body['dispute_id']}")
        return {"body": body, "first": first, "again": again, "status": status}
    return ctx.once("dispute_replay", flow)


def _replayed_once(flow: dict[str, Any] | Finding, first_state: str, what: str) -> Iterator[Finding]:
    """The replay got the first answer, and the history shows ``first_state`` once (no 2nd effect)."""
    if isinstance(flow, Finding):
        yield flow
        return
    yield from _same(flow["first"], flow["again"])
    status: Exchange = flow["status"]
    body = status.json()
    history = body.get("history") if isinstance(body, dict) else None
    if isinstance(history, list):
        entries = [h for h in history if isinstance(h, dict) and h.get("state") == first_state]
        if len(entries) != 1:
            yield failed(f"{len(entries)} '{first_state}' entries in the {what}'s history",
                         "one: a replay has no second effect", status)


@check("OIF-IDEM-1", endpoint="POST /v1/disputes")
def dispute_replay_identical(ctx: RunContext) -> Iterator[Finding]:
    """The same dispute body sent again later gets the identical 202 JSON and no second effect."""
    yield from _replayed_once(dispute_replay(ctx), "received", "dispute")


@check("OIF-IDEM-2", endpoint="POST /v1/disputes")
def dispute_id_reused_409(ctx: RunContext) -> Iterator[Finding]:
    """A dispute_id reused with another claim gets 409 idempotency_conflict."""
    flow = dispute_replay(ctx)
    if isinstance(flow, Finding):
        yield flow
        return
    changed = dict(flow["body"], claim="not_mine")
    yield from problem(ctx.post("/v1/disputes", changed), 409, "idempotency_conflict")


def _cancel_body(ctx: RunContext, s: Subject, ref: str) -> dict[str, Any]:
    """A cancellation with a fresh face verification, so only the idempotency rules can refuse it."""
    v = ctx.verification(s.name, s.id_number, method="face", age=timedelta(minutes=1))
    return ctx.subject_body(s.name, s.id_number, verification=v, id_key="cancellation_id",
                            card_ref=ref)


def cancellation_replay(ctx: RunContext) -> dict[str, Any] | Finding:
    """Cancel one card, let time pass, send the identical body again, read the cancellation's status.

    The subject holds two live cards, all genuine (the dispute flows need the rare non-genuine ones):
    one card is cancelled, the other is the changed body of the conflict check.
    """
    def flow() -> dict[str, Any] | Finding:
        s = ctx.pick(lambda x: len(x.live_cards) >= 2 and all(c.genuine for c in x.live_cards),
                     mutable=True) or ctx.pick(lambda x: len(x.live_cards) >= 2, mutable=True)
        if s is None:
            return not_testable("no subject with two live cards is left in the fixtures")
        live = {c.msisdn for c in s.live_cards}
        refs = [ref for msisdn, ref in refs_by_msisdn(ctx.details(s), s).items() if msisdn in live]
        if len(refs) < 2:
            return not_testable("card-details gave fewer than two card_refs of live cards")
        body = _cancel_body(ctx, s, refs[0])
        first = ctx.post(CANCELLATIONS, body)
        answer = json_answer(first, 202)
        if isinstance(answer, Finding):
            return answer
        if refused := _let_time_pass(ctx):
            return refused
        again = ctx.post(CANCELLATIONS, body)
        status = ctx.get(f"{CANCELLATIONS}/{body['cancellation_id']}")
        return {"body": body, "other_ref": refs[1], "first": first, "again": again,
                "status": status}
    return ctx.once("cancellation_replay", flow)


@check("OIF-IDEM-1", endpoint=f"POST {CANCELLATIONS}")
def cancellation_replay_identical(ctx: RunContext) -> Iterator[Finding]:
    """The same cancellation body sent again later gets the identical 202 JSON and no second effect."""
    yield from _replayed_once(cancellation_replay(ctx), "accepted", "cancellation")


@check("OIF-IDEM-2", endpoint=f"POST {CANCELLATIONS}")
def cancellation_id_reused_409(ctx: RunContext) -> Iterator[Finding]:
    """A cancellation_id reused for another card of the same subject gets 409 idempotency_conflict."""
    flow = cancellation_replay(ctx)
    if isinstance(flow, Finding):
        yield flow
        return
    changed = dict(flow["body"], card_ref=flow["other_ref"])
    yield from problem(ctx.post(CANCELLATIONS, changed), 409, "idempotency_conflict")
