"""Seeded defects of the reference operator: each one a deliberate violation of one requirement.

``yzt serve --defect NAME`` turns one on. The conformance suite proves each of its checks can fail
by running against these (the defect matrix), so every defect names the requirement it breaks.

A defect is a layer, never a branch in the clean operator: one function per defect, registered
here with its requirement id, that replaces or wraps one step of
:class:`~yzt.server.steps.Steps` (a rule, a composite step, or one operation's handler). They are
applied in the order of this module, after the legal variants, so a later one wraps an earlier one.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from aiohttp import web

from yzt.domain.idnumber import check_digit
from yzt.server import auth, checks, lifecycle
from yzt.server.body import HARD_MAX_BODY
from yzt.server.problems import Problem
from yzt.server.steps import Answer, Call, Handler, Incoming, Steps
from yzt.server.store import Cancellation, Card

HOUR, DAY = lifecycle.HOUR, lifecycle.DAY
FLAKY_EVERY = 50  # the ``flaky`` defect: 1 signed request in 50 (2 %) answers 500
SLOW_SECONDS = 1.2  # the ``slow`` defect
_REQUIREMENT_ID = re.compile(r"(OIF|SLA)-[A-Z]+-[0-9]+")


class DefectName(StrEnum):
    """Every seeded defect's name: code names ``DefectName.SLOW``, so a typo is an error (mypy, or
    AttributeError), never a defect silently off."""

    WRONG_CONTENT_TYPE = "wrong-content-type"
    NO_SIZE_LIMIT = "no-size-limit"
    ACCEPT_ANY_CONTENT_TYPE = "accept-any-content-type"
    CRASH_ON_ODD_JSON = "crash-on-odd-json"
    ACCEPT_BAD_SIGNATURE = "accept-bad-signature"
    IGNORE_TIMESTAMP_SKEW = "ignore-timestamp-skew"
    TIMESTAMP_PARSE_FAILS_OPEN = "timestamp-parse-fails-open"
    ACCEPT_REPLAYED_NONCE = "accept-replayed-nonce"
    VALIDATE_BEFORE_AUTH = "validate-before-auth"
    NO_VERIFICATION_REQUIRED = "no-verification-required"
    ACCEPT_FORGED_TICKET = "accept-forged-ticket"
    ACCEPT_EXPIRED_VERIFICATION = "accept-expired-verification"
    CANCEL_WITH_SMS_CODE = "cancel-with-sms-code"
    ACCEPT_LOWERCASE_X = "accept-lowercase-x"
    SKIP_CHECK_DIGIT = "skip-check-digit"
    COUNT_CANCELLED_CARDS = "count-cancelled-cards"
    WRONG_QUERY_ID = "wrong-query-id"
    DETAILS_INCLUDE_CANCELLED = "details-include-cancelled"
    BAD_MSISDN_MASK = "bad-msisdn-mask"
    UNMASKED_MSISDN = "unmasked-msisdn"
    UNSTABLE_CARD_REF = "unstable-card-ref"
    CARD_REF_CONTAINS_MSISDN = "card-ref-contains-msisdn"
    DISPUTE_ANY_CARD = "dispute-any-card"
    DISPUTE_STATE_REGRESSES = "dispute-state-regresses"
    UNBOUND_CARD_STILL_COUNTED = "unbound-card-still-counted"
    SLOW_DISPUTE_RESOLUTION = "slow-dispute-resolution"
    DISPUTE_IGNORES_TRUTH = "dispute-ignores-truth"
    REFUSE_REMOTE_CANCELLATION = "refuse-remote-cancellation"
    REFUSE_REMOTE_CANCELLATION_AT_SUBMIT = "refuse-remote-cancellation-at-submit"
    SLOW_CANCELLATION = "slow-cancellation"
    CANCEL_ANY_CARD = "cancel-any-card"
    NO_IDEMPOTENCY = "no-idempotency"
    NO_IDEMPOTENCY_CONFLICT = "no-idempotency-conflict"
    ECHO_ID_NUMBER = "echo-id-number"
    PLAIN_ERRORS = "plain-errors"
    PLAIN_HTTP_ERRORS = "plain-http-errors"
    NO_RETRY_AFTER = "no-retry-after"
    WRONG_CHECK_ORDER = "wrong-check-order"
    EMPTY_CHANNELS = "empty-channels"
    SLOW = "slow"
    FLAKY = "flaky"


D = DefectName
#: How a defect is applied: it replaces or wraps steps of the operator being built.
Apply = Callable[[Steps], None]


@dataclass(frozen=True)
class Defect:
    """A named, deliberate violation, the requirement it breaks, and the layer that makes it."""

    name: DefectName
    requirement: str
    description: str
    apply: Apply


#: Every defect by name, in the order they are registered (and applied).
DEFECTS: dict[str, Defect] = {}


def defect(name: DefectName, requirement: str, description: str) -> Callable[[Apply], Apply]:
    """Register the decorated function as the layer of defect ``name``, which breaks ``requirement``.
    A name registered twice, or a requirement id that is not ``OIF-…``/``SLA-…``, is refused."""
    def register(apply: Apply) -> Apply:
        if not _REQUIREMENT_ID.fullmatch(requirement):
            raise ValueError(f"defect {name}: {requirement!r} is not a requirement id (OIF-…, SLA-…)")
        if name in DEFECTS:
            raise ValueError(f"defect {name} is registered twice")
        DEFECTS[name] = Defect(name, requirement, description, apply)
        return apply
    return register


def by_requirement() -> dict[str, list[Defect]]:
    """The defects that break each requirement, keyed by its id."""
    found: dict[str, list[Defect]] = {}
    for d in DEFECTS.values():
        found.setdefault(d.requirement, []).append(d)
    return found


def apply(steps: Steps) -> None:
    """Apply the defects ``steps.config`` turns on, in registration order."""
    for d in DEFECTS.values():
        if steps.config.has(d.name):
            d.apply(steps)


def _skip(*_args: Any) -> None:
    """A check the defect leaves out."""


def _decorate(steps: Steps, operation: str, change: Callable[[Call, Answer], Answer]) -> None:
    """Rewrite the answer of ``operation``'s handler (inside idempotency: a replay repeats it)."""
    inner: Handler = steps.handlers[operation]
    steps.handlers[operation] = lambda call: change(call, inner(call))


