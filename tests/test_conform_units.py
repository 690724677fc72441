"""Checks, waivers and writers against canned answers (httpx.MockTransport): no server needed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from yzt.cli import main
from yzt.conformance import reporters
from yzt.conformance.context import RunContext
from yzt.conformance.registry import load_checks
from yzt.conformance.runner import RunFinished, Runner
from yzt.conformance.session import open_context
from yzt.conformance.waivers import load_waivers
from yzt.domain.topology import load_topology
from yzt.fixtures import generate_fixtures
from yzt.reports.readers import read_conform, report_of
from yzt.reports.render import write_report
from yzt.verdict import Verdict

FIXTURES = generate_fixtures(load_topology().get("R07"), 5, 40)
SUBJECTS = FIXTURES.subjects()
Handler = Callable[[httpx.Request], httpx.Response]


def problem(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"type": f"urn:yzt:problem:{code}", "title": code, "status": status,
                                        "code": code, "detail": "canned"},
                          headers={"Content-Type": "application/problem+json"})


def context(handler: Handler) -> RunContext:
    def outer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sandbox/clock":
            return problem(404, "not_found")
        if request.url.path == "/v1/health":
            return httpx.Response(200, json={"status": "ok"})
        if request.url.path == "/v1/service-info":
            return httpx.Response(200, json={})
        return handler(request)
    return open_context("http://operator.test", "R07", "k1", b"s3cret", FIXTURES,
                        transport=httpx.MockTransport(outer), run_seed=1, check_first=False)


def run_checks(handler: Handler, *names: str, **kwargs) -> RunFinished:
    registry = load_checks()
    return Runner(context(handler), [registry.get(n) for n in names], **kwargs).run()


def body_of(request: httpx.Request) -> dict:
    return json.loads(request.content)


def test_missing_signature_passes_on_401_and_fails_on_200():
    good = run_checks(lambda r: problem(401, "signature_invalid"), "missing_signature")
    assert good.results[0].verdict is Verdict.PASS
    bad = run_checks(lambda r: httpx.Response(200, json={}), "missing_signature")
    assert bad.results[0].verdict is Verdict.FAIL
    assert bad.results[0].message == "Received: 200 / Expected: 401 signature_invalid"
    assert bad.results[0].evidence[0]["request"] == "POST /v1/card-count"


def test_wrong_code_fails_but_missing_code_is_left_to_err_1():
    wrong = run_checks(lambda r: problem(401, "timestamp_skew"), "wrong_signature")
    assert wrong.results[0].message == ("Received: 401 timestamp_skew / Expected: 401 "
                                        "signature_invalid")
    plain = run_checks(lambda r: httpx.Response(401, text="nope"), "wrong_signature", "problem_shape")
    assert [(r.check, r.verdict) for r in plain.results] == [("problem_shape", Verdict.FAIL),
                                                             ("wrong_signature", Verdict.PASS)]
    assert "Content-Type 'text/plain' on 401" in plain.results[0].message


def _counting(off_by: int) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        body = body_of(request)
        subject = SUBJECTS.get(body["subject"]["id_number"])
        count = len(subject.live_cards) + off_by if subject else 0
        return httpx.Response(200, json={"query_id": body["query_id"], "operator_id": "R07",
                                         "card_count": count, "as_of": "2026-06-30T08:00:00Z"})
    return handler


def test_count_against_fixture_truth():
    assert run_checks(_counting(0), "count_matches_fixtures", "unknown_subject_counts_zero",
                      "count_answers_schema").verdict is Verdict.PASS
    bad = run_checks(_counting(1), "count_matches_fixtures").results[0]
    assert bad.verdict is Verdict.FAIL
    assert bad.message.startswith("Received: card_count ")
    assert "Expected: " in bad.message and "live" in bad.message


def test_pii_sweep_finds_an_echoed_name_and_says_so_without_reprinting_it():
    subject = next(iter(SUBJECTS.values()))

    def echo(request: httpx.Request) -> httpx.Response:
        body = body_of(request)
        return httpx.Response(403, json={"type": "urn:yzt:problem:verification_invalid", "title": "x",
                                         "status": 403, "code": "verification_invalid",
                                         "detail": f"no ticket for {body['subject']['name']}"},
                              headers={"Content-Type": "application/problem+json"})
    run = run_checks(echo, "ticket_forged", "no_pii_in_responses")
    pii = next(r for r in run.results if r.check == "no_pii_in_responses")
    assert pii.verdict is Verdict.FAIL
    # what was wrong, in words: neither the name nor its masked form (which reads as compliant)
    assert pii.message.startswith("Received: the subject's name in the 403 answer to POST ")
    assert subject.name[0] + "*" not in pii.message
    dumped = json.dumps([r.to_json() for r in run.results], ensure_ascii=False)
    assert subject.name not in dumped and subject.id_number not in dumped


def test_nothing_to_judge_is_not_testable_never_passed():
    run = run_checks(lambda r: httpx.Response(500, text="boom"), "card_ref_opaque",
                     "dispute_answers_schema")
    assert [r.verdict for r in run.results] == [Verdict.INCOMPLETE, Verdict.INCOMPLETE]
    assert run.verdict is Verdict.INCOMPLETE


def test_deadline_checks_need_the_sandbox_clock():
    run = run_checks(lambda r: httpx.Response(404), "resolved_by_deadline")
    assert run.results[0].verdict is Verdict.INCOMPLETE
    assert "no sandbox clock" in run.results[0].message


def test_a_crashing_check_is_an_error_and_the_run_an_error():
    ctx = context(lambda r: httpx.Response(200, json={}))
    ctx.readonly = []  # every check that needs a subject now raises IndexError
    run = Runner(ctx, [load_checks().get("missing_signature")]).run()
    assert run.results[0].verdict is Verdict.ERROR
    assert "IndexError" in run.results[0].message
    assert run.verdict is Verdict.ERROR and run.verdict.exit_code == 2


# -- waivers ------------------------------------------------------------------------------------
def _waivers(tmp_path: Path, expires: str, requirement: str = "OIF-AUTH-1") -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(f"waivers:\n  - requirement: {requirement}\n    reason: fix in release 2.4\n"
                    f"    approver: 王工\n    expires: {expires}\n", "utf-8")
    return path


def test_waiver_applies_until_it_expires(tmp_path):
    accept_all = lambda r: httpx.Response(200, json={})  # noqa: E731
    waivers = load_waivers(_waivers(tmp_path, "2026-12-31"))
    live = run_checks(accept_all, "missing_signature", waivers=waivers, today=date(2026, 7, 1))
    assert live.results[0].verdict is Verdict.WAIVED
    assert "waived until 2026-12-31 (approved by 王工: fix in release 2.4)" in live.results[0].message
    assert live.verdict is Verdict.WAIVED and live.verdict.exit_code == 0
    expired = run_checks(accept_all, "missing_signature", waivers=waivers, today=date(2027, 1, 1))
    assert expired.results[0].verdict is Verdict.FAIL
    assert "waiver expired on 2026-12-31 (approved by 王工); not applied" in expired.results[0].message
    assert expired.verdict is Verdict.FAIL


@pytest.mark.parametrize(("text", "field"), [
    ("waivers:\n  - requirement: OIF-AUTH-1\n    reason: x\n    approver: y\n", "'expires' is a required"),
    ("waivers:\n  - requirement: AUTH1\n    reason: x\n    approver: y\n    expires: 2026-01-01\n",
     "at waivers[0].requirement"),
    ("waivers:\n  - requirement: OIF-AUTH-1\n    reason: x\n    approver: y\n    expires: 2026-02-30\n",
     "at waivers[0].expires"),
])
def test_bad_waiver_file_is_a_usage_error_naming_the_field(tmp_path, capsys, monkeypatch, text, field):
    path = tmp_path / "w.yaml"
    path.write_text(text, "utf-8")
    monkeypatch.setenv("YZT_SECRET", "s")
    status = main(["conform", "http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1",
                   "--seed", "1", "--subjects", "5", "--waivers", str(path)])
    assert status == 2
    assert field in capsys.readouterr().err


# -- writers ------------------------------------------------------------------------------------
class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)


def _render(folder: Path) -> None:
    """Render the report as ``yzt conform --out`` does: from results.json, by yzt.reports."""
    document = json.loads((folder / "results.json").read_text("utf-8"))
    write_report(report_of([read_conform(document, "en")], "en", "yzt conform"), folder)


def test_outputs_are_masked_escaped_and_well_formed(tmp_path):
    subject = next(iter(SUBJECTS.values()))

    def hostile(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=f"<script>alert(1)</script> {subject.id_number}",
                              headers={"Content-Type": "text/html"})
    listeners = [reporters.write_results_json(tmp_path / "results.json")]
    run_checks(hostile, "missing_signature", "count_echoes_query", "no_pii_in_responses",
               listeners=listeners)
    _render(tmp_path)
    html = (tmp_path / "report.html").read_text("utf-8")
    parser = _Structure()
    parser.feed(html)
    assert parser.tags[:4] == ["html", "head", "meta", "meta"] and "table" in parser.tags
    assert "script" not in parser.tags and "&lt;script&gt;" in html
    results = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert results["verdict"] == "fail"
    assert {"requirement", "check", "verdict", "primary", "message", "evidence"} <= set(results["checks"][0])
    names = [c.get("name") for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")]
    assert names == ["OIF-AUTH-1 missing_signature", "OIF-CNT-2 count_echoes_query",
                     "OIF-PII-1 no_pii_in_responses"]
    for path in tmp_path.iterdir():
        text = path.read_text("utf-8")
        assert subject.id_number not in text and subject.name not in text, path.name


def test_html_page_renders_in_chromium(tmp_path, chromium):
    """The conformance page as a browser shows it: hostile markup inert, no personal data, no errors."""
    subject = next(iter(SUBJECTS.values()))

    def hostile(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=f"<script>alert(1)</script> {subject.id_number}",
                              headers={"Content-Type": "text/html"})
    run_checks(hostile, "missing_signature", "no_pii_in_responses",
               listeners=[reporters.write_results_json(tmp_path / "results.json")])
    _render(tmp_path)
    page = chromium.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
    page.goto((tmp_path / "report.html").as_uri())
    text = page.inner_text("body")
    assert "OIF-AUTH-1" in text and "OIF-PII-1" in text
    assert "fail" in text.lower()
    assert page.locator("table tr").count() >= 3
    assert subject.id_number not in text and subject.name not in text
    assert problems == []
    page.close()


# -- selection, waivers, attribution, defaults --------------------------------------------------
def test_only_is_repeatable_takes_commas_and_matches_whole_segments():
    from yzt.conformance.registry import split_patterns

    registry = load_checks()
    patterns = split_patterns(["OIF-AUTH,OIF-DET", "OIF-T-1"])
    assert patterns == ["OIF-AUTH", "OIF-DET", "OIF-T-1"]
    chosen = {s.requirement for s in registry.select(patterns)}
    assert chosen == {"OIF-AUTH-1", "OIF-AUTH-2", "OIF-AUTH-3", "OIF-AUTH-4", "OIF-DET-1",
                      "OIF-DET-2", "OIF-DET-3", "OIF-T-1"}
    assert {s.requirement for s in registry.select(["OIF-ID"])} == {"OIF-ID-1"}
    assert {s.requirement for s in registry.select(["OIF-IDEM"])} == {"OIF-IDEM-1", "OIF-IDEM-2"}
    assert [s.name for s in registry.select(["replayed_nonce"])] == ["replayed_nonce"]
    assert registry.unknown(["OIF-AUTH", "OIF-AUT", "no_such_check"]) == ["OIF-AUT", "no_such_check"]


def test_only_selecting_nothing_is_a_usage_error_before_any_request(capsys, monkeypatch):
    monkeypatch.setenv("YZT_SECRET", "s")
    from yzt.conformance.session import run_suite

    ctx = context(lambda r: httpx.Response(200, json={}))
    with pytest.raises(Exception, match="--only OIF-AUT selects no check"):
        run_suite(ctx, only=["OIF-AUTH,OIF-AUT"])


@pytest.mark.parametrize(("item", "message"), [
    ("requirement: OIF-AUTH-9", "line 6: at waivers[1].requirement: OIF-AUTH-9 is not a requirement"),
    ("requirement: OIF-AUTH-1\n    check: replay_nonce",
     "line 6: at waivers[1].check: no check is named 'replay_nonce'"),
    ("requirement: OIF-AUTH-1\n    check: content_types",
     "line 6: at waivers[1].check: content_types judges OIF-T-1, not OIF-AUTH-1"),
])
def test_waiver_naming_an_unknown_requirement_or_check_names_its_line(tmp_path, item, message):
    from yzt.errors import InputFileError

    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n"
                    "  - requirement: OIF-T-1\n    reason: r\n    approver: a\n    expires: 2026-01-01\n"
                    f"  - {item}\n    reason: r\n    approver: a\n    expires: 2026-01-01\n", "utf-8")
    with pytest.raises(InputFileError) as caught:
        load_waivers(path)
    assert message in str(caught.value)


def test_a_consequence_whose_cause_passed_counts_as_primary():
    from yzt.conformance.runner import CheckResult, order_results, resolve_consequences

    def result(name: str, verdict: Verdict, cause: str | None = None) -> CheckResult:
        return CheckResult("OIF-CXL-2", name, verdict, "m", (), "", "major", 0.0, 0, cause)
    cause = "OIF-CXL-1 remote_cancellation_accepted"
    passed = resolve_consequences([result("remote_cancellation_accepted", Verdict.PASS),
                                   result("complete_by_within_72h", Verdict.FAIL, cause)])
    assert passed[1].primary and "counted as primary" in passed[1].message
    failed = order_results(resolve_consequences([
        result("other", Verdict.PASS), result("complete_by_within_72h", Verdict.FAIL, cause),
        result("remote_cancellation_accepted", Verdict.FAIL)]))
    assert [(r.check, r.primary, r.consequential) for r in failed] == [
        ("remote_cancellation_accepted", True, False), ("complete_by_within_72h", False, True),
        ("other", False, False)]


def test_extra_members_are_reported_apart_from_schema_problems():
    from yzt.conformance.schemas import judge_response

    status = {"dispute_id": "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f", "state": "received",
              "history": [{"state": "received", "at": "2026-06-30T08:00:00Z", "by": "x"}],
              "resolve_by": "2026-07-15T08:00:00Z", "received_at": "2026-06-30T08:00:00Z"}
    judged = judge_response("dispute_status", status)
    assert judged.problems == []
    assert judged.extra_members == ["received_at", "history[0].by"] or \
        sorted(judged.extra_members) == ["history[0].by", "received_at"]
    del status["resolve_by"]
    assert judge_response("dispute_status", status).problems == [
        "at (root): 'resolve_by' is a required property (add it)"]
    with pytest.raises(ValueError, match="requests are closed"):
        judge_response("card_count_request", {})


def test_every_command_has_the_same_default_subjects():
    from yzt.cli import build_parser
    from yzt.fixtures import DEFAULT_SUBJECTS

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    defaults = {name: p.get_default("subjects") for name, p in sub.choices.items()  # type: ignore[attr-defined]
                if any(a.dest == "subjects" for a in p._actions)}
    assert set(defaults) >= {"conform", "fixtures", "serve", "load", "check"}
    assert set(defaults.values()) == {DEFAULT_SUBJECTS}


def test_only_that_selects_nothing_exits_2_before_reaching_the_target(capsys, monkeypatch):
    monkeypatch.setenv("YZT_SECRET", "s")
    status = main(["conform", "http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1",
                   "--seed", "1", "--only", "OIF-AUTH", "--only", "OIF-ID,OIF-IDEMX"])
    assert status == 2
    err = capsys.readouterr().err
    assert "--only OIF-IDEMX selects no check" in err and "cannot reach" not in err


def test_huge_timestamp_passes_on_401_and_fails_when_let_through():
    good = run_checks(lambda r: problem(401, "timestamp_skew"), "huge_timestamp", "unreadable_timestamp")
    assert [x.verdict for x in good.results] == [Verdict.PASS, Verdict.PASS]
    seen: list[str] = []

    def fail_open(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-YZT-Timestamp"])
        if len(request.headers["X-YZT-Timestamp"]) > 12:
            return httpx.Response(200, json={})  # the parser gave up and let it through
        return problem(401, "timestamp_skew")

    bad = run_checks(fail_open, "huge_timestamp")
    assert bad.results[0].verdict is Verdict.FAIL
    assert "timestamp of 20 digits" in bad.results[0].message
    assert [len(t) for t in seen] == [20]
    either = run_checks(lambda r: problem(401, "signature_invalid"), "unreadable_timestamp")
    assert either.results[0].verdict is Verdict.PASS
    strict = run_checks(lambda r: problem(401, "signature_invalid"), "huge_timestamp")
    assert strict.results[0].verdict is Verdict.FAIL


def test_odd_json_checks_pass_on_400_and_fail_on_500():
    good = run_checks(lambda r: problem(400, "malformed_request"), "deep_json_400", "lone_surrogate_400")
    assert [x.verdict for x in good.results] == [Verdict.PASS, Verdict.PASS]
    bodies: list[bytes] = []

    def crash(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return problem(500, "internal_error")

    bad = run_checks(crash, "deep_json_400", "lone_surrogate_400")
    assert [x.verdict for x in bad.results] == [Verdict.FAIL, Verdict.FAIL]
    assert bodies[0].startswith(b"[" * 5000) and len(bodies[0]) < 16 * 1024
    assert b'"name": "\\ud800' in bodies[-1]


def _health_run(handler: Handler) -> RunFinished:
    """The HTTP-layer check against canned answers to its oversized GET /v1/health probes."""
    def outer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sandbox/clock":
            return problem(404, "not_found")
        return handler(request)
    ctx = open_context("http://operator.test", "R07", "k1", b"s3cret", FIXTURES,
                       transport=httpx.MockTransport(outer), run_seed=1, check_first=False)
    return Runner(ctx, [load_checks().get("http_layer_errors_are_problems")]).run()


def test_http_layer_errors_must_be_problems_without_echo():
    assert _health_run(lambda r: problem(400, "malformed_request")).results[0].verdict is Verdict.PASS

    def echo(request: httpx.Request) -> httpx.Response:
        pad = request.headers.get("X-YZT-Padding", str(request.url))
        return httpx.Response(400, text=f"Bad Request: {pad[:60]}")

    bad = _health_run(echo).results[0]
    assert bad.verdict is Verdict.FAIL
    assert "echoed" in bad.message and "text/plain" in bad.message
    accepting = _health_run(lambda r: httpx.Response(200, json={"status": "ok"})).results[0]
    assert accepting.verdict is Verdict.INCOMPLETE
    assert "accepted 10 KiB header fields" in accepting.message
