"""Preflight: four quick exchanges that tell a misconfigured run from a non-conforming operator.

Before judging an endpoint, ``yzt conform``, ``yzt load`` and ``yzt check`` call :func:`preflight`.
It asks for health and service-info, sends one signed card-count for a fixture subject with live
cards, and compares the answer with the fixtures. A wrong secret or key id, a clock out of step, a
wrong ``--operator`` or fixtures the operator never loaded would otherwise show as dozens of
unexplained failures; here each stops the run with exit status 2 and a message naming the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from yzt.client import Exchange, PlatformClient
from yzt.conformance.registry import Said
from yzt.domain.masking import mask_id_number
from yzt.errors import UserError
from yzt.fixtures import FixtureSet, Subject

#: The signature window of OIF-AUTH-2, in seconds.
SKEW_WINDOW_S = 300


class PreflightError(UserError):
    """The run cannot judge this endpoint as configured (exit 2); the message says what to fix."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"preflight {step}: {message}", exit_code=2)
        self.step = step


@dataclass(frozen=True)
class Preflight:
    """What the preflight learned: enough for the run's notes."""

    health: str
    operator_id: str
    #: The operator's clock (its ``Date`` header) minus ours, in seconds; ``None`` without a Date.
    clock_skew_s: float | None
    #: The subject whose count was compared, masked, and the count both sides agree on.
    subject: str
    card_count: int
    exchanges: tuple[Exchange, ...]

    def note(self) -> str:
        return str(self.said())

    def said(self) -> Said:
        """The note as values, for reports that word it in their own language."""
        skew = (Said.of("note.preflight_skew", skew=f"{round(self.clock_skew_s):+d}")
                if self.clock_skew_s is not None else "")
        return Said.of("note.preflight", health=self.health, operator=self.operator_id, skew=skew,
                       subject=self.subject, count=str(self.card_count))


def probe_subject(fixtures: FixtureSet) -> Subject | None:
    """The subject the preflight counts: the first with live cards among those no check changes.

    Conformance runs change only subjects of the second half of the fixture file (disputes and
    cancellations), so a sandbox used by earlier runs still agrees on this one.
    """
    subjects = list(fixtures.subjects().values())
    readonly = subjects[:max(len(subjects) // 2, 1)]
    return next((s for s in readonly if s.live_cards), None)


def _operator_time(exchange: Exchange) -> datetime | None:
    value = exchange.response_headers.get("date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _unreachable(client: PlatformClient, exchange: Exchange) -> PreflightError:
    reason = exchange.error or ""
    if "refused" in reason.lower():
        reason = "connection refused"
    return PreflightError("health", f"cannot reach {client.base_url} — {reason}")


def preflight(client: PlatformClient, fixtures: FixtureSet, *, operator_id: str,
              fixture_source: str, follow_clock: bool = True) -> Preflight:
    """Run the four steps; raise :class:`PreflightError` (exit 2) at the first that fails.

    ``fixture_source`` names where the fixtures came from (``--seed 7 --subjects 200`` or
    ``--fixtures cards.jsonl``), for the message when the operator has loaded others. With
    ``follow_clock`` (the default) the client signs on the operator's clock as its ``Date`` header
    shows it, as the platform does after a sandbox clock was moved; the skew is reported in
    :attr:`Preflight.clock_skew_s` and in the message of a refused signature.
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
    operator_now = _operator_time(health)
    ours = datetime.now(UTC)
    skew = (operator_now - ours).total_seconds() if operator_now else None
    if follow_clock and skew is not None:
        client.clock_offset = skew

    info = client.send("GET", "/v1/service-info", sign=False)
    info_body = info.json()
    served = info_body.get("operator_id") if isinstance(info_body, dict) else None
    if info.error or info.status != 200 or not isinstance(served, str):
        raise PreflightError("service-info", f"GET /v1/service-info answered "
                             f"{info.error or info.status} without an operator_id; expected 200 "
                             "with the operator's service information (OIF-INFO-1)")
    if served != operator_id:
        raise PreflightError("service-info", f"{client.base_url} serves operator {served} (GET "
                             f"/v1/service-info), not --operator {operator_id}: pass --operator "
                             f"{served} with the fixtures {served} loaded")

    subject = probe_subject(fixtures)
    if subject is None:
        raise PreflightError("fixtures", f"the fixtures ({fixture_source}) hold no subject with a "
                             "live card to compare counts with")
    request = {"query_id": client.new_id(),
               "subject": {"name": subject.name, "id_type": "resident_id",
                           "id_number": subject.id_number},
               "verification": client.verification(subject.name, subject.id_number)}
    signed = client.send("POST", "/v1/card-count", body=request)
    code = signed.problem_code
    if signed.status in (401, 403):
        signed_at = datetime.fromtimestamp(client.timestamp(), UTC)
        clocks = (f"the operator's Date header says {_fmt(operator_now)}, our clock says "
                  f"{_fmt(ours)} (skew {round(skew):+d} s; the window is ±{SKEW_WINDOW_S} s), and the "
                  f"request was signed at {_fmt(signed_at)}"
                  if operator_now and skew is not None else
                  f"the operator sent no Date header; the request was signed at {_fmt(signed_at)}")
        what = ("the verification ticket (HMAC with the same secret) was refused"
                if signed.status == 403 else "the signature was refused")
        in_window = operator_now is not None and abs(
            (signed_at - operator_now).total_seconds()) <= SKEW_WINDOW_S
        cause = ("We signed within the window of the operator's own clock, so the key id or the "
                 "secret is the likely cause. " if in_window and code != "timestamp_skew" else "")
        raise PreflightError("signed request", (
            f"POST /v1/card-count answered {signed.status} {code or ''}: {what}. {cause}Check the "
            f"key id {client.key_id!r} (--key-id, sent as X-YZT-Key-Id), the shared secret "
            "(YZT_SECRET or --secret-file: the one this operator was given for that key) and "
            f"clock skew: {clocks}"))
    answer = signed.json()
    count = answer.get("card_count") if isinstance(answer, dict) else None
    if signed.error or signed.status != 200 or not isinstance(count, int):
        raise PreflightError("signed request", f"POST /v1/card-count answered "
                             f"{signed.error or signed.status} {code or ''}; expected 200 with a "
                             "card_count for a valid, signed, verified request")
    masked = mask_id_number(subject.id_number)
    expected = len(subject.live_cards)
    if count != expected:
        raise PreflightError("fixtures", (
            f"the operator has not loaded these fixtures: it counts {count} card(s) for "
            f"{masked}, the fixtures ({fixture_source}) say {expected}. Load the same fixture file "
            f"into the operator's sandbox (yzt fixtures --operator {operator_id} … writes it), or "
            "give yzt the seed and subjects or the --fixtures file the operator loaded"))
    return Preflight(str(state), served, skew, masked, count, (health, info, signed))
