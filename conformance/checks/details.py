"""OIF-DET: card details agree with the count and the truth, masked, with opaque stable card_refs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from yzt.client import Exchange
from yzt.conformance.checks._expect import json_answer, schema_findings, unmasked_shape
from yzt.conformance.checks.count import count_sample
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, NothingToJudge, Said, Value, check, failed, not_testable
from yzt.domain.masking import mask_id_number, mask_msisdn
from yzt.fixtures import FixtureCard, Subject

DETAILS = "/v1/card-details"
MASK_RE = re.compile(r"[0-9]{3}\*{4}[0-9]{4}")


def details_sample(ctx: RunContext) -> list[tuple[Subject, Exchange, Exchange]]:
    """(subject, count exchange, details exchange) for the sample, asked back to back."""
    def ask() -> list[tuple[Subject, Exchange, Exchange]]:
        return [(s, ctx.count(s), ctx.details(s)) for s in count_sample(ctx)]
    return ctx.once("details_sample", ask)


UNUSABLE = "card-details gave no usable answer to judge (its failure is details_match_count's)"


def usable_samples(ctx: RunContext) -> Iterator[tuple[Subject, Exchange, list[dict[str, Any]]]]:
    """The sample's details answers that list cards; nothing usable yields one incomplete finding."""
    seen = False
    for s, _count_ex, details_ex in details_sample(ctx):
        cards = cards_of(details_ex)
        if not isinstance(cards, Finding) and cards:
            seen = True
            yield s, details_ex, cards
    if not seen:
        raise NothingToJudge(UNUSABLE)


def cards_of(ex: Exchange) -> list[dict[str, Any]] | Finding:
    body = json_answer(ex)
    if isinstance(body, Finding):
        return body
    cards = body.get("cards")
    if not isinstance(cards, list) or not all(isinstance(c, dict) for c in cards):
        return failed(f"cards = {type(cards).__name__}", "a list of card objects", ex)
    return cards


@check("OIF-DET-1", endpoint=f"POST {DETAILS}")
def details_match_count(ctx: RunContext) -> Iterator[Finding]:
    """len(cards) equals card_count and the fixtures' live cards; cancelled cards are not listed."""
    for s, count_ex, details_ex in details_sample(ctx):
        cards = cards_of(details_ex)
        if isinstance(cards, Finding):
            yield cards
            continue
        who = mask_id_number(s.id_number)
        count = (count_ex.json() or {}).get("card_count") if count_ex.status == 200 else None
        if count is not None and len(cards) != count:
            yield failed(f"{len(cards)} cards in details but card_count {count} for {who}",
                         "the same number at the same moment", count_ex, details_ex)
        if len(cards) != len(s.live_cards):
            yield failed(f"{len(cards)} cards for {who}",
                         f"{len(s.live_cards)} (the fixtures' cards that are not cancelled)",
                         details_ex)
        statuses = [c.get("status") for c in cards]
        if "cancelled" in statuses:
            yield failed(f"a cancelled card listed for {who}", "cancelled cards left out", details_ex)
        dates = [str(c.get("activated_on")) for c in cards]
        if dates != sorted(dates):
            yield failed(f"activated_on order {dates}", "sorted by activated_on", details_ex)


@check("OIF-DET-1", endpoint=f"POST {DETAILS}")
def details_agree_with_fixtures(ctx: RunContext) -> Iterator[Finding]:
    """Each listed card is one of the subject's live cards, with its status and activation date."""
    for s, details_ex, cards in usable_samples(ctx):
        for card in cards:
            real = match_card(card, s)
            if real is None or real.status == "cancelled":
                continue  # unknown cards show in the count, cancelled ones in details_match_count
            if card.get("status") != real.status or card.get("activated_on") != real.activated_on:
                yield failed(f"{card.get('msisdn_masked')}: status {card.get('status')!r}, activated "
                             f"{card.get('activated_on')!r}",
                             f"status {real.status!r}, activated {real.activated_on!r}", details_ex)


@check("OIF-DET-1", endpoint=f"POST {DETAILS}", phase="sweep")
def details_answers_schema(ctx: RunContext) -> Iterator[Finding]:
    """Every 200 card-details answer is valid against card_details_response.

    Masks, card statuses and card_refs are left to the checks of OIF-DET-1/2/3 that judge them.
    """
    seen = 0
    for ex in ctx.exchanges():
        if ex.method == "POST" and ex.path == DETAILS and ex.status == 200:
            seen += 1
            yield from schema_findings(ex, "card_details_response",
                                       ignore=("msisdn_masked", "status", "card_ref"))
    if not seen:
        yield not_testable("no 200 card-details answer was seen in this run")


MASK_PATTERN = re.compile(r"[0-9]{3}\*{4}[0-9]{4}")


def _shown_mask(ctx: RunContext, shown: object) -> Said:
    """``msisdn_masked …`` as received: a full number is described by its shape, never masked
    again (``'165****8750'`` would read as a compliant answer); any other value is quoted."""
    shape = unmasked_shape(shown) if isinstance(shown, str) else None
    value: Value = shape if shape is not None else repr(ctx.mask(str(shown)))
    return Said.of("msisdn_masked_is", value=value)


