"""Masking reads numbers however they are written: grouped with spaces or dashes, in fullwidth
digits, percent-encoded in a URL, and an ID number glued to an MSISDN.

Before: ``170 3155 6407``, ``541824-19500307-1968`` and ``１７０３１５５６４０７`` passed through
:func:`yzt.domain.masking.scrub` untouched, and in ``<ID number><MSISDN>`` the ID's last digit
shielded the MSISDN, which the server's access log then kept in full. Every log, report and
artifact path masks through ``scrub``; the last test drives the real ``yzt serve`` access log.
"""

from __future__ import annotations

import random
import re
import unicodedata
import urllib.parse
from pathlib import Path

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from yzt.domain.idnumber import generate_id_number
from yzt.domain.masking import find_pii, scrub

FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _plain(text: str) -> str:
    """``text`` as a reader sees it: URL-decoded, fullwidth digits as ASCII, separators gone."""
    text = urllib.parse.unquote(text)
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    return re.sub(r"[\s\-\u2010-\u2013\u2212\u3000\uff0d]", "", text.replace("Ｘ", "X"))


msisdns = st.builds(lambda head, rest: f"1{head}{rest}", st.sampled_from("3456789"),
                    st.text("0123456789", min_size=9, max_size=9))
ids = st.builds(lambda seed: generate_id_number(random.Random(seed)), st.integers(0, 2**32))
# Text around a number that is not part of it (no digits, letters or separators at its edges).
around = st.text(st.sampled_from(list("：:，,。;()[]{}<>/=\"'张三丰号码 \n")), max_size=6)


def _msisdn_form(number: str, sep: str, fullwidth: bool) -> str:
    text = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
    return text.translate(FULLWIDTH) if fullwidth else text


def _id_form(number: str, sep: str, fullwidth: bool) -> str:
    text = f"{number[:6]}{sep}{number[6:14]}{sep}{number[14:]}"
    return text.translate(FULLWIDTH) if fullwidth else text


@settings(max_examples=300, deadline=None)
@given(msisdns, st.sampled_from(["", " ", "-", "\u3000", "\uff0d", "\u00a0"]), st.booleans(),
       around, around)
@example("17031556407", " ", False, "", "")
@example("17031556407", "", True, "", "")
def test_an_msisdn_in_any_grouping_or_width_is_masked(number: str, sep: str, fullwidth: bool,
                                                      before: str, after: str) -> None:
    out = scrub(before + _msisdn_form(number, sep, fullwidth) + after)
    # exactly the middle four digits hidden, in whatever form they were written
    assert _plain(out) == _plain(before) + number[:3] + "****" + number[7:] + _plain(after)
    assert find_pii(out) == []


@settings(max_examples=300, deadline=None)
@given(ids, st.sampled_from(["", " ", "-", "\u3000"]), st.booleans(), around, around)
@example("541824195003071968", "-", False, "", "")
def test_an_id_number_in_any_grouping_or_width_is_masked(number: str, sep: str, fullwidth: bool,
                                                         before: str, after: str) -> None:
    out = scrub(before + _id_form(number, sep, fullwidth) + after)
    assert _plain(out) == _plain(before) + number[:6] + "*" * 11 + number[17] + _plain(after)
    assert find_pii(out) == []


@settings(max_examples=300, deadline=None)
@given(ids, msisdns, st.booleans(), st.booleans())
# a window straddling the two is a valid ID number by chance (781285 20050707 089 1)
@example("128519200507070891", "13000000078", False, False)
# the window at the other end is a valid ID number by chance (179889 20260414 156 1): the one
# whose rest is the mobile number wins
@example("414156194906296297", "17988920260", False, False)
def test_an_msisdn_glued_to_an_id_number_is_masked_either_way_round(
        id_number: str, msisdn: str, id_first: bool, fullwidth: bool) -> None:
    text = id_number + msisdn if id_first else msisdn + id_number
    out = scrub(text.translate(FULLWIDTH) if fullwidth else text)
    masked_id = id_number[:6] + "*" * 11 + id_number[17]
    masked_msisdn = msisdn[:3] + "****" + msisdn[7:]
    assert _plain(out) == (masked_id + masked_msisdn if id_first else masked_msisdn + masked_id)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(), st.uuids(),
       # a stand-alone run of 11 (1[3-9]…) or 18 digits is masked whatever it is, on purpose
       st.integers(0, 2**64).filter(lambda n: len(str(n)) not in (11, 18)),
       st.floats(0, 1e6, allow_nan=False),
       st.integers(1_600_000_000_000, 1_900_000_000_000))
