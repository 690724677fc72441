"""The run context: the platform's client, the fixture truth and a record of every exchange.

Checks reach the target only through :attr:`RunContext.client` (the one HTTP seam); every exchange
is recorded with the name of the check that caused it, so the sweep checks (schemas, problem shape,
PII scan) judge everything the run saw. Subjects that a check will change (disputes,
cancellations) are taken from a separate pool so that read-only checks keep matching the truth.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import httpx

from yzt.client import Exchange, PlatformClient
from yzt.clock import ClockMemory
from yzt.conformance.preflight import Preflight
from yzt.conformance.registry import Finding, Said, not_testable
from yzt.domain.idnumber import check_digit, generate_id_number
from yzt.domain.masking import KnownValues, mask_id_number, mask_msisdn, mask_name, scrub
from yzt.fixtures import FixtureSet, Subject

T = TypeVar("T")
#: After this many consecutive timeouts the target counts as hung: later requests are not sent.
MAX_CONSECUTIVE_TIMEOUTS = 3
#: …and after this many timeouts in all (an endpoint that times out every other request).
MAX_TIMEOUTS = 10
#: No run sends more exchanges than this (retries included; a clean run sends about 520). With each
#: exchange ended by ``--timeout`` and each overload retry waiting at most MAX_RETRY_WAIT_S, a run
#: ends within MAX_EXCHANGES × (timeout + MAX_RETRY_WAIT_S) whatever the endpoint does
#: (docs/conformance.md, "How long a run can take").
MAX_EXCHANGES = 2000
_ID_LIKE = re.compile(r"[0-9]{17}[0-9Xx]")
#: A 429/503 is retried this many times, after its Retry-After (capped, so a run stays short).
MAX_OVERLOAD_RETRIES = 3
MAX_RETRY_WAIT_S = 2.0


def _retry_after(value: str) -> float:
    """Seconds to wait for a Retry-After value (delay-seconds; anything else waits 1 s), capped."""
    try:
        return min(max(float(value.strip()), 0.05), MAX_RETRY_WAIT_S)
    except ValueError:
        return 1.0


@dataclass
class Recorded:
    """One exchange and the check that caused it."""

    check: str
    exchange: Exchange


class RecordingClient(PlatformClient):
    """A :class:`PlatformClient` that records every exchange and stops hammering a hung target."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_s = float(kwargs.get("timeout") or 10.0)
        self.recorded: list[Recorded] = []
        self.current_check = "(setup)"
        self._timeouts_in_a_row = 0
        self._timeouts = 0
        self._ids = random.Random()
        self._recording = True

    @contextmanager
    def unrecorded(self) -> Iterator[None]:
        """Exchanges sent inside this block are not recorded: the clock discovery's reads at
        candidate offsets are the platform finding its own clock, not answers to judge."""
        self._recording = False
        try:
            yield
        finally:
            self._recording = True

    def seed_ids(self, seed: int, salt: str) -> None:
        """Draw request ids (query_id, dispute_id, …) from ``seed`` and ``salt``: a recorded run can
        be replayed exactly, while a new run with the same seed (a reproduction) sends new ids, so
        the operator's idempotency store does not mistake it for a replay of the old one."""
        self._ids = random.Random(f"yzt-conform-ids-{seed}-{salt}")

    def new_id(self) -> str:  # type: ignore[override]  # an instance's seeded stream, not uuid4
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def send(self, method: str, path: str, *, retry_overload: bool = True,
             **kwargs: Any) -> Exchange:
        """Send and record; a 429/503 with Retry-After is waited out and retried, like the platform.

        Every attempt is recorded (OIF-ERR-2 judges the 429s); ``retry_overload=False`` is for the
        overload probe itself.
        """
        exchange = self._send_once(method, path, **kwargs)
        for _ in range(MAX_OVERLOAD_RETRIES if retry_overload else 0):
            if exchange.status not in (429, 503):
                break
            self.wait(_retry_after(exchange.response_headers.get("retry-after", "")))
            exchange = self._send_once(method, path, **kwargs)
        return exchange

    def wait(self, seconds: float) -> None:
        """Wait out a Retry-After (a replay of a recorded run does not)."""
        time.sleep(seconds)

    def _send_once(self, method: str, path: str, **kwargs: Any) -> Exchange:
        if self._timeouts_in_a_row >= MAX_CONSECUTIVE_TIMEOUTS:
            exchange = Exchange(method.upper(), path, {}, b"",
                                error=f"not sent: the endpoint timed out {MAX_CONSECUTIVE_TIMEOUTS} "
                                      f"times in a row (hung; per-request timeout {self.timeout_s:g} s)")
        elif self._timeouts >= MAX_TIMEOUTS:
            exchange = Exchange(method.upper(), path, {}, b"",
                                error=f"not sent: the endpoint timed out {MAX_TIMEOUTS} times in this "
                                      f"run (per-request timeout {self.timeout_s:g} s)")
        elif len(self.recorded) >= MAX_EXCHANGES:
            exchange = Exchange(method.upper(), path, {}, b"",
                                error=f"not sent: this run already sent {MAX_EXCHANGES} requests")
        else:
            exchange = super().send(method, path, **kwargs)
            if exchange.error == "timed out":
                exchange.error = (f"timed out (no complete answer within {self.timeout_s:g} s: "
                                  "connect, headers and body together)")
                self._timeouts_in_a_row += 1
                self._timeouts += 1
            else:
                self._timeouts_in_a_row = 0
        if self._recording:
            self.recorded.append(Recorded(self.current_check, exchange))
        return exchange


