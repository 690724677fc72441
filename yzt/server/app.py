"""The reference operator as an aiohttp application: routing, the order of checks, the endpoints.

One catch-all route hands every request to :meth:`Operator.dispatch`, which runs the protocol's
order of checks (OIF-ERR-3): body size → authentication → content type → JSON and shape →
(idempotent replay) → subject → verification → business rules. Everything after the body has
been read runs synchronously, so a request's SQLite writes are committed before the event loop
moves on and before the response is sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from yzt.conformance import endpoints
from yzt.domain.masking import mask_msisdn, scrub
from yzt.domain.topology import load_topology
from yzt.server import lifecycle, variants
from yzt.server.checks import (
    canonical_hash,
    check_clock_shape,
    check_shape,
    check_subject,
    check_verification,
    parse_json,
)
from yzt.server.config import ServerConfig
from yzt.server.defects import DefectName as D
from yzt.server.faults import FaultInjector
from yzt.server.http import HTTP_LAYER
from yzt.server.problems import Problem, problem_response
from yzt.server.service_info import service_info
from yzt.server.store import Cancellation, Card, Dispute, Store
from yzt.signing import (
    HEADER_KEY_ID,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NONCE_RE,
    SKEW_SECONDS,
    signature_matches,
)

MAX_BODY = 16 * 1024
#: With the ``no-size-limit`` defect bodies are still cut here, to keep the sandbox alive.
HARD_MAX_BODY = 1 << 20
FLAKY_EVERY = 50  # the ``flaky`` defect: 1 signed request in 50 (2 %) answers 500
SLOW_SECONDS = 1.2  # the ``slow`` defect
#: The whole body must arrive within this many seconds of the handler asking for it.
BODY_DEADLINE_S = 10.0
NONCE_PRUNE_EVERY = 1000
MAX_ADVANCE_SECONDS = 100 * 366 * 86400
MAX_CLOCK = datetime(9000, 1, 1, tzinfo=UTC).timestamp()
#: Unix seconds before year 9000 have at most 12 digits; longer is never converted with int().
TIMESTAMP_MAX_DIGITS = 12
_TIMESTAMP = re.compile(f"[0-9]{{1,{TIMESTAMP_MAX_DIGITS}}}")
SIGNATURE_LENGTH = 64  # lower-case hex HMAC-SHA256
MAX_SIGNED_FIELD = 8190  # no header field is longer (the HTTP layer's bound); HMAC work is bounded
ACCESS_LOG = logging.getLogger("yzt.server.access")
#: ``GET /v1/<kind>/{id}``: the status endpoints of the OpenAPI document.
_STATUS_PATH = re.compile(r"/v1/({})/([^/]+)".format("|".join(
    e.name.split("/")[0] for e in endpoints.endpoints() if e.method == "GET" and "{" in e.path)))

Result = tuple[int, bytes]
STORE_KEY: web.AppKey[Store] = web.AppKey("store", Store)


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def parse_timestamp(value: str) -> int | None:
    """``X-YZT-Timestamp`` as Unix seconds, or None for anything else (sign, space, >12 digits…)."""
    return int(value) if _TIMESTAMP.fullmatch(value) else None


def _signature_ok(secret: bytes, method: str, target: str, ts: str, nonce: str, body: bytes,
                  sig: str) -> bool:
    """The HMAC check, false (never an exception) for any header that could not have been signed."""
    if len(sig) != SIGNATURE_LENGTH or not sig.isascii() or len(ts) > MAX_SIGNED_FIELD:
        return False
    try:
        return signature_matches(secret, method, target, ts, nonce, body, sig)
    except UnicodeError:  # a lone surrogate from undecodable header or path bytes
        return False


class Operator:
    """One operator's state and handlers (the store, faults, card refs, counters)."""

    def __init__(self, config: ServerConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.op = load_topology().get(config.operator_id)
        self.faults = FaultInjector(config.faults)
        # how times and card refs are written and when lifecycles move: the legal variants' choice
        self.iso = variants.time_format(config)
        self.stamp = variants.stamp(config)
        self.refs = variants.ref_codec(config, store)
        self.outcome = variants.dispute_outcome(config)
        compliant = variants.timings(config)
        disputes = lifecycle.SLOW_DISPUTES if config.has(D.SLOW_DISPUTE_RESOLUTION) else compliant
        cancels = lifecycle.SLOW_CANCELLATIONS if config.has(D.SLOW_CANCELLATION) else compliant
        self.timings = lifecycle.Timings(
            dispute_verifying=compliant.dispute_verifying,
            dispute_resolved=disputes.dispute_resolved, dispute_resolve_by=disputes.dispute_resolve_by,
            cancel_complete=cancels.cancel_complete, cancel_complete_by=cancels.cancel_complete_by)
        self.updated_at = self.iso(store.now())
        self.signed_count = 0
        self._commit_future: asyncio.Future[None] | None = None
        self.next_due = store.next_due()
        self.alt_refs: dict[str, Card] = {}
        if config.has(D.CARD_REF_CONTAINS_MSISDN):
            self.alt_refs = {self._msisdn_ref(c): c for c in store.cards_by_ref.values()}
        handlers: dict[str, Callable[..., Result]] = {
            "cardCount": self.card_count, "cardDetails": self.card_details,
            "createDispute": self.submit_dispute, "createCancellation": self.submit_cancellation}
        if config.sandbox_clock:
            handlers["sandboxClock"] = self.sandbox_clock
        self.routes: dict[str, dict[str, Callable[..., Result]]] = {}
        for endpoint in endpoints.endpoints():  # paths and methods from the OpenAPI document
            if endpoint.operation_id in handlers:
                self.routes.setdefault(endpoint.path, {})[endpoint.method] = handlers[endpoint.operation_id]
        self._apply_due(store.now())

    # -- card refs (OIF-DET-3) ----------------------------------------------------------------
    @staticmethod
    def _msisdn_ref(card: Card) -> str:
        return f"m{card.msisdn}_{card.ref[2:14]}"

    def ref_of(self, card: Card) -> str:
        if self.config.has(D.CARD_REF_CONTAINS_MSISDN):
            return self._msisdn_ref(card)
        if self.config.has(D.UNSTABLE_CARD_REF):
            return f"{self.refs.outward(card.ref)}.{secrets.token_hex(4)}"
        return self.refs.outward(card.ref)

    def card_by_ref(self, ref: str) -> Card | None:
        if ref in self.alt_refs:
            return self.alt_refs[ref]
        return self.store.cards_by_ref.get(self.refs.inward(ref.split(".", 1)[0]))

    # -- dispatch -------------------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except Problem as p:
            await self._committed()
            return self._problem(p)
        except Exception:  # an unexpected bug: answer 500, never a traceback
            logging.getLogger("yzt.server").exception("internal error")
            return self._problem(Problem("internal_error", "internal error"))

    def _problem(self, p: Problem) -> web.Response:
        if self.config.has(D.NO_RETRY_AFTER):
            p.headers.pop("Retry-After", None)
        return problem_response(p, plain=self.config.has(D.PLAIN_ERRORS))

    def _ok(self, status: int, body: bytes) -> web.Response:
        ctype = "text/plain" if self.config.has(D.WRONG_CONTENT_TYPE) else "application/json"
        return web.Response(status=status, body=body, content_type=ctype)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        base = self.config.base_path
        target = request.raw_path
        if base:
            if not (target == base or target.startswith(base + "/") or target.startswith(base + "?")):
                raise Problem("not_found", "no such path")
            target = target[len(base):]
        path = target.split("?", 1)[0]
        method = request.method
        if self.config.bench_hello and path == "/bench/hello":
            return web.Response(body=b'{"hello":"world"}', content_type="application/json")
        if path == "/v1/health":
            self._allow(method, ("GET",))
            return self._ok(200, _json({"status": "degraded" if self.faults.in_outage() else "ok"}))
        if path == "/v1/service-info":
            self._allow(method, ("GET",))
            await self._inject_faults("service-info")
            return self._ok(200, _json(service_info(
                self.op, self.updated_at, empty_complaint=self.config.has(D.EMPTY_CHANNELS))))
        status_match = _STATUS_PATH.fullmatch(path)
        handlers = self.routes.get(path)
        if handlers is None and status_match is None:
            raise Problem("not_found", "no such path")
        allowed = tuple(handlers) if handlers else ("GET",)
        self._allow(method, allowed)
        endpoint = path.split("/")[2]
        if endpoint != "sandbox":
            await self._inject_faults(endpoint)
        body = await self._read_body(request)
        if self.config.has(D.VALIDATE_BEFORE_AUTH) and handlers is not None and body:
            self._content_type(request)
            doc = parse_json(body, guarded=not self.config.has(D.CRASH_ON_ODD_JSON))
            if endpoint in ("card-count", "card-details", "disputes", "cancellations"):
                check_shape(endpoint, doc)
                check_subject(doc["subject"], self.store.now())
        now = self.store.now()
        self._authenticate(request, target, body, now)
        self.signed_count += 1
        if self.config.has(D.FLAKY) and self.signed_count % FLAKY_EVERY == 0:
            raise Problem("internal_error", "injected failure (flaky)")
        if self.config.has(D.SLOW) and endpoint in ("card-count", "card-details"):
            await asyncio.sleep(SLOW_SECONDS)
            now = self.store.now()
        if self.signed_count % NONCE_PRUNE_EVERY == 0:
            self.store.prune_nonces(now)
        self._apply_due(now)
        if status_match is not None:
            status, out = self.status(status_match.group(1), status_match.group(2), now)
        else:
            if body:
                self._content_type(request)
            doc = parse_json(body, guarded=not self.config.has(D.CRASH_ON_ODD_JSON))
            assert handlers is not None
            status, out = handlers[method](doc, now)
        await self._committed()
        return self._ok(status, out)

    async def _committed(self) -> None:
        """Group commit: wait until this request's writes are committed, sharing one commit with
        every request handled in the same turn of the event loop (the answer is never sent first)."""
        if not self.store.db.in_transaction:
            return
        if self._commit_future is None:
            loop = asyncio.get_running_loop()
            self._commit_future = loop.create_future()
            loop.call_soon(self._commit_now)
        await asyncio.shield(self._commit_future)

    def _commit_now(self) -> None:
        future, self._commit_future = self._commit_future, None
        try:
            self.store.commit()
        except Exception as exc:  # pragma: no cover - a full disk, say
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(None)

    @staticmethod
    def _allow(method: str, allowed: tuple[str, ...]) -> None:
        if method not in allowed:
            raise Problem("method_not_allowed", f"{method} is not allowed here",
                          headers={"Allow": ", ".join(allowed)})

    async def _inject_faults(self, endpoint: str) -> None:
        f = self.faults
        if not f.profile.active:
            return
        retry = str(f.profile.retry_after_s)
        if not f.take_token():
            raise Problem("rate_limited", "over the contracted rate", headers={"Retry-After": retry})
        remaining = f.in_outage()
        if remaining is not None:
            raise Problem("unavailable", "planned outage",
                          headers={"Retry-After": str(max(1, int(remaining + 0.999)))})
        delay = f.latency_s(endpoint)
        if delay > 0:
            await asyncio.sleep(delay)
        status = f.error_status()
        if status == 500:
            raise Problem("internal_error", "injected failure")
        if status == 503:
            raise Problem("unavailable", "injected failure", headers={"Retry-After": retry})

    async def _read_body(self, request: web.Request) -> bytes:
        """The body, within the size limit and :data:`BODY_DEADLINE_S` (a Content-Length larger
        than what arrives, or a dripping body, must not hold the connection)."""
        if request.content.is_eof():  # all of it arrived with the headers: no timer needed
            return await self._read_body_unbounded(request)
        try:
            async with asyncio.timeout(BODY_DEADLINE_S):
                return await self._read_body_unbounded(request)
        except TimeoutError:
            raise Problem("malformed_request", f"the body did not arrive within {BODY_DEADLINE_S:g} s",
                          close=True) from None

    async def _read_body_unbounded(self, request: web.Request) -> bytes:
        limit = HARD_MAX_BODY if self.config.has(D.NO_SIZE_LIMIT) else MAX_BODY
        length = request.content_length
        if length is not None:
            if length > limit:
                raise Problem("payload_too_large", f"the body is over {limit} bytes")
            return await request.read()  # the declared length is within the limit
        chunks: list[bytes] = []  # chunked: count as it streams in, stop at the limit
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise Problem("payload_too_large", f"the body is over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _content_type(self, request: web.Request) -> None:
        if self.config.has(D.ACCEPT_ANY_CONTENT_TYPE):
            return
        if request.content_type != "application/json" or request.charset not in (None, "utf-8"):
            raise Problem("unsupported_media_type", "send Content-Type: application/json")

    def _authenticate(self, request: web.Request, target: str, body: bytes, now: float) -> None:
        """OIF-AUTH-1…3: signature (and key id, nonce shape), then timestamp skew, then replay.

        Fails closed: a timestamp that is not 1-12 ASCII digits is never converted with ``int()``
        (which raises on >4,300 digits) and is answered ``timestamp_skew`` like any other time the
        operator cannot place within 300 s of its clock.
        """
        h = request.headers
        key_id, ts, nonce, sig = (h.get(HEADER_KEY_ID), h.get(HEADER_TIMESTAMP), h.get(HEADER_NONCE),
                                  h.get(HEADER_SIGNATURE))
        lax = self.config.has(D.ACCEPT_BAD_SIGNATURE)
        if key_id is None or ts is None or nonce is None or sig is None:
            if lax:
                return
            raise Problem("signature_invalid", "missing X-YZT signature headers")
        if not lax:
            if key_id != self.config.key_id:
                raise Problem("signature_invalid", "unknown key id")
            if not NONCE_RE.fullmatch(nonce):
                raise Problem("signature_invalid", "the nonce must be 16-64 characters of [A-Za-z0-9_-]")
            if not _signature_ok(self.config.secret, request.method, target, ts, nonce, body, sig):
                raise Problem("signature_invalid", "the signature does not match")
        stamp = parse_timestamp(ts)
        if stamp is None and self.config.has(D.TIMESTAMP_PARSE_FAILS_OPEN):
            return  # the seeded defect: skew and nonce checks skipped, as int() once made them
        ignore_skew = self.config.has(D.IGNORE_TIMESTAMP_SKEW)
        if stamp is None:
            if not ignore_skew:
                raise Problem("timestamp_skew", "X-YZT-Timestamp must be Unix seconds "
                              f"(1-{TIMESTAMP_MAX_DIGITS} ASCII digits) within 300 s of the "
                              "operator's clock")
            stamp = int(now)
        if abs(stamp - now) > SKEW_SECONDS and not ignore_skew:
            raise Problem("timestamp_skew", "X-YZT-Timestamp is more than 300 s from the operator's clock")
        # kept until the timestamp could no longer pass the skew check
        expires = max(stamp, int(now)) + SKEW_SECONDS + 1
        if self.config.has(D.ACCEPT_REPLAYED_NONCE):
            self.store.add_nonce(nonce, expires)
        elif not self.store.claim_nonce(nonce, expires, now):
            raise Problem("replayed_request", "this nonce was already used")

    def _apply_due(self, now: float) -> None:
        if self.next_due is not None and self.next_due <= now:
            lifecycle.apply_due(self.store, now,
                                keep_removed=self.config.has(D.UNBOUND_CARD_STILL_COUNTED))
            self.next_due = self.store.next_due()

    # -- the shared front of the subject endpoints ------------------------------------------------
    def _front(self, kind: str, doc: Any, now: float) -> tuple[Result | None, str, str,
                                                              tuple[str, int, bytes] | None]:
        """Shape, idempotent replay, subject, verification: (replayed answer, id, hash, prior)."""
        check_shape(kind, doc)
        id_field = {"card-count": "query_id", "card-details": "query_id", "disputes": "dispute_id",
                    "cancellations": "cancellation_id"}[kind]
        key = doc[id_field]
        body_hash = canonical_hash(doc)
        prior = None if self.config.has(D.NO_IDEMPOTENCY) else self.store.idem_get(kind, key)
        if prior is not None and prior[0] == body_hash:
            return (prior[1], prior[2]), key, body_hash, prior
        c = self.config
        echo = c.has(D.ECHO_ID_NUMBER)

        def subject() -> None:
            check_subject(doc["subject"], now, lowercase_x=c.has(D.ACCEPT_LOWERCASE_X),
                          skip_check_digit=c.has(D.SKIP_CHECK_DIGIT), echo=echo)

        def verification() -> None:
            check_verification(doc, c.secret, now, cancellation=kind == "cancellations",
                               require=not c.has(D.NO_VERIFICATION_REQUIRED),
                               check_ticket=not c.has(D.ACCEPT_FORGED_TICKET),
                               check_age=not c.has(D.ACCEPT_EXPIRED_VERIFICATION),
                               check_face=not c.has(D.CANCEL_WITH_SMS_CODE), echo=echo)

        if c.has(D.WRONG_CHECK_ORDER):
            verification()
            subject()
        else:
            subject()
            verification()
        if c.has(D.NO_IDEMPOTENCY_CONFLICT):
            prior = None
        return None, key, body_hash, prior

    def _conflict(self, prior: tuple[str, int, bytes] | None, body_hash: str) -> None:
        if prior is not None and prior[0] != body_hash:
            raise Problem("idempotency_conflict", "this id was already used with a different body")

    def _remember(self, kind: str, key: str, body_hash: str, status: int, body: bytes) -> Result:
        if not self.config.has(D.NO_IDEMPOTENCY):
            self.store.idem_put(kind, key, body_hash, status, body)
        return status, body

    def _subject_cards(self, id_number: str) -> list[Card]:
        return self.store.cards_by_id.get(id_number, [])

    # -- endpoints ----------------------------------------------------------------------------------
    def card_count(self, doc: Any, now: float) -> Result:
        replay, key, body_hash, prior = self._front("card-count", doc, now)
        if replay:
            return replay
        self._conflict(prior, body_hash)
        cards = self._subject_cards(doc["subject"]["id_number"])
        count = len(cards) if self.config.has(D.COUNT_CANCELLED_CARDS) else sum(c.live for c in cards)
        query_id = str(uuid.uuid4()) if self.config.has(D.WRONG_QUERY_ID) else key
        out = _json({"query_id": query_id, "operator_id": self.op.id, "card_count": count,
                     "as_of": self.iso(now)})
        return self._remember("card-count", key, body_hash, 200, out)

    def _mask(self, msisdn: str) -> str:
        if self.config.has(D.BAD_MSISDN_MASK):
            return f"{msisdn[:4]}****{msisdn[-3:]}"
        if self.config.has(D.UNMASKED_MSISDN):
            return msisdn
        return mask_msisdn(msisdn)

    def card_details(self, doc: Any, now: float) -> Result:
        replay, key, body_hash, prior = self._front("card-details", doc, now)
        if replay:
            return replay
        self._conflict(prior, body_hash)
        cards = self._subject_cards(doc["subject"]["id_number"])
        shown = cards if self.config.has(D.DETAILS_INCLUDE_CANCELLED) else [c for c in cards if c.live]
        listed = sorted(shown, key=lambda c: (c.activated_on, c.ref))
        out = _json({"query_id": key, "operator_id": self.op.id, "as_of": self.iso(now), "cards": [
            {"card_ref": self.ref_of(c), "msisdn_masked": self._mask(c.msisdn),
             "status": c.status if c.live else "cancelled", "activated_on": c.activated_on,
             "home_region": c.home_region} for c in listed]})
        return self._remember("card-details", key, body_hash, 200, out)

    def _owned_card(self, doc: Any, any_card: bool) -> Card:
        card = self.card_by_ref(doc["card_ref"])
        if card is None or not card.live or (
                not any_card and card.id_number != doc["subject"]["id_number"]):
            raise Problem("card_not_found", "no such card for this subject")
        return card

    def submit_dispute(self, doc: Any, now: float) -> Result:
        replay, key, body_hash, prior = self._front("disputes", doc, now)
        if replay:
            return replay
        card = self._owned_card(doc, self.config.has(D.DISPUTE_ANY_CARD))
        self._conflict(prior, body_hash)
        t = self.timings
        received = self.stamp(now)
        outcome = ("confirmed_owner" if self.config.has(D.DISPUTE_IGNORES_TRUTH)
                   else self.outcome(card))
        d = Dispute(key, card.ref, doc["claim"], received, received + t.dispute_verifying,
                    received + t.dispute_resolved, received + t.dispute_resolve_by, outcome)
        self.store.put_dispute(d)
        self._schedule(d.resolved_at)
        out = _json({"dispute_id": key, "state": "received", "received_at": self.iso(received),
                     "resolve_by": self.iso(d.resolve_by)})
        result = self._remember("disputes", key, body_hash, 202, out)
        self.store.commit(durable=True)
        return result

    def submit_cancellation(self, doc: Any, now: float) -> Result:
        replay, key, body_hash, prior = self._front("cancellations", doc, now)
        if replay:
            return replay
        card = self._owned_card(doc, self.config.has(D.CANCEL_ANY_CARD))
        self._conflict(prior, body_hash)
        t = self.timings
        accepted = self.stamp(now)
        final, reason, complete_at = None, None, accepted + t.cancel_complete
        at_submit = self.config.has(D.REFUSE_REMOTE_CANCELLATION_AT_SUBMIT)
        if (self.config.has(D.REFUSE_REMOTE_CANCELLATION) or at_submit) and card.home_region != "北京":
            final, complete_at = "rejected", accepted
            reason = f"号码归属地为{card.home_region}，请到归属地营业厅办理 (visit a shop in the home region)"
        c = Cancellation(key, card.ref, accepted, complete_at, accepted + t.cancel_complete_by,
                         final, reason)
        self.store.put_cancellation(c)
        if final is None:
            self._schedule(complete_at)
        if at_submit and final == "rejected":
            out = _json({"cancellation_id": key, "state": "rejected", "reason": reason})
        else:
            out = _json({"cancellation_id": key, "state": "accepted",
                         "accepted_at": self.iso(accepted), "complete_by": self.iso(c.complete_by)})
        result = self._remember("cancellations", key, body_hash, 202, out)
        self.store.commit(durable=True)
        return result

    def _schedule(self, due: float) -> None:
        self.next_due = due if self.next_due is None else min(self.next_due, due)

    def status(self, kind: str, key: str, now: float) -> Result:
        if kind == "disputes":
            d = self.store.get_dispute(key)
            if d is None:
                raise Problem("not_found", "no such dispute")
            state, history = lifecycle.dispute_state(d, now)
            doc: dict[str, Any] = {"dispute_id": d.dispute_id, "state": state}
            if state == "resolved" or self.config.has(D.DISPUTE_STATE_REGRESSES):
                doc["outcome"] = d.outcome
            doc["history"] = [{"state": s, "at": self.iso(at)} for s, at in history]
            doc["resolve_by"] = self.iso(d.resolve_by)
            if self.config.extra_members:
                doc["received_at"] = self.iso(d.received_at)
            return 200, _json(doc)
        c = self.store.get_cancellation(key)
        if c is None:
            raise Problem("not_found", "no such cancellation")
        state, reason, chistory = lifecycle.cancellation_state(c, now)
        cdoc: dict[str, Any] = {"cancellation_id": c.cancellation_id, "state": state}
        if reason:
            cdoc["reason"] = reason
        cdoc["history"] = [{"state": s, "at": self.iso(at)} for s, at in chistory]
        if self.config.extra_members:
            cdoc["accepted_at"] = self.iso(c.accepted_at)
            cdoc["complete_by"] = self.iso(c.complete_by)
        return 200, _json(cdoc)

    def sandbox_clock(self, doc: Any, now: float) -> Result:
        seconds = check_clock_shape(doc)
        if seconds > MAX_ADVANCE_SECONDS or now + seconds >= MAX_CLOCK:
            raise Problem("malformed_request", "body.advance_seconds would move the clock past the "
                          "sandbox's horizon (at most 100 years a call, before year 9000)")
        if seconds:
            self.store.advance(seconds)
            now = self.store.now()
            self._apply_due(now)
        return 200, _json({"now": self.iso(now)})


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str) -> str:
    """``text`` with control characters (CR, LF, ESC…) shown as ``\\xNN``: one request, one line."""
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)


