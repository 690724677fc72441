"""The reference operator's protocol steps: each one a replaceable part with its clean behaviour.

The dispatcher (:mod:`yzt.server.dispatch`) and the handlers (:mod:`yzt.server.handlers`) call
these and never ask which defect or variant is on. A legal variant's strategy
(:mod:`yzt.server.variants`) or a seeded defect (:mod:`yzt.server.defects`) replaces or wraps one
step, or decorates one operation's handler in :attr:`Steps.handlers`, the way a test transport
wraps a real one. Each step names the requirement it implements.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from yzt.domain.masking import mask_msisdn
from yzt.endpoints import Endpoint
from yzt.server import auth, body, checks, lifecycle
from yzt.server.faults import FaultInjector
from yzt.server.problems import Problem, problem_response
from yzt.server.store import Cancellation, Card, Store
from yzt.signing import format_time

if TYPE_CHECKING:
    from yzt.server.config import ServerConfig

#: A handler's answer: HTTP status and the JSON document.
Answer = tuple[int, dict[str, Any]]


def _no_claim() -> None:
    """A call whose id was never used before: nothing to check."""


@dataclass(frozen=True)
class Incoming:
    """A signed request as authentication sees it: its route, headers and body, unparsed."""

    endpoint: Endpoint
    method: str
    #: The protocol path and query (without a base path), as the platform signed it.
    target: str
    headers: Mapping[str, str]
    content_type: str
    charset: str | None
    body: bytes


@dataclass(frozen=True)
class Call:
    """One protocol call as its handler sees it: authenticated, parsed and (for requests about a
    subject) checked for shape, subject and verification."""

    #: The parsed body (None for a request without one).
    doc: Any
    #: Path parameters by name (``dispute_id``), raw segments.
    params: Mapping[str, str]
    now: float
    #: The request's own id (``query_id``, ``dispute_id``…) for requests that carry one.
    key: str = ""
    #: Claims the request's id: 409 ``idempotency_conflict`` when it was used with another body.
    claim: Callable[[], None] = field(default=_no_claim)


Handler = Callable[[Call], Answer]


def _json_answer(status: int, payload: bytes) -> web.Response:
    return web.Response(status=status, body=payload, content_type="application/json")


async def _admitted(_incoming: Incoming) -> None:
    """Nothing happens between authentication and the handler."""


class Steps:
    """Every replaceable step of the reference operator, set to the protocol's behaviour.

    Attributes are plain callables (or values) so that a layer can replace one, or wrap it by
    keeping the one it found: ``inner = steps.mask; steps.mask = lambda m: inner(m).lower()``.
    Composite steps (:meth:`authenticate`, :meth:`identify`, :meth:`verify`) look their parts up
    on ``self`` at call time, so a replaced part takes effect inside them too.
    """

    def __init__(self, config: ServerConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.faults = FaultInjector(config.faults)
        # -- transport (OIF-T-1, OIF-T-3) and errors (OIF-ERR-1, OIF-ERR-2) -------------------
        #: The largest body accepted (413 above).
        self.body_limit: int = body.MAX_BODY
        #: 415 unless the body is JSON.
        self.content_type: Callable[[Incoming], None] = \
            lambda incoming: body.require_json(incoming.content_type, incoming.charset)
        #: The body as JSON (400 otherwise).
        self.parse: Callable[[bytes], Any] = checks.parse_json
        #: A success answer as JSON.
        self.answer: Callable[[int, bytes], web.Response] = _json_answer
        #: An error answer as problem+json, with its headers (``Retry-After``, ``Allow``).
        self.problem: Callable[[Problem], web.Response] = problem_response
        #: Whether the HTTP layer answers what it cannot parse as problem+json.
        self.http_problems = True
        # -- authentication (OIF-AUTH-1…4) --------------------------------------------------
        self.authenticate: Callable[[Incoming, float], None] = self._authenticate
        self.signature: Callable[[auth.SignedHeaders, Incoming], None] = self._signature
        self.timestamp: Callable[[str, float], int] = auth.check_timestamp
        self.replay: Callable[[str, int, float], None] = \
            lambda nonce, stamp, now: auth.claim_nonce(self.store, nonce, stamp, now)
        #: Runs between authentication and the handler.
        self.admitted: Callable[[Incoming], Awaitable[None]] = _admitted
        # -- subject and verification (OIF-ID-1, OIF-VER-1…4), in OIF-ERR-3's order ----------
        self.identify: Callable[[dict[str, Any], float, bool], None] = self._identify
        self.subject: Callable[[dict[str, Any], float], None] = checks.check_subject
        self.verify: Callable[[dict[str, Any], float, bool], None] = self._verify
        self.unverified: Callable[[dict[str, Any]], None] = lambda _doc: checks.verification_required()
        self.ticket: Callable[[dict[str, Any], dict[str, Any]], None] = \
            lambda subject, v: checks.check_ticket(self.config.secret, subject, v)
        self.fresh: Callable[[dict[str, Any], float], None] = checks.check_fresh
        self.face: Callable[[dict[str, Any], float], None] = checks.check_face
        # -- idempotency (OIF-IDEM-1, OIF-IDEM-2) ---------------------------------------------
        #: (body hash, status, body) first answered to an id, or None.
        self.recall: Callable[[str, str], tuple[str, int, bytes] | None] = store.idem_get
        self.remember: Callable[[str, str, str, int, bytes], None] = store.idem_put
        self.conflict: Callable[[str, str], None] = _conflict
        # -- the cards (OIF-CNT-1, OIF-DET-1…3) -----------------------------------------------
        self.counted: Callable[[list[Card]], int] = lambda cards: sum(c.live for c in cards)
        self.listed: Callable[[list[Card]], list[Card]] = lambda cards: [c for c in cards if c.live]
        self.mask: Callable[[str], str] = mask_msisdn
        #: How a card's ref is written and read back (the ``card-ref-shape`` variant's codec).
        self.refs = RefCodec()
        self.ref_of: Callable[[Card], str] = lambda card: self.refs.outward(card.ref)
        self.card_by_ref: Callable[[str], Card | None] = \
            lambda ref: self.store.cards_by_ref.get(self.refs.inward(ref))
        # -- disputes (OIF-DSP-1…5) and cancellations (OIF-CXL-1…3) ---------------------------
        self.disputed_card: Callable[[dict[str, Any]], Card] = self.subjects_card
        self.cancelled_card: Callable[[dict[str, Any]], Card] = self.subjects_card
        self.timings: lifecycle.Timings = lifecycle.COMPLIANT
        self.outcome: Callable[[Card], str] = lifecycle.dispute_outcome
        self.status_after: Callable[[str], str | None] = lifecycle.card_status_after
        self.new_cancellation: Callable[[str, Card, float], Cancellation] = self._new_cancellation
        # -- how times are written and submissions stamped (RFC 3339 UTC, whole seconds) -----
        self.iso: Callable[[float], str] = lambda ts: format_time(datetime.fromtimestamp(ts, UTC))
        self.stamp: Callable[[float], float] = lambda now: float(int(now))
        #: The handler of each operation (by ``operationId``); a layer may decorate one.
        self.handlers: dict[str, Handler] = {}

    # -- composite steps ---------------------------------------------------------------------
    def _authenticate(self, incoming: Incoming, now: float) -> None:
        """OIF-AUTH-1…3: signature (with key id and nonce shape), then timestamp, then replay."""
        h = auth.SignedHeaders.of(incoming.headers)
        if h is None:
            raise Problem("signature_invalid", "missing X-YZT signature headers")
        self.signature(h, incoming)
        stamp = self.timestamp(h.timestamp, now)
        self.replay(h.nonce, stamp, now)

    def _signature(self, h: auth.SignedHeaders, incoming: Incoming) -> None:
        auth.check_signature(h, self.config.key_id, self.config.secret, incoming.method,
                             incoming.target, incoming.body)

    def _identify(self, doc: dict[str, Any], now: float, face: bool) -> None:
        """OIF-ERR-3: the subject (422) before the verification (403)."""
        self.subject(doc["subject"], now)
        self.verify(doc, now, face)

    def _verify(self, doc: dict[str, Any], now: float, face: bool) -> None:
        """OIF-VER-1…4 in order: required, invalid, expired, insufficient (``face``: cancellations)."""
        v = doc.get("verification")
        if v is None:
            self.unverified(doc)
            return
        self.ticket(doc["subject"], v)
        self.fresh(v, now)
        if face:
            self.face(v, now)

    # -- the clean parts that need the store ---------------------------------------------------
    def live_card(self, ref: str) -> Card:
        """The live card ``ref`` names, or 404 ``card_not_found``."""
        card = self.card_by_ref(ref)
        if card is None or not card.live:
            raise Problem("card_not_found", "no such card for this subject")
        return card

    def subjects_card(self, doc: dict[str, Any]) -> Card:
        """OIF-DSP-1, OIF-CXL-3: the request's card, only if it is the subject's (else 404)."""
        card = self.live_card(doc["card_ref"])
        if card.id_number != doc["subject"]["id_number"]:
            raise Problem("card_not_found", "no such card for this subject")
        return card

    def _new_cancellation(self, key: str, card: Card, accepted: float) -> Cancellation:
        """OIF-CXL-1, OIF-CXL-2: accepted wherever the card's home region, complete within 72 h."""
        t = self.timings
        return Cancellation(key, card.ref, accepted, accepted + t.cancel_complete,
                            accepted + t.cancel_complete_by, None, None)


def _conflict(prior_hash: str, body_hash: str) -> None:
    """OIF-IDEM-2: an id used again with a different body is 409."""
    if prior_hash != body_hash:
        raise Problem("idempotency_conflict", "this id was already used with a different body")


class RefCodec:
    """Card refs as the platform sees them: the store's own (``c_…``) unless a variant maps them."""

    def __init__(self, outward: dict[str, str] | None = None) -> None:
        self._out = outward
        self._in = {v: k for k, v in outward.items()} if outward is not None else None

    def outward(self, ref: str) -> str:
        return ref if self._out is None else self._out[ref]

    def inward(self, ref: str) -> str:
        """The store's ref for a ref the platform sent ("" when it names no card)."""
        return ref if self._in is None else self._in.get(ref, "")


def dumps(doc: Any) -> bytes:
    """An answer's bytes: compact UTF-8 JSON."""
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")
