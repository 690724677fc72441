"""Authentication of a signed request (OIF-AUTH-1…3): signature, then timestamp, then replay.

Fails closed: a header that could not have been signed is a mismatch, never an exception, and a
timestamp that is not 1-12 ASCII digits is never converted with ``int()`` (which raises on >4,300
digits): it is answered ``timestamp_skew`` like any other time the operator cannot place within
300 s of its clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from yzt.server.problems import Problem
from yzt.server.store import Store
from yzt.signing import (
    HEADER_KEY_ID,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NONCE_RE,
    SKEW_SECONDS,
    signature_matches,
)

#: Unix seconds before year 9000 have at most 12 digits; longer is never converted with int().
TIMESTAMP_MAX_DIGITS = 12
_TIMESTAMP = re.compile(f"[0-9]{{1,{TIMESTAMP_MAX_DIGITS}}}")
SIGNATURE_LENGTH = 64  # lower-case hex HMAC-SHA256
MAX_SIGNED_FIELD = 8190  # no header field is longer (the HTTP layer's bound); HMAC work is bounded


@dataclass(frozen=True)
class SignedHeaders:
    """The four ``X-YZT-*`` headers of a signed request."""

    key_id: str
    timestamp: str
    nonce: str
    signature: str

    @classmethod
    def of(cls, headers: Mapping[str, str]) -> SignedHeaders | None:
        """The headers, or None when one of them is missing."""
        key_id, ts, nonce, sig = (headers.get(HEADER_KEY_ID), headers.get(HEADER_TIMESTAMP),
                                  headers.get(HEADER_NONCE), headers.get(HEADER_SIGNATURE))
        if key_id is None or ts is None or nonce is None or sig is None:
            return None
        return cls(key_id, ts, nonce, sig)


def parse_timestamp(value: str) -> int | None:
    """``X-YZT-Timestamp`` as Unix seconds, or None for anything else (sign, space, >12 digits…)."""
    return int(value) if _TIMESTAMP.fullmatch(value) else None


def signature_ok(secret: bytes, method: str, target: str, ts: str, nonce: str, body: bytes,
                 sig: str) -> bool:
    """The HMAC check, false (never an exception) for any header that could not have been signed."""
    if len(sig) != SIGNATURE_LENGTH or not sig.isascii() or len(ts) > MAX_SIGNED_FIELD:
        return False
    try:
        return signature_matches(secret, method, target, ts, nonce, body, sig)
    except UnicodeError:  # a lone surrogate from undecodable header or path bytes
        return False


def check_signature(h: SignedHeaders, key_id: str, secret: bytes, method: str, target: str,
                    body: bytes) -> None:
    """OIF-AUTH-1: the key id is the platform's, the nonce well formed, the signature right."""
    if h.key_id != key_id:
        raise Problem("signature_invalid", "unknown key id")
    if not NONCE_RE.fullmatch(h.nonce):
        raise Problem("signature_invalid", "the nonce must be 16-64 characters of [A-Za-z0-9_-]")
    if not signature_ok(secret, method, target, h.timestamp, h.nonce, body, h.signature):
        raise Problem("signature_invalid", "the signature does not match")


def check_timestamp(ts: str, now: float) -> int:
    """OIF-AUTH-2: the timestamp as Unix seconds, within 300 s of ``now``."""
    stamp = parse_timestamp(ts)
    if stamp is None:
        raise Problem("timestamp_skew", "X-YZT-Timestamp must be Unix seconds "
                      f"(1-{TIMESTAMP_MAX_DIGITS} ASCII digits) within 300 s of the operator's clock")
    if abs(stamp - now) > SKEW_SECONDS:
        raise Problem("timestamp_skew", "X-YZT-Timestamp is more than 300 s from the operator's clock")
    return stamp


def nonce_expiry(stamp: int, now: float) -> int:
    """When a nonce may be forgotten: once its timestamp could no longer pass the skew check."""
    return max(stamp, int(now)) + SKEW_SECONDS + 1


def claim_nonce(store: Store, nonce: str, stamp: int, now: float) -> None:
    """OIF-AUTH-3: a nonce is accepted once while its timestamp could pass the skew check."""
    if not store.claim_nonce(nonce, nonce_expiry(stamp, now), now):
        raise Problem("replayed_request", "this nonce was already used")
