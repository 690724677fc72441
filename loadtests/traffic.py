"""What the load generator sends: the run's configuration, the traffic mix, subjects, signed requests.

Everything here is pure (no Locust, no gevent), so the mix, the request builder and the outcome
classification are unit-tested in the ordinary test process; ``locustfile.py`` only wires them to
Locust's users and events.
"""

from __future__ import annotations

import json
import random
import struct
import sys
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

from yzt import endpoints
from yzt.loadtests.shapes import Shape
from yzt.signing import format_time, make_ticket, signed_headers

#: Endpoints by short name: (method, protocol path, expected status, response schema), from the
#: protocol's one endpoint table (the signed requests about a subject).
ENDPOINTS: dict[str, tuple[str, str, int, str]] = {
    e.name: (e.method, e.path, e.success_status, e.response_schema) for e in endpoints.business()
}
ENDPOINT_NAMES: tuple[str, ...] = tuple(ENDPOINTS)

class Col(IntEnum):
    """Columns of a raw load record (one row of ``raw/rows-*.npy``), by name.

    ``rows[:, Col.LATENCY_S]`` reads a column of the record array; :func:`load_record` writes a row.
    """

    ENDPOINT = 0  # index into ENDPOINT_NAMES
    INTENDED_S = 1  # intended send time, seconds from the start
    SEND_LAG_S = 2  # how late the request went out, seconds
    LATENCY_S = 3  # latency measured from the intended time, seconds
    KIND = 4  # outcome kind, index into KINDS
    AHEAD = 5  # 1.0 when the slot was picked ahead of its time (on time), else 0.0
    PROTOCOL = 6  # protocol check code (PROTOCOL_* below)


#: Column names of a raw record, in file order.
COLUMNS: tuple[str, ...] = tuple(c.name.lower() for c in Col)