def test_timestamps_uuids_counters_and_durations_stay_readable(when, uuid, counter, ms,
                                                               epoch_ms) -> None:
    for text in (when.isoformat(), str(uuid), uuid.hex, f"n={counter}", f"{ms:.1f}ms",
                 f"at {epoch_ms} ms", f"{when:%Y-%m-%d %H:%M:%S}", f"{when:%Y%m%d%H%M%S}"):
        assert scrub(text) == text


def test_the_issue_examples() -> None:
    assert scrub("call 170 3155 6407 now") == "call 170 **** 6407 now"
    assert scrub("id 541824-19500307-1968") == "id 541824-********-***8"
    assert scrub("１７０３１５５６４０７") == "１７０****６４０７"
    assert scrub("170%203155%206407") == "170%20****%206407"


@pytest.mark.integration
def test_the_server_access_log_keeps_nothing_of_such_numbers(tmp_path: Path) -> None:
    """Grouped, fullwidth and glued numbers sent in request paths and queries to ``yzt serve
    --access-log FILE``: nothing of the hidden digits reaches the file."""
    from yzt.server.testing import running_server

    log = tmp_path / "access.log"
    id_number = next(n for seed in range(100)
                     if (n := generate_id_number(random.Random(seed)))[17].isdigit())
    msisdn = "17031556407"
    sent = [f"/v1/subjects/{_msisdn_form(msisdn, ' ', False)}",
            f"/v1/subjects/{_msisdn_form(msisdn, '-', False)}",
            f"/v1/subjects/{_msisdn_form(msisdn, '', True)}",
            f"/v1/subjects/{_id_form(id_number, '-', False)}",
            f"/v1/subjects/{_id_form(id_number, '', True)}",
            f"/v1/subjects/{id_number}{msisdn}",
            f"/v1/subjects/{msisdn}{id_number}",
            f"/v1/queries?phone={_msisdn_form(msisdn, ' ', False)}&id={id_number}{msisdn}"]
    with running_server(extra_args=["--access-log", str(log)]) as base, \
            httpx.Client(base_url=base, timeout=10) as client:
        for path in sent:
            client.get(path)
    text = log.read_text("utf-8")
    assert text.count("\n") >= len(sent), text  # one line a request (and the health probes)
    plain = _plain(text)
    assert msisdn not in plain and msisdn[3:7] not in plain, text
    assert id_number[6:17] not in plain, text
    assert plain.count("170****6407") >= 7, text


@settings(max_examples=200, deadline=None)
@given(msisdns, ids, st.sampled_from(["", " ", "-"]), st.booleans())
def test_bundle_marks_hide_the_same_forms(msisdn: str, id_number: str, sep: str,
                                          fullwidth: bool) -> None:
    """Certification bundles mask through :class:`PiiMarks` (known values, then stand-alone
    shapes, then every form :func:`scrub` reads); a glued number keeps its shape when unmarked,
    so a replay still sees that a full number stood there."""
    from yzt.domain.masking import mark_pii, unmark_pii

    text = (f'{{"a": "{_msisdn_form(msisdn, sep, fullwidth)}", "b": "x{msisdn}y", '
            f'"c": "{_id_form(id_number, sep, fullwidth)}", "d": "{id_number}{msisdn}"}}')
    marked = mark_pii(text, {})
    plain = _plain(marked)
    assert msisdn not in plain and id_number not in plain
    assert find_pii(marked) == []
    blind = unmark_pii(marked, {})
    assert f"x{msisdn[:3]}0000{msisdn[7:]}y" in blind  # the shape of a full number, not its value
