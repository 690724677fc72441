"""The requirements catalogue: every ``OIF-…``/``SLA-…`` id with its text and regulation phrases.

Checks, reports and the traceability table cite requirements by id; they look the id up here, so a
typo in an id fails at load time instead of producing a report row nobody can trace. Rules that the
protocol states without an id (``GET /v1/health``, the sandbox clock) are kept apart and cited as
``unnumbered:<KEY>``, so the numbered set stays exactly the protocol's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from yzt.errors import InputFileError
from yzt.validation import package_schema, read_yaml, schema_problems

UNNUMBERED_PREFIX = "unnumbered:"
_PACKAGE = "yzt.conformance"


@dataclass(frozen=True)
class Requirement:
    """One requirement of the protocol, as the catalogue states it."""

    id: str
    kind: Literal["protocol", "sla"]
    text: str
    text_zh: str
    regulation: tuple[str, ...]
    checks: tuple[str, ...]


def _path() -> Path:
    return Path(str(resources.files(_PACKAGE).joinpath("requirements.yaml")))


@cache
def _catalogue() -> dict[str, Any]:
    path = _path()
    document = read_yaml(path)
    problems = schema_problems(document, package_schema(_PACKAGE, "requirements"))
    if problems:
        raise InputFileError(str(path), problems)
    loaded: dict[str, Any] = document
    return loaded


def _entries(section: str, prefix: str) -> dict[str, Requirement]:
    return {
        prefix + key: Requirement(
            id=prefix + key,
            kind=raw["kind"],
            text=raw["text"],
            text_zh=raw["text_zh"],
            regulation=tuple(raw["regulation"]),
            checks=tuple(raw["checks"]),
        )
        for key, raw in _catalogue()[section].items()
    }


def protocol_version() -> str:
    """The protocol version the catalogue states (``docs/protocol.md`` carries it too)."""
    version: str = _catalogue()["protocol_version"]
    return version


def load_requirements() -> dict[str, Requirement]:
    """Every numbered requirement (``OIF-…``, ``SLA-…``) by id, in protocol order."""
    return _entries("requirements", "")


def load_unnumbered() -> dict[str, Requirement]:
    """Rules the protocol states without an id, keyed ``unnumbered:<KEY>``."""
    return _entries("unnumbered", UNNUMBERED_PREFIX)


def regulation_phrases() -> dict[str, str]:
    """Each phrase of the regulator that a requirement cites, with its meaning in English."""
    phrases: dict[str, str] = dict(_catalogue()["phrases"])
    return phrases


def citable_ids() -> frozenset[str]:
    """Every id a check or a golden example may cite: numbered and unnumbered."""
    return frozenset(load_requirements()) | frozenset(load_unnumbered())
