"""Every endpoint and every error code of the protocol's table, over real HTTP (OIF-ERR-3 order too).

One server for the module; tests that move the sandbox clock live in test_server_lifecycle.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from server_helpers import client, query, subject_doc, subject_with, subjects

from yzt.client import Exchange, PlatformClient
from yzt.conformance.schemas import validate
from yzt.domain.idnumber import check_digit
from yzt.domain.masking import find_pii
from yzt.server.testing import running_server

pytestmark = pytest.mark.integration


def problem(e: Exchange, status: int, code: str) -> dict[str, Any]:
    """Assert a problem+json answer with this status and code, valid and free of PII."""
    assert e.status == status, (e.status, e.response_body[:300])
    assert e.content_type == "application/problem+json"
    body = e.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"urn:yzt:problem:{code}"
    assert validate("problem", body) == [] or status == 405
    assert find_pii(e.response_body.decode()) == []
    if status in (429, 503):
        assert e.response_headers["retry-after"].isdigit()
    return body  # type: ignore[no-any-return]


# -- the happy paths ---------------------------------------------------------------------------------
def test_service_info_and_health_are_valid(c: PlatformClient) -> None:
    assert validate("service_info", c.send("GET", "/v1/service-info", sign=False).json()) == []
    assert validate("health", c.send("GET", "/v1/health", sign=False).json()) == []


def test_count_and_details_agree_and_are_valid(c: PlatformClient) -> None:
    for s in [subject_with(3), subject_with(1, skip=5)]:
        req = query(c, s)
        count = c.send("POST", "/v1/card-count", body=req)
        assert validate("card_count_response", count.json()) == []
        details = c.send("POST", "/v1/card-details", body=req)
        assert validate("card_details_response", details.json()) == []
        cards = details.json()["cards"]
        assert len(cards) == count.json()["card_count"] == len(s.live_cards)
        assert [x["activated_on"] for x in cards] == sorted(x["activated_on"] for x in cards)
        assert {x["msisdn_masked"] for x in cards} == {
            f"{k.msisdn[:3]}****{k.msisdn[-4:]}" for k in s.live_cards}
        again = c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"]
        assert [x["card_ref"] for x in again] == [x["card_ref"] for x in cards]
        for x in cards:
            assert len(x["card_ref"]) <= 64 and s.id_number not in x["card_ref"]
            assert not any(k.msisdn in x["card_ref"] for k in s.cards)
        assert find_pii(details.response_body.decode()) == []


def test_unknown_subject_counts_zero(c: PlatformClient) -> None:
    stranger = type(subjects()[0])("陌生人", "11010519491231002X")
    e = c.send("POST", "/v1/card-count", body=query(c, stranger))
    assert (e.status, e.json()["card_count"]) == (200, 0)


def test_only_cancelled_cards_count_zero(c: PlatformClient) -> None:
    s = next(s for s in subjects() if s.cards and not s.live_cards)
    assert c.send("POST", "/v1/card-count", body=query(c, s)).json()["card_count"] == 0
    assert c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"] == []


def test_dispute_and_cancellation_submit_and_status(c: PlatformClient) -> None:
    s = subject_with(2, skip=3)
    refs = [x["card_ref"] for x in c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"]]
    dispute = dict(query(c, s), card_ref=refs[0], claim="not_mine")
    dispute["dispute_id"] = dispute.pop("query_id")
    e = c.send("POST", "/v1/disputes", body=dispute)
    assert e.status == 202 and validate("dispute_accepted", e.json()) == []
    status = c.send("GET", f"/v1/disputes/{dispute['dispute_id']}")
    assert status.status == 200 and validate("dispute_status", status.json()) == []
    assert status.json()["state"] == "received"
    cancel = dict(query(c, s, method="face"), card_ref=refs[1])
    cancel["cancellation_id"] = cancel.pop("query_id")
    e = c.send("POST", "/v1/cancellations", body=cancel)
    assert e.status == 202 and validate("cancellation_accepted", e.json()) == []
    status = c.send("GET", f"/v1/cancellations/{cancel['cancellation_id']}")
    assert status.status == 200 and validate("cancellation_status", status.json()) == []
    assert status.json()["state"] == "accepted"


def test_idempotent_replay_returns_the_same_bytes(c: PlatformClient) -> None:
    s = subject_with(1)
    req = query(c, s)
    first = c.send("POST", "/v1/card-count", body=req)
    again = c.send("POST", "/v1/card-count", body=req)
    assert again.status == 200 and again.response_body == first.response_body
    changed = dict(req, verification=c.verification(s.name, s.id_number, method="face"))
    problem(c.send("POST", "/v1/card-count", body=changed), 409, "idempotency_conflict")


# -- every error code ----------------------------------------------------------------------------------
def _signed_raw(c: PlatformClient, raw: bytes, content_type: str = "application/json") -> Exchange:
    return c.send("POST", "/v1/card-count", raw=raw, content_type=content_type)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b"",
                                 b'{"query_id": "x"}', b'{"query_id": 5}'])
def test_malformed_bodies_are_400(c: PlatformClient, raw: bytes) -> None:
    problem(_signed_raw(c, raw), 400, "malformed_request")


@pytest.mark.parametrize("mutate", [
    lambda b: b.update(extra=1),
    lambda b: b["subject"].update(id_type="passport"),
    lambda b: b["subject"].update(name=7),
    lambda b: b["verification"].update(method="voice"),
    lambda b: b["verification"].update(verified_at="2026-01-01T00:00:00+08:00"),
    lambda b: b.update(verification=None),
    lambda b: b.update(query_id="not-a-uuid"),
])
def test_shape_errors_are_400(c: PlatformClient, mutate: Any) -> None:
    body = query(c, subject_with(1))
    mutate(body)
    problem(c.send("POST", "/v1/card-count", body=body), 400, "malformed_request")


def test_signature_errors_are_401(c: PlatformClient) -> None:
    body = query(c, subject_with(1))
    problem(c.send("POST", "/v1/card-count", body=body, sign=False), 401, "signature_invalid")
    problem(c.send("POST", "/v1/card-count", body=body, secret=b"wrong"), 401, "signature_invalid")
    problem(c.send("POST", "/v1/card-count", body=body, key_id="k9"), 401, "signature_invalid")
    problem(c.send("POST", "/v1/card-count", body=body, nonce="short"), 401, "signature_invalid")
    problem(c.send("POST", "/v1/card-count", body=body, timestamp=c.timestamp() - 301), 401,
            "timestamp_skew")
    problem(c.send("POST", "/v1/card-count", body=body, timestamp=c.timestamp() + 400), 401,
            "timestamp_skew")
    nonce = "n" * 20 + c.new_id()[:8]
    assert c.send("POST", "/v1/card-count", body=body, nonce=nonce).status == 200
    problem(c.send("POST", "/v1/card-count", body=body, nonce=nonce), 401, "replayed_request")
    problem(c.send("GET", "/v1/disputes/" + c.new_id(), sign=False), 401, "signature_invalid")


def test_verification_errors_are_403(c: PlatformClient) -> None:
    s, other = subject_with(1), subject_with(1, skip=1)
    body = query(c, s)
    del body["verification"]
    problem(c.send("POST", "/v1/card-count", body=body), 403, "verification_required")
    body = query(c, s)
    body["verification"] = c.verification(other.name, other.id_number)
    problem(c.send("POST", "/v1/card-count", body=body), 403, "verification_invalid")
    body["verification"] = dict(c.verification(s.name, s.id_number), ticket="forged")
    problem(c.send("POST", "/v1/card-count", body=body), 403, "verification_invalid")
    from datetime import timedelta

    old = query(c, s, age=timedelta(hours=48, seconds=30))
    problem(c.send("POST", "/v1/card-count", body=old), 403, "verification_expired")
    future = query(c, s, age=-timedelta(seconds=400))
    problem(c.send("POST", "/v1/card-count", body=future), 403, "verification_expired")
    refs = c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"]
    for verification in ({}, {"method": "face", "age": timedelta(minutes=31)}):
        cancel = dict(query(c, s, **verification), card_ref=refs[0]["card_ref"])
        cancel["cancellation_id"] = cancel.pop("query_id")
        problem(c.send("POST", "/v1/cancellations", body=cancel), 403, "verification_insufficient")


def _with_id(c: PlatformClient, id_number: str, name: str = "张三") -> dict[str, Any]:
    return {"query_id": c.new_id(),
            "subject": {"name": name, "id_type": "resident_id", "id_number": id_number},
            "verification": c.verification(name, id_number)}


@pytest.mark.parametrize("id_number", [
    "11010519491231002x",  # lower-case x
    "110105194912310021",  # wrong check digit
    "110105194902300021",  # 30 February
    "1101051949123100",  # too short
    "11010530991231" + "001" + check_digit("11010530991231001"),  # born in 3099
])
def test_invalid_id_numbers_are_422_and_not_echoed(c: PlatformClient, id_number: str) -> None:
    body = problem(c.send("POST", "/v1/card-count", body=_with_id(c, id_number)), 422,
                   "invalid_id_number")
    assert id_number not in body["detail"]


@pytest.mark.parametrize("name", ["", "   ", "张" * 31, "张\x07三"])
def test_invalid_names_are_422(c: PlatformClient, name: str) -> None:
    body = problem(c.send("POST", "/v1/card-count", body=_with_id(c, "11010519491231002X", name)),
                   422, "invalid_name")
    assert not name.strip() or name not in body["detail"]


def test_card_not_found_for_unknown_or_foreign_card(c: PlatformClient) -> None:
    s, other = subject_with(1), subject_with(1, skip=2)
    foreign = c.send("POST", "/v1/card-details", body=query(c, other)).json()["cards"][0]["card_ref"]
    for ref in (foreign, "c_unknown"):
        dispute = dict(query(c, s), card_ref=ref, claim="unrecognized")
        dispute["dispute_id"] = dispute.pop("query_id")
        problem(c.send("POST", "/v1/disputes", body=dispute), 404, "card_not_found")
        cancel = dict(query(c, s, method="face"), card_ref=ref)
        cancel["cancellation_id"] = cancel.pop("query_id")
        problem(c.send("POST", "/v1/cancellations", body=cancel), 404, "card_not_found")


def test_not_found_and_method_not_allowed(c: PlatformClient) -> None:
    problem(c.send("GET", "/v1/nothing-here", sign=False), 404, "not_found")
    problem(c.send("GET", f"/v1/disputes/{c.new_id()}"), 404, "not_found")
    problem(c.send("GET", f"/v1/cancellations/{c.new_id()}"), 404, "not_found")
    e = c.send("GET", "/v1/card-count")
    problem(e, 405, "method_not_allowed")
    assert e.response_headers["allow"] == "POST"
    e = c.send("DELETE", "/v1/health", sign=False)
    problem(e, 405, "method_not_allowed")
    assert e.response_headers["allow"] == "GET"


def test_payload_too_large_and_unsupported_media_type(c: PlatformClient) -> None:
    big = json.dumps({"pad": "x" * 17000}).encode()
    problem(_signed_raw(c, big), 413, "payload_too_large")
    problem(c.send("POST", "/v1/card-count", raw=big, sign=False), 413, "payload_too_large")
    body = json.dumps(query(c, subject_with(1))).encode()
    problem(_signed_raw(c, body, "text/plain"), 415, "unsupported_media_type")
    problem(_signed_raw(c, body, "application/json; charset=latin-1"), 415, "unsupported_media_type")
    assert _signed_raw(c, body, "application/json; charset=utf-8").status == 200


def test_sandbox_clock_rejects_negative_advance(c: PlatformClient) -> None:
    problem(c.send("POST", "/v1/sandbox/clock", body={"advance_seconds": -1}), 400, "malformed_request")
    problem(c.send("POST", "/v1/sandbox/clock", body={"advance_seconds": 1.5}), 400, "malformed_request")
    e = c.advance_clock(0)
    assert e.status == 200 and validate("sandbox_clock_response", e.json()) == []


# -- order of checks (OIF-ERR-3) ------------------------------------------------------------------------
def test_order_of_checks(c: PlatformClient) -> None:
    big = b"{" + b" " * 20000 + b"}"
    problem(c.send("POST", "/v1/card-count", raw=big, sign=False, content_type="text/plain"), 413,
            "payload_too_large")
    problem(c.send("POST", "/v1/card-count", raw=b"{bad", sign=False, content_type="text/plain"), 401,
            "signature_invalid")
    problem(_signed_raw(c, b"{bad", "text/plain"), 415, "unsupported_media_type")
    bad = _with_id(c, "110105194912310021")
    del bad["verification"]
    problem(c.send("POST", "/v1/card-count", body=bad), 422, "invalid_id_number")
    s = subject_with(1)
    forged = dict(query(c, s), card_ref="c_unknown", claim="not_mine")
    forged["dispute_id"] = forged.pop("query_id")
    forged["verification"]["ticket"] = "forged"
    problem(c.send("POST", "/v1/disputes", body=forged), 403, "verification_invalid")
    # skew is judged after the signature: a bad signature with a stale timestamp is signature_invalid
    problem(c.send("POST", "/v1/card-count", body=query(c, s), secret=b"x", timestamp=1), 401,
            "signature_invalid")


def test_base_path_prefix_is_not_signed() -> None:
    with running_server(subjects=20, extra_args=["--base-path", "/yzt"]) as url, client(url) as c:
        assert url.endswith("/yzt")
        s = subjects()[0]
        assert c.send("POST", "/v1/card-count", body=query(c, s)).status == 200
        with client(url[: -len("/yzt")]) as bare:
            problem(bare.send("GET", "/v1/health", sign=False), 404, "not_found")


def test_no_sandbox_clock_is_404() -> None:
    with running_server(subjects=20, extra_args=["--no-sandbox-clock"]) as url, client(url) as c:
        problem(c.advance_clock(0), 404, "not_found")
        assert c.send("POST", "/v1/card-count", body=query(c, subjects()[0])).status == 200


def test_subject_doc_helper_matches_schema() -> None:
    assert validate("subject", subject_doc(subjects()[0])) == []
