"""yzt/openapi.yaml: valid OpenAPI 3.1, complete, and in step with the JSON Schema files."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from yzt import endpoints
from yzt.conformance import openapi_components, schemas

SIGNED = {
    ("post", "/v1/card-count"),
    ("post", "/v1/card-details"),
    ("post", "/v1/disputes"),
    ("get", "/v1/disputes/{dispute_id}"),
    ("post", "/v1/cancellations"),
    ("get", "/v1/cancellations/{cancellation_id}"),
    ("post", "/v1/sandbox/clock"),
}
UNSIGNED = {("get", "/v1/service-info"), ("get", "/v1/health")}
HEADERS = {"X-YZT-Key-Id", "X-YZT-Timestamp", "X-YZT-Nonce", "X-YZT-Signature"}
BODIES = {
    "/v1/card-count": ("card_count_request", "200", "card_count_response"),
    "/v1/card-details": ("card_details_request", "200", "card_details_response"),
    "/v1/disputes": ("dispute_request", "202", "dispute_accepted"),
    "/v1/cancellations": ("cancellation_request", "202", "cancellation_accepted"),
    "/v1/sandbox/clock": ("sandbox_clock_request", "200", "sandbox_clock_response"),
}


@pytest.fixture(scope="module")
def doc():
    return schemas.openapi_document()


def operations(doc):
    return {(m, p): op for p, item in doc["paths"].items() for m, op in item.items()}


def deref(doc, node):
    ref = node.get("$ref")
    if ref is None:
        return node
    target = doc
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def test_passes_openapi_spec_validator(doc):
    validate(doc)


def test_generated_components_equal_the_json_schema_files(doc):
    assert doc["components"]["schemas"] == openapi_components.components()
    path = endpoints.openapi_path()
    text = path.read_text("utf-8")
    assert openapi_components.render(text) == text, "run python -m yzt.conformance.openapi_components"


def test_component_rewrite_keeps_everything_but_ids_and_refs():
    schema = {
        "$schema": "s",
        "$id": "urn:yzt:schema:x",
        "properties": {
            "a": {"$ref": "urn:yzt:schema:card"},
            "b": {"$ref": "urn:yzt:schema:common#/$defs/uuid"},
            "c": {"$ref": "#/$defs/local"},
            "d": {"enum": ["$id"]},
        },
    }
    assert openapi_components.to_component(schema) == {
        "properties": {
            "a": {"$ref": "#/components/schemas/card"},
            "b": {"$ref": "#/components/schemas/common/$defs/uuid"},
            "c": {"$ref": "#/$defs/local"},
            "d": {"enum": ["$id"]},
        }
    }


def test_every_endpoint_is_described(doc):
    assert set(operations(doc)) == SIGNED | UNSIGNED


def test_signature_headers_on_signed_endpoints_only(doc):
    scheme_headers = {
        name: s["name"]
        for name, s in doc["components"]["securitySchemes"].items()
        if s["type"] == "apiKey" and s["in"] == "header"
    }
    assert set(scheme_headers.values()) == HEADERS
    (requirement,) = doc["security"]
    assert set(requirement) == set(scheme_headers)
    for key, op in operations(doc).items():
        assert ("security" in op and op["security"] == []) is (key in UNSIGNED), key


def test_bodies_reference_the_schemas(doc):
    ops = operations(doc)
    for path, (request, status, response) in BODIES.items():
        op = ops[("post", path)]
        assert op["requestBody"]["required"] is True
        body = op["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{request}"}
        answer = op["responses"][status]["content"]["application/json"]["schema"]
        assert answer == {"$ref": f"#/components/schemas/{response}"}


def test_every_error_is_problem_json_with_its_status(doc):
    for key, op in operations(doc).items():
        codes = {c for c in op["responses"] if c[0] in "45"}
        assert {"429", "500", "503"} <= codes, key
        if op.get("requestBody"):
            assert {"400", "413", "415"} <= codes, key
        if key in SIGNED:
            assert "401" in codes, key
        for code in codes:
            response = deref(doc, op["responses"][code])
            (media,) = response["content"]
            assert media == "application/problem+json"
            schema = response["content"][media]["schema"]
            assert schema["allOf"][0] == {"$ref": "#/components/schemas/problem"}
            assert schema["allOf"][1] == {"properties": {"status": {"const": int(code)}}}
            has_retry = "Retry-After" in response.get("headers", {})
            assert has_retry is (code in ("429", "503")), (key, code)


def test_subject_endpoints_document_403_and_422(doc):
    for path in ("/v1/card-count", "/v1/card-details", "/v1/disputes", "/v1/cancellations"):
        codes = set(operations(doc)[("post", path)]["responses"])
        assert {"403", "409", "422"} <= codes
        assert ("404" in codes) is (path in ("/v1/disputes", "/v1/cancellations"))


def test_schemathesis_loads_every_operation(doc):
    import schemathesis

    loaded = schemathesis.openapi.from_dict(doc)
    labels = {result.ok().label for result in loaded.get_all_operations()}
    assert labels == {f"{m.upper()} {p}" for m, p in SIGNED | UNSIGNED}
