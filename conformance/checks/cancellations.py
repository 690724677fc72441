"""OIF-CXL: remote cancellation accepted from any region, completed within 72 h, 404 for others' cards."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from yzt.client import Exchange
from yzt.conformance.checks._expect import json_answer, outcome, problem, schema_findings, schema_for
from yzt.conformance.checks.details import listed_msisdns, refs_by_msisdn
from yzt.conformance.checks.disputes import foreign_ref
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, NothingToJudge, check, failed, not_testable
from yzt.domain.masking import mask_msisdn
from yzt.fixtures import FixtureCard, Subject
from yzt.signing import parse_time

CANCELLATIONS = "/v1/cancellations"
COMPLETE_WITHIN = timedelta(hours=72)
#: The region a careless operator treats as "local"; the card cancelled here is from elsewhere.
HOME = "北京"


#: The check every refusal of the flow's cancellation is attributed to (one root cause).
ACCEPTANCE = "OIF-CXL-1 remote_cancellation_accepted"


@dataclass
class Flow:
    subject: Subject
    card: FixtureCard
    request: dict[str, Any]
    submit: Exchange
    polls: list[Exchange] = field(default_factory=list)
    after_count: Exchange | None = None
    after_details: Exchange | None = None

    def last(self) -> dict[str, Any]:
        body = self.polls[-1].json() if self.polls else None
        return body if isinstance(body, dict) else {}

    def refusal(self) -> str | None:
        """How the POST answer itself refuses the cancellation, or ``None`` when it accepts it."""
        return _refusal(self.submit)


def _refusal(submit: Exchange) -> str | None:
    """A POST answer that refuses a cancellation: any status but 202, or a 202 whose state is not
    ``accepted`` (protocol v1.2 "Refusals": the refusal breaks OIF-CXL-1 wherever it shows)."""
    if submit.status != 202:
        return outcome(submit)
    body = submit.json()
    state = body.get("state") if isinstance(body, dict) else None
    if state != "accepted":
        reason = body.get("reason") if isinstance(body, dict) else None
        return f"202 with state {state!r}" + (f" ({reason})" if reason else "")
    return None


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        return None


def cancel_body(ctx: RunContext, s: Subject, ref: str) -> dict[str, Any]:
    """A cancellation request with a fresh face verification (the only sufficient kind)."""
    v = ctx.verification(s.name, s.id_number, method="face", age=timedelta(minutes=1))
    return ctx.subject_body(s.name, s.id_number, verification=v, id_key="cancellation_id",
                            card_ref=ref)


def flow(ctx: RunContext) -> Flow | Finding:
    """Cancel a card registered outside 北京 and, with a sandbox clock, follow it past complete_by."""
    def run() -> Flow | Finding:
        s = ctx.pick(lambda x: any(c.home_region != HOME for c in x.live_cards), mutable=True)
        if s is None:
            return not_testable("no subject has a live card registered outside 北京")
        card = next(c for c in s.live_cards if c.home_region != HOME)
        refs = refs_by_msisdn(ctx.details(s), s)
        if card.msisdn not in refs:
            return failed("card-details without the card to cancel", "the subject's live cards listed")
        body = cancel_body(ctx, s, refs[card.msisdn])
        result = Flow(s, card, body, ctx.post(CANCELLATIONS, body))
        if result.submit.status != 202:
            return result
        path = f"{CANCELLATIONS}/{body['cancellation_id']}"
        result.polls.append(ctx.get(path))
        if not ctx.sandbox_clock:
            return result
        accepted = result.submit.json() or {}
        start = _time(accepted.get("accepted_at")) or ctx.client.now()
        limit = min(filter(None, (_time(accepted.get("complete_by")), start + COMPLETE_WITHIN)))
        ahead = math.ceil((limit - ctx.client.now()).total_seconds()) + 1
        if ahead > 0 and (refused := ctx.advance(ahead)):
            return refused
        result.polls.append(ctx.get(path))
        result.after_count = ctx.count(s)
        result.after_details = ctx.details(s)
        return result
    return ctx.once("cancellation_flow", run)


@check("OIF-CXL-1", endpoint=f"POST {CANCELLATIONS}")
def remote_cancellation_accepted(ctx: RunContext) -> Iterator[Finding]:
    """A face-verified cancellation of a card from another region is accepted and never rejected,
    whether the refusal shows in the POST answer itself or in a later status."""
    result = flow(ctx)
    if isinstance(result, Finding):
        yield result
        return
    refused = result.refusal()
    if refused is not None:
        yield failed(f"{ctx.mask(refused)} in the POST answer for a face-verified cancellation of a "
                     f"card registered in {result.card.home_region}",
                     "202 accepted from any region: home region is never a reason to refuse",
                     result.submit)
        return
    for ex in result.polls:
        body = ex.json() if isinstance(ex.json(), dict) else {}
        if body.get("state") == "rejected":
            yield failed(f"state 'rejected' ({ctx.mask(str(body.get('reason')))}) for a card "
                         f"registered in {result.card.home_region}",
                         "accepted and completed: home region is never a reason to refuse", ex)


def _refused(result: Flow, judged: str) -> Finding | None:
    """A failure that follows from the refusal OIF-CXL-1 judges, or ``None`` when there was none."""
    refused = result.refusal()
    if refused is None:
        return None
    return failed(f"the cancellation was refused ({refused}): no {judged} to judge",
                  f"an accepted cancellation with {judged}", result.submit, consequence_of=ACCEPTANCE)


@check("OIF-CXL-2", endpoint=f"POST {CANCELLATIONS}")
def complete_by_within_72h(ctx: RunContext) -> Iterator[Finding]:
    """complete_by is at most 72 h after accepted_at."""
    result = flow(ctx)
    if isinstance(result, Finding):
        yield result
        return
    if (refused := _refused(result, "complete_by")) is not None:
        yield refused
        return
    answer = json_answer(result.submit, 202)
    if isinstance(answer, Finding):
        yield answer
        return
    start, by = _time(answer.get("accepted_at")), _time(answer.get("complete_by"))
    if start is None or by is None:
        yield failed(f"accepted_at {answer.get('accepted_at')!r}, complete_by "
                     f"{answer.get('complete_by')!r}", "two RFC 3339 times", result.submit)
    elif not timedelta(0) <= by - start <= COMPLETE_WITHIN:
        yield failed(f"complete_by {by - start} after accepted_at", "at most 72 h", result.submit)


@check("OIF-CXL-2", endpoint=f"GET {CANCELLATIONS}/{{id}}", needs=("sandbox_clock",))
def completed_by_deadline(ctx: RunContext) -> Iterator[Finding]:
    """Past complete_by (≤ 72 h) the cancellation is completed and the card gone from count and details."""
    result = flow(ctx)
    if isinstance(result, Finding):
        yield result
        return
    if (refused := _refused(result, "completion")) is not None:
        yield refused
        return
    state = result.last().get("state")
    if state == "rejected":
        yield failed("the cancellation was rejected after it was accepted: it never completes",
                     "completed by complete_by", result.polls[-1], consequence_of=ACCEPTANCE)
        return
    if state != "completed":
        yield failed(f"state {state!r} after complete_by passed", "completed", result.polls[-1])
        return
    if result.after_details is not None:
        masked = mask_msisdn(result.card.msisdn)
        if result.after_details.status != 200:
            yield failed(outcome(result.after_details), "200 with the subject's cards",
                         result.after_details)
        elif result.card.msisdn in listed_msisdns(result.after_details, result.subject):
            yield failed(f"{masked} still listed after the cancellation completed",
                         "the card gone from details", result.after_details)
    if result.after_count is not None:
        count = (result.after_count.json() or {}).get("card_count")
        expected = len(result.subject.live_cards) - 1
        if result.after_count.status != 200 or count != expected:
            yield failed(f"card_count {count!r} after the cancellation completed", f"{expected}",
                         result.after_count)


@check("OIF-CXL-2", endpoint=CANCELLATIONS, phase="sweep")
def cancellation_answers_schema(ctx: RunContext) -> Iterator[Finding]:
    """Every 202 cancellation answer and cancellation status is valid against its schema.

    A POST answer that refuses the cancellation (state other than accepted) is OIF-CXL-1's
    failure; its schema problems here are marked as that failure's consequence.
    """
    judged = 0
    for ex in ctx.exchanges():
        name = schema_for(ex)
        if name in ("cancellation_accepted", "cancellation_status"):
            judged += 1
            refusal = name == "cancellation_accepted" and _refusal(ex) is not None
            yield from schema_findings(ex, name, consequence_of=ACCEPTANCE if refusal else None)
    if not judged:
        raise NothingToJudge("no accepted cancellation or cancellation status was received in this run")


@check("OIF-CXL-3", endpoint=f"POST {CANCELLATIONS}")
def cancel_unknown_card_ref(ctx: RunContext) -> Iterator[Finding]:
    """A cancellation of a card_ref that does not exist gets 404 card_not_found."""
    s = ctx.readonly[0]
    yield from problem(ctx.post(CANCELLATIONS, cancel_body(ctx, s, "no-such-card-ref")),
                       404, "card_not_found")


@check("OIF-CXL-3", endpoint=f"POST {CANCELLATIONS}")
def cancel_other_subjects_card(ctx: RunContext) -> Iterator[Finding]:
    """A cancellation of another subject's card gets the same 404 card_not_found."""
    found = foreign_ref(ctx)
    if isinstance(found, Finding):
        yield found
        return
    asker, ref = found
    yield from problem(ctx.post(CANCELLATIONS, cancel_body(ctx, asker, ref)), 404, "card_not_found")
