"""Dispute and cancellation lifecycles on the sandbox clock (OIF-DSP-2…5, OIF-CXL-2, OIF-IDEM-1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import OUTCOMES, cancellation, client, dispute, find_card, query, refs, subjects

from yzt.client import PlatformClient
from yzt.conformance.schemas import validate
from yzt.fixtures import Subject
from yzt.server.testing import running_server
from yzt.signing import parse_time

pytestmark = pytest.mark.integration
HOUR, DAY = 3600, 86400


@pytest.fixture(scope="module")
def c() -> Iterator[PlatformClient]:
    with running_server() as url, client(url) as platform:
        yield platform


def count(c: PlatformClient, s: Subject) -> int:
    return int(c.send("POST", "/v1/card-count", body=query(c, s)).json()["card_count"])


def test_disputes_follow_the_truth_and_the_clock(c: PlatformClient) -> None:
    used: set[str] = set()
    cases = []
    for outcome in ("confirmed_owner", *OUTCOMES):
        s, ref = find_card(c, outcome, used)
        body = dispute(c, s, ref)
        accepted = c.send("POST", "/v1/disputes", body=body)
        assert accepted.status == 202, accepted.response_body
        got = accepted.json()
        span = parse_time(got["resolve_by"]) - parse_time(got["received_at"])
        assert span.total_seconds() == 15 * DAY
        cases.append((outcome, s, ref, body, accepted, count(c, s)))
    path = f"/v1/disputes/{cases[0][3]['dispute_id']}"
    states = []
    for step in (0, HOUR + 1, 3 * DAY):
        c.advance_clock(step)
        status = c.send("GET", path).json()
        assert validate("dispute_status", status) == []
        states.append(status["state"])
    assert states == ["received", "verifying", "resolved"]
    for outcome, s, ref, body, _accepted, before in cases:
        status = c.send("GET", f"/v1/disputes/{body['dispute_id']}").json()
        assert status["outcome"] == outcome
        times = [parse_time(h["at"]) for h in status["history"]]
        assert times == sorted(times) and times[-1] <= parse_time(status["resolve_by"])
        gone = outcome in ("unbound", "cancelled")
        assert count(c, s) == before - gone
        listed = {x["card_ref"]: x["status"] for x in
                  c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"]}
        assert (ref in listed) is not gone
        if outcome == "suspended":
            assert listed[ref] == "suspended"
    # a replay two days later, after the ticket aged past 48 h, still gets its first answer
    c.advance_clock(2 * DAY)
    for *_, body, accepted, _before in cases:
        again = c.send("POST", "/v1/disputes", body=body)
        assert (again.status, again.response_body) == (202, accepted.response_body)


def test_cancellation_completes_within_72_hours(c: PlatformClient) -> None:
    s = next(s for s in subjects()[40:] if len(s.live_cards) >= 2)
    ref = next(iter(refs(c, s)))
    before = count(c, s)
    accepted = c.send("POST", "/v1/cancellations", body=(body := cancellation(c, s, ref)))
    assert accepted.status == 202
    got = accepted.json()
    assert (parse_time(got["complete_by"]) - parse_time(got["accepted_at"])).total_seconds() == 72 * HOUR
    path = f"/v1/cancellations/{body['cancellation_id']}"
    assert c.send("GET", path).json()["state"] == "accepted"
    c.advance_clock(24 * HOUR)
    status = c.send("GET", path).json()
    assert validate("cancellation_status", status) == [] and status["state"] == "completed"
    assert count(c, s) == before - 1
    assert ref not in refs(c, s)


def test_cancellation_rejected_when_a_dispute_unbound_the_card_first(c: PlatformClient) -> None:
    s, ref = find_card(c, "unbound", set())  # cards unbound earlier are no longer listed
    c.send("POST", "/v1/disputes", body=dispute(c, s, ref))
    c.advance_clock(2 * DAY + 12 * HOUR)
    body = cancellation(c, s, ref)
    assert c.send("POST", "/v1/cancellations", body=body).status == 202
    c.advance_clock(DAY)
    status = c.send("GET", f"/v1/cancellations/{body['cancellation_id']}").json()
    assert status["state"] == "rejected" and status["reason"]
    assert validate("cancellation_status", status) == []
