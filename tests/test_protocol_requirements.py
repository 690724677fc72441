"""conformance/requirements.yaml: exactly the protocol's ids, each stated and traced to the regulation."""

from __future__ import annotations

import dataclasses

import pytest

from yzt.conformance import requirements
from yzt.conformance.requirements import Requirement, load_requirements, load_unnumbered

#: Every requirement id of the protocol (v1.2), written out by hand on purpose: a change to the
#: catalogue must be a deliberate change here too.
EXPECTED = {
    *(f"OIF-T-{i}" for i in range(1, 4)),
    *(f"OIF-AUTH-{i}" for i in range(1, 5)),
    *(f"OIF-VER-{i}" for i in range(1, 5)),
    "OIF-ID-1",
    *(f"OIF-CNT-{i}" for i in range(1, 3)),
    *(f"OIF-DET-{i}" for i in range(1, 4)),
    *(f"OIF-DSP-{i}" for i in range(1, 6)),
    *(f"OIF-CXL-{i}" for i in range(1, 4)),
    "OIF-INFO-1",
    "OIF-IDEM-1",
    "OIF-IDEM-2",
    "OIF-PII-1",
    *(f"OIF-ERR-{i}" for i in range(1, 4)),
    "SLA-E2E-1",
    *(f"SLA-LAT-{i}" for i in range(1, 4)),
    "SLA-ERR-1",
    "SLA-HOT-1",
    "SLA-DSP-1",
    "SLA-CXL-1",
}
#: Regulation phrases tied to specific ids (a sample, checked both ways).
PHRASES = {
    "身份验证不合规": {"OIF-VER-1", "OIF-VER-2", "OIF-VER-3", "OIF-VER-4"},
    "明示办理流程": {"OIF-INFO-1"},
    "查询方式未公示": {"OIF-INFO-1"},
    "客服电话接通率低": {"SLA-HOT-1"},
    "48 小时内通过 10699000 统一的短信端口回复": {"SLA-E2E-1"},
    "不得人为设立业务办理门槛": {"OIF-CXL-1"},
    "号卡明细查询": {"OIF-DET-1", "OIF-DET-2", "OIF-DET-3"},
}


def test_catalogue_holds_exactly_the_protocol_ids():
    assert len(EXPECTED) == 40
    assert set(load_requirements()) == EXPECTED
    assert requirements.protocol_version() == "1.3"


def test_unnumbered_rules_are_kept_apart():
    assert set(load_unnumbered()) == {"unnumbered:HEALTH", "unnumbered:SANDBOX-CLOCK",
                                      "unnumbered:EXTRA-MEMBERS", "unnumbered:REFUSALS"}
    assert not set(load_unnumbered()) & EXPECTED


@pytest.mark.parametrize("req_id", sorted(EXPECTED))
def test_entry_is_complete(req_id):
    req = load_requirements()[req_id]
    assert req.id == req_id
    assert req.kind == ("sla" if req_id.startswith("SLA-") else "protocol")
    assert len(req.text) > 20
    if req_id.startswith("OIF-"):
        # every protocol requirement is covered by at least one registered conformance check
        from yzt.conformance.registry import load_checks

        assert req.checks == tuple(load_checks().by_requirement()[req_id])
    else:
        # SLAs are judged by yzt load (thresholds) and yzt sim (simulated SLAs), not by checks
        assert req.checks == ()
    assert all(isinstance(p, str) and p for p in req.regulation)


@pytest.mark.parametrize(("phrase", "ids"), sorted(PHRASES.items()))
def test_regulation_phrases_are_traced(phrase, ids):
    assert {r.id for r in load_requirements().values() if phrase in r.regulation} == ids


def test_requirement_is_frozen():
    req = load_requirements()["OIF-ID-1"]
    assert "422 invalid_id_number" in req.text
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.text = "changed"  # type: ignore[misc]
    assert isinstance(req, Requirement)


UNNUMBERED = ["unnumbered:HEALTH", "unnumbered:SANDBOX-CLOCK", "unnumbered:EXTRA-MEMBERS",
              "unnumbered:REFUSALS"]


@pytest.mark.parametrize("req_id", [*sorted(EXPECTED), *UNNUMBERED])
def test_every_entry_has_its_chinese_text(req_id):
    req = {**load_requirements(), **load_unnumbered()}[req_id]
    han = [ch for ch in req.text_zh if "\u4e00" <= ch <= "\u9fff"]
    assert len(han) >= 5, req.text_zh
    # the codes, statuses and member names a rule cites survive translation
    for token in ("401", "403", "404", "409", "413", "422", "429", "503", "card_count", "card_ref",
                  "verification_required", "idempotency_conflict", "OIF-PII-1", "OIF-CXL-1"):
        if token in req.text:
            assert token in req.text_zh, (req_id, token)


def test_a_catalogue_entry_without_chinese_text_is_refused(tmp_path, monkeypatch):
    import yaml

    from yzt.errors import InputFileError

    path = requirements._path()
    doc = yaml.safe_load(path.read_text("utf-8"))
    del doc["requirements"]["OIF-T-1"]["text_zh"]
    broken = tmp_path / "requirements.yaml"
    broken.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    monkeypatch.setattr(requirements, "_path", lambda: broken)
    requirements._catalogue.cache_clear()
    try:
        with pytest.raises(InputFileError, match="text_zh"):
            requirements._catalogue()
    finally:
        requirements._catalogue.cache_clear()


def test_every_cited_phrase_has_its_meaning():
    phrases = requirements.regulation_phrases()
    cited = {p for r in [*load_requirements().values(), *load_unnumbered().values()] for p in r.regulation}
    assert cited <= set(phrases)
    assert set(PHRASES) <= set(phrases)
