"""OIF-VER: no query about a subject without a valid, fresh, sufficient identity verification."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

from yzt.conformance.checks._expect import outcome, problem
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, check, failed, not_testable
from yzt.signing import format_time, make_ticket

COUNT = "/v1/card-count"


@check("OIF-VER-1", endpoint=f"POST {COUNT}")
def verification_missing(ctx: RunContext) -> Iterator[Finding]:
    """A card-count without a verification block gets 403 verification_required."""
    s = ctx.readonly[0]
    ex = ctx.post(COUNT, ctx.subject_body(s.name, s.id_number, verification=False))
    yield from problem(ex, 403, "verification_required")


@check("OIF-VER-1", endpoint="POST /v1/card-details")
def details_verification_missing(ctx: RunContext) -> Iterator[Finding]:
    """A card-details without a verification block gets 403 verification_required."""
    s = ctx.readonly[0]
    ex = ctx.post("/v1/card-details", ctx.subject_body(s.name, s.id_number, verification=False))
    yield from problem(ex, 403, "verification_required")


@check("OIF-VER-2", endpoint=f"POST {COUNT}")
def ticket_forged(ctx: RunContext) -> Iterator[Finding]:
    """A ticket that is random bytes gets 403 verification_invalid."""
    s = ctx.readonly[0]
    v = ctx.verification(s.name, s.id_number)
    v["ticket"] = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
    yield from problem(ctx.post(COUNT, ctx.subject_body(s.name, s.id_number, verification=v)),
                       403, "verification_invalid")


@check("OIF-VER-2", endpoint=f"POST {COUNT}")
def ticket_of_another_subject(ctx: RunContext) -> Iterator[Finding]:
    """A genuine ticket minted for another subject gets 403 verification_invalid."""
    if len(ctx.readonly) < 2:
        yield not_testable("the fixtures hold fewer than 2 subjects")
        return
    s, other = ctx.readonly[0], ctx.readonly[1]
    v = ctx.verification(other.name, other.id_number)
    yield from problem(ctx.post(COUNT, ctx.subject_body(s.name, s.id_number, verification=v)),
                       403, "verification_invalid")


@check("OIF-VER-2", endpoint=f"POST {COUNT}")
def ticket_for_another_name(ctx: RunContext) -> Iterator[Finding]:
    """A ticket minted for the right ID number but another name gets 403 verification_invalid."""
    s = ctx.readonly[0]
    v = ctx.verification(s.name + "某", s.id_number)
    yield from problem(ctx.post(COUNT, ctx.subject_body(s.name, s.id_number, verification=v)),
                       403, "verification_invalid")


@check("OIF-VER-3", endpoint=f"POST {COUNT}")
def verification_expired(ctx: RunContext) -> Iterator[Finding]:
    """A correct ticket verified 49 h ago gets 403 verification_expired."""
    s = ctx.readonly[0]
    v = ctx.verification(s.name, s.id_number, age=timedelta(hours=49))
    yield from problem(ctx.post(COUNT, ctx.subject_body(s.name, s.id_number, verification=v)),
                       403, "verification_expired")


@check("OIF-VER-3", endpoint=f"POST {COUNT}")
def verification_in_the_future(ctx: RunContext) -> Iterator[Finding]:
    """A correct ticket 'verified' one hour from now gets 403 verification_expired."""
    s = ctx.readonly[0]
    v = ctx.verification(s.name, s.id_number, age=timedelta(hours=-1))
    yield from problem(ctx.post(COUNT, ctx.subject_body(s.name, s.id_number, verification=v)),
                       403, "verification_expired")


def _cancellation_target(ctx: RunContext) -> tuple[str, str, str] | Finding:
    """(name, id_number, card_ref) of a live card to attempt under-verified cancellations on."""
    def flow() -> tuple[str, str, str] | Finding:
        s = ctx.pick(lambda x: len(x.live_cards) >= 1, mutable=True)
        if s is None:
            return not_testable("no subject with a live card is left in the fixtures")
        ex = ctx.details(s)
        body = ex.json()
        cards = body.get("cards") if isinstance(body, dict) else None
        if ex.status != 200 or not isinstance(cards, list) or not cards or not isinstance(
                cards[0], dict) or not isinstance(cards[0].get("card_ref"), str):
            return failed(f"{outcome(ex)} without a usable card_ref", "200 with the subject's cards",
                          ex)
        return s.name, s.id_number, cards[0]["card_ref"]
    return ctx.once("ver4_target", flow)


def _cancel(ctx: RunContext, method: str, age: timedelta) -> Iterator[Finding]:
    target = _cancellation_target(ctx)
    if isinstance(target, Finding):
        yield target
        return
    name, id_number, ref = target
    at = format_time(ctx.client.now() - age)
    v = {"method": method, "verified_at": at,
         "ticket": make_ticket(ctx.client.secret, method, id_number, name, at)}
    body = ctx.subject_body(name, id_number, verification=v, id_key="cancellation_id", card_ref=ref)
    yield from problem(ctx.post("/v1/cancellations", body), 403, "verification_insufficient")


@check("OIF-VER-4", endpoint="POST /v1/cancellations")
def cancellation_with_sms_code(ctx: RunContext) -> Iterator[Finding]:
    """A cancellation verified by sms_code (not face) gets 403 verification_insufficient."""
    yield from _cancel(ctx, "sms_code", timedelta(minutes=1))


@check("OIF-VER-4", endpoint="POST /v1/cancellations")
def cancellation_with_stale_face(ctx: RunContext) -> Iterator[Finding]:
    """A cancellation with a face verification 31 minutes old gets 403 verification_insufficient."""
    yield from _cancel(ctx, "face", timedelta(minutes=31))
