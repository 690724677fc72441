"""Unit tests of yzt load's pure parts: shapes, durations, thresholds, SLA files, traffic, verdicts.

Locust is never imported here (it patches the interpreter with gevent); one test asserts that.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from yzt.domain.topology import load_topology
from yzt.errors import InputFileError, UserError
from yzt.loadtests import results as res
from yzt.loadtests import shapes, thresholds
from yzt.loadtests.traffic import KINDS, Mix, Person, RequestBuilder, RunConfig, classify
from yzt.reports.junit import Case
from yzt.reports.model import Report
from yzt.reports.readers import read_load
from yzt.reports.render import junit_cases
from yzt.signing import signature_matches, ticket_matches
from yzt.verdict import Verdict

SECRET = b"unit-secret"


# -- durations and shapes ------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "seconds"), [
    ("60s", 60), ("2m", 120), ("1m30s", 90), ("90", 90), ("1h", 3600), ("0.5s", 0.5), (" 8S ", 8),
])
def test_parse_duration_accepts_units(text, seconds):
    assert shapes.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1x", "", "m", "60 s", "1s30m", "-5s"])
def test_parse_duration_rejects_with_example(text):
    with pytest.raises(UserError, match=r"is not a duration: write it like 60s, 2m or 1m30s"):
        shapes.parse_duration(text)


def test_parse_duration_rejects_zero():
    with pytest.raises(UserError, match=r"--duration '0s' must be longer than 0 s"):
        shapes.parse_duration("0s")


def test_steady_and_step_rates():
    s = shapes.steady(20, 10)
    assert s.rate_at(0) == 20 and s.rate_at(9.99) == 20 and s.rate_at(10) == 0
    assert s.expected_requests() == pytest.approx(200)
    st = shapes.step(40, 8, steps=4)
    assert [st.rate_at(t) for t in (0.5, 2.5, 4.5, 6.5)] == [10, 20, 30, 40]
    assert st.expected_requests() == pytest.approx(2 * (10 + 20 + 30 + 40))


def test_surge_jumps_to_peak_and_decays():
    s = shapes.surge(10, 100, peak=4, start=0.2, decay=0.1)
    assert s.rate_at(10) == pytest.approx(10)
    assert s.rate_at(20) == pytest.approx(40)
    assert s.peak_rate == pytest.approx(40)
    assert s.rate_at(30) == pytest.approx(10 + 30 * math.exp(-1), rel=0.02)  # one time constant
    assert s.rate_at(99) == pytest.approx(10, abs=0.1)


def test_build_shape_rejects_unknown_and_bad_rate():
    with pytest.raises(UserError, match=r"--shape 'ramp' is not a shape: use one of steady, step, surge"):
        shapes.build_shape("ramp", 10, 10)
    with pytest.raises(UserError, match=r"--rate must be more than 0"):
        shapes.build_shape("steady", 0, 10)
    with pytest.raises(UserError, match=r"--surge-peak must be at least 1"):
        shapes.build_shape("surge", 10, 10, peak=0.5)


def test_constant_arrivals_match_the_integral():
    shape = shapes.step(40, 8, steps=4)
    times = list(shapes.intended_times(shape, random.Random(1), poisson=False))
    assert len(times) == round(shape.expected_requests())
    assert times == sorted(times) and 0 <= times[0] < 0.1 and times[-1] < 8
    first, last = sum(t < 2 for t in times), sum(t >= 6 for t in times)
    assert (first, last) == (20, 80)


def test_poisson_arrivals_follow_the_curve():
    shape = shapes.step(400, 40, steps=2)  # 200/s then 400/s: 4000 then 8000 expected
    times = list(shapes.intended_times(shape, random.Random(3)))
    first = sum(t < 20 for t in times)
    second = len(times) - first
    assert abs(first - 4000) < 4 * 4000 ** 0.5
    assert abs(second - 8000) < 4 * 8000 ** 0.5
    gaps = np.diff([t for t in times if t < 20])
    assert np.mean(gaps) == pytest.approx(1 / 200, rel=0.05)
    assert np.std(gaps) == pytest.approx(1 / 200, rel=0.1)  # exponential: sd = mean


def test_shape_json_round_trip_and_scaling():
    s = shapes.surge(10, 60)
    assert shapes.Shape.from_json(json.loads(json.dumps(s.to_json()))) == s
    assert s.scaled(0.5).peak_rate == pytest.approx(s.peak_rate / 2)


# -- thresholds and SLA files --------------------------------------------------------------------
@pytest.mark.parametrize(("text", "metric", "op", "limit"), [
    ("p95<300ms", "p95", "<", 300), ("p(99)<=1.5s", "p99", "<=", 1500), ("max<2s", "max", "<", 2000),
    ("error_ratio<0.1%", "error_ratio", "<", 0.001), ("error_ratio<=0.002", "error_ratio", "<=", 0.002),
    ("avg<50ms", "mean", "<", 50), ("p99.9<800ms", "p99.9", "<", 800),
])
def test_parse_expression(text, metric, op, limit):
    t = thresholds.parse_expression(text, endpoint="card-count")
    assert (t.metric, t.op, t.endpoint) == (metric, op, "card-count")
    assert t.limit == pytest.approx(limit)


@pytest.mark.parametrize(("text", "message"), [
    ("p95>300ms", "is not a threshold"), ("p95<300", "give the unit"), ("p95<3%", "takes ms or s"),
    ("error_ratio<5ms", "fraction or a percentage"), ("error_ratio<150%", "cannot exceed 100 %"),
    ("p100<1s", "between 0 and 100"),
])
def test_parse_expression_errors(text, message):
    with pytest.raises(ValueError, match=message):
        thresholds.parse_expression(text)


def test_profile_gives_lat_and_err_per_endpoint():
    sla = load_topology().get("R07").sla
    ts = thresholds.from_profile(sla)
    got = {(t.requirement, t.endpoint, t.expression) for t in ts}
    assert ("SLA-LAT-1", "card-count", "p95<=300ms") in got
    assert ("SLA-LAT-1", "card-count", "p99<=1000ms") in got
    assert ("SLA-LAT-2", "card-details", "p99<=1500ms") in got
    assert ("SLA-LAT-3", "disputes", "p99<=2000ms") in got
    assert ("SLA-ERR-1", "all", "error_ratio<=0.1%") in got
    assert sum(t.requirement == "SLA-ERR-1" for t in ts) == 5


def test_sla_file_overrides_profile(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("version: 1\ncard_count: {p95_ms: 120}\nerror_ratio_max: 0.01\n"
                    "thresholds:\n  card-details: ['max<2s']\n", encoding="utf-8")
    ts = thresholds.load_sla_file(path, load_topology().get("R07").sla)
    exprs = {(t.endpoint, t.expression) for t in ts}
    assert ("card-count", "p95<=120ms") in exprs and ("card-count", "p99<=1000ms") in exprs
    assert ("all", "error_ratio<=1%") in exprs
    assert ("card-details", "max<2000ms") in exprs


def test_sla_file_errors_name_the_field(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("card_count: {p95: 120}\nerror_ratio_max: 2\n"
                    "thresholds:\n  card-count: ['p95 < fast']\n  health: ['p95<1s']\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        thresholds.load_sla_file(path, load_topology().get("R07").sla)
    text = str(info.value)
    assert "at card_count: Additional properties are not allowed ('p95' was unexpected)" in text
    assert "at error_ratio_max: 2 is greater than the maximum of 1" in text
    assert "at thresholds: Additional properties are not allowed ('health' was unexpected)" in text


def test_sla_file_bad_expression_names_its_index(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("thresholds:\n  card-count: ['p95<300ms', 'p95 < fast']\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"at thresholds\.card-count\[1\]: 'p95 < fast' is not a "):
        thresholds.load_sla_file(path, load_topology().get("R07").sla)


# -- traffic ---------------------------------------------------------------------------------------
def _people():
    return [Person("张三", "11010519491231002X", True), Person("李四", "110105194912310037", True),
            Person("王五", "110105199001010011", False)]


def test_request_builder_signs_and_verifies():
    b = RequestBuilder(_people(), "k1", SECRET, Mix(), random.Random(5))
    for _ in range(50):
        p = b.build()
        h = p.headers
        assert signature_matches(SECRET, p.method, p.path, h["X-YZT-Timestamp"], h["X-YZT-Nonce"],
                                 p.body, h["X-YZT-Signature"])
        body = json.loads(p.body)
        v = body["verification"]
        assert ticket_matches(SECRET, v["method"], body["subject"]["id_number"],
                              body["subject"]["name"], v["verified_at"], v["ticket"])
        assert p.endpoint in ("card-count", "card-details")  # no card refs known yet


def test_disputes_use_learned_card_refs_and_fresh_ids():
    b = RequestBuilder(_people(), "k1", SECRET, Mix(card_count=0, card_details=0, disputes=1,
                                                    cancellations=1), random.Random(2))
    first = b.build()
    assert first.endpoint == "card-details"
    b.learn(0, {"cards": [{"card_ref": "ref-a"}, {"card_ref": "ref-b"}]})
    built = [b.build() for _ in range(20)]
    assert {p.endpoint for p in built} == {"disputes", "cancellations"}
    ids = set()
    for p in built:
        body = json.loads(p.body)
        assert body["card_ref"] in ("ref-a", "ref-b") and body["subject"]["id_number"] == "11010519491231002X"
        ids.add(body.get("dispute_id") or body.get("cancellation_id"))
        expected_method = "face" if p.endpoint == "cancellations" else "sms_code"
        assert body["verification"]["method"] == expected_method
    assert len(ids) == 20


def test_mix_weights_and_unknown_share():
    w = Mix().weights()
    assert sum(w.values()) == pytest.approx(1)
    assert w["card-count"] > w["card-details"] > w["disputes"] > w["cancellations"]
    b = RequestBuilder(_people(), "k1", SECRET, Mix(), random.Random(9), unknown_share=0.25)
    picks = [b.pick_person() for _ in range(4000)]
    assert picks.count(2) / 4000 == pytest.approx(0.25, abs=0.03)


@pytest.mark.parametrize(("status", "error", "expected", "kind"), [
    (200, None, 200, "ok"), (202, None, 202, "ok"), (500, None, 200, "http_5xx"),
    (503, None, 200, "http_5xx"), (429, None, 200, "http_429"), (401, None, 200, "http_401_403"),
    (404, None, 202, "http_404"), (200, None, 202, "unexpected_status"),
    (0, "ConnectionRefusedError(111)", 200, "connection"), (0, "timeout('timed out')", 200, "timeout"),
    (503, "HTTPError('503 Service Unavailable')", 200, "http_5xx"), (0, None, 200, "connection"),
])
def test_classify(status, error, expected, kind):
    assert classify(status, error, expected) == kind


def test_run_config_round_trip_holds_no_secret():
    cfg = RunConfig(target="http://127.0.0.1:1", operator="R07", key_id="k1",
                    shape=shapes.step(10, 4), out_dir="/tmp/x")
    text = cfg.to_json()
    assert RunConfig.from_json(text) == cfg
    assert "secret" not in text.lower()


# -- exact statistics and verdicts -------------------------------------------------------------------
def test_percentile_is_nearest_rank():
    values = np.arange(1, 101, dtype=float)
    assert res.percentile(values, 95) == 95
    assert res.percentile(values, 99) == 99
    assert res.percentile(np.array([10.0, 20.0]), 50) == 10
    assert res.percentile(np.array([10.0, 20.0]), 51) == 20
    assert res.percentile(np.array([7.0]), 99) == 7


def _write_run(raw: Path, lat_ms, kinds=None, *, scheduled=None, cpu=0.05, endpoint=0, ahead=1.0,
               lag_s=0.001):
    raw.mkdir(parents=True, exist_ok=True)
    n = len(lat_ms)
    kinds = kinds if kinds is not None else [0] * n
    rows = np.column_stack([np.full(n, endpoint), np.linspace(0, 9, n), np.full(n, lag_s),
                            np.asarray(lat_ms) / 1000, kinds, np.full(n, ahead)])
    np.save(raw / "rows-test-w0.npy", rows)
    (raw / "gen-test-w0.json").write_text(json.dumps({
        "tag": "test-w0", "scheduled": scheduled if scheduled is not None else n, "cpu_fraction": cpu,
        "schema_checked": 3, "schema_examples": [], "schema_validation": True}), encoding="utf-8")


def _junit_cases(r: res.RunResult) -> list[Case]:
    section = read_load(json.loads(json.dumps(r.to_json())), "en")
    report = Report("t", "0", "en", (section,), {})
    return list(junit_cases(report))


def _limits():
    return thresholds.from_profile(load_topology().get("R07").sla)


def test_verdict_pass(tmp_path):
    _write_run(tmp_path, [5.0] * 190 + [250.0] * 10)
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    assert r.verdict is Verdict.PASS and r.exit_code == 0
    cc = r.endpoints["card-count"]
    assert (cc.count, cc.p50_ms, cc.p95_ms, cc.max_ms) == (200, 5.0, 5.0, 250.0)
    assert cc.rate == 20
    assert sum(cc.histogram) == 200


def test_verdict_fail_names_the_threshold_with_exact_value(tmp_path):
    _write_run(tmp_path, [5.0] * 180 + [301.0] * 20)  # p95 = 301 ms: 1 ms over; Locust would say 300
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    assert r.verdict is Verdict.FAIL and r.exit_code == 1
    assert r.reasons == ["SLA-LAT-1 card-count p95<=300ms breached — measured 301.0 ms"]
    case = next(c for c in _junit_cases(r) if c.name == "SLA-LAT-1 card-count p95<=300ms")
    assert case.verdict is Verdict.FAIL and case.verdict.junit == "failure"


def test_verdict_fail_on_errors_by_kind(tmp_path):
    kinds = [0] * 195 + [KINDS.index("http_5xx")] * 3 + [KINDS.index("timeout")] * 2
    _write_run(tmp_path, [5.0] * 200, kinds)
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    assert r.verdict is Verdict.FAIL
    assert r.endpoints["card-count"].to_json()["errors_by_kind"] == {"http_5xx": 3, "timeout": 2}
    assert any(x.startswith("SLA-ERR-1 card-count error_ratio<=0.1% breached — measured 2.500 %")
               for x in r.reasons)


def _with_protocol(raw: Path, codes: list[int]) -> None:
    """Give the test run's records a protocol column (the generator writes one per answer)."""
    path = raw / "rows-test-w0.npy"
    rows = np.load(path)
    np.save(path, np.column_stack([rows, np.asarray(codes, dtype=float)]))