@check("OIF-DET-2", endpoint=f"POST {DETAILS}", phase="sweep")
def every_msisdn_masked_3_4_4(ctx: RunContext) -> Iterator[Finding]:
    """Every msisdn_masked in every 200 card-details answer of the run has the 3 + **** + 4 shape."""
    seen = 0
    for ex in ctx.exchanges():
        if ex.method != "POST" or ex.path != DETAILS or ex.status != 200:
            continue
        body = ex.json()
        cards = body.get("cards") if isinstance(body, dict) else None
        if not isinstance(cards, list):
            continue  # its shape is details_answers_schema's
        seen += 1
        for card in cards:
            shown = card.get("msisdn_masked") if isinstance(card, dict) else None
            if not isinstance(shown, str) or not MASK_PATTERN.fullmatch(shown):
                yield failed(_shown_mask(ctx, shown), Said.of("mask_3_4_4"), ex)
                break
    if not seen:
        raise NothingToJudge("no 200 card-details answer with a list of cards was seen in this run")


@check("OIF-DET-2", endpoint=f"POST {DETAILS}")
def msisdn_masked_3_4_4(ctx: RunContext) -> Iterator[Finding]:
    """msisdn_masked is the first 3 digits, ****, the last 4 digits of one of the subject's cards."""
    for s, details_ex, cards in usable_samples(ctx):
        truth = {mask_msisdn(c.msisdn) for c in s.cards}
        for card in cards:
            masked = card.get("msisdn_masked")
            if not isinstance(masked, str) or not MASK_RE.fullmatch(masked):
                yield failed(_shown_mask(ctx, masked), Said.of("mask_3_4_4"), details_ex)
            elif masked not in truth:
                yield failed(f"msisdn_masked {masked!r}",
                             "the mask of one of the subject's numbers", details_ex)


@check("OIF-DET-3", endpoint=f"POST {DETAILS}")
def card_ref_stable(ctx: RunContext) -> Iterator[Finding]:
    """The same card has the same card_ref across queries; different cards different refs."""
    for s, first_ex, first in list(usable_samples(ctx))[:3]:
        again_ex = ctx.details(s)
        again = cards_of(again_ex)
        if isinstance(again, Finding):
            yield again
            continue
        before, after = refs_by_msisdn(first_ex, s), refs_by_msisdn(again_ex, s)
        changed = [k for k in before if k in after and before[k] != after[k]]
        if changed:
            yield failed(f"card_ref of {mask_msisdn(changed[0])} changed between two queries",
                         "the same card_ref for the same card", first_ex, again_ex)
        refs = [c.get("card_ref") for c in first]
        if len(set(map(str, refs))) != len(refs):
            yield failed("two cards share one card_ref", "one card_ref per card", first_ex)


@check("OIF-DET-3", endpoint=f"POST {DETAILS}")
def card_ref_opaque(ctx: RunContext) -> Iterator[Finding]:
    """card_ref is a string of 1-64 characters containing neither the MSISDN nor the ID number."""
    for s, details_ex, cards in usable_samples(ctx):
        for card in cards:
            ref = card.get("card_ref")
            if not isinstance(ref, str) or not 1 <= len(ref) <= 64:
                yield failed(f"card_ref {ctx.mask(str(ref))[:80]!r}", "a string of 1-64 characters",
                             details_ex)
                continue
            secrets = [c.msisdn for c in s.cards] + [s.id_number, s.id_number[-12:]]
            if any(secret in ref for secret in secrets):
                yield failed(f"card_ref {ctx.mask(ref)!r} contains the subject's number or ID number",
                             "an opaque reference", details_ex)
            elif any(c.msisdn[3:] in ref for c in s.cards):
                yield failed(f"card_ref {ctx.mask(ref)!r} contains 8 digits of the MSISDN",
                             "an opaque reference", details_ex)


def match_card(card: dict[str, Any], subject: Subject) -> FixtureCard | None:
    """The fixture card a listed card stands for.

    Matched by the digits shown around the mask (so a wrongly shaped mask, OIF-DET-2's concern,
    still finds its card), else by activation date and home region.
    """
    masked = str(card.get("msisdn_masked", ""))
    head, _, tail = masked.partition("*")
    tail = tail.lstrip("*")
    if head.isdigit() and tail.isdigit():
        found = [c for c in subject.cards if c.msisdn.startswith(head) and c.msisdn.endswith(tail)]
        if len(found) == 1:
            return found[0]
    found = [c for c in subject.cards if c.activated_on == card.get("activated_on")
             and c.home_region == card.get("home_region")]
    return found[0] if len(found) == 1 else None


def refs_by_msisdn(ex: Exchange, subject: Subject) -> dict[str, str]:
    """Fixture MSISDN → card_ref from a details answer (empty when unusable)."""
    cards = cards_of(ex)
    if isinstance(cards, Finding):
        return {}
    out: dict[str, str] = {}
    for card in cards:
        truth = match_card(card, subject)
        if truth is not None and isinstance(card.get("card_ref"), str):
            out[truth.msisdn] = card["card_ref"]
    return out


def listed_msisdns(ex: Exchange, subject: Subject) -> dict[str, dict[str, Any]]:
    """Fixture MSISDN → listed card, for the cards of a details answer that match the truth."""
    cards = cards_of(ex)
    if isinstance(cards, Finding):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for card in cards:
        truth = match_card(card, subject)
        if truth is not None:
            out[truth.msisdn] = card
    return out
