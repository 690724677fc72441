"""OIF-DSP: disputes through their whole lifecycle, judged against the fixture truth.

One flow per run: a subject with a card marked not genuine (and, when it has one, a genuine card)
files a dispute on each; the sandbox clock then moves past "verifying" and "resolved", and the
subject's count and details are read again. Each check judges one part of what the flow saw.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from yzt.client import Exchange
from yzt.conformance.checks._expect import json_answer, outcome, problem, schema_findings, schema_for
from yzt.conformance.checks.details import listed_msisdns, refs_by_msisdn
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, NothingToJudge, check, failed, not_testable
from yzt.domain.masking import mask_msisdn
from yzt.fixtures import FixtureCard, Subject
from yzt.signing import parse_time

DISPUTES = "/v1/disputes"
STATES = ("received", "verifying", "resolved")
RESOLVE_WITHIN = timedelta(days=15)


@dataclass
class Case:
    """One filed dispute and every status read of it."""

    card: FixtureCard
    request: dict[str, Any]
    submit: Exchange
    polls: list[Exchange] = field(default_factory=list)

    @property
    def accepted(self) -> dict[str, Any] | None:
        body = self.submit.json()
        return body if self.submit.status == 202 and isinstance(body, dict) else None

    def last(self) -> dict[str, Any]:
        body = self.polls[-1].json() if self.polls else None
        return body if isinstance(body, dict) else {}


@dataclass
class Flow:
    subject: Subject
    cases: list[Case]
    after_count: Exchange | None = None
    after_details: Exchange | None = None


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        return None


def _subject(ctx: RunContext) -> Subject | None:
    def fake_and_real(s: Subject) -> bool:
        live = s.live_cards
        return any(not c.genuine for c in live) and any(c.genuine for c in live)
    return (ctx.pick(fake_and_real, mutable=True)
            or ctx.pick(lambda s: any(not c.genuine for c in s.live_cards), mutable=True))


def flow(ctx: RunContext) -> Flow | Finding:
    """File the disputes and, with a sandbox clock, follow them to resolution."""
    def run() -> Flow | Finding:
        s = _subject(ctx)
        if s is None:
            return not_testable("no subject in the fixtures has a live card marked genuine: false")
        refs = refs_by_msisdn(ctx.details(s), s)
        cases: list[Case] = []
        fake = next(c for c in s.live_cards if not c.genuine)
        real = next((c for c in s.live_cards if c.genuine), None)
        for card, claim in ((fake, "not_mine"), (real, "unrecognized")):
            if card is None or card.msisdn not in refs:
                continue
            body = ctx.subject_body(s.name, s.id_number, id_key="dispute_id",
                                    card_ref=refs[card.msisdn], claim=claim)
            cases.append(Case(card, body, ctx.post(DISPUTES, body)))
        if not cases:
            return failed("card-details without the disputed cards' card_refs",
                          "the subject's live cards listed")
        result = Flow(s, cases)
        _poll(ctx, result)
        if not ctx.sandbox_clock:
            return result
        for seconds in (3601, 3 * 86400):
            if refused := ctx.advance(seconds):
                return refused
            _poll(ctx, result)
        deadline = _deadline(result)
        if deadline is not None and any(c.last().get("state") != "resolved" for c in result.cases):
            ahead = math.ceil((deadline - ctx.client.now()).total_seconds()) + 1
            if ahead > 0 and (refused := ctx.advance(ahead)):
                return refused
            _poll(ctx, result)
        result.after_count = ctx.count(s)
        result.after_details = ctx.details(s)
        return result
    return ctx.once("dispute_flow", run)


def _poll(ctx: RunContext, result: Flow) -> None:
    for case in result.cases:
        if case.accepted is not None:
            case.polls.append(ctx.get(f"{DISPUTES}/{case.request['dispute_id']}"))


def _deadline(result: Flow) -> datetime | None:
    """The earliest moment every dispute must be resolved: min(resolve_by, received_at + 15 d)."""
    moments = []
    for case in result.cases:
        if case.accepted:
            received = _time(case.accepted.get("received_at"))
            resolve_by = _time(case.accepted.get("resolve_by"))
            if received:
                moments.append(min(filter(None, (resolve_by, received + RESOLVE_WITHIN))))
    return max(moments) if moments else None


@check("OIF-DSP-1", endpoint=f"POST {DISPUTES}")
def dispute_unknown_card_ref(ctx: RunContext) -> Iterator[Finding]:
    """A dispute on a card_ref that does not exist gets 404 card_not_found."""
    s = ctx.readonly[0]
    body = ctx.subject_body(s.name, s.id_number, id_key="dispute_id", card_ref="no-such-card-ref",
                            claim="not_mine")
    yield from problem(ctx.post(DISPUTES, body), 404, "card_not_found")


def foreign_ref(ctx: RunContext) -> tuple[Subject, str] | Finding:
    """A subject and a card_ref that belongs to someone else (a subject set aside for this)."""
    def find() -> tuple[Subject, str] | Finding:
        owner = ctx.pick(lambda s: len(s.live_cards) >= 1, mutable=True)
        asker = ctx.pick(lambda s: True, mutable=True)
        if owner is None or asker is None:
            return not_testable("the fixtures hold too few subjects for a foreign card")
        refs = refs_by_msisdn(ctx.details(owner), owner)
        if not refs:
            return not_testable("card-details gave no card_ref")
        return asker, next(iter(refs.values()))
    return ctx.once("foreign_ref", find)


@check("OIF-DSP-1", endpoint=f"POST {DISPUTES}")
def dispute_other_subjects_card(ctx: RunContext) -> Iterator[Finding]:
    """A dispute on another subject's card gets the same 404 card_not_found."""
    found = foreign_ref(ctx)
    if isinstance(found, Finding):
        yield found
        return
    asker, ref = found
    body = ctx.subject_body(asker.name, asker.id_number, id_key="dispute_id", card_ref=ref,
                            claim="not_mine")
    yield from problem(ctx.post(DISPUTES, body), 404, "card_not_found")


