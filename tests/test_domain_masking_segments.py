"""Masking of personal data and the number-segment rules."""

from __future__ import annotations

import logging
import random

import pytest

from yzt.domain.masking import (
    MaskingFilter,
    find_pii,
    mask_id_number,
    mask_msisdn,
    scrub,
    scrub_obj,
)
from yzt.domain.segments import CARRIER_SEGMENTS, RESELLER_SEGMENTS, generate_msisdn, host_of_segment


def test_mask_msisdn_keeps_3_and_4() -> None:
    assert mask_msisdn("13812345678") == "138****5678"


def test_mask_id_number_hides_birth_date_and_sequence() -> None:
    masked = mask_id_number("11010519491231002X")
    assert masked == "110105***********X"
    assert "19491231" not in masked


def test_scrub_masks_ids_and_numbers_in_free_text() -> None:
    text = 'subject 11010519491231002X phone=13812345678 query 3f2a-11010519491231002X-ff'
    out = scrub(text)
    assert "11010519491231002X" not in out.split("3f2a")[0]
    assert "13812345678" not in out
    assert "138****5678" in out
    assert "110105***********X" in out


def test_scrub_leaves_uuids_times_and_longer_digit_runs_alone() -> None:
    text = "id 550e8400-e29b-41d4-a716-446655440000 at 2026-11-30T03:04:05Z n=123456789012345678901"
    assert scrub(text) == text


def test_scrub_obj_masks_nested_values_and_names() -> None:
    data = {"a": ["13812345678", {"name": "张三丰"}], "n": 3}
    assert scrub_obj(data, frozenset({"张三丰"})) == {"a": ["138****5678", {"name": "张**"}], "n": 3}


def test_find_pii_reports_masked_findings() -> None:
    assert find_pii("x 13812345678 y 11010519491231002X") == ["110105***********X", "138****5678"]
    assert find_pii("nothing here 138****5678") == []


def test_logging_filter_masks_formatted_message() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "call %s from %s", ("13812345678", "x"),
                               None)
    assert MaskingFilter().filter(record)
    assert record.getMessage() == "call 138****5678 from x"


@pytest.mark.parametrize(
    ("number", "host", "reseller"),
    [("17001234567", "CTCC", True), ("17031234567", "CMCC", True), ("17041234567", "CUCC", True),
     ("17101234567", "CUCC", True), ("16201234567", "CTCC", True), ("16501234567", "CMCC", True),
     ("16701234567", "CUCC", True), ("13812345678", "CMCC", False), ("18912345678", "CTCC", False),
     ("18612345678", "CUCC", False)],
)
def test_host_of_segment(number: str, host: str, reseller: bool) -> None:
    assert host_of_segment(number) == (host, reseller)


def test_segments_do_not_overlap() -> None:
    prefixes = [p for group in (CARRIER_SEGMENTS, RESELLER_SEGMENTS) for ps in group.values() for p in ps]
    for a in prefixes:
        for b in prefixes:
            assert a == b or not b.startswith(a), (a, b)


def test_generated_numbers_stay_in_segments() -> None:
    rng = random.Random(1)
    for _ in range(500):
        n = generate_msisdn(rng, RESELLER_SEGMENTS["CUCC"])
        assert len(n) == 11 and n.isdigit()
        assert host_of_segment(n) == ("CUCC", True)


def test_logging_filter_masks_tracebacks_too() -> None:
    try:
        raise KeyError("13812345678")
    except KeyError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert MaskingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "KeyError" in text and "138****5678" in text
    assert "13812345678" not in text


def test_marked_masks_round_trip_and_leave_uuids_alone():
    from yzt.domain.masking import mark_pii, unmark_pii

    known = {"16512345678": "165****5678", "11010519491231002X": "110105***********X", "张三丰": "张**"}
    text = ('{"query_id": "6f1c2d4e-8a9b-4c3d-9e8f-a13812345678", "detail": "张三丰 11010519491231002X",'
            ' "card_ref": "r-16512345678", "note": "call 13900001111"}')
    marked = mark_pii(text, known)
    assert "张三丰" not in marked and "11010519491231002X" not in marked and "16512345678" not in marked
    assert "«张**»" in marked and "«139****1111»" in marked
    assert "a13812345678" in marked  # inside a UUID: not personal data, left alone
    assert unmark_pii(marked, known) == text  # every value known, or of the 0-filled shape
    blind = unmark_pii(marked, {})  # without the truth: same shapes, so a leak still reads as one
    assert "r-16500005678" in blind and "11010500000000000X" in blind and "张**" in blind
