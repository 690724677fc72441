"""Durable state of the reference operator in one SQLite file (WAL), with cards indexed in memory.

Cards are read-mostly: they are loaded once into memory and every change is written through.
Disputes, cancellations, idempotency records, nonces and the sandbox clock offset live in SQLite,
so a server killed with SIGKILL and restarted on the same file loses nothing it had answered: every
request's writes are committed before its response is sent, and 202s are also flushed to
disk (fsync of the WAL) before they are sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from yzt.fixtures import FixtureCard
from yzt.server.dblock import DatabaseLock

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cards (
    card_ref TEXT PRIMARY KEY, id_number TEXT NOT NULL, name TEXT NOT NULL, msisdn TEXT NOT NULL,
    status TEXT NOT NULL, activated_on TEXT NOT NULL, home_region TEXT NOT NULL,
    genuine INTEGER NOT NULL, ord INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS disputes (
    dispute_id TEXT PRIMARY KEY, card_ref TEXT NOT NULL, claim TEXT NOT NULL,
    received_at INTEGER NOT NULL, verifying_at INTEGER NOT NULL, resolved_at INTEGER NOT NULL,
    resolve_by INTEGER NOT NULL, outcome TEXT NOT NULL, applied INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS cancellations (
    cancellation_id TEXT PRIMARY KEY, card_ref TEXT NOT NULL, accepted_at INTEGER NOT NULL,
    complete_at INTEGER NOT NULL, complete_by INTEGER NOT NULL, final_state TEXT,
    reason TEXT, applied INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS idempotency (
    kind TEXT NOT NULL, id TEXT NOT NULL, body_hash TEXT NOT NULL, status INTEGER NOT NULL,
    body BLOB NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at);
"""

#: Statuses of a card that count (OIF-CNT-1); ``unbound`` and ``cancelled`` cards have left.
LIVE = ("active", "suspended")


@dataclass
class Card:
    """One card in memory; ``status`` may also be ``unbound`` (after a dispute), never shown."""

    ref: str
    id_number: str
    name: str
    msisdn: str
    status: str
    activated_on: str
    home_region: str
    genuine: bool

    @property
    def live(self) -> bool:
        return self.status in LIVE


@dataclass(frozen=True)
class Dispute:
    """A filed dispute; moments are Unix seconds on the operator's clock (whole seconds unless the
    ``fractional-seconds`` variant stamps milliseconds)."""

    dispute_id: str
    card_ref: str
    claim: str
    received_at: float
    verifying_at: float
    resolved_at: float
    resolve_by: float
    outcome: str


@dataclass(frozen=True)
class Cancellation:
    cancellation_id: str
    card_ref: str
    accepted_at: float
    complete_at: float
    complete_by: float
    final_state: str | None
    reason: str | None


def make_card_ref(ref_key: bytes, operator_id: str, msisdn: str) -> str:
    """``c_`` + base32 of HMAC(ref key, operator|msisdn)[:20]: opaque, stable, 34 characters."""
    digest = hmac.new(ref_key, f"{operator_id}|{msisdn}".encode(), hashlib.sha256).digest()[:20]
    return "c_" + base64.b32encode(digest).decode("ascii").lower()