def records_npy(rows: Iterable[Sequence[float]]) -> bytes:
    """Raw records as a ``.npy`` file: the bytes ``numpy.save`` writes for
    ``numpy.asarray(rows, float64).reshape(-1, len(COLUMNS))`` (format 1.0, little-endian, C order).

    Written without numpy, so that a generator process does not import it (about a tenth of a
    CPU-second per Locust process); :func:`yzt.loadtests.results.load_raw` reads it with numpy.
    """
    width = len(COLUMNS)
    data = array("d", [float(x) for row in rows for x in row])
    if len(data) % width:
        raise ValueError(f"raw records have {width} columns; {len(data)} values do not divide")
    if sys.byteorder != "little":
        data.byteswap()
    count = len(data) // width
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({count}, {width}), }}"
    header += " " * (21 - len(repr(count)))  # numpy leaves room for the row count to grow in place
    pad = 64 - (10 + len(header) + 1) % 64  # magic, version and length: the data starts 64-aligned
    text = (header + " " * pad + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data.tobytes()


def load_record(endpoint: int, intended_s: float, send_lag_s: float, latency_s: float, kind: str,
                ahead: bool, protocol: int) -> tuple[float, float, float, float, float, float, float]:
    """One raw record, its columns in :class:`Col` order."""
    return (float(endpoint), intended_s, send_lag_s, latency_s, float(KINDS.index(kind)),
            1.0 if ahead else 0.0, float(protocol))


#: Outcome kinds, in the order the raw files code them (index = code).
KINDS: tuple[str, ...] = ("ok", "http_5xx", "http_429", "timeout", "connection", "schema",
                          "http_401_403", "http_404", "unexpected_status")
#: Kinds that count against SLA-ERR-1: 5xx, 429, timeouts and connection failures. A served answer
#: that breaks the protocol is not an SLA error: it is judged on its own row, "protocol under load"
#: (see :data:`PROTOCOL_REQUIREMENTS`). ``schema`` stays a kind so that old raw files still read.
ERROR_KINDS: frozenset[str] = frozenset({"http_5xx", "http_429", "timeout", "connection"})

#: The requirement a schema violation in each endpoint's answer breaks (the conformance suite judges
#: the same schemas under these ids). A masking-pattern problem in card details is OIF-DET-2.
PROTOCOL_REQUIREMENTS: tuple[str, ...] = ("OIF-CNT-2", "OIF-DET-1", "OIF-DET-2", "OIF-DSP-2",
                                          "OIF-CXL-2", "OIF-T-1")
_ENDPOINT_REQUIREMENT = {"card-count": "OIF-CNT-2", "card-details": "OIF-DET-1",
                         "disputes": "OIF-DSP-2", "cancellations": "OIF-CXL-2"}
#: Codes of the raw records' ``protocol`` column: answer not checked, checked and valid; a violation
#: of requirement ``PROTOCOL_REQUIREMENTS[k]`` is coded ``PROTOCOL_VIOLATION + k``.
PROTOCOL_UNCHECKED, PROTOCOL_VALID, PROTOCOL_VIOLATION = 0, 1, 2


def protocol_requirement(endpoint: str, problem: str | None) -> str:
    """The requirement a problem in ``endpoint``'s answer breaks (``None``: the body is not JSON)."""
    if problem is None:
        return "OIF-T-1"
    if endpoint == "card-details" and "msisdn_masked" in problem:
        return "OIF-DET-2"
    return _ENDPOINT_REQUIREMENT[endpoint]


@dataclass(frozen=True)
class Mix:
    """Shares per platform query: every query asks card-count; some also ask details, few dispute
    or cancel. The shares become endpoint weights of the request stream (``weights``)."""

    card_count: float = 1.0
    card_details: float = 0.3
    disputes: float = 0.02
    cancellations: float = 0.01

    def weights(self) -> dict[str, float]:
        raw = {"card-count": self.card_count, "card-details": self.card_details,
               "disputes": self.disputes, "cancellations": self.cancellations}
        total = sum(raw.values())
        return {k: v / total for k, v in raw.items()}


@dataclass(frozen=True)
class RunConfig:
    """Everything a generator process needs, as JSON (``YZT_LOAD_CONFIG``). Never holds the secret
    (that travels in ``YZT_SECRET``) nor personal data (processes rebuild subjects from the seed or
    the fixture file)."""

    target: str
    operator: str
    key_id: str
    shape: Shape
    out_dir: str
    seed: int | None = 1
    subjects: int = 500
    fixtures: str | None = None
    workers: int = 1
    users_per_process: int = 50
    poisson: bool = True
    timeout_s: float = 5.0
    grace_s: float = 7.0
    lead_s: float = 1.0
    schema_sample: float = 0.05
    unknown_share: float = 0.1
    mix: Mix = field(default_factory=Mix)
    traffic_seed: int = 0
    #: The operator's sandbox clock minus ours, as read from ``POST /v1/sandbox/clock`` before the
    #: run (:func:`yzt.clock.discover_clock`; never from the HTTP ``Date`` header). Every worker
    #: signs and mints ``verified_at`` on it.
    clock_offset_s: float = 0.0
    #: Seconds a master waits for every expected worker to join and pass the version handshake.
    join_s: float = 30.0

    @classmethod
    def placeholder(cls) -> RunConfig:
        """Stands in until a worker from another machine receives the master's configuration."""
        from yzt.loadtests.shapes import steady

        return cls(target="http://127.0.0.1", operator="", key_id="", shape=steady(1.0, 1.0), out_dir="")

    def to_json(self) -> str:
        raw = asdict(self)
        raw["shape"] = self.shape.to_json()
        return json.dumps(raw, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        raw = json.loads(text)
        raw["shape"] = Shape.from_json(raw["shape"])
        raw["mix"] = Mix(**raw["mix"])
        return cls(**raw)

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        return cls.from_json(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    known: bool


def unknown_people(count: int, known_ids: set[str], seed: int) -> list[Person]:
    """Valid synthetic subjects that are not in the fixtures (the answer must be a count of 0)."""
    from yzt.domain.idnumber import generate_id_number
    from yzt.fixtures import FIXTURE_EPOCH

    rng = random.Random(f"yzt-load-unknown|{seed}")
    family, given = "王李张刘陈杨赵黄周吴", "伟芳娜敏静丽强磊军洋勇艳杰涛明超"
    out: list[Person] = []
    while len(out) < count:
        id_number = generate_id_number(rng, today=FIXTURE_EPOCH)
        if id_number not in known_ids:
            out.append(Person(rng.choice(family) + rng.choice(given) + rng.choice(given), id_number,
                              known=False))
    return out


def people_for(config: RunConfig) -> list[Person]:
    """Known subjects (from the fixture file or regenerated from the seed), then unknown ones."""
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, load_fixtures

    topology = load_topology()
    if config.fixtures:
        fixtures = load_fixtures(Path(config.fixtures), topology, config.operator)
    else:
        fixtures = generate_fixtures(topology.get(config.operator), config.seed or 1, config.subjects)
    known = [Person(s.name, s.id_number, True) for s in fixtures.subjects().values()]
    n_unknown = max(1, round(len(known) * config.unknown_share / max(1e-9, 1 - config.unknown_share)))
    return known + unknown_people(n_unknown, {p.id_number for p in known}, config.seed or 0)


@dataclass(frozen=True)
class Prepared:
    """One request, ready to send: the path is the protocol path (sign it; prefix the base URL)."""

    endpoint: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    expected: int
    schema: str
    person: int


class RequestBuilder:
    """Builds signed, verified requests in the traffic mix.

    Disputes and cancellations need a ``card_ref`` the operator gave out: the builder learns them from
    card-details answers (:meth:`learn`) and sends a card-details request instead while it knows none.
    Tickets are minted once per subject and method and renewed every 10 minutes (cancellations need a
    face verification younger than 30 minutes, OIF-VER-4).
    """

    TICKET_RENEW = timedelta(minutes=10)

    def __init__(self, people: list[Person], key_id: str, secret: bytes, mix: Mix,
                 rng: random.Random, *, unknown_share: float = 0.1, max_refs: int = 2000) -> None:
        if not people:
            raise ValueError("no subjects to query")
        self.people = people
        self.known = [i for i, p in enumerate(people) if p.known]
        self.unknown = [i for i, p in enumerate(people) if not p.known]
        self.key_id = key_id
        self.secret = secret
        self.rng = rng
        self.unknown_share = unknown_share if self.unknown else 0.0
        weights = mix.weights()
        self._endpoints = list(weights)
        self._cum: list[float] = []
        acc = 0.0
        for name in self._endpoints:
            acc += weights[name]
            self._cum.append(acc)
        self.refs: list[tuple[int, str]] = []
        self.max_refs = max_refs
        self._tickets: dict[tuple[int, str], tuple[datetime, dict[str, str]]] = {}

    def pick_endpoint(self) -> str:
        x = self.rng.random() * self._cum[-1]
        for name, edge in zip(self._endpoints, self._cum, strict=True):
            if x < edge:
                return name
        return self._endpoints[-1]

    def pick_person(self) -> int:
        if self.unknown and (not self.known or self.rng.random() < self.unknown_share):
            return self.rng.choice(self.unknown)
        return self.rng.choice(self.known)

    def verification(self, person: int, method: str, now: datetime) -> dict[str, str]:
        cached = self._tickets.get((person, method))
        if cached and now - cached[0] < self.TICKET_RENEW:
            return cached[1]
        p = self.people[person]
        at = format_time(now - timedelta(seconds=60))
        block = {"method": method, "verified_at": at,
                 "ticket": make_ticket(self.secret, method, p.id_number, p.name, at)}
        self._tickets[(person, method)] = (now, block)
        return block

    def learn(self, person: int, body: Any) -> None:
        """Remember the card refs of a card-details answer (for later disputes and cancellations)."""
        if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
            return
        for card in body["cards"]:
            if isinstance(card, dict) and isinstance(card.get("card_ref"), str):
                if len(self.refs) >= self.max_refs:
                    self.refs[self.rng.randrange(self.max_refs)] = (person, card["card_ref"])
                else:
                    self.refs.append((person, card["card_ref"]))

    def build(self, endpoint: str | None = None, now: datetime | None = None) -> Prepared:
        """The next request (its endpoint drawn from the mix unless given)."""
        now = now or datetime.now(UTC)
        endpoint = endpoint or self.pick_endpoint()
        ref: str | None = None
        if endpoint in ("disputes", "cancellations"):
            if self.refs:
                person, ref = self.rng.choice(self.refs)
            else:
                endpoint = "card-details"
        if ref is None:
            person = self.pick_person()
            if endpoint == "card-details" and self.known and not self.people[person].known:
                person = self.rng.choice(self.known)  # details of people with cards teach us refs
        p = self.people[person]
        subject = {"name": p.name, "id_type": "resident_id", "id_number": p.id_number}
        payload: dict[str, Any]
        if endpoint == "disputes":
            payload = {"dispute_id": str(uuid.uuid4()), "subject": subject,
                       "verification": self.verification(person, "sms_code", now), "card_ref": ref,
                       "claim": self.rng.choice(("not_mine", "unrecognized"))}
        elif endpoint == "cancellations":
            payload = {"cancellation_id": str(uuid.uuid4()), "subject": subject,
                       "verification": self.verification(person, "face", now), "card_ref": ref}
        else:
            payload = {"query_id": str(uuid.uuid4()), "subject": subject,
                       "verification": self.verification(person, "sms_code", now)}
        method, path, expected, schema = ENDPOINTS[endpoint]
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = signed_headers(self.key_id, self.secret, method, path, body,
                                 timestamp=int(now.timestamp()))
        headers["Content-Type"] = "application/json"
        return Prepared(endpoint, method, path, body, headers, expected, schema, person)


def classify(status: int, error: str | None, expected: int) -> str:
    """The outcome kind of one exchange, before any schema check (see :data:`KINDS`)."""
    if status == 0:  # no HTTP answer at all (Locust's FastHttpUser also sets an error for 4xx/5xx)
        text = (error or "").lower()
        return "timeout" if "timeout" in text or "timed out" in text else "connection"
    if status == expected:
        return "ok"
    if status >= 500:
        return "http_5xx"
    if status == 429:
        return "http_429"
    if status in (401, 403):
        return "http_401_403"
    if status == 404:
        return "http_404"
    return "unexpected_status"
