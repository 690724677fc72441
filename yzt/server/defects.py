"""Seeded defects of the reference operator: each one a deliberate violation of one requirement.

``yzt serve --defect NAME`` turns one on. The conformance suite proves each of its checks can fail
by running against these (the defect matrix), so every name maps to the requirement it breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DefectName(StrEnum):
    """Every seeded defect's name: the server tests ``config.has(DefectName.SLOW)``, so a typo is
    an error (mypy, or AttributeError), never a defect silently off."""

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


@dataclass(frozen=True)
class Defect:
    """A named, deliberate violation and the requirement it breaks."""

    name: DefectName
    requirement: str
    description: str


_DEFECTS = (
    Defect(DefectName.WRONG_CONTENT_TYPE, "OIF-T-1", "answers JSON bodies as text/plain"),
    Defect(DefectName.NO_SIZE_LIMIT, "OIF-T-3", "accepts request bodies over 16 KiB instead of 413"),
    Defect(DefectName.ACCEPT_ANY_CONTENT_TYPE, "OIF-T-3", "accepts non-JSON content types instead of 415"),
    Defect(DefectName.CRASH_ON_ODD_JSON, "OIF-T-3",
           "answers 500 to JSON nested ~1,000 deep or holding a lone surrogate, instead of 400"),
    Defect(DefectName.ACCEPT_BAD_SIGNATURE, "OIF-AUTH-1", "accepts a wrong signature or an unknown key id"),
    Defect(DefectName.IGNORE_TIMESTAMP_SKEW, "OIF-AUTH-2", "accepts timestamps more than 300 s off"),
    Defect(DefectName.TIMESTAMP_PARSE_FAILS_OPEN, "OIF-AUTH-2",
           "lets a signed request through, skipping skew and nonce checks, when its timestamp "
           "cannot be read (over 12 digits, a sign, a decimal point)"),
    Defect(DefectName.ACCEPT_REPLAYED_NONCE, "OIF-AUTH-3", "accepts a nonce already seen within 300 s"),
    Defect(DefectName.VALIDATE_BEFORE_AUTH, "OIF-AUTH-4",
           "parses and validates the body before checking the signature"),
    Defect(DefectName.NO_VERIFICATION_REQUIRED, "OIF-VER-1", "answers requests without a verification block"),
    Defect(DefectName.ACCEPT_FORGED_TICKET, "OIF-VER-2",
           "accepts any ticket (forged, or minted for another subject)"),
    Defect(DefectName.ACCEPT_EXPIRED_VERIFICATION, "OIF-VER-3", "accepts verifications older than 48 h"),
    Defect(DefectName.CANCEL_WITH_SMS_CODE, "OIF-VER-4",
           "accepts sms_code or stale face verification for cancellations"),
    Defect(DefectName.ACCEPT_LOWERCASE_X, "OIF-ID-1", "accepts a lower-case x check character"),
    Defect(DefectName.SKIP_CHECK_DIGIT, "OIF-ID-1", "does not check the ID number's check digit"),
    Defect(DefectName.COUNT_CANCELLED_CARDS, "OIF-CNT-1", "counts cancelled cards"),
    Defect(DefectName.WRONG_QUERY_ID, "OIF-CNT-2", "does not echo the request's query_id"),
    Defect(DefectName.DETAILS_INCLUDE_CANCELLED, "OIF-DET-1", "lists cancelled cards in card details"),
    Defect(DefectName.BAD_MSISDN_MASK, "OIF-DET-2", "masks numbers as 1381****567 (4 + 4 + 3)"),
    Defect(DefectName.UNMASKED_MSISDN, "OIF-DET-2", "lists the full number in msisdn_masked"),
    Defect(DefectName.UNSTABLE_CARD_REF, "OIF-DET-3", "gives a new card_ref on every query"),
    Defect(DefectName.CARD_REF_CONTAINS_MSISDN, "OIF-DET-3", "card_ref embeds the card's MSISDN"),
    Defect(DefectName.DISPUTE_ANY_CARD, "OIF-DSP-1", "accepts disputes on another subject's card"),
    Defect(DefectName.DISPUTE_STATE_REGRESSES, "OIF-DSP-2",
           "reports the outcome before the dispute is resolved"),
    Defect(DefectName.UNBOUND_CARD_STILL_COUNTED, "OIF-DSP-3",
           "keeps unbound or cancelled cards in the count"),
    Defect(DefectName.SLOW_DISPUTE_RESOLUTION, "OIF-DSP-4", "sets resolve_by 20 days out and resolves late"),
    Defect(DefectName.DISPUTE_IGNORES_TRUTH, "OIF-DSP-5", "confirms ownership of non-genuine cards"),
    Defect(DefectName.REFUSE_REMOTE_CANCELLATION, "OIF-CXL-1",
           "rejects cancellations of cards whose home region is not 北京"),
    Defect(DefectName.REFUSE_REMOTE_CANCELLATION_AT_SUBMIT, "OIF-CXL-1",
           "answers cancellations of cards whose home region is not 北京 with state rejected in "
           "the POST answer itself"),
    Defect(DefectName.SLOW_CANCELLATION, "OIF-CXL-2", "sets complete_by 96 h out and completes late"),
    Defect(DefectName.CANCEL_ANY_CARD, "OIF-CXL-3", "accepts cancellations of another subject's card"),
    Defect(DefectName.NO_IDEMPOTENCY, "OIF-IDEM-1", "answers a replayed id afresh (new as_of, new effect)"),
    Defect(DefectName.NO_IDEMPOTENCY_CONFLICT, "OIF-IDEM-2", "accepts a reused id with a different body"),
    Defect(DefectName.ECHO_ID_NUMBER, "OIF-PII-1", "echoes the full ID number in 422/403 problem details"),
    Defect(DefectName.PLAIN_ERRORS, "OIF-ERR-1", "answers errors without the problem+json shape"),
    Defect(DefectName.PLAIN_HTTP_ERRORS, "OIF-ERR-1",
           "answers what the HTTP layer cannot parse (oversized headers…) as text/plain, "
           "echoing the request"),
    Defect(DefectName.NO_RETRY_AFTER, "OIF-ERR-2", "answers 429 and 503 without Retry-After"),
    Defect(DefectName.WRONG_CHECK_ORDER, "OIF-ERR-3",
           "checks verification before the subject (403 before 422)"),
    Defect(DefectName.EMPTY_CHANNELS, "OIF-INFO-1", "publishes service-info with an empty complaint channel"),
    Defect(DefectName.SLOW, "SLA-LAT-1", "adds ~1.2 s latency to card-count and card-details"),
    Defect(DefectName.FLAKY, "SLA-ERR-1", "answers 2 % of signed requests with 500 internal_error"),
)

DEFECTS: dict[str, Defect] = {d.name: d for d in _DEFECTS}
if set(DEFECTS) != set(DefectName) or len(DEFECTS) != len(_DEFECTS):  # pragma: no cover
    raise RuntimeError("every DefectName has exactly one row in the table")

