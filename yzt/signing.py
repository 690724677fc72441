"""Request signing (OIF-AUTH) and verification tickets (OIF-VER), shared by platform and operator.

Both sides import this one module, so the reference operator and the checks that judge other
operators cannot drift apart. Test vectors are published in ``docs/signing.md``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from functools import lru_cache

NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
SKEW_SECONDS = 300
HEADER_KEY_ID = "X-YZT-Key-Id"
HEADER_TIMESTAMP = "X-YZT-Timestamp"
HEADER_NONCE = "X-YZT-Nonce"
HEADER_SIGNATURE = "X-YZT-Signature"


def body_digest(body: bytes) -> str:
    """Lower-case hex SHA-256 of the raw body (of ``b""`` for a request without one)."""
    return hashlib.sha256(body).hexdigest()


def string_to_sign(method: str, path: str, timestamp: int | str, nonce: str, body: bytes) -> str:
    """``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nhex(SHA256(body))``.

    ``path`` is the protocol path (``/v1/card-count``), without the operator's base-URL prefix, with
    ``?query`` when there is one.
    """
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{body_digest(body)}"


def sign(secret: bytes, method: str, path: str, timestamp: int | str, nonce: str, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 signature of a request."""
    message = string_to_sign(method, path, timestamp, nonce, body).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """A fresh 32-character nonce from ``[A-Za-z0-9_-]``."""
    return secrets.token_urlsafe(24)


def signed_headers(
    key_id: str,
    secret: bytes,
    method: str,
    path: str,
    body: bytes,
    *,
    timestamp: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four OIF-AUTH headers for one request."""
    nonce = nonce or new_nonce()
    return {
        HEADER_KEY_ID: key_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: sign(secret, method, path, timestamp, nonce, body),
    }


def signature_matches(secret: bytes, method: str, path: str, timestamp: str, nonce: str,
                      body: bytes, signature: str) -> bool:
    """Constant-time comparison of a received signature with the expected one."""
    expected = sign(secret, method, path, timestamp, nonce, body)
    return hmac.compare_digest(expected, signature)


def make_ticket(secret: bytes, method: str, id_number: str, name: str, verified_at: str) -> str:
    """base64url (no padding) of HMAC-SHA256(secret, ``v1|METHOD|ID_NUMBER|NAME|VERIFIED_AT``).

    ``name`` is encoded as UTF-8; ``verified_at`` is the exact string sent in the request.
    """
    message = f"v1|{method}|{id_number}|{name}|{verified_at}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def ticket_matches(secret: bytes, method: str, id_number: str, name: str, verified_at: str,
                   ticket: str) -> bool:
    """Constant-time check of a verification ticket."""
    return hmac.compare_digest(make_ticket(secret, method, id_number, name, verified_at), ticket)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with ``Z`` and whole seconds, the protocol's time format."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 UTC time ending in ``Z``; raises ``ValueError`` for anything else."""
    if not isinstance(value, str):
        raise ValueError(f"not an RFC 3339 UTC time with Z: {value!r}")
    return _parse_time(value)


@lru_cache(maxsize=4096)
def _parse_time(value: str) -> datetime:
    # cached: a server parses the same few verified_at values over and over
    if not _TIME_RE.fullmatch(value):
        raise ValueError(f"not an RFC 3339 UTC time with Z: {value!r}")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
