"""``yzt validate``: recorded exchanges (JSON Lines, HAR) judged by the live suite's sweep checks."""

from __future__ import annotations

import json
from pathlib import Path

from yzt.cli import main

ID = "11010519491231002X"
GOOD_COUNT = {"query_id": "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f", "operator_id": "R07",
              "card_count": 2, "as_of": "2026-06-30T08:00:00Z"}
REQUEST = {"method": "POST", "path": "/yzt/v1/card-count",
           "body": {"query_id": GOOD_COUNT["query_id"],
                    "subject": {"name": "张三丰", "id_type": "resident_id", "id_number": ID}}}
PROBLEM = {"type": "urn:yzt:problem:signature_invalid", "title": "Signature invalid", "status": 401,
           "code": "signature_invalid", "detail": "missing X-YZT signature headers"}
JSON = {"Content-Type": "application/json"}
PROBLEM_JSON = {"Content-Type": "application/problem+json"}


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def test_good_recording_passes(tmp_path, capsys):
    path = _jsonl(tmp_path / "good.jsonl", [
        {"request": REQUEST, "response": {"status": 200, "headers": JSON, "body": GOOD_COUNT}},
        {"request": REQUEST, "response": {"status": 401, "headers": PROBLEM_JSON, "body": PROBLEM}},
    ])
    assert main(["validate", str(path)]) == 0
    assert "2 exchange(s), 0 problem(s); verdict pass" in capsys.readouterr().out


def test_bad_recording_names_requirement_and_masks(tmp_path, capsys):
    leaky = dict(PROBLEM, code="invalid_id_number", status=422, type="urn:yzt:problem:invalid_id_number",
                 detail=f"bad id {ID} for 张三丰")
    path = _jsonl(tmp_path / "bad.jsonl", [
        {"request": REQUEST, "response": {"status": 200, "headers": JSON,
                                          "body": {k: v for k, v in GOOD_COUNT.items() if k != "as_of"}}},
        {"request": REQUEST, "response": {"status": 422, "headers": {"Content-Type": "text/plain"},
                                          "body": leaky}},
        {"request": REQUEST, "response": {"status": 429, "headers": PROBLEM_JSON,
                                          "body": dict(PROBLEM, code="rate_limited", status=429,
                                                       type="urn:yzt:problem:rate_limited")}},
    ])
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert ("line 1 (POST /v1/card-count → 200): OIF-CNT-2 count_answers_schema: Received: at (root): "
            "'as_of' is a required property") in out
    assert ("line 2 (POST /v1/card-count → 422): OIF-ERR-1 problem_shape: Received: Content-Type "
            "'text/plain'") in out
    # what leaked, named by its shape: neither reprinted nor masked into a compliant-looking form
    assert ("line 2 (POST /v1/card-count → 422): OIF-PII-1 no_pii_in_responses: Received: "
            "an 18-character ID number, the subject's name in the 422 answer") in out
    assert "110105***********X" not in out and "张**" not in out
    assert ("line 3 (POST /v1/card-count → 429): OIF-ERR-2 overload_answers_retry_after: Received: 429 "
            "without Retry-After") in out
    assert ID not in out and "张三丰" not in out


def test_har_file(tmp_path, capsys):
    def entry(status, headers, body):
        return {"request": {"method": "POST", "url": "https://op.example/yzt/v1/card-count",
                            "headers": [], "postData": {"mimeType": "application/json",
                                                        "text": json.dumps(REQUEST["body"])}},
                "response": {"status": status,
                             "headers": [{"name": k, "value": v} for k, v in headers.items()],
                             "content": {"mimeType": "application/json", "text": json.dumps(body)}}}
    leak = dict(GOOD_COUNT, operator_id="R07")
    har = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                   "entries": [entry(200, JSON, GOOD_COUNT),
                               entry(200, {**JSON, "X-Debug": "msisdn 16512345678"}, leak)]}}
    path = tmp_path / "run.har"
    path.write_text(json.dumps(har), "utf-8")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "entry 1 (POST /v1/card-count → 200): OIF-PII-1 no_pii_in_responses: Received: " \
           "an 11-digit number with no mask in the 200 answer" in out
    assert "165****5678" not in out
    assert "entry 0" not in out
    assert "2 exchange(s), 1 problem(s); verdict fail" in out


DETAILS_REQUEST = dict(REQUEST, path="/v1/card-details")


def _details(mask: str, **extra: object) -> dict:
    return {"query_id": GOOD_COUNT["query_id"], "operator_id": "R07", "as_of": "2026-06-30T08:00:00Z",
            "cards": [{"card_ref": "c-1", "msisdn_masked": mask, "status": "active",
                       "activated_on": "2024-01-02", "home_region": "北京", **extra}]}


def test_a_bad_mask_is_oif_det_2_and_an_extra_member_a_warning(tmp_path, capsys):
    path = _jsonl(tmp_path / "det.jsonl", [
        {"request": DETAILS_REQUEST, "response": {"status": 200, "headers": JSON,
                                                  "body": _details("1651****567")}},
        {"request": DETAILS_REQUEST, "response": {"status": 200, "headers": JSON,
                                                  "body": _details("165****5678", nickname="x")}},
    ])
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "line 1 (POST /v1/card-details → 200): OIF-DET-2 every_msisdn_masked_3_4_4: Received: " \
           "msisdn_masked '1651****567'" in out
    assert "line 1 (POST /v1/card-details → 200): OIF-DET-1" not in out
    assert "line 2 (POST /v1/card-details → 200): OIF-DET-1 details_answers_schema: warning: extra " \
           "members cards[0].nickname" in out


def test_extra_members_alone_pass_with_a_warning_unless_strict(tmp_path, capsys):
    path = _jsonl(tmp_path / "extra.jsonl", [
        {"request": REQUEST, "response": {"status": 200, "headers": JSON,
                                          "body": dict(GOOD_COUNT, served_by="node-3")}},
    ])
    assert main(["validate", str(path)]) == 0
    assert "warning: extra members served_by" in capsys.readouterr().out
    assert main(["validate", str(path), "--strict"]) == 1


def test_unreadable_file_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"request": {"method": "GET"}}\nnot json\n', "utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 1: not a record" in err
    assert "line 2: not valid JSON" in err


def test_a_status_that_is_not_http_is_a_bad_file(tmp_path, capsys):
    path = _jsonl(tmp_path / "odd.jsonl", [
        {"request": REQUEST, "response": {"status": -1, "headers": JSON, "body": GOOD_COUNT}},
        {"request": REQUEST, "response": {"status": 1e308, "headers": JSON, "body": GOOD_COUNT}},
    ])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 1: not a record" in err and "status -1 (an HTTP status is 100-599)" in err
    assert "line 2: not a record" in err