class Store:
    """The SQLite file and the in-memory card index of one operator."""

    def __init__(self, path: Path, *, lock: DatabaseLock | None = None) -> None:
        self.path = path
        #: the one-writer lock, released when the store closes
        self.lock = lock
        self.db = sqlite3.connect(str(path), isolation_level="DEFERRED", check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.db.commit()
        self.cards_by_id: dict[str, list[Card]] = {}
        self.cards_by_ref: dict[str, Card] = {}
        self.clock_offset = float(self.get_meta("clock_offset") or 0.0)

    def close(self) -> None:
        try:
            self.db.commit()
            self.db.close()
        finally:
            if self.lock is not None:
                self.lock.release()

    # -- meta and clock ------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def now(self) -> float:
        """The operator's one clock: wall clock plus the durable sandbox offset (Unix seconds)."""
        return time.time() + self.clock_offset

    def advance(self, seconds: int) -> None:
        """Move the clock forward (durably, committed before the answer)."""
        self.clock_offset += seconds
        self.set_meta("clock_offset", repr(self.clock_offset))
        self.commit(durable=True)

    def commit(self, *, durable: bool = False) -> None:
        """Commit the open transaction; ``durable`` forces an fsync (accepted work)."""
        self.db.commit()
        if durable:
            # synchronous=NORMAL survives a killed process; the fsync also survives power loss
            wal = Path(str(self.path) + "-wal")
            if wal.exists():
                fd = os.open(wal, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    # -- cards ---------------------------------------------------------------------------------
    def ref_key(self) -> bytes:
        """The server-side key behind card refs, created once and kept in the file."""
        key = self.get_meta("ref_key")
        if key is None:
            key = secrets.token_hex(32)
            self.set_meta("ref_key", key)
        return bytes.fromhex(key)

    def load_cards(self, operator_id: str, fingerprint: str, cards: Iterable[FixtureCard]) -> None:
        """Import fixture cards once; a file loaded from other fixtures is refused."""
        known = self.get_meta("fixtures")
        if known is not None and known != fingerprint:
            raise ValueError(f"this database was loaded from other fixtures ({known}); "
                             f"use a new --db for {fingerprint}")
        if known is None:
            key = self.ref_key()
            self.db.executemany(
                "INSERT INTO cards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(make_card_ref(key, operator_id, c.msisdn), c.id_number, c.name, c.msisdn, c.status,
                  c.activated_on, c.home_region, int(c.genuine), i) for i, c in enumerate(cards)])
            self.set_meta("fixtures", fingerprint)
            self.set_meta("operator_id", operator_id)
            self.commit(durable=True)
        self._index()

    def has_cards_for(self, fingerprint: str) -> bool:
        return self.get_meta("fixtures") == fingerprint

    def _index(self) -> None:
        self.cards_by_id.clear()
        self.cards_by_ref.clear()
        for row in self.db.execute("SELECT card_ref, id_number, name, msisdn, status, activated_on, "
                                   "home_region, genuine FROM cards ORDER BY ord"):
            card = Card(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]))
            self.cards_by_id.setdefault(card.id_number, []).append(card)
            self.cards_by_ref[card.ref] = card

    def set_card_status(self, card: Card, status: str) -> None:
        card.status = status
        self.db.execute("UPDATE cards SET status = ? WHERE card_ref = ?", (status, card.ref))

    # -- nonces (OIF-AUTH-3) -------------------------------------------------------------------
    def claim_nonce(self, nonce: str, expires_at: int, now: float) -> bool:
        """Record a nonce in one statement; False when it was already seen and has not expired."""
        cursor = self.db.execute(
            "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO UPDATE "
            "SET expires_at = excluded.expires_at WHERE nonces.expires_at < ?",
            (nonce, expires_at, int(now)))
        return cursor.rowcount == 1

    def add_nonce(self, nonce: str, expires_at: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO nonces (nonce, expires_at) VALUES (?, ?)",
                        (nonce, expires_at))

    def prune_nonces(self, now: float) -> int:
        return self.db.execute("DELETE FROM nonces WHERE expires_at < ?", (int(now),)).rowcount

    # -- idempotency (OIF-IDEM) ----------------------------------------------------------------
    def idem_get(self, kind: str, key: str) -> tuple[str, int, bytes] | None:
        row = self.db.execute("SELECT body_hash, status, body FROM idempotency WHERE kind = ? AND id = ?",
                              (kind, key)).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), bytes(row[2]))

    def idem_put(self, kind: str, key: str, body_hash: str, status: int, body: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)",
                        (kind, key, body_hash, status, body))

    # -- disputes and cancellations -------------------------------------------------------------
    def put_dispute(self, d: Dispute) -> None:
        self.db.execute("INSERT OR REPLACE INTO disputes VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
                        (d.dispute_id, d.card_ref, d.claim, d.received_at, d.verifying_at,
                         d.resolved_at, d.resolve_by, d.outcome))

    def get_dispute(self, dispute_id: str) -> Dispute | None:
        row = self.db.execute("SELECT dispute_id, card_ref, claim, received_at, verifying_at, "
                              "resolved_at, resolve_by, outcome FROM disputes WHERE dispute_id = ?",
                              (dispute_id,)).fetchone()
        return None if row is None else Dispute(*row)

    def put_cancellation(self, c: Cancellation) -> None:
        self.db.execute("INSERT OR REPLACE INTO cancellations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (c.cancellation_id, c.card_ref, c.accepted_at, c.complete_at, c.complete_by,
                         c.final_state, c.reason, 1 if c.final_state else 0))

    def get_cancellation(self, cancellation_id: str) -> Cancellation | None:
        row = self.db.execute("SELECT cancellation_id, card_ref, accepted_at, complete_at, complete_by, "
                              "final_state, reason FROM cancellations WHERE cancellation_id = ?",
                              (cancellation_id,)).fetchone()
        return None if row is None else Cancellation(*row)

    def next_due(self) -> float | None:
        """The earliest time at which a pending dispute or cancellation changes a card."""
        row = self.db.execute(
            "SELECT MIN(t) FROM (SELECT MIN(resolved_at) AS t FROM disputes WHERE applied = 0 "
            "UNION ALL SELECT MIN(complete_at) FROM cancellations WHERE applied = 0)").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def due_events(self, now: float) -> list[tuple[float, str, str, str]]:
        """(due time, kind, id, card_ref) of every pending transition due by ``now``, in time order."""
        rows = self.db.execute(
            "SELECT resolved_at, 'dispute', dispute_id, card_ref FROM disputes "
            "WHERE applied = 0 AND resolved_at <= ? "
            "UNION ALL SELECT complete_at, 'cancellation', cancellation_id, card_ref FROM cancellations "
            "WHERE applied = 0 AND complete_at <= ? ORDER BY 1, 2, 3", (now, now)).fetchall()
        return [(float(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def mark_dispute_applied(self, dispute_id: str) -> None:
        self.db.execute("UPDATE disputes SET applied = 1 WHERE dispute_id = ?", (dispute_id,))

    def finish_cancellation(self, cancellation_id: str, state: str, reason: str | None) -> None:
        self.db.execute("UPDATE cancellations SET applied = 1, final_state = ?, reason = ? "
                        "WHERE cancellation_id = ?", (state, reason, cancellation_id))
