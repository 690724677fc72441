"""Preflight: a few quick exchanges that tell a misconfigured run from a non-conforming operator.

Before judging an endpoint, ``yzt conform``, ``yzt load`` and ``yzt check`` call :func:`preflight`
(the load run and the check pipeline through :func:`run_preflight`, which opens the client).
It asks for health, reads the sandbox clock (:func:`yzt.clock.discover_clock`), asks for
service-info, sends one signed card-count for a fixture subject and compares the answer with the
fixtures. It stops the run (exit 2, with a message naming the fix) only where nothing could be
judged: the endpoint cannot be reached (transport, or not the base URL), the signature or the
verification ticket is refused, the clock cannot be found, or the endpoint serves another operator.
Everything else it sees is a note: a card count that differs from the fixtures is for conformance
to judge (OIF-CNT-1), so a counting defect fails there instead of being blamed on the fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from yzt.client import Exchange, PlatformClient
from yzt.clock import SKEW_WINDOW_S, ClockReading, ClockSource, date_header_note, discover_clock
from yzt.conformance.registry import Said
from yzt.domain.masking import mask_id_number
from yzt.errors import PreflightError
from yzt.fixtures import FixtureSet, Subject
from yzt.signing import HEADER_TIMESTAMP

__all__ = ["SKEW_WINDOW_S", "Preflight", "PreflightError", "preflight", "probe_subject",
           "probe_subjects", "run_preflight"]

#: Subjects asked for when the first count differs from the fixtures (to tell a counting rule
#: from fixtures the operator never loaded).
MAX_PROBES = 3


@dataclass(frozen=True)
class Preflight:
    """What the preflight learned, as data for the run's notes and reports."""

    health: str
    #: the operator id service-info gave (``--operator`` when it gave none; a note says so)
    operator_id: str
    clock: ClockReading
    #: The subject whose count was compared (masked), its count and the fixtures' count.
    subject: str
    card_count: int | None
    expected_count: int
    #: Sentences for the run's notes: the clock first, then anything conformance will judge.
    notes: tuple[str, ...]
    exchanges: tuple[Exchange, ...]

    @property
    def clock_offset_s(self) -> float:
        return self.clock.offset_s

    @property
    def clock_source(self) -> ClockSource:
        return self.clock.source

    @property
    def counts_agree(self) -> bool:
        return self.card_count == self.expected_count

    def note(self) -> str:
        """One line: what was checked, then every note."""
        if self.card_count is None:
            count = "no count"
        elif self.counts_agree:
            count = f"{self.card_count} as the fixtures say"
        else:
            count = f"{self.card_count}, the fixtures say {self.expected_count}"
        head = (f"preflight: health {self.health}, operator {self.operator_id}, signed card-count "
                f"for {self.subject} = {count}")
        return "; ".join((head, *self.notes))

    def said(self) -> Said:
        """The note as values, for reports that word it in their own language (the notes after the
        first line stay as written)."""
        head: Said
        if self.card_count is None:
            head = Said.of("note.preflight_no_count", health=self.health, operator=self.operator_id,
                           subject=self.subject)
        elif self.counts_agree:
            head = Said.of("note.preflight", health=self.health, operator=self.operator_id,
                           subject=self.subject, count=str(self.card_count))
        else:
            head = Said.of("note.preflight_differs", health=self.health, operator=self.operator_id,
                           subject=self.subject, count=str(self.card_count),
                           expected=str(self.expected_count))
        return Said.join((head, *self.notes)) if self.notes else head


