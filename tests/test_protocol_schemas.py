"""The protocol's JSON Schemas: well-formed, resolvable, and applied the way the protocol reads."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from yzt.conformance import schemas
from yzt.domain.idnumber import check_digit, generate_id_number, name_problem

SCHEMA_DIR = Path(schemas.__file__).resolve().parent / "schema"
QUERY_ID = "3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34"
ID_NUMBER = generate_id_number(random.Random(7), birth=date(1980, 1, 2), want_x=False)
#: The protocol's table of problem codes (docs/protocol.md, "Error codes").
PROBLEM_CODES = {
    "malformed_request": 400,
    "signature_invalid": 401,
    "timestamp_skew": 401,
    "replayed_request": 401,
    "verification_required": 403,
    "verification_invalid": 403,
    "verification_expired": 403,
    "verification_insufficient": 403,
    "card_not_found": 404,
    "not_found": 404,
    "idempotency_conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_id_number": 422,
    "invalid_name": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "unavailable": 503,
}


def card_count_request(**changes: object) -> dict[str, object]:
    request: dict[str, object] = {
        "query_id": QUERY_ID,
        "subject": {"name": "测试甲", "id_type": "resident_id", "id_number": ID_NUMBER},
        "verification": {"method": "sms_code", "verified_at": "2026-03-01T08:00:00Z", "ticket": "t"},
    }
    request.update(changes)
    return request


def test_schema_files_are_exactly_the_listed_names():
    files = {p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")}
    assert files == set(schemas.SCHEMA_NAMES) | {"requirements"}
    assert set(schemas.REQUEST_SCHEMAS) <= set(schemas.SCHEMA_NAMES)


@pytest.mark.parametrize("name", [*schemas.SCHEMA_NAMES, "requirements"])
def test_schema_passes_its_metaschema_and_is_named_by_its_id(name):
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:yzt:schema:{name}"


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize("name", schemas.SCHEMA_NAMES)
def test_every_ref_resolves_in_the_registry(name):
    resolver = schemas.registry().resolver()
    for ref in _refs(schemas.load_schema(name)):
        assert ref.startswith("urn:yzt:schema:"), ref
        assert resolver.lookup(ref).contents is not None


@pytest.mark.parametrize("name", [n for n in schemas.SCHEMA_NAMES if n.endswith(("_request", "_response"))])
def test_requests_and_responses_are_closed(name):
    assert schemas.load_schema(name)["additionalProperties"] is False


def test_problem_allows_extension_members_but_pins_type_and_status_to_code():
    schema = schemas.load_schema("problem")
    assert "additionalProperties" not in schema
    assert schema["properties"]["code"]["enum"] == list(PROBLEM_CODES)
    for code, status in PROBLEM_CODES.items():
        body = {"type": f"urn:yzt:problem:{code}", "title": "t", "status": status, "code": code, "detail": ""}
        assert schemas.validate("problem", body) == []
        wrong = {**body, "status": 418 if status != 418 else 400}
        assert schemas.validate("problem", wrong) != []


def test_validate_names_the_field_path():
    request = card_count_request(subject={"name": "测试甲", "id_type": "resident_id"})
    assert schemas.validate("card_count_request", request) == [
        "at subject: 'id_number' is a required property (add it)"
    ]
    details = {
        "query_id": QUERY_ID,
        "operator_id": "CMCC",
        "as_of": "2026-03-01T08:00:00Z",
        "cards": [
            {
                "card_ref": "r",
                "msisdn_masked": "138****5678",
                "status": "active",
                "activated_on": "2026-13-01",
                "home_region": "北京",
            }
        ],
    }
    problems = schemas.validate("card_details_response", details)
    assert problems == ["at cards[0].activated_on: '2026-13-01' is not a 'date'"]


def test_problems_never_show_a_name_or_a_full_number():
    request = card_count_request(
        subject={"name": "测" * 31, "id_type": "resident_id", "id_number": ID_NUMBER[:17] + "x"}
    )
    text = "\n".join(schemas.validate("card_count_request", request))
    assert "测" * 31 not in text
    assert ID_NUMBER[:17] not in text
    assert "subject.name" in text and "subject.id_number" in text
    card = {
        "card_ref": "r",
        "msisdn_masked": "13800005678",
        "status": "active",
        "activated_on": "2020-01-01",
        "home_region": "北京",
    }
    (problem,) = schemas.validate("card", card)
    assert "13800005678" not in problem
    assert problem.endswith("(personal data masked)")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-03-01T08:00:00Z", True),
        ("2026-03-01T08:00:00.123456789Z", True),
        ("2026-03-01T08:00:00z", False),
        ("2026-03-01T08:00:00+00:00", False),
        ("2026-03-01T08:00Z", False),
        ("2026-02-29T08:00:00Z", False),
        ("2026-03-01T24:00:00Z", False),
        ("２０２６-03-01T08:00:00Z", False),
    ],
)
def test_time_format(value, ok):
    assert schemas.is_valid("sandbox_clock_response", {"now": value}) is ok


@pytest.mark.parametrize(
    "name", ["", " ", "测试甲", "测" * 30, "测" * 31, "a\tb", "a\x7fb", "a\x85b", "阿依古丽·测试", "A B"]
)
def test_schema_name_rule_agrees_with_the_code_rule(name):
    subject = {"name": name, "id_type": "resident_id", "id_number": ID_NUMBER}
    assert schemas.is_valid("subject", subject) is (name_problem(name) is None)


def test_schema_id_shape_is_weaker_than_the_code_rule():
    # The shape accepts a wrong check digit; OIF-ID-1 needs yzt.domain.idnumber as well.
    wrong = ID_NUMBER[:17] + ("0" if check_digit(ID_NUMBER[:17]) != "0" else "1")
    subject = {"name": "测试甲", "id_type": "resident_id", "id_number": wrong}
    assert schemas.validate("subject", subject) == []
    request = card_count_request(subject=subject)
    assert schemas.request_problem("card_count_request", request) == (422, "invalid_id_number")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"extra": 1}, (400, "malformed_request")),
        ({"query_id": "q-1"}, (400, "malformed_request")),
        ({"subject": {"name": "甲", "id_type": "resident_id", "id_number": 1}}, (400, "malformed_request")),
        ({"subject": {"name": "", "id_type": "resident_id", "id_number": ID_NUMBER}}, (422, "invalid_name")),
        ({"subject": {"name": "", "id_type": "resident_id", "id_number": "x"}}, (422, "invalid_id_number")),
        (
            {"subject": {"name": "甲", "id_type": "resident_id", "id_number": "110101209901010015"}},
            (422, "invalid_id_number"),
        ),
        ({"verification": None}, (400, "malformed_request")),
    ],
)
def test_request_problem_follows_the_order_of_oif_err_3(changes, expected):
    request = card_count_request(**changes)
    assert schemas.request_problem("card_count_request", request, today=date(2026, 3, 1)) == expected


def test_request_problem_missing_verification_is_403_after_422():
    request = card_count_request()
    del request["verification"]
    assert schemas.request_problem("card_count_request", request) == (403, "verification_required")
    request["subject"] = {"name": "", "id_type": "resident_id", "id_number": ID_NUMBER}
    assert schemas.request_problem("card_count_request", request) == (422, "invalid_name")
    request["query_id"] = 5
    assert schemas.request_problem("card_count_request", request) == (400, "malformed_request")


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown schema 'cards'; known schemas: common, subject"):
        schemas.validate("cards", {})
    with pytest.raises(ValueError, match=r"'card' is not a request schema"):
        schemas.request_problem("card", {})


def test_validators_are_cached_and_load_schema_returns_a_copy():
    assert schemas.validator("card") is schemas.validator("card")
    schema = schemas.load_schema("health")
    schema["properties"]["status"]["enum"].append("up")
    assert schemas.validate("health", {"status": "up"}) != []
    assert isinstance(schemas.validator("health"), jsonschema.Draft202012Validator)


def test_public_surface():
    assert {
        "load_schema",
        "registry",
        "validator",
        "validate",
        "openapi_document",
        "is_valid",
        "errors",
        "request_problem",
        "SCHEMA_NAMES",
        "REQUEST_SCHEMAS",
    } <= set(vars(schemas))