# -- transport (OIF-T-1, OIF-T-3) ------------------------------------------------------------------
@defect(D.WRONG_CONTENT_TYPE, "OIF-T-1", "answers JSON bodies as text/plain")
def _wrong_content_type(s: Steps) -> None:
    s.answer = lambda status, payload: web.Response(status=status, body=payload, content_type="text/plain")


@defect(D.NO_SIZE_LIMIT, "OIF-T-3", "accepts request bodies over 16 KiB instead of 413")
def _no_size_limit(s: Steps) -> None:
    s.body_limit = HARD_MAX_BODY  # still bounded, to keep the sandbox alive


@defect(D.ACCEPT_ANY_CONTENT_TYPE, "OIF-T-3", "accepts non-JSON content types instead of 415")
def _accept_any_content_type(s: Steps) -> None:
    s.content_type = _skip


@defect(D.CRASH_ON_ODD_JSON, "OIF-T-3",
        "answers 500 to JSON nested ~1,000 deep or holding a lone surrogate, instead of 400")
def _crash_on_odd_json(s: Steps) -> None:
    def parse(body: bytes) -> Any:  # no depth or surrogate guard: both reach the code behind
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise Problem("malformed_request", f"the body is not JSON: {type(exc).__name__}") from None
    s.parse = parse