def test_protocol_violations_are_their_own_row_not_sla_err_1(tmp_path):
    """A masking defect in every checked answer fails "protocol under load", naming OIF-DET-2, and
    leaves SLA-ERR-1 at 0 % (it used to read as a 2.8 % error ratio)."""
    from yzt.loadtests.traffic import PROTOCOL_REQUIREMENTS, PROTOCOL_VALID, PROTOCOL_VIOLATION

    det2 = PROTOCOL_VIOLATION + PROTOCOL_REQUIREMENTS.index("OIF-DET-2")
    _write_run(tmp_path, [5.0] * 200)
    _with_protocol(tmp_path, [0] * 150 + [PROTOCOL_VALID] * 10 + [det2] * 40)
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    assert r.verdict is Verdict.FAIL and r.exit_code == 1
    assert r.endpoints["all"].error_ratio == 0
    assert r.reasons == ["protocol under load: 40 violations in 50 answers checked (OIF-DET-2 ×40)"]
    row = next(t.to_json() for t in r.thresholds if t.threshold.metric == "protocol_violations")
    assert (row["sampled"], row["violations"], row["requirements"]) == (50, 40, {"OIF-DET-2": 40})
    assert all(t.passed is not False for t in r.thresholds if t.threshold.requirement == "SLA-ERR-1")


