"""Each legal variant changes what it says it changes (the variant matrix judges that no check
fails them: tests/test_variant_matrix.py); the registry quotes the protocol it relies on, and the
docs list every variant.

Two servers for the module: one with every variant that reshapes answers (compatible with each
other), one with the transport and clock variants that the first cannot carry.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from server_helpers import cancellation, client, dispute, query, refs, subject_with, subjects

from yzt.client import PlatformClient
from yzt.server.config import ServerConfig
from yzt.server.defects import DefectName
from yzt.server.testing import running_server
from yzt.server.variants import LATENCIES, VARIANTS, VariantName, conflicts, table_markdown
from yzt.signing import parse_time

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
DAY = 86400
SHAPING = ("json-style", "extra-members", "chunked", "connection-close", "fractional-seconds",
           "card-ref-shape", "lifecycle-timing", "rate-limit-503", "date-sandbox-clock", "gzip",
           "dispute-outcomes")
OTHERS = ("http10", "no-sandbox-clock", "no-rate-limit", "latency-lognormal")


def _args(names: tuple[str, ...], *extra: str) -> list[str]:
    return [a for n in names for a in ("--variant", n)] + list(extra) + ["--no-access-log"]


@pytest.fixture(scope="module")
def shaped() -> Iterator[str]:
    # a low limit, so that a short burst meets the 503 of rate-limit-503
    with running_server(extra_args=_args(SHAPING, "--rate-limit", "40")) as url:
        yield url


@pytest.fixture(scope="module")
def c(shaped: str) -> Iterator[PlatformClient]:
    """One client for the shaped server: it keeps the sandbox clock's offset as tests move it."""
    with client(shaped) as shared:
        yield shared


@pytest.fixture(scope="module")
def other() -> Iterator[str]:
    with running_server(extra_args=_args(OTHERS)) as url:
        yield url


def _raw(url: str, request: bytes) -> tuple[bytes, bytes, bool]:
    """(head, body bytes as framed, whether the server closed the connection) of one exchange."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        closed = False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            data += chunk
            if b"\r\n\r\n" in data and not closed:
                head = data.split(b"\r\n\r\n", 1)[0].lower()
                body = data.split(b"\r\n\r\n", 1)[1]
                complete = (len(body) >= int(head.split(b"content-length:")[1].split(b"\r\n")[0])
                            if b"content-length:" in head else body.endswith(b"0\r\n\r\n"))
                if complete:
                    sock.settimeout(0.5)  # a keep-alive server would wait here; ours must close
                    try:
                        closed = sock.recv(1) == b""
                    except TimeoutError:
                        closed = False
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body, closed


GET_HEALTH = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"


# -- registry and docs ------------------------------------------------------------------------
def test_every_variant_quotes_the_protocol_and_names_real_requirements():
    catalogue = (ROOT / "conformance" / "requirements.yaml").read_text("utf-8")
    for variant in VARIANTS.values():
        assert re.search(r'"[^"]{12,}"', variant.allowed_by), f"{variant.name} quotes no sentence"
        for requirement in re.findall(r"(?:OIF|SLA)-[A-Z]+-\d", variant.allowed_by):
            assert requirement in catalogue, (variant.name, requirement)
        for check in variant.untestable:
            assert check.split()[0] in catalogue, (variant.name, check)


def test_reference_doc_holds_the_generated_variant_table():
    doc = (ROOT / "docs" / "reference-operator.md").read_text("utf-8")
    assert table_markdown() in doc, "regenerate with: python -m yzt.server.variants"
    for name in VariantName:
        assert f"`--variant {name}`" in doc or f"| `{name}` |" in doc


def test_conflicts_and_unknown_names_are_refused_with_the_flag_named():
    assert conflicts(["chunked", "http10"]) == "--variant chunked cannot be combined with --variant http10"
    assert conflicts(["chunked", "json-style"]) is None
    base = {"operator_id": "R07", "key_id": "k", "secret": b"s", "db": Path("x.sqlite")}
    with pytest.raises(ValueError, match="unknown variant"):
        ServerConfig(**base, variants=frozenset({"nope"}))  # type: ignore[arg-type]
    env = dict(os.environ, YZT_SECRET="s")
    for args, message in (
            (["--variant", "chunked", "--variant", "http10"], "cannot be combined with --variant http10"),
            (["--variant", "no-rate-limit", "--rate-limit", "5"], "drop --rate-limit"),
            (["--variant", "nope"], "--variant 'nope' is not a variant")):
        done = subprocess.run([sys.executable, "-m", "yzt", "serve", "--operator", "R07", "--key-id", "k",
                               "--port", "0", *args], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_variants_that_older_flags_expressed_set_their_fields():
    base = {"operator_id": "R07", "key_id": "k", "secret": b"s", "db": Path("x.sqlite")}
    config = ServerConfig(**base, variants=frozenset({VariantName.NO_SANDBOX_CLOCK,
                                                       VariantName.EXTRA_MEMBERS}))
    assert not config.sandbox_clock and config.extra_members
    assert not config.has(DefectName.SLOW)


def test_lognormal_latencies_keep_their_documented_percentiles():
    """p99 two thirds of the SLA's p95 limit, p95 near 30 % of it, and not constant."""
    p95_limit = {"card-count": 300, "card-details": 500}  # SLA-LAT-1, SLA-LAT-2
    rng = random.Random(3)
    for endpoint, latency in LATENCIES.items():
        draws = sorted(latency.sample_s(rng) * 1000 for _ in range(20000))
        p50, p95, p99 = draws[10000], draws[19000], draws[19800]
        if endpoint in p95_limit:
            assert 0.55 * p95_limit[endpoint] <= p99 <= 0.75 * p95_limit[endpoint], endpoint
            assert p95 <= 0.35 * p95_limit[endpoint], endpoint
        else:  # SLA-LAT-3's p99 limit is 2 s; service-info has no SLA
            assert p99 <= 600, endpoint
        assert p99 > 8 * p50, endpoint  # a long tail, not a constant delay


