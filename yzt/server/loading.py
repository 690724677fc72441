"""Open the operator's SQLite file and load its cards: from a fixture file or generated from a seed."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from yzt.errors import UserError
from yzt.server.config import ServerConfig
from yzt.server.dblock import DatabaseLock
from yzt.server.store import Store


def fixture_fingerprint(config: ServerConfig) -> str:
    """What the cards were loaded from: the file's SHA-256, or operator, seed and subjects."""
    if config.fixtures is not None:
        digest = hashlib.sha256(config.fixtures.read_bytes()).hexdigest()[:16]
        return f"file:{digest}"
    return f"seed:{config.operator_id}:{config.seed}:{config.subjects}"


def _open_locked(db: Path) -> Store:
    """The store on ``db`` under its lock; a directory, a missing folder, a file that is not SQLite
    or a database another server holds is a :class:`UserError` naming ``--db``."""
    if db.is_dir():
        raise UserError(f"--db {db} is a directory; give a file path, e.g. {db / 'operator.sqlite'}")
    if not db.parent.is_dir():
        raise UserError(f"--db {db}: the folder {db.parent} does not exist")
    lock = DatabaseLock(db)
    try:
        return Store(db, lock=lock)
    except sqlite3.DatabaseError as exc:
        lock.release()
        raise UserError(f"--db {db} is not a yzt SQLite database ({exc}); give a new file path "
                        "or the file an earlier yzt serve wrote") from None
    except BaseException:
        lock.release()
        raise


def open_store(config: ServerConfig) -> Store:
    """The store with its cards indexed; fixtures are generated or read only on first use of a file."""
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, load_fixtures

    try:
        fingerprint = fixture_fingerprint(config)
    except OSError as exc:
        raise UserError(f"cannot read --fixtures {config.fixtures}: {exc.strerror}") from None
    store = _open_locked(config.db)
    try:
        if store.has_cards_for(fingerprint):
            store.load_cards(config.operator_id, fingerprint, ())
            return store
        topology = load_topology()
        if config.fixtures is not None:
            fixtures = load_fixtures(config.fixtures, topology, config.operator_id)
        else:
            fixtures = generate_fixtures(topology.get(config.operator_id), config.seed, config.subjects)
        store.load_cards(config.operator_id, fingerprint, fixtures.cards)
    except ValueError as exc:
        store.close()
        raise UserError(str(exc)) from None
    except BaseException:
        store.close()
        raise
    return store