# -- authentication (OIF-AUTH-1…4) -------------------------------------------------------------
@defect(D.ACCEPT_BAD_SIGNATURE, "OIF-AUTH-1", "accepts a wrong signature or an unknown key id")
def _accept_bad_signature(s: Steps) -> None:
    inner = s.authenticate

    def authenticate(incoming: Incoming, now: float) -> None:
        if auth.SignedHeaders.of(incoming.headers) is not None:
            inner(incoming, now)  # an unsigned request skips skew and replay too
    s.authenticate = authenticate
    s.signature = _skip


@defect(D.IGNORE_TIMESTAMP_SKEW, "OIF-AUTH-2", "accepts timestamps more than 300 s off")
def _ignore_timestamp_skew(s: Steps) -> None:
    def timestamp(ts: str, now: float) -> int:
        stamp = auth.parse_timestamp(ts)
        return int(now) if stamp is None else stamp
    s.timestamp = timestamp


@defect(D.TIMESTAMP_PARSE_FAILS_OPEN, "OIF-AUTH-2",
        "lets a signed request through, skipping skew and nonce checks, when its timestamp "
        "cannot be read (over 12 digits, a sign, a decimal point)")
def _timestamp_parse_fails_open(s: Steps) -> None:
    inner = s.authenticate

    def authenticate(incoming: Incoming, now: float) -> None:
        h = auth.SignedHeaders.of(incoming.headers)
        if h is not None and auth.parse_timestamp(h.timestamp) is None:
            s.signature(h, incoming)  # as int() once made it: the signature only
            return
        inner(incoming, now)
    s.authenticate = authenticate


@defect(D.ACCEPT_REPLAYED_NONCE, "OIF-AUTH-3", "accepts a nonce already seen within 300 s")
def _accept_replayed_nonce(s: Steps) -> None:
    s.replay = lambda nonce, stamp, now: s.store.add_nonce(nonce, auth.nonce_expiry(stamp, now))


@defect(D.VALIDATE_BEFORE_AUTH, "OIF-AUTH-4", "parses and validates the body before checking the signature")
def _validate_before_auth(s: Steps) -> None:
    inner = s.authenticate

    def authenticate(incoming: Incoming, now: float) -> None:
        endpoint = incoming.endpoint
        if endpoint.request_schema is not None and incoming.body:
            s.content_type(incoming)
            doc = s.parse(incoming.body)
            if endpoint.carries_subject:
                checks.check_shape(endpoint.name, doc)
                checks.check_subject(doc["subject"], s.store.now())
        inner(incoming, now)
    s.authenticate = authenticate


# -- verification (OIF-VER-1…4) ------------------------------------------------------------------
@defect(D.NO_VERIFICATION_REQUIRED, "OIF-VER-1", "answers requests without a verification block")
def _no_verification_required(s: Steps) -> None:
    s.unverified = _skip


@defect(D.ACCEPT_FORGED_TICKET, "OIF-VER-2", "accepts any ticket (forged, or minted for another subject)")
def _accept_forged_ticket(s: Steps) -> None:
    s.ticket = _skip


@defect(D.ACCEPT_EXPIRED_VERIFICATION, "OIF-VER-3", "accepts verifications older than 48 h")
def _accept_expired_verification(s: Steps) -> None:
    s.fresh = _skip


@defect(D.CANCEL_WITH_SMS_CODE, "OIF-VER-4", "accepts sms_code or stale face verification for cancellations")
def _cancel_with_sms_code(s: Steps) -> None:
    s.face = _skip


# -- the subject (OIF-ID-1) ------------------------------------------------------------------------
@defect(D.ACCEPT_LOWERCASE_X, "OIF-ID-1", "accepts a lower-case x check character")
def _accept_lowercase_x(s: Steps) -> None:
    inner = s.subject

    def subject(doc: dict[str, Any], now: float) -> None:
        id_number: str = doc["id_number"]
        inner({**doc, "id_number": id_number[:-1] + "X"} if id_number.endswith("x") else doc, now)
    s.subject = subject


