"""Request signatures and verification tickets against published, independently computed vectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from yzt.signing import (
    body_digest,
    format_time,
    make_ticket,
    parse_time,
    sign,
    signature_matches,
    signed_headers,
    ticket_matches,
)

VECTORS = json.loads((Path(__file__).parent / "data" / "signing_vectors.json").read_text("utf-8"))


@pytest.mark.parametrize("v", VECTORS["signatures"], ids=lambda v: f"{v['method']} {v['path']}")
def test_signature_vectors(v: dict[str, str]) -> None:
    body = v["body"].encode("utf-8")
    assert body_digest(body) == v["body_sha256"]
    got = sign(v["secret"].encode(), v["method"], v["path"], v["timestamp"], v["nonce"], body)
    assert got == v["signature"]
    assert signature_matches(v["secret"].encode(), v["method"], v["path"], v["timestamp"], v["nonce"],
                             body, v["signature"])
    assert not signature_matches(v["secret"].encode(), v["method"], v["path"], v["timestamp"],
                                 v["nonce"], body + b" ", v["signature"])


@pytest.mark.parametrize("v", VECTORS["tickets"], ids=lambda v: v["method"])
def test_ticket_vectors(v: dict[str, str]) -> None:
    ticket = make_ticket(v["secret"].encode(), v["method"], v["id_number"], v["name"], v["verified_at"])
    assert ticket == v["ticket"]
    assert "=" not in ticket and "+" not in ticket and "/" not in ticket
    assert ticket_matches(v["secret"].encode(), v["method"], v["id_number"], v["name"],
                          v["verified_at"], ticket)
    assert not ticket_matches(v["secret"].encode(), v["method"], v["id_number"], v["name"] + "丰",
                              v["verified_at"], ticket)


def test_signed_headers_are_complete() -> None:
    headers = signed_headers("k1", b"s", "post", "/v1/card-count", b"{}", timestamp=1, nonce="n" * 16)
    assert headers["X-YZT-Key-Id"] == "k1"
    assert headers["X-YZT-Timestamp"] == "1"
    assert headers["X-YZT-Signature"] == sign(b"s", "POST", "/v1/card-count", 1, "n" * 16, b"{}")


def test_time_format_round_trip() -> None:
    moment = datetime(2026, 11, 30, 3, 4, 5, 987000, tzinfo=UTC)
    text = format_time(moment)
    assert text == "2026-11-30T03:04:05Z"
    assert parse_time(text) == moment.replace(microsecond=0)


@pytest.mark.parametrize("bad", ["2026-11-30T03:04:05+00:00", "2026-11-30 03:04:05Z", "2026-11-30", ""])
def test_parse_time_rejects_non_utc_z(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


@pytest.mark.parametrize("bad", [["2026-11-30T03:04:05Z"], {"t": 1}, None, 5])
def test_parse_time_rejects_non_strings_with_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)  # type: ignore[arg-type]