class AccessLogger(AbstractAccessLogger):
    """One line a request: method, path, status, milliseconds; scrubbed; never a body.

    The path is logged as received (still percent-encoded), so ``%0d%0a`` stays three characters
    each and cannot start a forged line; control characters are escaped all the same.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if response.get(HTTP_LAYER):
            line = f"- (unparsable request) {response.status}"
        else:
            line = _printable(f"{request.method} {request.raw_path} {response.status}")
        self.logger.info(scrub(f"{line} {time * 1000:.1f}ms"))


def create_app(config: ServerConfig) -> web.Application:
    """The application for ``config``: opens the store, loads the cards, wires one catch-all route."""
    from yzt.server.loading import open_store

    store = open_store(config)
    operator = Operator(config, store)
    # the legal variants (yzt serve --variant) wrap the clean handlers; none of them by default
    app = web.Application(client_max_size=HARD_MAX_BODY, middlewares=variants.middlewares(config))
    app[STORE_KEY] = store
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = operator.dispatch
    app.router.add_route("*", "/{tail:.*}", handler)

    last_date: list[Any] = [0, ""]  # (whole second, its formatted Date): formatted once a second

    async def date_from_real_time(_request: web.Request, response: web.StreamResponse) -> None:
        # HTTP Date is the origin's real clock (RFC 9110), not the sandbox clock: protocol v1.3
        # gives a platform the sandbox clock only through POST /v1/sandbox/clock.
        second = int(time.time())
        if second != last_date[0]:
            last_date[:] = [second, formatdate(second, usegmt=True)]
        response.headers["Date"] = last_date[1]

    app.on_response_prepare.append(date_from_real_time)

    async def close_store(_app: web.Application) -> None:
        store.close()

    app.on_cleanup.append(close_store)
    # after the operator's own hooks, so a variant's header (Date on the sandbox clock) wins
    app.on_response_prepare.extend(variants.response_hooks(config, store))
    return app