def test_protocol_row_passes_when_every_checked_answer_is_valid(tmp_path):
    from yzt.loadtests.traffic import PROTOCOL_VALID

    _write_run(tmp_path, [5.0] * 200)
    _with_protocol(tmp_path, [PROTOCOL_VALID] * 200)
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    assert r.verdict is Verdict.PASS
    line = next(t.describe() for t in r.thresholds if t.threshold.metric == "protocol_violations")
    assert line == "✓ protocol under load: 0 violations in 200 answers checked"


def test_protocol_requirement_of_a_problem():
    from yzt.loadtests.traffic import protocol_requirement

    assert protocol_requirement("card-details", "at cards[0].msisdn_masked: '13800138000' does not "
                                "match") == "OIF-DET-2"
    assert protocol_requirement("card-details", "at cards[0]: 'status' is a required property") == \
        "OIF-DET-1"
    assert protocol_requirement("card-count", "at card_count: -1 is less than 0") == "OIF-CNT-2"
    assert protocol_requirement("cancellations", None) == "OIF-T-1"


def test_404_is_reported_but_not_an_sla_error(tmp_path):
    _write_run(tmp_path, [5.0] * 200, [0] * 199 + [KINDS.index("http_404")])
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    assert r.verdict is Verdict.PASS
    assert r.endpoints["card-count"].by_kind["http_404"] == 1


