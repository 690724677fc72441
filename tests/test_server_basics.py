"""The reference operator over real HTTP: health, service-info and card-count (smoke level)."""

from __future__ import annotations

import pytest
from server_helpers import query, subject_with

from yzt.client import PlatformClient

pytestmark = pytest.mark.integration


def test_health_and_service_info_need_no_signature(c: PlatformClient) -> None:
    health = c.send("GET", "/v1/health", sign=False)
    assert (health.status, health.json()) == (200, {"status": "ok"})
    info = c.send("GET", "/v1/service-info", sign=False)
    assert info.status == 200 and info.content_type == "application/json"
    body = info.json()
    assert body["operator_id"] == "R07"
    assert all(body["channels"][k] for k in ("query", "cancellation", "dispute", "complaint"))


def test_card_count_counts_live_cards(c: PlatformClient) -> None:
    s = subject_with(2)
    req = query(c, s)
    e = c.send("POST", "/v1/card-count", body=req)
    assert e.status == 200, e.response_body
    assert e.json()["card_count"] == len(s.live_cards)
    assert e.json()["query_id"] == req["query_id"]
