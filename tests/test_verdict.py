"""The one verdict vocabulary: order, exit statuses and JUnit mapping."""

from __future__ import annotations

import pytest

from yzt.verdict import Verdict, worst


def test_members_are_ordered_best_to_worst() -> None:
    assert [v.value for v in Verdict] == [
        "pass", "warning", "waived", "not_applicable", "incomplete", "fail", "error"]
    assert [v.rank for v in Verdict] == list(range(7))


@pytest.mark.parametrize(("parts", "expected"), [
    ([Verdict.PASS, Verdict.WARNING], Verdict.WARNING),
    ([Verdict.PASS, Verdict.WAIVED, Verdict.NOT_APPLICABLE], Verdict.NOT_APPLICABLE),
    ([Verdict.PASS, Verdict.INCOMPLETE], Verdict.INCOMPLETE),
    ([Verdict.INCOMPLETE, Verdict.FAIL, Verdict.PASS], Verdict.FAIL),
    ([Verdict.FAIL, Verdict.ERROR], Verdict.ERROR),
    ([], Verdict.INCOMPLETE),
])
def test_worst(parts: list[Verdict], expected: Verdict) -> None:
    assert worst(parts) is expected


def test_exit_codes() -> None:
    assert {v.value: v.exit_code for v in Verdict} == {
        "pass": 0, "warning": 0, "waived": 0, "not_applicable": 0,
        "incomplete": 3, "fail": 1, "error": 2}
    assert [v for v in Verdict if v.ok] == [
        Verdict.PASS, Verdict.WARNING, Verdict.WAIVED, Verdict.NOT_APPLICABLE]


def test_junit_mapping() -> None:
    assert Verdict.WARNING.junit == "passed"
    assert Verdict.WAIVED.junit == Verdict.INCOMPLETE.junit == "skipped"
    assert Verdict.FAIL.junit == "failure"
    assert Verdict.ERROR.junit == "error"


def test_parse_names_the_known_words() -> None:
    assert Verdict.parse("not_applicable") is Verdict.NOT_APPLICABLE
    with pytest.raises(ValueError, match="unknown verdict 'passed'; known verdicts: pass, warning"):
        Verdict.parse("passed")


@pytest.mark.parametrize("verdict", list(Verdict))
def test_a_step_exit_status_reads_back_as_the_worst_verdict_behind_it(verdict: Verdict) -> None:
    from yzt.verdict import from_exit_code

    back = from_exit_code(verdict.exit_code)
    assert back.exit_code == verdict.exit_code
    assert back is (Verdict.PASS if verdict.ok else verdict)
    assert from_exit_code(-9) is Verdict.ERROR and from_exit_code(130) is Verdict.ERROR


@pytest.mark.parametrize(("parts", "expected"), [
    # a failure anywhere is the run's verdict, whatever went wrong later (exit 1, not 2)
    ([Verdict.FAIL, Verdict.ERROR], Verdict.FAIL),
    ([Verdict.PASS, Verdict.ERROR, Verdict.FAIL, Verdict.INCOMPLETE], Verdict.FAIL),
    # an error is the run's verdict only when nothing could be judged
    ([Verdict.ERROR], Verdict.ERROR),
    ([Verdict.ERROR, Verdict.INCOMPLETE, Verdict.NOT_APPLICABLE], Verdict.ERROR),
    # some parts judged, others errored or not judged, none failed: incomplete (exit 3)
    ([Verdict.PASS, Verdict.ERROR], Verdict.INCOMPLETE),
    ([Verdict.WAIVED, Verdict.ERROR], Verdict.INCOMPLETE),
    ([Verdict.PASS, Verdict.INCOMPLETE], Verdict.INCOMPLETE),
    # otherwise the worst of the rest, not applicable left out
    ([Verdict.PASS, Verdict.WARNING, Verdict.NOT_APPLICABLE], Verdict.WARNING),
    ([Verdict.PASS, Verdict.NOT_APPLICABLE], Verdict.PASS),
    ([Verdict.NOT_APPLICABLE], Verdict.NOT_APPLICABLE),
    ([], Verdict.INCOMPLETE),
])
def test_combine_run(parts: list[Verdict], expected: Verdict) -> None:
    from yzt.verdict import combine_run, run_verdict

    assert combine_run(parts) is expected
    assert run_verdict(parts) is expected
    assert combine_run(reversed(parts)) is expected  # order never matters
