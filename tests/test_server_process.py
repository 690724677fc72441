"""The server as a process: SIGKILL-restart durability, SIGTERM clean exit, a masked access log."""

from __future__ import annotations

import signal
import subprocess
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from server_helpers import client, query, server_process, subject_with

from yzt.client import PlatformClient
from yzt.signing import parse_time

pytestmark = pytest.mark.integration


def server(db: Path, log: Path, *extra: str) -> AbstractContextManager[tuple[str, subprocess.Popen[bytes]]]:
    return server_process(db, log.parent / "stderr.txt", "--access-log", str(log), *extra)


def test_sigkill_loses_no_accepted_work(tmp_path: Path) -> None:
    db, log = tmp_path / "op.sqlite", tmp_path / "access.log"
    s = subject_with(3)
    with server(db, log) as (url, proc), client(url) as c:
        c.advance_clock(3600)
        refs = [x["card_ref"] for x in
                c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"]]
        dispute = dict(query(c, s), card_ref=refs[0], claim="unrecognized")
        dispute["dispute_id"] = dispute.pop("query_id")
        cancel = dict(query(c, s, method="face"), card_ref=refs[1])
        cancel["cancellation_id"] = cancel.pop("query_id")
        count_req = query(c, s)
        answers = {path: c.send("POST", path, body=body) for path, body in (
            ("/v1/disputes", dispute), ("/v1/cancellations", cancel), ("/v1/card-count", count_req))}
        assert [a.status for a in answers.values()] == [202, 202, 200]
        nonce = "durable-nonce-0123456789"
        assert c.send("POST", "/v1/card-count", body=query(c, s), nonce=nonce).status == 200
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        offset = c.clock_offset
    with server(db, log) as (url, _proc), client(url) as c:
        c.clock_offset = offset
        assert abs(parse_now(c) - offset) < 5  # the sandbox clock survived
        for path, body in (("/v1/disputes", dispute), ("/v1/cancellations", cancel),
                           ("/v1/card-count", count_req)):
            again = c.send("POST", path, body=body)
            assert (again.status, again.response_body) == (answers[path].status,
                                                           answers[path].response_body)
        assert c.send("GET", f"/v1/disputes/{dispute['dispute_id']}").status == 200
        assert c.send("GET", f"/v1/cancellations/{cancel['cancellation_id']}").status == 200
        assert c.send("POST", "/v1/card-count", body=query(c, s), nonce=nonce).problem_code == \
            "replayed_request"
        c.advance_clock(24 * 3600)
        assert c.send("POST", "/v1/card-count", body=query(c, s)).json()["card_count"] == \
            len(s.live_cards) - 1


def parse_now(c: PlatformClient) -> float:
    """The server's clock offset, read through the sandbox clock."""
    now = parse_time(c.advance_clock(0).json()["now"])
    return (now - datetime.now(UTC)).total_seconds()


def test_sigterm_exits_cleanly_and_access_log_is_masked(tmp_path: Path) -> None:
    db, log = tmp_path / "op.sqlite", tmp_path / "access.log"
    s = subject_with(1)
    with server(db, log) as (url, proc), client(url) as c:
        assert c.send("POST", "/v1/card-count", body=query(c, s)).status == 200
        # an ID number and an MSISDN in the path itself must not reach the log in clear
        assert c.send("GET", f"/v1/x/{s.id_number}/{s.cards[0].msisdn}", sign=False).status == 404
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    text = log.read_text("utf-8")
    lines = text.splitlines()
    assert any("POST /v1/card-count 200" in line and line.endswith("ms") for line in lines)
    assert s.id_number not in text and s.cards[0].msisdn not in text and s.name not in text
    assert f"{s.id_number[:6]}***********{s.id_number[-1]}" in text
    assert "stopped" in (tmp_path / "stderr.txt").read_text("utf-8")