def test_inconclusive_when_the_generator_fell_behind(tmp_path):
    _write_run(tmp_path, [5.0] * 200, scheduled=1000)
    r = res.evaluate(tmp_path, _limits(), 100, 10)
    assert r.verdict is Verdict.INCOMPLETE and r.exit_code == 3
    assert "offered only 20.0 req/s of the target 100 req/s" in r.reasons[0]


def test_inconclusive_beats_pass_when_cpu_saturated(tmp_path):
    _write_run(tmp_path, [5.0] * 200, cpu=0.97)
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    assert r.verdict is Verdict.INCOMPLETE
    assert "used 97 % of a CPU core: it was saturated" in r.reasons[0]
    offered = next(c for c in _junit_cases(r) if c.name == "LOAD-GEN offered load")
    assert offered.verdict is Verdict.INCOMPLETE and "saturated" in offered.message


def test_inconclusive_when_on_time_slots_left_late(tmp_path):
    _write_run(tmp_path, [5.0] * 200, lag_s=0.2)
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    assert r.verdict is Verdict.INCOMPLETE and "event loop" in r.reasons[0]


def test_no_requests_is_not_judged(tmp_path):
    _write_run(tmp_path, [5.0] * 200)
    r = res.evaluate(tmp_path, _limits(), 20, 10)
    disputes = [t for t in r.thresholds if t.threshold.endpoint == "disputes"]
    assert disputes and all(t.verdict is Verdict.NOT_APPLICABLE and t.mark == "–" for t in disputes)
    assert r.verdict is Verdict.PASS  # endpoints without traffic are left out, not failed
    assert any(line.startswith("– SLA-LAT-3 disputes ") and line.endswith(": no requests, not judged")
               for line in res.console_summary(r).splitlines())
    doc = r.to_json()
    assert {t["verdict"] for t in doc["thresholds"] if t["endpoint"] == "disputes"} == {"not_applicable"}


