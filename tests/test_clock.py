"""Finding the operator's sandbox clock (yzt.clock) and the preflight around it, on a fake operator.

The fake operator keeps one sandbox clock ``offset`` seconds from real time and a signature window
of 300 s on it, and sends a ``Date`` header that says whatever the test wants: the offset yzt signs
with must come from ``POST /v1/sandbox/clock`` alone (protocol v1.3).
"""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from yzt.cli import main
from yzt.client import PlatformClient
from yzt.clock import ClockMemory, ClockSource, discover_clock, normal_url, state_dir
from yzt.conformance.preflight import preflight, probe_subjects
from yzt.domain.topology import load_topology
from yzt.errors import PreflightError
from yzt.fixtures import generate_fixtures

FIXTURES = generate_fixtures(load_topology().get("R07"), 5, 40)
SOURCE = "--seed 5 --subjects 40"
URL = "http://op.test"


class FakeOperator:
    """One sandbox clock, a 300 s window on it, a Date header ``date_offset`` s from real time."""

    def __init__(self, offset: float = 0.0, *, clock: bool = True, date_offset: float = 0.0,
                 key_id: str = "k1", refuse_counts: bool = False,
                 counts: dict[str, int] | None = None) -> None:
        self.offset = offset
        self.clock = clock
        self.date_offset = date_offset
        self.key_id = key_id
        self.refuse_counts = refuse_counts
        self.counts = counts or {}
        #: (path, signed timestamp minus real time) of every signed request, in order
        self.signed: list[tuple[str, float]] = []

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def _answer(self, status: int, body: dict, problem: bool = False) -> httpx.Response:
        headers = {"Date": format_datetime(datetime.now(UTC) + timedelta(seconds=self.date_offset),
                                           usegmt=True)}
        if problem:
            headers["Content-Type"] = "application/problem+json"
            return httpx.Response(status, content=json.dumps(body), headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    def _problem(self, status: int, code: str) -> httpx.Response:
        return self._answer(status, {"type": f"urn:yzt:problem:{code}", "title": code,
                                     "status": status, "code": code, "detail": code}, True)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/health":
            return self._answer(200, {"status": "ok"})
        if path == "/v1/service-info":
            return self._answer(200, {"operator_id": "R07"})
        if path == "/v1/sandbox/clock" and not self.clock:
            return self._problem(404, "not_found")
        stamp = int(request.headers["X-YZT-Timestamp"])
        self.signed.append((path, stamp - datetime.now(UTC).timestamp()))
        if request.headers["X-YZT-Key-Id"] != self.key_id:
            return self._problem(401, "signature_invalid")
        if abs(stamp - self.now().timestamp()) > 300:
            return self._problem(401, "timestamp_skew")
        body = json.loads(request.content)
        if path == "/v1/sandbox/clock":
            self.offset += body["advance_seconds"]
            return self._answer(200, {"now": self.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
        if self.refuse_counts:
            return self._problem(401, "signature_invalid")
        id_number = body["subject"]["id_number"]
        subject = FIXTURES.subjects().get(id_number)
        count = self.counts.get(id_number, len(subject.live_cards) if subject else 0)
        return self._answer(200, {"query_id": body["query_id"], "card_count": count,
                                  "as_of": self.now().strftime("%Y-%m-%dT%H:%M:%SZ")})


def _client(operator: FakeOperator, memory: ClockMemory | None = None,
            key_id: str = "k1") -> PlatformClient:
    return PlatformClient(URL, key_id, b"s", transport=httpx.MockTransport(operator),
                          clock_memory=memory)


def _tried(operator: FakeOperator) -> list[int]:
    """The offsets the clock reads were signed at, to the nearest 100 s."""
    return [round(skew, -2) for path, skew in operator.signed if path == "/v1/sandbox/clock"]


# -- discovery order -------------------------------------------------------------------------------
def test_candidates_are_tried_explicit_then_remembered_then_real_time(tmp_path: Path) -> None:
    memory = ClockMemory(tmp_path)
    memory.remember(URL, "k1", 5000)
    op = FakeOperator(0)
    with _client(op, memory) as client:
        reading = discover_clock(client, explicit=9000)
    assert _tried(op) == [9000, 5000, 0]
    assert reading.source is ClockSource.READ and abs(reading.offset_s) < 3
    assert abs(client.clock_offset) < 3
    remembered = memory.recall(URL, "k1")  # the read replaces what was remembered
    assert remembered is not None and abs(remembered.offset_s) < 3


def test_the_first_candidate_inside_the_window_wins(tmp_path: Path) -> None:
    memory = ClockMemory(tmp_path)
    memory.remember(URL, "k1", 5000)
    at_memory, explicit = FakeOperator(5000), FakeOperator(9000)
    with _client(at_memory, memory) as client:
        assert round(discover_clock(client, explicit=9000).offset_s, -1) == 5000
    with _client(explicit, memory) as client:
        assert round(discover_clock(client, explicit=9000).offset_s, -1) == 9000
    assert _tried(at_memory) == [9000, 5000] and _tried(explicit) == [9000]


def test_a_clock_another_process_moved_is_found_through_the_memory(tmp_path: Path) -> None:
    op = FakeOperator(0)
    memory = ClockMemory(tmp_path)
    with _client(op, memory) as mover:  # a conformance run moves the clock 6 days
        mover.advance_clock(6 * 86400)
    with _client(op, ClockMemory(tmp_path)) as later:  # the next command, same memory folder
        reading = discover_clock(later)
    assert reading.source is ClockSource.READ
    assert abs(reading.offset_s - 6 * 86400) < 3
    assert _tried(op)[-1] == 6 * 86400 and len(_tried(op)) == 2  # the move, then one read


def test_no_sandbox_clock_signs_on_real_time_even_with_an_offset_given() -> None:
    op = FakeOperator(0, clock=False, date_offset=3 * 86400)
    with _client(op) as client:
        reading = discover_clock(client, explicit=7200)
    assert reading.source is ClockSource.ABSENT and reading.offset_s == 0.0
    assert client.clock_offset == 0.0
    assert reading.note() == "no sandbox clock (POST /v1/sandbox/clock → 404): signed on real time"


def test_skew_at_every_candidate_stops_naming_clock_offset(tmp_path: Path) -> None:
    memory = ClockMemory(tmp_path)
    memory.remember(URL, "k1", 1000)
    op = FakeOperator(522000)  # moved by someone else; Date says real time, as v1.3 allows
    with _client(op, memory) as client, pytest.raises(PreflightError) as caught:
        discover_clock(client, explicit=100000)
    message = str(caught.value)
    assert caught.value.exit_code == 2 and caught.value.step == "clock"
    assert message.startswith("preflight clock: POST /v1/sandbox/clock answered 401 timestamp_skew "
                              "to every offset tried (--clock-offset +100000 s, the remembered "
                              "+1000 s")
    assert "Pass --clock-offset SECONDS (or set YZT_CLOCK_OFFSET)" in message
    assert "reset the sandbox's clock" in message
    assert "its Date header says" in message and "yzt never signs on it" in message
    assert _tried(op) == [100000, 1000, 0]


@pytest.mark.parametrize("date_offset", [0.0, 3 * 86400.0, -86400.0])
def test_the_date_header_never_changes_the_offset(date_offset: float) -> None:
    for sandbox in (0.0, 7200.0):
        op = FakeOperator(sandbox, date_offset=date_offset)
        with _client(op) as client:
            reading = discover_clock(client, explicit=sandbox or None)
            found = preflight(client, FIXTURES, operator_id="R07", fixture_source=SOURCE,
                              clock_offset=sandbox or None)
        assert abs(reading.offset_s - sandbox) < 3 and abs(found.clock_offset_s - sandbox) < 3
        count_skews = [skew for path, skew in op.signed if path == "/v1/card-count"]
        assert count_skews and all(abs(skew - sandbox) < 3 for skew in count_skews)


# -- the clock memory ------------------------------------------------------------------------------
def test_memory_file_is_private_and_holds_only_url_key_offset_and_time(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "yzt"
    memory = ClockMemory(folder)
    assert memory.remember("https://user:pw@Op.Example:8443/yzt/", "k1", 522000.25)
    path = memory.path("https://op.example:8443/yzt", "k1")
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    data = json.loads(path.read_text("utf-8"))
    assert set(data) == {"base_url", "key_id", "offset_s", "at"}
    assert data["base_url"] == "https://op.example:8443/yzt" and "pw" not in path.read_text("utf-8")
    assert memory.recall("https://op.example:8443/yzt", "k1").offset_s == 522000.25
    assert memory.recall("https://op.example:8443/yzt", "k2") is None  # another key, another clock
    path.write_text("{not json", "utf-8")
    assert memory.recall("https://op.example:8443/yzt", "k1") is None


def test_memory_that_cannot_be_written_never_stops_a_run(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    memory = ClockMemory(blocker / "yzt")
    assert memory.remember(URL, "k1", 522000) is False
    assert memory.remember(URL, "k1", 522001) is False
    err = capsys.readouterr().err
    assert err.count("cannot write the clock memory") == 1  # said once, not on every advance
    assert "--clock-offset 522000" in err and "YZT_STATE_DIR" in err


def test_state_folder_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("YZT_STATE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "explicit"
    monkeypatch.delenv("YZT_STATE_DIR")
    assert state_dir() == tmp_path / "xdg" / "yzt"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_dir() == tmp_path / "home" / ".local" / "state" / "yzt"
    assert normal_url("HTTP://A.test:80/x/") == "http://a.test:80/x"


# -- flags -----------------------------------------------------------------------------------------
def test_bad_clock_offset_flag_and_variable_are_usage_errors(monkeypatch, capsys) -> None:
    monkeypatch.setenv("YZT_SECRET", "s")
    base = ["load", "http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1", "--seed", "1",
            "--subjects", "20", "--rate", "1"]
    with pytest.raises(SystemExit) as caught:
        main([*base, "--clock-offset", "soon"])
    assert caught.value.code == 2
    assert "argument --clock-offset: 'soon' is not a number of seconds" in capsys.readouterr().err
    monkeypatch.setenv("YZT_CLOCK_OFFSET", "inf")
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "YZT_CLOCK_OFFSET must be a finite number" in err and "cannot reach" not in err


# -- preflight -------------------------------------------------------------------------------------
def test_a_count_that_differs_is_a_note_not_a_stop() -> None:
    first = probe_subjects(FIXTURES)[0]
    assert len(first.cards) > len(first.live_cards), "the first probe has a cancelled card"
    op = FakeOperator(0, counts={first.id_number: len(first.cards)})  # counts cancelled cards
    with _client(op) as client:
        found = preflight(client, FIXTURES, operator_id="R07", fixture_source=SOURCE)
    assert not found.counts_agree and found.card_count == len(first.cards)
    assert found.clock_source is ClockSource.READ and found.notes[0].startswith("sandbox clock: ")
    note = found.notes[1]
    assert note.startswith("card count differs from the fixtures: the operator counts "
                           f"{len(first.cards)} card(s) for {first.id_number[:6]}")
    assert f"the fixtures ({SOURCE}) say {len(first.live_cards)}" in note
    assert "cancelled card(s) that do not count" in note and "the other subjects asked agree" in note
    assert note.endswith("Conformance judges counts (OIF-CNT-1)")
    assert first.id_number not in found.note() and found.note().startswith("preflight: health ok")


def test_no_fixture_subject_found_names_the_seed_and_the_masked_subjects() -> None:
    probes = probe_subjects(FIXTURES)
    op = FakeOperator(0, counts={s.id_number: 0 for s in probes})
    with _client(op) as client:
        found = preflight(client, FIXTURES, operator_id="R07", fixture_source=SOURCE)
    note = found.notes[-1]
    assert note.startswith("the operator counts 0 cards for every fixture subject asked (")
    assert f"the fixtures ({SOURCE})" in note and "may not have loaded these fixtures" in note
    for subject in probes:
        assert subject.id_number[:6] in note and subject.id_number not in note
    assert len(probes) == 3 == sum(1 for p, _ in op.signed if p == "/v1/card-count")


def test_refused_signature_blames_key_and_secret_only_inside_the_read_window() -> None:
    op = FakeOperator(3 * 86400, refuse_counts=True)  # the clock reads; the count is refused
    with _client(op) as client, pytest.raises(PreflightError) as caught:
        preflight(client, FIXTURES, operator_id="R07", fixture_source=SOURCE, clock_offset=3 * 86400)
    message = str(caught.value)
    assert "POST /v1/card-count answered 401 signature_invalid" in message
    assert "so the key id or the secret is the likely cause" in message
    assert "s from the operator's sandbox clock as POST /v1/sandbox/clock gave it (offset +259" in message
    assert "skew +0 s" not in message and "Date header" not in message


@pytest.mark.parametrize("kind", ["wrong key", "no sandbox clock"])
def test_refused_signature_without_a_read_clock_does_not_guess(kind: str) -> None:
    if kind == "wrong key":
        op, key = FakeOperator(0, date_offset=3600), "k9"
    else:
        op, key = FakeOperator(0, clock=False, refuse_counts=True, date_offset=3600), "k1"
    with _client(op, key_id=key) as client, pytest.raises(PreflightError) as caught:
        preflight(client, FIXTURES, operator_id="R07", fixture_source=SOURCE)
    message = str(caught.value)
    assert message.startswith("preflight signed request: POST /v1/card-count answered 401 "
                              "signature_invalid: the signature was refused.")
    assert "likely cause" not in message and "could not be checked against the operator's clock" in message
    assert f"key id {key!r}" in message
    assert re.search(r"its Date header says \S+ \S+ UTC, \+(3599|3600|3601) s from ours", message)
    expected = ("sandbox clock not readable (POST /v1/sandbox/clock → 401 signature_invalid)"
                if kind == "wrong key" else "no sandbox clock (POST /v1/sandbox/clock → 404)")
    assert expected in message


def test_an_unreachable_clock_endpoint_is_a_transport_stop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/health":
            return httpx.Response(200, json={"status": "ok"})
        raise httpx.ConnectError("connection reset")

    with PlatformClient(URL, "k1", b"s", transport=httpx.MockTransport(handler)) as client, \
            pytest.raises(PreflightError) as caught:
        preflight(client, FIXTURES, operator_id="R07", fixture_source=SOURCE)
    assert str(caught.value).startswith("preflight clock: POST /v1/sandbox/clock to http://op.test: "
                                        "cannot connect")
    # a load run's own requests judge the transport: there the clock read signs on its best guess
    with PlatformClient(URL, "k1", b"s", transport=httpx.MockTransport(handler)) as client:
        reading = discover_clock(client, explicit=600, stop_unreachable=False)
    assert reading.source is ClockSource.UNREADABLE and reading.offset_s == 600
    assert reading.note().startswith("sandbox clock not readable (POST /v1/sandbox/clock → cannot "
                                     "connect")


def test_tests_keep_the_clock_memory_out_of_the_users_home() -> None:
    assert os.environ["YZT_STATE_DIR"] and "yzt-state" in os.environ["YZT_STATE_DIR"]
