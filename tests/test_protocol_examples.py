"""Golden protocol messages as data: one test per file under conformance/examples/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yzt.conformance import schemas
from yzt.conformance.requirements import citable_ids, load_requirements
from yzt.domain.idnumber import is_valid_id_number
from yzt.domain.masking import find_pii

EXAMPLES = Path(schemas.__file__).resolve().parent / "examples"
GOOD = sorted(EXAMPLES.glob("good/*/*.json"))
BAD = sorted(EXAMPLES.glob("bad/*/*.json"))
#: Message schemas (``common`` only holds shared definitions).
MESSAGES = [n for n in schemas.SCHEMA_NAMES if n != "common"]
#: What a bad request earns from the operator at the shape steps of OIF-ERR-3.
STATUS_OF_BREAK = {
    "OIF-ERR-3": (400, "malformed_request"),
    "OIF-ID-1": (422, "invalid_id_number"),
    "OIF-VER-1": (403, "verification_required"),
}


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def load(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def subject_numbers(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["id_number"]] if isinstance(node.get("id_number"), str) else []
        return found + [n for v in node.values() for n in subject_numbers(v)]
    if isinstance(node, list):
        return [n for v in node for n in subject_numbers(v)]
    return []


def test_every_message_schema_has_examples():
    for name in MESSAGES:
        assert len(list(EXAMPLES.glob(f"good/{name}/*.json"))) >= 2, name
        assert len(list(EXAMPLES.glob(f"bad/{name}/*.json"))) >= 2, name
        if name not in ("subject", "verification", "card", "problem"):
            assert len(list(EXAMPLES.glob(f"bad/{name}/*.json"))) >= 4, name
    folders = {p.name for p in EXAMPLES.glob("*/*") if p.is_dir()}
    assert folders <= set(MESSAGES)


@pytest.mark.parametrize("path", GOOD, ids=case_id)
def test_good_example_validates(path):
    doc = load(path)
    assert set(doc) <= {"why", "instance"}
    assert schemas.validate(path.parent.name, doc["instance"]) == []
    # Synthetic data only: valid generated ID numbers; responses carry no full number.
    for number in subject_numbers(doc["instance"]):
        assert is_valid_id_number(number), path
    if not path.parent.name.endswith("_request") and path.parent.name != "subject":
        assert find_pii(json.dumps(doc["instance"], ensure_ascii=False)) == []
    if path.parent.name in schemas.REQUEST_SCHEMAS:
        assert schemas.request_problem(path.parent.name, doc["instance"]) is None


@pytest.mark.parametrize("path", BAD, ids=case_id)
def test_bad_example_is_rejected_and_cites_a_requirement(path):
    doc = load(path)
    assert set(doc) == {"breaks", "why", "instance"}
    assert doc["breaks"] in citable_ids(), doc["breaks"]
    assert doc["why"].strip()
    assert schemas.validate(path.parent.name, doc["instance"]) != []
    if path.parent.name in schemas.REQUEST_SCHEMAS:
        expected = STATUS_OF_BREAK[doc["breaks"]]
        assert schemas.request_problem(path.parent.name, doc["instance"]) == expected


def test_unnumbered_rules_are_cited_only_where_the_protocol_has_no_id():
    numbered = set(load_requirements())
    for path in BAD:
        breaks = load(path)["breaks"]
        if breaks not in numbered:
            assert path.parent.name in ("health", "sandbox_clock_response"), path
