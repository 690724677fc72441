"""Seeded defects of the reference operator: each one a deliberate violation of one requirement.

``yzt serve --defect NAME`` turns one on. The conformance suite proves each of its checks can fail
by running against these (the defect matrix), so every name maps to the requirement it breaks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Defect:
    """A named, deliberate violation and the requirement it breaks."""

    name: str
    requirement: str
    description: str


_DEFECTS = (
    Defect("wrong-content-type", "OIF-T-1", "answers JSON bodies as text/plain"),
    Defect("no-size-limit", "OIF-T-3", "accepts request bodies over 16 KiB instead of 413"),
    Defect("accept-any-content-type", "OIF-T-3", "accepts non-JSON content types instead of 415"),
    Defect("accept-bad-signature", "OIF-AUTH-1", "accepts a wrong signature or an unknown key id"),
    Defect("ignore-timestamp-skew", "OIF-AUTH-2", "accepts timestamps more than 300 s off"),
    Defect("accept-replayed-nonce", "OIF-AUTH-3", "accepts a nonce already seen within 300 s"),
    Defect("validate-before-auth", "OIF-AUTH-4",
           "parses and validates the body before checking the signature"),
    Defect("no-verification-required", "OIF-VER-1", "answers requests without a verification block"),
    Defect("accept-forged-ticket", "OIF-VER-2",
           "accepts any ticket (forged, or minted for another subject)"),
    Defect("accept-expired-verification", "OIF-VER-3", "accepts verifications older than 48 h"),
    Defect("cancel-with-sms-code", "OIF-VER-4",
           "accepts sms_code or stale face verification for cancellations"),
    Defect("accept-lowercase-x", "OIF-ID-1", "accepts a lower-case x check character"),
    Defect("skip-check-digit", "OIF-ID-1", "does not check the ID number's check digit"),
    Defect("count-cancelled-cards", "OIF-CNT-1", "counts cancelled cards"),
    Defect("wrong-query-id", "OIF-CNT-2", "does not echo the request's query_id"),
    Defect("details-include-cancelled", "OIF-DET-1", "lists cancelled cards in card details"),
    Defect("bad-msisdn-mask", "OIF-DET-2", "masks numbers as 1381****567 (4 + 4 + 3)"),
    Defect("unstable-card-ref", "OIF-DET-3", "gives a new card_ref on every query"),
    Defect("card-ref-contains-msisdn", "OIF-DET-3", "card_ref embeds the card's MSISDN"),
    Defect("dispute-any-card", "OIF-DSP-1", "accepts disputes on another subject's card"),
    Defect("dispute-state-regresses", "OIF-DSP-2",
           "reports the outcome before the dispute is resolved"),
    Defect("unbound-card-still-counted", "OIF-DSP-3", "keeps unbound or cancelled cards in the count"),
    Defect("slow-dispute-resolution", "OIF-DSP-4", "sets resolve_by 20 days out and resolves late"),
    Defect("dispute-ignores-truth", "OIF-DSP-5", "confirms ownership of non-genuine cards"),
    Defect("refuse-remote-cancellation", "OIF-CXL-1",
           "rejects cancellations of cards whose home region is not 北京"),
    Defect("refuse-remote-cancellation-at-submit", "OIF-CXL-1",
           "answers cancellations of cards whose home region is not 北京 with state rejected in "
           "the POST answer itself"),
    Defect("slow-cancellation", "OIF-CXL-2", "sets complete_by 96 h out and completes late"),
    Defect("cancel-any-card", "OIF-CXL-3", "accepts cancellations of another subject's card"),
    Defect("no-idempotency", "OIF-IDEM-1", "answers a replayed id afresh (new as_of, new effect)"),
    Defect("no-idempotency-conflict", "OIF-IDEM-2", "accepts a reused id with a different body"),
    Defect("echo-id-number", "OIF-PII-1", "echoes the full ID number in 422/403 problem details"),
    Defect("plain-errors", "OIF-ERR-1", "answers errors without the problem+json shape"),
    Defect("no-retry-after", "OIF-ERR-2", "answers 429 and 503 without Retry-After"),
    Defect("wrong-check-order", "OIF-ERR-3", "checks verification before the subject (403 before 422)"),
    Defect("empty-channels", "OIF-INFO-1", "publishes service-info with an empty complaint channel"),
    Defect("slow", "SLA-LAT-1", "adds ~1.2 s latency to card-count and card-details"),
    Defect("flaky", "SLA-ERR-1", "answers 2 % of signed requests with 500 internal_error"),
)

DEFECTS: dict[str, Defect] = {d.name: d for d in _DEFECTS}
if len(DEFECTS) != len(_DEFECTS):  # pragma: no cover - guards the table above
    raise RuntimeError("duplicate defect name")


def defect_names_for(requirement: str) -> list[str]:
    """Names of the defects that break ``requirement``."""
    return [d.name for d in _DEFECTS if d.requirement == requirement]