def _cases(ctx: RunContext) -> Iterator[Finding | Case]:
    result = flow(ctx)
    if isinstance(result, Finding):
        yield result
        return
    for case in result.cases:
        answer = json_answer(case.submit, 202)
        yield answer if isinstance(answer, Finding) else case


@check("OIF-DSP-2", endpoint=f"GET {DISPUTES}/{{id}}")
def dispute_states_forward(ctx: RunContext) -> Iterator[Finding]:
    """States go received → verifying → resolved, never back; history times never decrease;
    outcome is present exactly when resolved."""
    for item in _cases(ctx):
        if isinstance(item, Finding):
            yield item
            continue
        last_rank = 0
        for ex in item.polls:
            body = ex.json()
            if ex.status != 200 or not isinstance(body, dict):
                yield failed(outcome(ex), "200 with the dispute's status", ex)
                continue
            state = body.get("state")
            rank = STATES.index(state) if state in STATES else -1
            if rank < last_rank:
                yield failed(f"state {state!r} after {STATES[last_rank]!r}", "states never go back", ex)
            last_rank = max(last_rank, rank)
            if ("outcome" in body) != (state == "resolved"):
                yield failed(f"state {state!r} with outcome {body.get('outcome')!r}",
                             "outcome present exactly when resolved", ex)
            history: list[Any] = body["history"] if isinstance(body.get("history"), list) else []
            times = [_time(h.get("at")) for h in history if isinstance(h, dict)]
            ranks = [STATES.index(h.get("state")) if h.get("state") in STATES else -1
                     for h in history if isinstance(h, dict)]
            if None in times or times != sorted(t for t in times if t) or ranks != sorted(ranks):
                yield failed("history out of order", "history times and states never decrease", ex)


@check("OIF-DSP-2", endpoint=f"{DISPUTES}", phase="sweep")
def dispute_answers_schema(ctx: RunContext) -> Iterator[Finding]:
    """Every 202 dispute answer and dispute status is valid against its schema."""
    judged = 0
    for ex in ctx.exchanges():
        name = schema_for(ex)
        if name in ("dispute_accepted", "dispute_status"):
            judged += 1
            yield from schema_findings(ex, name)
    if not judged:
        raise NothingToJudge("no accepted dispute or dispute status was received in this run")


OUTCOMES = ("confirmed_owner", "unbound", "suspended", "cancelled")


