"""Resident ID numbers (GB 11643): known numbers, every rejection rule, and properties."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yzt.domain.idnumber import (
    check_digit,
    generate_id_number,
    id_number_problem,
    is_valid_id_number,
    name_problem,
)

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),  # the example of GB 11643-1999
        ("44052418800101001", "4"),
        ("34052419800101001", "X"),
    ],
)
def test_check_digit_matches_known_numbers(first17: str, expected: str) -> None:
    assert check_digit(first17) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("11010519491231002", "18 characters"),
        ("11010519491231002X1", "18 characters"),
        ("11010519491231002x", "upper-case X"),
        ("1101051949123100AX", "17 digits"),
        ("110105194902300021", "not a real calendar date"),
        ("110105194913010021", "not a real calendar date"),
        ("110105202712310021", "in the future"),
        ("110105194912310021", "check digit"),
        (11010519491231002, "must be a string"),
    ],
)
def test_each_rule_rejects_with_its_reason(value: object, fragment: str) -> None:
    problem = id_number_problem(value, today=TODAY)
    assert problem is not None
    assert fragment in problem


def test_valid_number_with_x_is_accepted() -> None:
    assert id_number_problem("11010519491231002X", today=TODAY) is None


def test_birth_date_today_is_valid_tomorrow_is_not() -> None:
    first = "110105" + TODAY.strftime("%Y%m%d") + "123"
    assert is_valid_id_number(first + check_digit(first), today=TODAY)
    tomorrow = "110105" + date(2026, 12, 1).strftime("%Y%m%d") + "123"
    assert not is_valid_id_number(tomorrow + check_digit(tomorrow), today=TODAY)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.sampled_from([None, True, False]))
def test_generated_numbers_are_valid(seed: int, want_x: bool | None) -> None:
    number = generate_id_number(random.Random(seed), want_x=want_x, today=TODAY)
    assert id_number_problem(number, today=TODAY) is None
    if want_x is not None:
        assert number.endswith("X") == want_x


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=16),
       st.sampled_from("0123456789"))
def test_any_single_digit_change_is_caught(seed: int, position: int, digit: str) -> None:
    number = generate_id_number(random.Random(seed), today=TODAY)
    changed = number[:position] + digit + number[position + 1:]
    if changed != number:
        # MOD 11-2 detects every single-digit substitution: either the date breaks or the check digit.
        assert id_number_problem(changed, today=TODAY) is not None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("", "empty"), ("   ", "empty"), ("张" * 31, "at most 30"), ("张\x07三", "control"), (None, "string")],
)
def test_bad_names(value: object, fragment: str) -> None:
    problem = name_problem(value)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("value", ["张三", "阿依古丽·买买提", "张" * 30, "Zhang San"])
def test_good_names(value: str) -> None:
    assert name_problem(value) is None
