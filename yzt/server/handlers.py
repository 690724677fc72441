"""The protocol's endpoints, as the protocol states them (docs/protocol.md).

Each handler takes a :class:`~yzt.server.steps.Call` that has passed authentication and, for
requests about a subject, the shared checks (shape → idempotent replay → subject → verification,
:meth:`Operator.respond`), and returns its answer. Business rules come after: 404
``card_not_found``, then 409 ``idempotency_conflict`` (``call.claim()``). Every rule a defect or a
variant may change is a step of :class:`~yzt.server.steps.Steps`, never a branch here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from yzt.domain.topology import load_topology
from yzt.endpoints import Endpoint
from yzt.server import lifecycle
from yzt.server.checks import canonical_hash, check_clock_shape, check_shape
from yzt.server.problems import Problem
from yzt.server.service_info import service_info
from yzt.server.steps import Answer, Call, Handler, Steps, dumps
from yzt.server.store import Card, Dispute

MAX_ADVANCE_SECONDS = 100 * 366 * 86400
MAX_CLOCK = datetime(9000, 1, 1, tzinfo=UTC).timestamp()
#: OIF-VER-4: the operations whose verification must be face, and recent.
FACE_VERIFIED = frozenset({"createCancellation"})
#: An accepted submission's answer; its writes are fsynced before it is sent.
ACCEPTED = 202
#: An encoded answer: HTTP status and body bytes.
Result = tuple[int, bytes]


class Operator:
    """One operator's endpoints over its store, built from ``steps``."""

    def __init__(self, steps: Steps) -> None:
        self.s = steps
        self.store = steps.store
        self.op = load_topology().get(steps.config.operator_id)
        self.started = self.store.now()
        self.next_due = self.store.next_due()
        handlers: dict[str, Handler] = {
            "health": self.health, "serviceInfo": self.service_info,
            "cardCount": self.card_count, "cardDetails": self.card_details,
            "createDispute": self.submit_dispute, "getDispute": self.dispute_status,
            "createCancellation": self.submit_cancellation,
            "getCancellation": self.cancellation_status}
        if steps.config.sandbox_clock:
            handlers["sandboxClock"] = self.sandbox_clock
        steps.handlers.update(handlers)

    # -- the shared front of the requests about a subject -------------------------------------------
    def respond(self, endpoint: Endpoint, call: Call) -> Result:
        """``endpoint``'s answer to ``call``, encoded; requests about a subject are idempotent."""
        handler = self.s.handlers[endpoint.operation_id]
        if not endpoint.carries_subject:
            status, doc = handler(call)
            return status, dumps(doc)
        return self._idempotent(endpoint, handler, call)

    def _idempotent(self, endpoint: Endpoint, handler: Handler, call: Call) -> Result:
        """Shape (400) → replay of the first answer to this id and body (OIF-IDEM-1) → subject (422)
        → verification (403) → the handler, whose answer is remembered."""
        s, doc = self.s, call.doc
        check_shape(endpoint.name, doc)
        assert endpoint.id_key is not None
        key = doc[endpoint.id_key]
        body_hash = canonical_hash(doc)
        prior = s.recall(endpoint.name, key)
        if prior is not None and prior[0] == body_hash:
            return prior[1], prior[2]
        s.identify(doc, call.now, endpoint.operation_id in FACE_VERIFIED)

        def claim() -> None:
            if prior is not None:
                s.conflict(prior[0], body_hash)

        status, answer = handler(replace(call, key=key, claim=claim))
        payload = dumps(answer)
        s.remember(endpoint.name, key, body_hash, status, payload)
        if status == ACCEPTED:
            self.store.commit(durable=True)
        return status, payload

    # -- lifecycles -----------------------------------------------------------------------------
    def catch_up(self, now: float) -> None:
        """Apply every lifecycle transition due by ``now`` (before a request is handled)."""
        if self.next_due is not None and self.next_due <= now:
            lifecycle.apply_due(self.store, now, self.s.status_after)
            self.next_due = self.store.next_due()

    def _schedule(self, due: float) -> None:
        self.next_due = due if self.next_due is None else min(self.next_due, due)

    # -- endpoints ------------------------------------------------------------------------------
    def health(self, _call: Call) -> Answer:
        return 200, {"status": "degraded" if self.s.faults.in_outage() else "ok"}

    def service_info(self, _call: Call) -> Answer:
        """OIF-INFO-1: the published procedures and channels."""
        return 200, service_info(self.op, self.s.iso(self.started))

    def _cards(self, call: Call) -> list[Card]:
        return self.store.cards_by_id.get(call.doc["subject"]["id_number"], [])

    def card_count(self, call: Call) -> Answer:
        """OIF-CNT-1, OIF-CNT-2: the subject's live cards, counted; the query id echoed."""
        call.claim()
        return 200, {"query_id": call.key, "operator_id": self.op.id,
                     "card_count": self.s.counted(self._cards(call)), "as_of": self.s.iso(call.now)}

    def card_details(self, call: Call) -> Answer:
        """OIF-DET-1…3: the subject's live cards, masked, each under its stable ref."""
        call.claim()
        s = self.s
        listed = sorted(s.listed(self._cards(call)), key=lambda c: (c.activated_on, c.ref))
        return 200, {"query_id": call.key, "operator_id": self.op.id, "as_of": s.iso(call.now),
                     "cards": [{"card_ref": s.ref_of(c), "msisdn_masked": s.mask(c.msisdn),
                                "status": c.status if c.live else "cancelled",
                                "activated_on": c.activated_on, "home_region": c.home_region}
                               for c in listed]}

    def submit_dispute(self, call: Call) -> Answer:
        """OIF-DSP-1…5: a dispute on the subject's own card, resolved from the card's truth."""
        s = self.s
        card = s.disputed_card(call.doc)
        call.claim()
        t, received = s.timings, s.stamp(call.now)
        d = Dispute(call.key, card.ref, call.doc["claim"], received, received + t.dispute_verifying,
                    received + t.dispute_resolved, received + t.dispute_resolve_by, s.outcome(card))
        self.store.put_dispute(d)
        self._schedule(d.resolved_at)
        return ACCEPTED, {"dispute_id": call.key, "state": "received",
                          "received_at": s.iso(received), "resolve_by": s.iso(d.resolve_by)}

    def submit_cancellation(self, call: Call) -> Answer:
        """OIF-CXL-1…3: a cancellation of the subject's own card, complete within 72 h."""
        s = self.s
        card = s.cancelled_card(call.doc)
        call.claim()
        accepted = s.stamp(call.now)
        c = s.new_cancellation(call.key, card, accepted)
        self.store.put_cancellation(c)
        if c.final_state is None:
            self._schedule(c.complete_at)
        return ACCEPTED, {"cancellation_id": call.key, "state": "accepted",
                          "accepted_at": s.iso(accepted), "complete_by": s.iso(c.complete_by)}

    def dispute_status(self, call: Call) -> Answer:
        """OIF-DSP-2: states only move forward; the outcome appears once resolved."""
        d = self.store.get_dispute(call.params["dispute_id"])
        if d is None:
            raise Problem("not_found", "no such dispute")
        state, history = lifecycle.dispute_state(d, call.now)
        doc: dict[str, Any] = {"dispute_id": d.dispute_id, "state": state}
        if state == "resolved":
            doc["outcome"] = d.outcome
        doc["history"] = [{"state": st, "at": self.s.iso(at)} for st, at in history]
        doc["resolve_by"] = self.s.iso(d.resolve_by)
        return 200, doc

    def cancellation_status(self, call: Call) -> Answer:
        c = self.store.get_cancellation(call.params["cancellation_id"])
        if c is None:
            raise Problem("not_found", "no such cancellation")
        state, reason, history = lifecycle.cancellation_state(c, call.now)
        doc: dict[str, Any] = {"cancellation_id": c.cancellation_id, "state": state}
        if reason:
            doc["reason"] = reason
        doc["history"] = [{"state": st, "at": self.s.iso(at)} for st, at in history]
        return 200, doc

    def sandbox_clock(self, call: Call) -> Answer:
        """Moves the sandbox clock forward (never back), then applies what fell due."""
        seconds = check_clock_shape(call.doc)
        now = call.now
        if seconds > MAX_ADVANCE_SECONDS or now + seconds >= MAX_CLOCK:
            raise Problem("malformed_request", "body.advance_seconds would move the clock past the "
                          "sandbox's horizon (at most 100 years a call, before year 9000)")
        if seconds:
            self.store.advance(seconds)
            now = self.store.now()
            self.catch_up(now)
        return 200, {"now": self.s.iso(now)}
