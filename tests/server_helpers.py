"""Helpers shared by the reference operator's tests: subjects from the fixtures, request bodies."""

from __future__ import annotations

from functools import cache
from typing import Any

from yzt.client import PlatformClient
from yzt.domain.topology import load_topology
from yzt.fixtures import Subject, generate_fixtures
from yzt.server.testing import DEFAULT_SECRET

OPERATOR, SEED, SUBJECTS = "R07", 7, 200


@cache
def subjects() -> tuple[Subject, ...]:
    """The subjects ``running_server()`` serves by default (R07, seed 7, 200 subjects)."""
    return tuple(generate_fixtures(load_topology().get(OPERATOR), SEED, SUBJECTS).subjects().values())


def subject_with(min_live: int = 1, *, genuine: bool | None = None, skip: int = 0) -> Subject:
    """A subject with at least ``min_live`` live cards (one of them non-genuine if asked)."""
    found = [s for s in subjects() if len(s.live_cards) >= min_live and (
        genuine is None or any(c.genuine is genuine for c in s.live_cards))]
    return found[skip]


def client(base_url: str) -> PlatformClient:
    return PlatformClient(base_url, "k1", DEFAULT_SECRET)


def subject_doc(s: Subject) -> dict[str, str]:
    return {"name": s.name, "id_type": "resident_id", "id_number": s.id_number}


def query(c: PlatformClient, s: Subject, **verification: Any) -> dict[str, Any]:
    return {"query_id": c.new_id(), "subject": subject_doc(s),
            "verification": c.verification(s.name, s.id_number, **verification)}