@defect(D.SKIP_CHECK_DIGIT, "OIF-ID-1", "does not check the ID number's check digit")
def _skip_check_digit(s: Steps) -> None:
    inner = s.subject

    def subject(doc: dict[str, Any], now: float) -> None:
        n: str = doc["id_number"]
        if len(n) == 18 and n[:17].isdigit() and n.isascii():
            doc = {**doc, "id_number": n[:17] + check_digit(n[:17])}
        inner(doc, now)
    s.subject = subject


# -- the cards (OIF-CNT-1…2, OIF-DET-1…3) ----------------------------------------------------------
@defect(D.COUNT_CANCELLED_CARDS, "OIF-CNT-1", "counts cancelled cards")
def _count_cancelled_cards(s: Steps) -> None:
    s.counted = len


@defect(D.WRONG_QUERY_ID, "OIF-CNT-2", "does not echo the request's query_id")
def _wrong_query_id(s: Steps) -> None:
    def change(_call: Call, answer: Answer) -> Answer:
        status, doc = answer
        return status, {**doc, "query_id": str(uuid.uuid4())}
    _decorate(s, "cardCount", change)


@defect(D.DETAILS_INCLUDE_CANCELLED, "OIF-DET-1", "lists cancelled cards in card details")
def _details_include_cancelled(s: Steps) -> None:
    s.listed = list


@defect(D.BAD_MSISDN_MASK, "OIF-DET-2", "masks numbers as 1381****567 (4 + 4 + 3)")
def _bad_msisdn_mask(s: Steps) -> None:
    s.mask = lambda msisdn: f"{msisdn[:4]}****{msisdn[-3:]}"


@defect(D.UNMASKED_MSISDN, "OIF-DET-2", "lists the full number in msisdn_masked")
def _unmasked_msisdn(s: Steps) -> None:
    s.mask = lambda msisdn: msisdn


@defect(D.UNSTABLE_CARD_REF, "OIF-DET-3", "gives a new card_ref on every query")
def _unstable_card_ref(s: Steps) -> None:
    ref_of, card_by_ref = s.ref_of, s.card_by_ref
    s.ref_of = lambda card: f"{ref_of(card)}.{secrets.token_hex(4)}"
    s.card_by_ref = lambda ref: card_by_ref(ref.split(".", 1)[0])


@defect(D.CARD_REF_CONTAINS_MSISDN, "OIF-DET-3", "card_ref embeds the card's MSISDN")
def _card_ref_contains_msisdn(s: Steps) -> None:
    def msisdn_ref(card: Card) -> str:
        return f"m{card.msisdn}_{card.ref[2:14]}"
    by_msisdn_ref = {msisdn_ref(c): c for c in s.store.cards_by_ref.values()}
    card_by_ref = s.card_by_ref
    s.ref_of = msisdn_ref
    s.card_by_ref = lambda ref: by_msisdn_ref.get(ref) or card_by_ref(ref)


# -- disputes (OIF-DSP-1…5) ----------------------------------------------------------------------
@defect(D.DISPUTE_ANY_CARD, "OIF-DSP-1", "accepts disputes on another subject's card")
def _dispute_any_card(s: Steps) -> None:
    s.disputed_card = lambda doc: s.live_card(doc["card_ref"])


@defect(D.DISPUTE_STATE_REGRESSES, "OIF-DSP-2", "reports the outcome before the dispute is resolved")
def _dispute_state_regresses(s: Steps) -> None:
    def change(call: Call, answer: Answer) -> Answer:
        status, doc = answer
        d = s.store.get_dispute(call.params["dispute_id"])
        if d is None or "outcome" in doc:
            return answer
        early = {}
        for k, v in doc.items():  # the outcome right after the state, where a resolved one stands
            early[k] = v
            if k == "state":
                early["outcome"] = d.outcome
        return status, early
    _decorate(s, "getDispute", change)


@defect(D.UNBOUND_CARD_STILL_COUNTED, "OIF-DSP-3", "keeps unbound or cancelled cards in the count")
def _unbound_card_still_counted(s: Steps) -> None:
    s.status_after = lambda outcome: "suspended" if outcome == "suspended" else None