def test_results_json_and_histogram_png(tmp_path):
    _write_run(tmp_path / "raw", [5.0] * 100 + [50.0] * 100)
    r = res.evaluate(tmp_path / "raw", _limits(), 20, 10)
    doc = json.loads(json.dumps(r.to_json()))
    assert doc["endpoints"]["card-count"]["p95_ms"] == 50.0
    assert len(doc["histogram_edges_ms"]) == len(doc["endpoints"]["card-count"]["histogram_counts"]) + 1
    section = read_load(doc, "en")
    assert section.plots and section.plots[0].png[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["thresholds"][0]["verdict"] == "pass"
    assert "verdict: PASS" in res.console_summary(r)


# -- the command, up to the point where Locust would start -------------------------------------------
def _cli(argv, monkeypatch, secret="s3cret"):
    from yzt.cli import main

    if secret is None:
        monkeypatch.delenv("YZT_SECRET", raising=False)
    else:
        monkeypatch.setenv("YZT_SECRET", secret)
    return main(["load", *argv])


def test_cli_bad_duration_exits_2(monkeypatch, capsys):
    code = _cli(["http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1", "--seed", "1",
                 "--rate", "5", "--duration", "ten"], monkeypatch)
    assert code == 2
    assert "--duration 'ten' is not a duration" in capsys.readouterr().err


def test_cli_without_secret_exits_2(monkeypatch, capsys):
    code = _cli(["http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1", "--seed", "1",
                 "--rate", "5"], monkeypatch, secret=None)
    assert code == 2
    assert "no secret: set YZT_SECRET or pass --secret-file FILE" in capsys.readouterr().err


def test_cli_unreachable_target_exits_2_without_importing_locust(monkeypatch, capsys, tmp_path):
    from yzt.server.testing import free_port

    url = f"http://127.0.0.1:{free_port()}"
    code = _cli([url, "--operator", "R07", "--key-id", "k1", "--seed", "1", "--rate", "5",
                 "--out", str(tmp_path)], monkeypatch)
    assert code == 2
    assert f"cannot reach {url} — connection refused" in capsys.readouterr().err
    assert "locust" not in sys.modules


def test_cli_requires_fixtures_or_seed(monkeypatch, capsys):
    code = _cli(["http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1", "--rate", "5"], monkeypatch)
    assert code == 2
    assert "one of --fixtures FILE or --seed N is required" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--operator", "R07", "--key-id", "k1", "--seed", "1", "--rate", "5"], "TARGET_URL is required"),
    (["http://127.0.0.1:9", "--key-id", "k1", "--seed", "1"], "--operator is required"),
    (["--worker"], "--worker needs --master-host"),
    (["--worker", "--master-host", "h", "http://127.0.0.1:9"], "--worker takes no TARGET_URL"),
    (["http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1", "--seed", "1", "--rate", "5",
      "--workers", "0"], "--workers must be between 1 and 64 (0 only with --remote-workers)"),
])
def test_cli_usage_errors_name_the_flag(monkeypatch, capsys, argv, message):
    assert _cli(argv, monkeypatch) == 2
    assert message in capsys.readouterr().err


