"""The request checks of one protocol call, each raising the problem its step answers (OIF-ERR-3).

Shape (400) → subject (422) → verification (403). Business rules live with the endpoints.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from yzt.domain.idnumber import china_today, id_number_problem, name_problem
from yzt.server.problems import Problem
from yzt.signing import SKEW_SECONDS, parse_time, ticket_matches

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Top-level fields of each request: (id field, required fields, optional fields).
SHAPES: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {
    "card-count": ("query_id", ("query_id", "subject"), ("verification",)),
    "card-details": ("query_id", ("query_id", "subject"), ("verification",)),
    "disputes": ("dispute_id", ("dispute_id", "subject", "card_ref", "claim"), ("verification",)),
    "cancellations": ("cancellation_id", ("cancellation_id", "subject", "card_ref"), ("verification",)),
}
CLAIMS = ("not_mine", "unrecognized")
METHODS = ("sms_code", "face")
MAX_VERIFICATION_AGE = 48 * 3600
FACE_MAX_AGE = 30 * 60


#: Deepest nesting of arrays and objects a body may have; protocol bodies need 3.
MAX_JSON_DEPTH = 32
_NESTING = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]", re.ASCII)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


#: RFC 8259 JSON: NaN and Infinity, which Python's decoder would accept, are refused.
_DECODER = json.JSONDecoder(parse_constant=_not_json)


def _too_deep(body: bytes) -> bool:
    """True when arrays and objects nest deeper than :data:`MAX_JSON_DEPTH` (brackets inside
    strings do not count). Counting the openers first keeps ordinary bodies to two C scans."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for token in _NESTING.finditer(body):
        t = token.group()
        if t in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif t in (b"]", b"}"):
            depth -= 1
    return False


def _has_lone_surrogate(doc: Any) -> bool:
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_json(body: bytes) -> Any:
    """Decode a UTF-8 JSON body or answer 400 ``malformed_request``.

    Fails closed before anything else reads the document: nesting deeper than
    :data:`MAX_JSON_DEPTH`, or a ``\\ud800``-style escape that decodes to a lone surrogate (no
    character, cannot be hashed or stored as UTF-8), is 400 like any other unreadable body.
    """
    if _too_deep(body):
        raise Problem("malformed_request", f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        doc = _DECODER.decode(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Problem("malformed_request", f"the body is not JSON: {type(exc).__name__}") from None
    # raw UTF-8 cannot hold a surrogate (decode refuses it): only a \\uD8xx-\\uDFxx escape can
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(doc):
        raise Problem("malformed_request", "the body holds a lone surrogate escape "
                      "(\\ud800-\\udfff without its pair), which is not a character")
    return doc


def canonical_hash(doc: Any) -> str:
    """Hash of the canonical JSON of a body: the identity of a request for OIF-IDEM."""
    import hashlib

    canon = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def _bad(detail: str) -> Problem:
    return Problem("malformed_request", detail)


def _fields(obj: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    if not isinstance(obj, dict):
        raise _bad(f"{where} must be a JSON object")
    missing = [k for k in required if k not in obj]
    if missing:
        raise _bad(f"{where}: missing field(s) {', '.join(missing)}")
    extra = sorted(k for k in obj if k not in required and k not in optional)
    if extra:
        raise _bad(f"{where}: unexpected field(s) {', '.join(extra)}"[:200])


def _string(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise _bad(f"{where}.{key} must be a string")
    return value


def check_shape(kind: str, doc: Any) -> None:
    """Fields and types of a request body, per the request schema (400 ``malformed_request``).

    The subject's name and ID number need only be strings here: their rules answer 422, and a
    missing ``verification`` answers 403 ``verification_required``.
    """
    id_field, required, optional = SHAPES[kind]
    _fields(doc, "body", required, optional)
    if id_field is not None and not UUID_RE.fullmatch(_string(doc, id_field, "body")):
        raise _bad(f"body.{id_field} must be a UUID")
    subject = doc["subject"]
    _fields(subject, "body.subject", ("name", "id_type", "id_number"))
    _string(subject, "name", "body.subject")
    _string(subject, "id_number", "body.subject")
    if subject["id_type"] != "resident_id":
        raise _bad("body.subject.id_type must be \"resident_id\"")
    if "verification" in doc:
        v = doc["verification"]
        _fields(v, "body.verification", ("method", "verified_at", "ticket"))
        if v["method"] not in METHODS:
            raise _bad("body.verification.method must be \"sms_code\" or \"face\"")
        _string(v, "ticket", "body.verification")
        try:
            at = _string(v, "verified_at", "body.verification")
            if not at.isascii():
                raise ValueError(at)
            parse_time(at)
        except ValueError:
            raise _bad("body.verification.verified_at must be an RFC 3339 UTC time with Z") from None
    if "card_ref" in required:
        ref = _string(doc, "card_ref", "body")
        if not 1 <= len(ref) <= 64:
            raise _bad("body.card_ref must be 1-64 characters")
    if "claim" in required and doc["claim"] not in CLAIMS:
        raise _bad("body.claim must be \"not_mine\" or \"unrecognized\"")


def check_clock_shape(doc: Any) -> int:
    """``{advance_seconds}``, an integer ≥ 0."""
    _fields(doc, "body", ("advance_seconds",))
    value = doc["advance_seconds"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad("body.advance_seconds must be an integer >= 0 (the clock never goes back)")
    return value


def check_subject(subject: dict[str, Any], now: float) -> None:
    """OIF-ID-1: 422 ``invalid_id_number`` or ``invalid_name``."""
    problem = id_number_problem(subject["id_number"], china_today(datetime.fromtimestamp(now, UTC)))
    if problem:
        raise Problem("invalid_id_number", f"subject.id_number {problem}")
    if problem := name_problem(subject["name"]):
        raise Problem("invalid_name", f"subject.name {problem}")


def verification_required() -> None:
    """OIF-VER-1: a request about a subject carries a verification block (403)."""
    raise Problem("verification_required", "the request has no verification block")


def check_ticket(secret: bytes, subject: dict[str, Any], v: dict[str, Any]) -> None:
    """OIF-VER-2: the ticket was minted by the platform for this subject (403)."""
    if not ticket_matches(secret, v["method"], subject["id_number"], subject["name"],
                          v["verified_at"], v["ticket"]):
        raise Problem("verification_invalid", "the ticket does not match this subject")


def verification_age(v: dict[str, Any], now: float) -> float:
    """Seconds since the verification (negative when it claims to be in the future)."""
    return now - parse_time(v["verified_at"]).timestamp()


def check_fresh(v: dict[str, Any], now: float) -> None:
    """OIF-VER-3: verified within the last 48 h, and not in the future beyond the clock skew (403)."""
    age = verification_age(v, now)
    if age > MAX_VERIFICATION_AGE or age < -SKEW_SECONDS:
        raise Problem("verification_expired",
                      f"verified_at is {'older than 48 h' if age > 0 else 'in the future'}")


def check_face(v: dict[str, Any], now: float) -> None:
    """OIF-VER-4: a cancellation needs face verification within the last 30 minutes (403)."""
    if v["method"] != "face" or verification_age(v, now) > FACE_MAX_AGE:
        raise Problem("verification_insufficient",
                      "a cancellation needs face verification within the last 30 minutes")