#: Most card-details reads one mutable pick spends looking for a subject no earlier run changed.
UNTOUCHED_PROBES = 8


@dataclass
class RunContext:
    """Everything a check may use: the client, the truth, the target's abilities, shared flows."""

    client: RecordingClient
    fixtures: FixtureSet
    operator_id: str
    sandbox_clock: bool = False
    clock_note: Said | str = ""
    rng: random.Random = field(default_factory=random.Random)
    run_seed: int | None = None
    #: ``sandbox`` or ``production`` (see :data:`yzt.conformance.runner.PROFILES`).
    profile: str = "sandbox"
    preflight_note: Said | str = ""
    #: What the preflight learned (its notes, the clock offset and how it was read), as data.
    preflight: Preflight | None = None
    #: Mixed into the request ids with the run seed (recorded in bundles, so replays match).
    id_salt: str = ""
    #: Before a flow changes a subject, ask the sandbox whether an earlier run changed it already
    #: (a second run on the same sandbox must not judge a card an earlier run cancelled).
    verify_untouched: bool = False
    #: Mutable subjects passed over because the sandbox shows an earlier run changed them.
    changed_subjects: int = 0
    _cache: dict[str, Any] = field(default_factory=dict)
    _taken: set[str] = field(default_factory=set)
    _secrets: dict[str, str] = field(default_factory=dict)
    _matcher: KnownValues | None = None

    def __post_init__(self) -> None:
        self.subjects: list[Subject] = list(self.fixtures.subjects().values())
        half = len(self.subjects) // 2
        self.readonly = self.subjects[:max(half, 1)]
        self.mutable = self.subjects[half:] if len(self.subjects) > 1 else list(self.subjects)
        self.rng.shuffle(self.mutable)
        for card in self.fixtures.cards:
            self.remember_subject(card.name, card.id_number)
            self._secrets[card.msisdn] = mask_msisdn(card.msisdn)

    # -- setup ------------------------------------------------------------------------------
    def detect_sandbox_clock(self) -> None:
        """Read the sandbox clock (``advance_seconds: 0``); a 404 means deadline checks cannot run.

        A production profile never touches the clock: its deadline checks are not applicable.
        """
        if self.profile == "production":
            self.clock_note = Said.of("note.production_clock")
            return
        exchange = self.client.advance_clock(0)
        self.sandbox_clock = exchange.status == 200 and self.client.clock_offset is not None \
            and isinstance((exchange.json() or {}).get("now"), str)
        if not self.sandbox_clock:
            self.clock_note = Said.of("note.no_sandbox_clock",
                                      answer=str(exchange.error or exchange.status))

    def advance(self, seconds: int) -> Finding | None:
        """Move the sandbox clock; a refusal makes the calling flow not testable (never passed)."""
        exchange = self.client.advance_clock(seconds)
        if exchange.status == 200 and isinstance((exchange.json() or {}).get("now"), str):
            return None
        return not_testable(f"the sandbox clock refused to advance {seconds} s "
                            f"({exchange.error or exchange.status})", exchange)

    # -- memoised flows shared by several checks --------------------------------------------
    def once(self, key: str, flow: Callable[[], T]) -> T:
        """Run ``flow`` once per run; later callers get its result (lifecycles are judged by parts)."""
        if key not in self._cache:
            self._cache[key] = flow()
        result: T = self._cache[key]
        return result

    def cached(self, key: str) -> Any:
        """What :meth:`once` stored under ``key``, or ``None`` when that flow has not run."""
        return self._cache.get(key)

    # -- subjects ---------------------------------------------------------------------------
    def pick(self, predicate: Callable[[Subject], bool], *, mutable: bool = False) -> Subject | None:
        """A subject matching ``predicate``; mutable picks are exclusive to one flow.

        With :attr:`verify_untouched`, a mutable pick skips subjects whose cards the sandbox shows
        changed (an earlier run disputed or cancelled one), asking at most
        :data:`UNTOUCHED_PROBES` times; when none of those looks untouched (an operator whose
        details are wrong for every subject) it falls back to the first candidate, so a defect is
        judged by its own check rather than starving the flows.
        """
        pool = self.mutable if mutable else self.readonly
        candidates = (s for s in pool if s.id_number not in self._taken and predicate(s))
        first: Subject | None = None
        for probes, subject in enumerate(candidates):
            if not mutable:
                return subject
            first = first or subject
            if not self.verify_untouched or probes >= UNTOUCHED_PROBES:
                break
            if self._untouched(subject):
                self._taken.add(subject.id_number)
                return subject
            self.changed_subjects += 1
        if first is not None:
            self._taken.add(first.id_number)
        return first

    def _untouched(self, subject: Subject) -> bool:
        """True unless the sandbox's card details show a live fixture card gone or changed."""
        from collections import Counter

        answer = self.details(subject)
        doc = answer.json()
        cards = doc.get("cards") if answer.status == 200 and isinstance(doc, dict) else None
        if not isinstance(cards, list):
            return True  # no usable answer: the flow's own checks judge the endpoint
        listed: Counter[tuple[object, object]] = Counter(
            (c.get("msisdn_masked"), c.get("status")) for c in cards if isinstance(c, dict))
        wanted: Counter[tuple[object, object]] = Counter(
            (mask_msisdn(c.msisdn), c.status) for c in subject.live_cards)
        return not (wanted - listed)

    def unknown_subject(self) -> tuple[str, str]:
        """(name, id_number) of a valid subject that is not in the fixtures."""
        known = {s.id_number for s in self.subjects}
        rng = random.Random("yzt-conform-unknown")
        while True:
            id_number = generate_id_number(rng)
            if id_number not in known:
                self.remember_subject("甄无名", id_number)
                return "甄无名", id_number

    def remember_subject(self, name: str, id_number: str) -> None:
        """Register values that must never appear in full in any output of the run."""
        if len(name) >= 2:
            self._secrets[name] = mask_name(name)
        if id_number:
            self._secrets[id_number] = mask_id_number(id_number)

    # -- message parts ----------------------------------------------------------------------
    def verification(self, name: str, id_number: str, *, method: str = "sms_code",
                     age: timedelta = timedelta(minutes=1)) -> dict[str, str]:
        self.remember_subject(name, id_number)
        return self.client.verification(name, id_number, method=method, age=age)

    def subject_body(self, name: str, id_number: str, *, verification: Any = True,
                     id_key: str = "query_id", **extra: Any) -> dict[str, Any]:
        """A request body about a subject; ``verification=True`` mints a valid sms_code one."""
        self.remember_subject(name, id_number)
        body: dict[str, Any] = {id_key: self.client.new_id(),
                                "subject": {"name": name, "id_type": "resident_id",
                                            "id_number": id_number}}
        if verification is True:
            body["verification"] = self.verification(name, id_number)
        elif verification:
            body["verification"] = verification
        body.update(extra)
        return body

    def post(self, path: str, body: Any, **kwargs: Any) -> Exchange:
        return self.client.send("POST", path, body=body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Exchange:
        return self.client.send("GET", path, **kwargs)

    def count(self, subject: Subject) -> Exchange:
        return self.post("/v1/card-count", self.subject_body(subject.name, subject.id_number))

    def details(self, subject: Subject) -> Exchange:
        return self.post("/v1/card-details", self.subject_body(subject.name, subject.id_number))

    # -- recorded exchanges -----------------------------------------------------------------
    def exchanges(self) -> Iterator[Exchange]:
        """Every exchange of the run so far (the sweeps' input)."""
        return (r.exchange for r in self.client.recorded)

    def sensitive_values(self) -> dict[str, str]:
        """Full values (ID numbers, MSISDNs, names) → their masked form."""
        return dict(self._secrets)

    def mask(self, text: str) -> str:
        """Mask every known name, ID number and MSISDN, then anything else that looks like one."""
        if self._matcher is None or len(self._matcher) != len(self._secrets):  # values only grow
            self._matcher = KnownValues(self._secrets)
        text = self._matcher.mask(text)
        text = _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), text)
        return scrub(text)


def make_id(prefix17: str) -> str:
    """An ID number with a correct check digit (for bad-date cases that must fail on the date)."""
    return prefix17 + check_digit(prefix17)


def new_client(base_url: str, key_id: str, secret: bytes, *, timeout: float,
               transport: httpx.BaseTransport | None = None,
               clock_memory: ClockMemory | None = None) -> RecordingClient:
    return RecordingClient(base_url, key_id, secret, timeout=timeout, transport=transport,
                           clock_memory=clock_memory)
