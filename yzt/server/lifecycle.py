"""Dispute and cancellation lifecycles on the operator's clock (OIF-DSP-2…5, OIF-CXL-2).

Timelines are fixed at submission; a transition whose time has come is applied lazily but durably:
before a request is handled, every pending transition due by "now" is applied to the cards in one
transaction, in time order. States shown to the platform are derived from the same times, so they
never go back while the clock only moves forward.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from yzt.server.store import Cancellation, Card, Dispute, Store

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class Timings:
    """Seconds after submission (the ``lifecycle-timing`` variant picks other compliant ones)."""

    dispute_verifying: int = HOUR
    dispute_resolved: int = 3 * DAY
    dispute_resolve_by: int = 15 * DAY
    cancel_complete: int = 24 * HOUR
    cancel_complete_by: int = 72 * HOUR


COMPLIANT = Timings()
#: The ``lifecycle-timing`` variant, compliant at other moments: disputes go ``verifying`` after
#: 14 days and are resolved 1 s before their deadline; cancellations complete at once.
LATE_AND_IMMEDIATE = Timings(dispute_verifying=14 * DAY, dispute_resolved=15 * DAY - 1,
                             dispute_resolve_by=15 * DAY, cancel_complete=0,
                             cancel_complete_by=72 * HOUR)

NOT_GENUINE_OUTCOMES = ("unbound", "suspended", "cancelled")


def dispute_outcome(card: Card) -> str:
    """The outcome the investigation reaches, following the fixture truth (OIF-DSP-5).

    A genuine card is confirmed; a non-genuine one is unbound, suspended or cancelled, chosen by a
    hash of its number, so the choice is the same for the same fixtures in every database (card_refs
    are keyed per database) and all three appear across a fixture set.
    """
    if card.genuine:
        return "confirmed_owner"
    index = hashlib.sha256(card.msisdn.encode()).digest()[0] % len(NOT_GENUINE_OUTCOMES)
    return NOT_GENUINE_OUTCOMES[index]


def dispute_state(d: Dispute, now: float) -> tuple[str, list[tuple[str, float]]]:
    """(current state, history) of a dispute at ``now``."""
    history = [("received", d.received_at)]
    if now >= d.verifying_at:
        history.append(("verifying", d.verifying_at))
    if now >= d.resolved_at:
        history.append(("resolved", d.resolved_at))
    return history[-1][0], history


def cancellation_state(c: Cancellation, now: float) -> tuple[str, str | None, list[tuple[str, float]]]:
    """(current state, reason, history) of a cancellation at ``now``."""
    history = [("accepted", c.accepted_at)]
    if c.final_state == "rejected" and c.complete_at <= c.accepted_at:
        history.append(("rejected", c.accepted_at))
        return "rejected", c.reason, history
    if now >= c.complete_at and c.final_state:
        history.append((c.final_state, c.complete_at))
        return c.final_state, c.reason, history
    return "accepted", None, history


def card_status_after(outcome: str) -> str | None:
    """OIF-DSP-3: the status a dispute's outcome leaves its card in (None: as it was)."""
    return outcome if outcome in NOT_GENUINE_OUTCOMES else None


def apply_due(store: Store, now: float,
              status_after: Callable[[str], str | None] = card_status_after) -> int:
    """Apply every transition due by ``now`` to the cards and commit; returns how many."""
    applied = 0
    for _due, kind, key, ref in store.due_events(now):
        card = store.cards_by_ref.get(ref)
        if kind == "dispute":
            d = store.get_dispute(key)
            if d is not None and card is not None and card.live:
                status = status_after(d.outcome)
                if status is not None:
                    store.set_card_status(card, status)
            store.mark_dispute_applied(key)
        else:
            if card is not None and card.live:
                store.set_card_status(card, "cancelled")
                store.finish_cancellation(key, "completed", None)
            else:
                store.finish_cancellation(
                    key, "rejected", "the card had already been cancelled or unbound before the "
                    "cancellation could complete")
        applied += 1
    if applied:
        store.commit(durable=True)
    return applied