@defect(D.SLOW_DISPUTE_RESOLUTION, "OIF-DSP-4", "sets resolve_by 20 days out and resolves late")
def _slow_dispute_resolution(s: Steps) -> None:
    s.timings = replace(s.timings, dispute_resolved=18 * DAY, dispute_resolve_by=20 * DAY)


@defect(D.DISPUTE_IGNORES_TRUTH, "OIF-DSP-5", "confirms ownership of non-genuine cards")
def _dispute_ignores_truth(s: Steps) -> None:
    s.outcome = lambda _card: "confirmed_owner"


# -- cancellations (OIF-CXL-1…3) -------------------------------------------------------------------
def _refuse_remote(s: Steps) -> None:
    inner = s.new_cancellation

    def new_cancellation(key: str, card: Card, accepted: float) -> Cancellation:
        c = inner(key, card, accepted)
        if card.home_region == "北京":
            return c
        return replace(c, complete_at=accepted, final_state="rejected", reason=(
            f"号码归属地为{card.home_region}，请到归属地营业厅办理 (visit a shop in the home region)"))
    s.new_cancellation = new_cancellation


@defect(D.REFUSE_REMOTE_CANCELLATION, "OIF-CXL-1",
        "rejects cancellations of cards whose home region is not 北京")
def _refuse_remote_cancellation(s: Steps) -> None:
    _refuse_remote(s)


@defect(D.REFUSE_REMOTE_CANCELLATION_AT_SUBMIT, "OIF-CXL-1",
        "answers cancellations of cards whose home region is not 北京 with state rejected in "
        "the POST answer itself")
def _refuse_remote_cancellation_at_submit(s: Steps) -> None:
    _refuse_remote(s)

    def change(call: Call, answer: Answer) -> Answer:
        c = s.store.get_cancellation(call.key)
        if c is None or c.final_state != "rejected":
            return answer
        return answer[0], {"cancellation_id": call.key, "state": "rejected", "reason": c.reason}
    _decorate(s, "createCancellation", change)


@defect(D.SLOW_CANCELLATION, "OIF-CXL-2", "sets complete_by 96 h out and completes late")
def _slow_cancellation(s: Steps) -> None:
    s.timings = replace(s.timings, cancel_complete=90 * HOUR, cancel_complete_by=96 * HOUR)


@defect(D.CANCEL_ANY_CARD, "OIF-CXL-3", "accepts cancellations of another subject's card")
def _cancel_any_card(s: Steps) -> None:
    s.cancelled_card = lambda doc: s.live_card(doc["card_ref"])


# -- idempotency (OIF-IDEM-1…2) ------------------------------------------------------------------
@defect(D.NO_IDEMPOTENCY, "OIF-IDEM-1", "answers a replayed id afresh (new as_of, new effect)")
def _no_idempotency(s: Steps) -> None:
    s.recall = lambda _kind, _key: None
    s.remember = _skip


@defect(D.NO_IDEMPOTENCY_CONFLICT, "OIF-IDEM-2", "accepts a reused id with a different body")
def _no_idempotency_conflict(s: Steps) -> None:
    s.conflict = _skip


# -- personal data (OIF-PII-1) -----------------------------------------------------------------
#: The problems whose detail the ``echo-id-number`` defect extends with the full ID number.
_ECHOED = frozenset({"verification_required", "verification_invalid", "verification_expired"})


@defect(D.ECHO_ID_NUMBER, "OIF-PII-1", "echoes the full ID number in 422/403 problem details")
def _echo_id_number(s: Steps) -> None:
    subject, verify = s.subject, s.verify

    def echoing_subject(doc: dict[str, Any], now: float) -> None:
        try:
            subject(doc, now)
        except Problem as p:
            if p.code != "invalid_id_number":
                raise
            detail = p.detail.replace("subject.id_number ", f"subject.id_number {doc['id_number']} ", 1)
            raise Problem(p.code, detail, raw_detail=True) from None

    def echoing_verify(doc: dict[str, Any], now: float, face: bool) -> None:
        try:
            verify(doc, now, face)
        except Problem as p:
            if p.code not in _ECHOED:
                raise
            raise Problem(p.code, f"{p.detail} for {doc['subject']['id_number']}",
                          raw_detail=True) from None
    s.subject, s.verify = echoing_subject, echoing_verify


