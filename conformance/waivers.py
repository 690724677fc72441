"""Waivers: a signed-off, dated exception for a known failure of one requirement (or one check).

A waiver file is YAML, validated at load time so that a typo names the field::

    waivers:
      - requirement: OIF-DET-3
        check: card_ref_stable        # optional: only this check
        reason: card_ref rotation fixed in release 2.4
        approver: 王工 (platform onboarding)
        expires: 2026-12-31

A waived failure shows as ``waived`` in every output; after ``expires`` the waiver no longer
applies and the failure's message says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from yzt.errors import InputFileError
from yzt.validation import read_yaml, schema_problems

WAIVER_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["waivers"],
    "additionalProperties": False,
    "properties": {
        "waivers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["requirement", "reason", "approver", "expires"],
                "additionalProperties": False,
                "properties": {
                    "requirement": {"type": "string", "pattern": "^(OIF|SLA)-[A-Z]+-[0-9]+$"},
                    "check": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    "reason": {"type": "string", "minLength": 1, "pattern": "\\S"},
                    "approver": {"type": "string", "minLength": 1, "pattern": "\\S"},
                    "expires": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Waiver:
    requirement: str
    reason: str
    approver: str
    expires: date
    check: str | None = None

    def matches(self, requirement: str, check: str) -> bool:
        return self.requirement == requirement and self.check in (None, check)


class _NoDatesLoader(yaml.SafeLoader):
    """YAML without implicit dates: ``expires: 2026-02-30`` stays text, so the error names the field."""


_NoDatesLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read(path: Path) -> Any:
    return read_yaml(path, loader=_NoDatesLoader)


def load_waivers(path: Path) -> list[Waiver]:
    """Load and validate a waiver file; :class:`InputFileError` names each bad field."""
    document = _read(path)
    problems = schema_problems(document, WAIVER_SCHEMA)
    waivers: list[Waiver] = []
    if not problems:
        for i, item in enumerate(document["waivers"]):
            try:
                expires = date.fromisoformat(item["expires"])
            except ValueError:
                problems.append(f"at waivers[{i}].expires: {item['expires']!r} is not a real date")
                continue
            waivers.append(Waiver(item["requirement"], item["reason"].strip(),
                                  item["approver"].strip(), expires, item.get("check")))
    if problems:
        raise InputFileError(str(path), problems)
    return waivers


def find_waiver(waivers: Sequence[Waiver], requirement: str, check: str,
                today: date) -> tuple[Waiver | None, bool]:
    """The waiver for a check and whether it has expired; a live waiver wins over expired ones."""
    matching = [w for w in waivers if w.matches(requirement, check)]
    live = [w for w in matching if w.expires >= today]
    if live:
        return live[0], False
    if matching:
        return max(matching, key=lambda w: w.expires), True
    return None, False
