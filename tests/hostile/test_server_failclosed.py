"""Authentication fails closed: a signed request whose timestamp cannot be read is 401, never 200.

A real ``yzt serve`` on loopback; every request is correctly signed over the timestamp string it
carries, so only the operator's reading of that string decides the answer.
"""

from __future__ import annotations

import json

import pytest
from server_helpers import query, subject_with

from yzt.client import Exchange, PlatformClient
from yzt.signing import HEADER_KEY_ID, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign

pytestmark = pytest.mark.integration

PATH = "/v1/card-count"


def signed_with(c: PlatformClient, timestamp: str, nonce: str) -> Exchange:
    """A card-count request validly signed over ``timestamp`` exactly as given."""
    raw = json.dumps(query(c, subject_with(1)), ensure_ascii=False).encode()
    headers = {HEADER_KEY_ID: c.key_id, HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce,
               HEADER_SIGNATURE: sign(c.secret, "POST", PATH, timestamp, nonce, raw)}
    return c.send("POST", PATH, raw=raw, sign=False, headers=headers)


def test_huge_timestamp_with_a_replayed_nonce_is_refused(c: PlatformClient) -> None:
    """The reported attack: >4,300 digits made int() raise and skipped skew and nonce (200, 200)."""
    huge = "1" + "7" * 4400
    answers = [signed_with(c, huge, "replayed-nonce-0123456789") for _ in range(2)]
    assert [(a.status, a.problem_code) for a in answers] == [(401, "timestamp_skew")] * 2
    assert all(a.content_type == "application/problem+json" for a in answers)


@pytest.mark.parametrize("shape", [
    "-{now}", "+{now}", "{now}.0", "{now}e0", "1_{now}", "{now} 1", "0x{now}", "", "1e9",
    "9999999999999", "0000000000000{now}",
])
def test_unreadable_timestamp_is_timestamp_skew(c: PlatformClient, shape: str) -> None:
    ts = shape.format(now=c.timestamp())
    nonce = f"shape-{abs(hash(shape)) % 10**12:012d}-nonce"
    first = signed_with(c, ts, nonce)
    assert (first.status, first.problem_code) == (401, "timestamp_skew"), first.describe()
    # and the nonce was not spent by the refused request: a good one with it still passes
    good = c.send("POST", PATH, body=query(c, subject_with(1)), nonce=nonce)
    assert good.status == 200, good.describe()


def test_a_good_timestamp_still_passes_and_its_nonce_is_then_spent(c: PlatformClient) -> None:
    nonce = "good-nonce-0123456789abcd"
    first = signed_with(c, str(c.timestamp()), nonce)
    second = signed_with(c, str(c.timestamp()), nonce)
    assert (first.status, second.status, second.problem_code) == (200, 401, "replayed_request")