# -- errors (OIF-ERR-1…3) ------------------------------------------------------------------------
@defect(D.PLAIN_ERRORS, "OIF-ERR-1", "answers errors without the problem+json shape")
def _plain_errors(s: Steps) -> None:
    def problem(p: Problem) -> web.Response:
        resp = web.Response(status=p.status, text=f"error: {p.code}", headers=p.headers,
                            content_type="text/plain")
        if p.close:
            resp.force_close()
        return resp
    s.problem = problem


@defect(D.PLAIN_HTTP_ERRORS, "OIF-ERR-1",
        "answers what the HTTP layer cannot parse (oversized headers…) as text/plain, "
        "echoing the request")
def _plain_http_errors(s: Steps) -> None:
    s.http_problems = False


@defect(D.NO_RETRY_AFTER, "OIF-ERR-2", "answers 429 and 503 without Retry-After")
def _no_retry_after(s: Steps) -> None:
    inner = s.problem

    def problem(p: Problem) -> web.Response:
        p.headers.pop("Retry-After", None)
        return inner(p)
    s.problem = problem


@defect(D.WRONG_CHECK_ORDER, "OIF-ERR-3", "checks verification before the subject (403 before 422)")
def _wrong_check_order(s: Steps) -> None:
    def identify(doc: dict[str, Any], now: float, face: bool) -> None:
        s.verify(doc, now, face)
        s.subject(doc["subject"], now)
    s.identify = identify


# -- service information (OIF-INFO-1) ----------------------------------------------------------
@defect(D.EMPTY_CHANNELS, "OIF-INFO-1", "publishes service-info with an empty complaint channel")
def _empty_channels(s: Steps) -> None:
    def change(_call: Call, answer: Answer) -> Answer:
        status, doc = answer
        return status, {**doc, "channels": {**doc["channels"], "complaint": []}}
    _decorate(s, "serviceInfo", change)


# -- service levels (SLA-LAT-1, SLA-ERR-1) -------------------------------------------------------
@defect(D.SLOW, "SLA-LAT-1", "adds ~1.2 s latency to card-count and card-details")
def _slow(s: Steps) -> None:
    inner = s.admitted

    async def admitted(incoming: Incoming) -> None:
        await inner(incoming)
        if incoming.endpoint.name in ("card-count", "card-details"):
            await asyncio.sleep(SLOW_SECONDS)
    s.admitted = admitted


@defect(D.FLAKY, "SLA-ERR-1", "answers 2 % of signed requests with 500 internal_error")
def _flaky(s: Steps) -> None:
    inner = s.admitted
    signed = [0]

    async def admitted(incoming: Incoming) -> None:
        signed[0] += 1
        if signed[0] % FLAKY_EVERY == 0:
            raise Problem("internal_error", "injected failure (flaky)")
        await inner(incoming)
    s.admitted = admitted


if set(DEFECTS) != set(DefectName):  # pragma: no cover
    raise RuntimeError("every DefectName has exactly one registered defect")


def table_markdown() -> str:
    """The defect table of docs/reference-operator.md (a test keeps the doc equal to it)."""
    rows = ["| defect | breaks | what it does |", "|---|---|---|"]
    rows += [f"| `{d.name}` | {d.requirement} | {d.description} |" for d in DEFECTS.values()]
    return "\n".join(rows)


def main() -> None:  # pragma: no cover - prints the table for the doc
    print(table_markdown())


if __name__ == "__main__":  # pragma: no cover
    main()
