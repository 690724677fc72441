"""Judging recorded exchanges with the live suite's own checks: one implementation of each check.

Two uses, both behind ``yzt validate``:

* A recording an operator made of its own server (HAR or JSON Lines): the *sweep* checks (schemas,
  problem+json, Retry-After, content types, masks, OIF-PII-1) judge every exchange in it, exactly
  as they judge every exchange of a live run.
* A certification bundle that ``yzt conform --evidence`` wrote: the *whole* run is judged again.
  The checks run as they ran live, with the same run seed (so the same subjects and request ids),
  but each request is answered from the recording, in the order that check sent it. Personal data
  masked in the bundle's HAR is put back from the fixture truth (or, when it is not known there,
  as a value of the same shape), so a leak still reads as a leak.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from yzt.client import Exchange
from yzt.conformance.context import RecordingClient, RunContext
from yzt.conformance.recorded import RecordedExchange, iter_requests
from yzt.conformance.registry import CheckSpec, Finding, NothingToJudge, load_checks
from yzt.domain.masking import PiiMarks, mask_id_number, mask_msisdn, mask_name
from yzt.fixtures import FixtureSet
from yzt.verdict import Verdict, worst

NOT_RECORDED = "not in the recording (the replayed check sent more requests than the run did)"


def fixture_secrets(fixtures: FixtureSet) -> dict[str, str]:
    """Full → masked for every name, ID number and MSISDN of the fixtures."""
    out: dict[str, str] = {}
    for card in fixtures.cards:
        out[card.msisdn] = mask_msisdn(card.msisdn)
        out[card.id_number] = mask_id_number(card.id_number)
        if len(card.name) >= 2:
            out[card.name] = mask_name(card.name)
    return out


class ReplayClient(RecordingClient):
    """A client whose answers come from a recording: each check gets its own exchanges, in order.

    ``known`` gives the values to put back into masked texts at the moment a request is answered
    (the run context's secrets, which include every subject the checks have asked about so far).
    """

    def __init__(self, base_url: str, key_id: str, records: Sequence[RecordedExchange],
                 known: Callable[[], dict[str, str]]) -> None:
        super().__init__(base_url, key_id, b"replay", timeout=1.0)
        self.known = known
        self._queues: dict[str, deque[RecordedExchange]] = defaultdict(deque)
        for record in records:
            self._queues[record.check].append(record)
        self._lock = threading.Lock()

    def wait(self, seconds: float) -> None:
        """A replay does not wait out Retry-After."""

    def _send_once(self, method: str, path: str, **kwargs: Any) -> Exchange:
        with self._lock:
            queue = self._queues.get(self.current_check)
            record = queue.popleft() if queue else None
            if record is None:
                exchange = Exchange(method.upper(), path, {}, b"", error=NOT_RECORDED)
            else:
                exchange = _restored(record.exchange, self.known())
            self.recorded.append(_recorded(self.current_check, exchange))
        return exchange

    def left_over(self) -> int:
        """Recorded exchanges no replayed check asked for (0 when the replay matched the run)."""
        return sum(len(q) for q in self._queues.values())


def _recorded(check: str, exchange: Exchange) -> Any:
    from yzt.conformance.context import Recorded

    return Recorded(check, exchange)


def _restored(ex: Exchange, known: dict[str, str]) -> Exchange:
    unmark = PiiMarks(known).unmark

    def back(data: bytes) -> bytes:
        return unmark(data.decode("utf-8", errors="replace")).encode("utf-8")
    return Exchange(ex.method, ex.path, {k: unmark(v) for k, v in ex.request_headers.items()},
                    back(ex.request_body), ex.status,
                    {k: unmark(v) for k, v in ex.response_headers.items()},
                    back(ex.response_body), ex.elapsed_s,
                    unmark(ex.error) if ex.error else None)


# -- sweeps over an operator's own recording --------------------------------------------------
@dataclass(frozen=True)
class SweepResult:
    """One sweep check over a recording: its verdict and each finding with where it was seen."""

    spec: CheckSpec
    verdict: Verdict
    findings: tuple[tuple[str, Finding], ...]
    reason: str = ""


def sweep_recording(records: Sequence[RecordedExchange], fixtures: FixtureSet | None,
                    operator_id: str = "") -> list[SweepResult]:
    """Run every sweep check of the live suite over ``records``.

    A check with nothing in the recording to judge is not applicable (a recording is what the
    operator chose to record; the live suite provokes what it needs).
    """
    truth = fixtures or FixtureSet(operator_id or "CMCC", ())
    ctx_holder: list[RunContext] = []
    client = ReplayClient("offline:", "", records, lambda: ctx_holder[0].sensitive_values())
    for record in records:
        client.recorded.append(_recorded("(recorded)", record.exchange))
    ctx = RunContext(client, truth, truth.operator_id)
    ctx_holder.append(ctx)
    for body in iter_requests(records):
        subject = body.get("subject")
        if isinstance(subject, dict):
            name, id_number = subject.get("name"), subject.get("id_number")
            ctx.remember_subject(name if isinstance(name, str) else "",
                                 id_number if isinstance(id_number, str) else "")
    where = {id(r.exchange): r.where for r in records}
    out = []
    for spec in load_checks():
        if spec.phase != "sweep":
            continue
        try:
            findings = spec.run(ctx)
        except NothingToJudge as exc:
            out.append(SweepResult(spec, Verdict.NOT_APPLICABLE, (), str(exc)))
            continue
        located = tuple((where.get(id(f.exchanges[0]), "?") if f.exchanges else "", f)
                        for f in findings)
        verdicts = [f.status for f in findings if f.status is not Verdict.INCOMPLETE]
        verdict = worst(verdicts) if verdicts else (
            Verdict.NOT_APPLICABLE if findings else Verdict.PASS)
        out.append(SweepResult(spec, verdict, located))
    return out