def probe_subjects(fixtures: FixtureSet, limit: int = MAX_PROBES) -> list[Subject]:
    """The subjects the preflight counts, among those no conformance flow changes.

    Conformance runs change only subjects of the second half of the fixture file (disputes and
    cancellations), so a sandbox used by earlier runs still agrees on these. The first has live
    cards and, where the fixtures have one, a cancelled card too (a count that includes cancelled
    cards shows at once); the others are the next subjects with live cards.
    """
    subjects = list(fixtures.subjects().values())
    readonly = [s for s in subjects[:max(len(subjects) // 2, 1)] if s.live_cards]
    if not readonly:
        return []
    first = next((s for s in readonly if len(s.live_cards) < len(s.cards)), readonly[0])
    return [first, *[s for s in readonly if s is not first][:limit - 1]]


def probe_subject(fixtures: FixtureSet) -> Subject | None:
    """The subject whose count the preflight compares first (see :func:`probe_subjects`)."""
    found = probe_subjects(fixtures, 1)
    return found[0] if found else None


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _unreachable(client: PlatformClient, exchange: Exchange) -> PreflightError:
    reason = exchange.error or ""
    if "refused" in reason.lower():
        reason = "connection refused"
    return PreflightError("health", f"cannot reach {client.base_url} — {reason}")


def _count_request(client: PlatformClient, subject: Subject) -> Exchange:
    request = {"query_id": client.new_id(),
               "subject": {"name": subject.name, "id_type": "resident_id",
                           "id_number": subject.id_number},
               "verification": client.verification(subject.name, subject.id_number)}
    return client.send("POST", "/v1/card-count", body=request)


def _count(exchange: Exchange) -> int | None:
    answer = exchange.json()
    count = answer.get("card_count") if isinstance(answer, dict) else None
    ok = exchange.status == 200 and isinstance(count, int) and not isinstance(count, bool)
    return count if ok else None


def _refused(client: PlatformClient, signed: Exchange, sent_at: datetime,
             clock: ClockReading) -> PreflightError:
    """The message for a 401/403 to the signed card-count: what to check, and the clocks as
    they were actually read (never a skew made up from a Date header)."""
    code = signed.problem_code
    try:
        signed_at = datetime.fromtimestamp(int(signed.request_headers[HEADER_TIMESTAMP]), UTC)
    except (KeyError, ValueError):
        signed_at = sent_at
    what = ("the verification ticket (HMAC with the same secret) was refused"
            if signed.status == 403 else "the signature was refused")
    sandbox_at_send = clock.sandbox_time(sent_at)
    cause = ""
    if sandbox_at_send is not None:
        skew = round((signed_at - sandbox_at_send).total_seconds())
        clocks = (f"we signed at {_fmt(signed_at)}, {skew:+d} s from the operator's sandbox clock "
                  f"as POST /v1/sandbox/clock gave it (offset {round(clock.offset_s):+d} s from "
                  f"ours; the window is ±{SKEW_WINDOW_S} s)")
        if abs(skew) <= SKEW_WINDOW_S and code != "timestamp_skew":
            cause = ("We signed within the window of the operator's clock as its clock endpoint "
                     "gives it, so the key id or the secret is the likely cause. ")
        elif code == "timestamp_skew":
            cause = ("The operator refused the timestamp although it is within the window of the "
                     "time its own clock endpoint gave: its card-count and its sandbox clock do not "
                     "read one clock (protocol: the operator has a single clock). ")
    else:
        clocks = (f"we signed at {_fmt(signed_at)} ({clock.note()}), so the signing time could "
                  f"not be checked against the operator's clock; {date_header_note(signed)}")
    return PreflightError("signed request", (
        f"POST /v1/card-count answered {signed.status} {code or ''}: {what}. {cause}Check the "
        f"key id {client.key_id!r} (--key-id, sent as X-YZT-Key-Id), the shared secret "
        "(YZT_SECRET or --secret-file: the one this operator was given for that key) and the "
        f"clocks: {clocks}"))


def _count_notes(client: PlatformClient, first: Subject, count: int, fixture_source: str,
                 operator_id: str, others: list[Subject],
                 exchanges: list[Exchange]) -> list[str]:
    """Notes for a first count that differs: more subjects are asked, to tell fixtures the
    operator never loaded (every count 0) from a counting rule that differs (OIF-CNT-1)."""
    asked: list[tuple[Subject, int | None]] = [(first, count)]
    for subject in others:
        exchange = _count_request(client, subject)
        exchanges.append(exchange)
        if exchange.error:
            raise _unreachable(client, exchange)
        asked.append((subject, _count(exchange)))
    masked = [mask_id_number(s.id_number) for s, _ in asked]
    if all(n == 0 for _, n in asked):
        return [f"the operator counts 0 cards for every fixture subject asked ({', '.join(masked)}), "
                f"though the fixtures ({fixture_source}) give each live cards: it may not have "
                f"loaded these fixtures. Load that fixture file into the sandbox (yzt fixtures "
                f"--operator {operator_id} … writes it), or give yzt the seed and subjects or the "
                "--fixtures file the operator loaded. Conformance goes on and judges the counts "
                "(OIF-CNT-1)"]
    cancelled = len(first.cards) - len(first.live_cards)
    why = f" ({cancelled} cancelled card(s) that do not count)" if cancelled else ""
    agree = [m for (s, n), m in zip(asked[1:], masked[1:], strict=True) if n == len(s.live_cards)]
    differ = [f"{m}: {n if n is not None else 'no count'} against {len(s.live_cards)}"
              for (s, n), m in zip(asked[1:], masked[1:], strict=True) if n != len(s.live_cards)]
    rest = (f"; the other subjects asked agree ({', '.join(agree)})" if agree and not differ else
            f"; other subjects asked: {', '.join(differ + [f'{m}: agrees' for m in agree])}"
            if differ else "")
    return [f"card count differs from the fixtures: the operator counts {count} card(s) for "
            f"{masked[0]}, the fixtures ({fixture_source}) say {len(first.live_cards)}{why}{rest}. "
            "Conformance judges counts (OIF-CNT-1)"]


def preflight(client: PlatformClient, fixtures: FixtureSet, *, operator_id: str,
              fixture_source: str, clock_offset: float | None = None,
              read_clock: Callable[[], ClockReading] | None = None) -> Preflight:
    """Run the steps; raise :class:`PreflightError` (exit 2) only for transport, signature and
    clock problems (and an endpoint that serves another operator).

    ``fixture_source`` names where the fixtures came from (``--seed 7 --subjects 200`` or
    ``--fixtures cards.jsonl``), for the notes. The clock is read with :func:`discover_clock`
    (``clock_offset`` is ``--clock-offset``), or by ``read_clock`` when the caller reads it its own
    way; the client then signs on that offset.
    """
    health = client.send("GET", "/v1/health", sign=False)
    if health.error:
        raise _unreachable(client, health)
    body = health.json()
    state = body.get("status") if isinstance(body, dict) else None
    if health.status != 200 or state not in ("ok", "degraded"):
        raise PreflightError("health", f"GET /v1/health answered {health.status} "
                             f"{str(state or '')!r}; expected 200 {{status: ok|degraded}}. Is "
                             f"{client.base_url} the operator's base URL?")
    clock = read_clock() if read_clock is not None else discover_clock(client, explicit=clock_offset)
    client.clock_offset = clock.offset_s
    notes = [clock.note()]
    exchanges: list[Exchange] = [health, *clock.exchanges]

    info = client.send("GET", "/v1/service-info", sign=False)
    exchanges.append(info)
    if info.error:
        raise _unreachable(client, info)
    info_body = info.json()
    served = info_body.get("operator_id") if isinstance(info_body, dict) else None
    if not isinstance(served, str):
        notes.append(f"GET /v1/service-info answered {info.status} without an operator_id, so "
                     f"--operator {operator_id} could not be compared; conformance judges "
                     "service-info (OIF-INFO-1)")
        served = operator_id
    elif served != operator_id:
        raise PreflightError("service-info", f"{client.base_url} serves operator {served} (GET "
                             f"/v1/service-info), not --operator {operator_id}: pass --operator "
                             f"{served} with the fixtures {served} loaded")

    probes = probe_subjects(fixtures)
    if not probes:
        raise PreflightError("fixtures", f"the fixtures ({fixture_source}) hold no subject with a "
                             "live card to compare counts with")
    first = probes[0]
    sent_at = datetime.now(UTC)
    signed = _count_request(client, first)
    exchanges.append(signed)
    if signed.error:
        raise _unreachable(client, signed)
    if signed.status in (401, 403):
        raise _refused(client, signed, sent_at, clock)
    masked = mask_id_number(first.id_number)
    count = _count(signed)
    expected = len(first.live_cards)
    if count is None:
        notes.append(f"POST /v1/card-count answered {signed.status} {signed.problem_code or ''} "
                     "without a card_count to a valid, signed, verified request; conformance "
                     "judges it (OIF-CNT-1)".replace("  ", " "))
    elif count != expected:
        notes += _count_notes(client, first, count, fixture_source, operator_id, probes[1:],
                              exchanges)
    return Preflight(str(state), served, clock, masked, count, expected, tuple(notes),
                     tuple(exchanges))


def run_preflight(target: str, key_id: str, secret: bytes, fixtures: FixtureSet, operator_id: str,
                  source: str, timeout: float = 5.0, *, clock_offset: float | None = None) -> str:
    """Health, the sandbox clock, service-info, one signed count for a fixture subject: a wrong
    secret, key id or a clock that cannot be found stops the run here with exit 2 and the fix, not
    as a wall of failed requests. Returns the preflight's note (its notes included); a count that
    differs from the fixtures is one of them. ``source`` is the fixture selection as flags
    (:meth:`yzt.fixtures.FixtureSelection.shown`)."""
    from yzt.clock import ClockMemory

    with PlatformClient(target, key_id, secret, timeout=timeout,
                        clock_memory=ClockMemory.default()) as client:
        result = preflight(client, fixtures, operator_id=operator_id, fixture_source=source,
                           clock_offset=clock_offset)
    return result.note()