@check("OIF-DSP-3", endpoint=f"GET {DISPUTES}/{{id}}", needs=("sandbox_clock",))
def dispute_outcome_effect(ctx: RunContext) -> Iterator[Finding]:
    """After unbound/cancelled the card leaves count and details; after suspended it stays suspended."""
    result = flow(ctx)
    if isinstance(result, Finding):
        yield result
        return
    if result.after_details is None or result.after_count is None:
        return
    if result.after_details.status != 200:
        yield failed(outcome(result.after_details), "200 with the subject's cards", result.after_details)
        return
    listed = listed_msisdns(result.after_details, result.subject)
    live = len(result.subject.live_cards)
    for case in result.cases:
        out = case.last().get("outcome")
        if out is None:
            continue  # unresolved: OIF-DSP-4's
        if out not in OUTCOMES:
            yield failed(f"outcome {out!r}", f"one of {', '.join(OUTCOMES)}", case.polls[-1])
        masked = mask_msisdn(case.card.msisdn)
        if out in ("unbound", "cancelled"):
            live -= 1
            if case.card.msisdn in listed:
                yield failed(f"{masked} still listed after outcome {out!r}", "the card gone from details",
                             result.after_details)
        elif out == "suspended" and listed.get(case.card.msisdn, {}).get("status") != "suspended":
            shown = listed.get(case.card.msisdn, {}).get("status")
            yield failed(f"{masked} listed as {shown!r} after 'suspended'",
                         "status 'suspended'", result.after_details)
    count = (result.after_count.json() or {}).get("card_count") if result.after_count.status == 200 \
        else None
    if count != live:
        yield failed(f"card_count {count!r} after the disputes were resolved", f"{live}",
                     result.after_count)


@check("OIF-DSP-4", endpoint=f"POST {DISPUTES}")
def resolve_by_within_15_days(ctx: RunContext) -> Iterator[Finding]:
    """resolve_by is at most 15 days after received_at."""
    for item in _cases(ctx):
        if isinstance(item, Finding):
            yield item
            continue
        accepted = item.accepted or {}
        received, by = _time(accepted.get("received_at")), _time(accepted.get("resolve_by"))
        if received is None or by is None:
            yield failed(f"received_at {accepted.get('received_at')!r}, resolve_by "
                         f"{accepted.get('resolve_by')!r}", "two RFC 3339 times", item.submit)
        elif by - received > RESOLVE_WITHIN or by < received:
            yield failed(f"resolve_by {by - received} after received_at", "at most 15 days", item.submit)


@check("OIF-DSP-4", endpoint=f"GET {DISPUTES}/{{id}}", needs=("sandbox_clock",))
def resolved_by_deadline(ctx: RunContext) -> Iterator[Finding]:
    """With the sandbox clock moved past resolve_by (≤ 15 days), every dispute is resolved, in time."""
    for item in _cases(ctx):
        if isinstance(item, Finding):
            yield item
            continue
        body = item.last()
        accepted = item.accepted or {}
        received = _time(accepted.get("received_at"))
        limit = min(filter(None, (_time(accepted.get("resolve_by")),
                                  received + RESOLVE_WITHIN if received else None)), default=None)
        if body.get("state") != "resolved":
            yield failed(f"state {body.get('state')!r} after the deadline passed", "resolved",
                         *item.polls[-1:])
            continue
        history = body.get("history") or []
        at = next((_time(h.get("at")) for h in history
                   if isinstance(h, dict) and h.get("state") == "resolved"), None)
        if limit is not None and at is not None and at > limit:
            yield failed(f"resolved at {at.isoformat()}", f"by {limit.isoformat()}", item.polls[-1])


@check("OIF-DSP-5", endpoint=f"GET {DISPUTES}/{{id}}", needs=("sandbox_clock",))
def outcome_agrees_with_truth(ctx: RunContext) -> Iterator[Finding]:
    """A card marked not genuine is never confirmed_owner; a genuine one never unbound or cancelled."""
    for item in _cases(ctx):
        if isinstance(item, Finding):
            yield item
            continue
        out = item.last().get("outcome")
        masked = mask_msisdn(item.card.msisdn)
        if out is None:
            continue  # unresolved: OIF-DSP-4's
        if not item.card.genuine and out == "confirmed_owner":
            yield failed(f"outcome 'confirmed_owner' for {masked}",
                         "not confirmed_owner: the fixtures mark this card not genuine", item.polls[-1])
        if item.card.genuine and out in ("unbound", "cancelled"):
            yield failed(f"outcome {out!r} for {masked}",
                         "confirmed_owner or suspended: the fixtures mark this card genuine",
                         item.polls[-1])