def test_scenario_surge_takes_the_curve_of_launch_day():
    from yzt.commands.load import scenario_surge

    base, peak, start, decay = scenario_surge("launch-day")
    assert peak > 1 and 0 <= start <= 0.5 and decay > 0
    assert base > 0


def test_scenario_without_surge_is_a_usage_error():
    from yzt.commands.load import scenario_surge

    with pytest.raises(UserError, match=r"--scenario baseline: its arrivals have no surges"):
        scenario_surge("baseline")


def test_wait_with_progress_reports_overrun_and_completion(tmp_path):
    """The wait that shows progress still enforces the hard limit (False) and sees an end (True)."""
    import subprocess

    from yzt.loadtests.runner import _requests_so_far, _wait_with_progress

    slow = subprocess.Popen(["sleep", "30"])
    try:
        assert _wait_with_progress(slow, 1.5, 1.0, tmp_path / "missing.csv") is False
    finally:
        slow.kill()
        slow.wait()
    quick = subprocess.Popen(["true"])
    assert _wait_with_progress(quick, 10, 1.0, tmp_path / "missing.csv") is True
    stats = tmp_path / "locust_stats.csv"
    stats.write_text("Type,Name,Request Count,Failure Count\nPOST,card-count,40,0\n,Aggregated,57,0\n",
                     encoding="utf-8")
    assert _requests_so_far(stats) == 57
    assert _requests_so_far(tmp_path / "missing.csv") is None


def test_load_record_columns_are_named_in_file_order() -> None:
    from yzt.loadtests.traffic import COLUMNS, KINDS, PROTOCOL_VALID, Col, load_record

    assert COLUMNS == ("endpoint", "intended_s", "send_lag_s", "latency_s", "kind", "ahead", "protocol")
    row = load_record(2, 1.5, 0.01, 0.2, "timeout", True, PROTOCOL_VALID)
    assert len(row) == len(COLUMNS)
    assert row[Col.ENDPOINT] == 2 and row[Col.INTENDED_S] == 1.5 and row[Col.SEND_LAG_S] == 0.01
    assert row[Col.LATENCY_S] == 0.2 and KINDS[int(row[Col.KIND])] == "timeout" and row[Col.AHEAD] == 1.0
    assert row[Col.PROTOCOL] == PROTOCOL_VALID


def test_raw_records_are_the_bytes_numpy_saves():
    """The generator writes raw/rows-*.npy without numpy: byte for byte what numpy.save writes."""
    import io

    from yzt.loadtests.traffic import COLUMNS, load_record, records_npy

    rng = np.random.default_rng(7)
    for count in (0, 1, 3, 999, 12345):
        rows = [load_record(int(rng.integers(4)), float(rng.random() * 60), float(rng.random()),
                            float(rng.random() * 3), "ok" if rng.random() < 0.9 else "timeout",
                            bool(rng.random() < 0.5), int(rng.integers(3))) for _ in range(count)]
        saved = io.BytesIO()
        np.save(saved, np.asarray(rows, dtype=np.float64).reshape(-1, len(COLUMNS)))
        assert records_npy(rows) == saved.getvalue(), count
    with pytest.raises(ValueError, match="7 columns"):
        records_npy([(1.0, 2.0)])