# -- what each variant changes ----------------------------------------------------------------------
def test_chunked_and_connection_close_frame_every_answer(shaped):
    head, body, closed = _raw(shaped, GET_HEALTH)
    assert b"transfer-encoding: chunked" in head.lower() and b"content-length" not in head.lower()
    assert body.count(b"\r\n") >= 6, body  # several chunks, each "size CRLF data CRLF", then 0
    assert b"connection: close" in head.lower() and closed


def test_gzip_when_the_request_accepts_it(shaped):
    head, body, _closed = _raw(shaped, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                                       b"Accept-Encoding: gzip\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower(), head
    chunks, rest = [], body
    while rest and not rest.startswith(b"0\r\n"):
        size, rest = rest.split(b"\r\n", 1)
        chunks.append(rest[:int(size, 16)])
        rest = rest[int(size, 16) + 2:]
    assert json.loads(zlib.decompress(b"".join(chunks), 16 + zlib.MAX_WBITS))["status"] == "ok"
    plain, _, _ = _raw(shaped, GET_HEALTH)
    assert b"content-encoding" not in plain.lower()


def test_json_style_reverses_members_escapes_and_indents(c):
    ex = c.send("GET", "/v1/service-info", sign=False)
    raw = ex.response_body.decode("ascii")  # non-ASCII written as \\uXXXX
    assert "\\u" in raw and '" : ' in raw and raw.endswith("\n") and "\n  " in raw
    doc = ex.json()
    assert list(doc)[-1] == "operator_id", list(doc)  # the reference writes operator_id first
    assert ex.response_headers["content-type"] == "application/json; charset=utf-8"


def test_extra_members_everywhere_without_personal_data(c):
    s = subject_with(2)
    count = c.send("POST", "/v1/card-count", body=query(c, s))
    details = c.send("POST", "/v1/card-details", body=query(c, s)).json()
    missing = c.send("GET", "/v1/no-such-path", sign=False)
    assert count.json()["api_version"] == "1.3" and "x-request-id" in count.response_headers
    assert all(card["plan_type"] == "unspecified" for card in details["cards"])
    assert missing.json()["instance"] == "/v1/no-such-path" and missing.json()["retryable"] is False
    for text in (count.response_body.decode("ascii"), json.dumps(details)):
        assert s.id_number not in text and all(k.msisdn not in text for k in s.cards)


def test_fractional_seconds_and_card_ref_shape(c):
    s = subject_with(1)
    as_of = c.send("POST", "/v1/card-count", body=query(c, s)).json()["as_of"]
    listed = refs(c, s)
    ref = next(iter(listed))
    accepted = c.send("POST", "/v1/disputes", body=dispute(c, s, ref))
    wrong = c.send("POST", "/v1/disputes", body=dispute(c, s, "c_" + ref[-32:]))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", as_of)
    assert parse_time(accepted.json()["received_at"]).microsecond % 1000 == 0
    assert all(r.startswith("urn:yzt:card:R07:") and len(r) <= 64 for r in listed)
    assert accepted.status == 202 and wrong.status == 404


def test_lifecycle_timing_and_date_on_the_sandbox_clock(c):
    s = next(x for x in subjects()[120:] if len(x.live_cards) >= 2)
    mine = list(refs(c, s))
    d = dispute(c, s, mine[0])
    submitted = c.send("POST", "/v1/disputes", body=d).json()
    x = cancellation(c, s, mine[1])
    assert c.send("POST", "/v1/cancellations", body=x).json()["state"] == "accepted"
    assert c.send("GET", f"/v1/cancellations/{x['cancellation_id']}").json()["state"] == "completed"
    states = []
    for seconds in (3 * DAY, 11 * DAY, DAY - 30, 60):  # day 3, day 14, 30 s before day 15, day 15
        moved = c.advance_clock(seconds)
        states.append(c.send("GET", f"/v1/disputes/{d['dispute_id']}").json()["state"])
    sent_date = parsedate_to_datetime(moved.response_headers["date"])
    assert states == ["received", "verifying", "verifying", "resolved"]
    assert (parse_time(submitted["resolve_by"]) - parse_time(submitted["received_at"])).days == 15
    # the Date header follows the sandbox clock, now 15 days ahead of real time
    assert (sent_date - datetime.now(UTC)).days >= 14


def test_dispute_outcomes_suspend_a_genuine_card(c):
    s = next(x for x in subjects()[140:] if any(k.genuine for k in x.live_cards))
    ref = next(r for r, card in refs(c, s).items() if card.genuine)
    d = dispute(c, s, ref)
    assert c.send("POST", "/v1/disputes", body=d).status == 202
    c.advance_clock(15 * DAY)
    status = c.send("GET", f"/v1/disputes/{d['dispute_id']}").json()
    listed = c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"]
    assert status["state"] == "resolved" and status["outcome"] == "suspended"
    assert [x["status"] for x in listed if x["card_ref"] == ref] == ["suspended"]


def test_rate_limit_answers_503_with_its_retry_after(c):
    answers = [c.send("GET", "/v1/service-info", sign=False) for _ in range(150)]
    over = [a for a in answers if a.status != 200]
    assert over and {(a.status, a.problem_code) for a in over} == {(503, "unavailable")}
    assert {a.response_headers["retry-after"] for a in over} == {"2"}


def test_http10_answers_close_without_sandbox_clock_or_rate_limit(other):
    head, body, closed = _raw(other, GET_HEALTH)
    assert head.startswith(b"HTTP/1.0 200"), head
    assert b"content-length" in head.lower() and b"chunked" not in head.lower() and closed
    assert json.loads(body) == {"status": "ok"}
    with client(other) as plain:
        assert plain.advance_clock(0).status == 404
        assert plain.advance_clock(0).problem_code == "not_found"
        statuses = {plain.send("GET", "/v1/service-info", sign=False).status for _ in range(60)}
    assert statuses == {200}


def test_lognormal_latency_varies_inside_the_sla(other):
    s = subject_with(1)
    with client(other) as plain:
        took = []
        for _ in range(40):
            started = time.perf_counter()
            assert plain.send("POST", "/v1/card-count", body=query(plain, s)).status == 200
            took.append(time.perf_counter() - started)
    took.sort()
    assert took[0] >= 0.001 and took[-1] > 3 * took[0]  # delayed, and not by a constant
    assert took[20] < 0.3  # the median stays far inside SLA-LAT-1
