"""Waivers: a signed-off, dated exception for a known failure of one requirement (or one check).

A waiver file is YAML, validated at load time so that a typo names the field::

    waivers:
      - requirement: OIF-DET-3
        check: card_ref_stable        # optional: only this check
        reason: card_ref rotation fixed in release 2.4
        approver: 王工 (platform onboarding)
        expires: 2026-12-31

The approver may sign the file (``yzt waiver sign WAIVERS.yaml --key KEY`` writes
``WAIVERS.yaml.sig``, an Ed25519 signature of its exact bytes). A certification bundle carries the
file and its signature; ``yzt validate --trust`` counts a bundle's waivers only when a trusted key
other than the run's own signed them.

A waived failure (or a check that could not be judged) shows as ``waived`` in every output; after
``expires`` the waiver no longer applies and the message says so. A waiver naming a requirement or
a check that does not exist is refused at load time, naming its line: a typo must not waive nothing
in silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from yzt.errors import InputFileError
from yzt.validation import MAX_YAML_BYTES, parse_yaml, read_text, schema_problems

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


def _item_lines(text: str) -> list[int]:
    """The line of each item of ``waivers:`` (1-based), for messages."""
    try:
        root = yaml.compose(text, Loader=_NoDatesLoader)  # safe loader's composer
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "waivers" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _unknown(waivers: Sequence[Waiver], lines: Sequence[int]) -> list[str]:
    """Waivers naming a requirement or check that does not exist, or a check of another id."""
    from yzt.conformance.registry import load_checks
    from yzt.conformance.requirements import load_requirements

    requirements = load_requirements()
    registry = load_checks()
    names = {spec.name: spec.requirement for spec in registry}
    problems = []
    for i, w in enumerate(waivers):
        where = f"line {lines[i]}: " if i < len(lines) else ""
        if w.requirement not in requirements:
            problems.append(f"{where}at waivers[{i}].requirement: {w.requirement} is not a "
                            "requirement of the protocol (see yzt conform --list)")
        elif w.check is not None and w.check not in names:
            problems.append(f"{where}at waivers[{i}].check: no check is named {w.check!r} (see yzt "
                            "conform --list)")
        elif w.check is not None and names[w.check] != w.requirement:
            problems.append(f"{where}at waivers[{i}].check: {w.check} judges {names[w.check]}, not "
                            f"{w.requirement}")
    return problems


def load_waivers(path: Path) -> list[Waiver]:
    """Load and validate a waiver file; :class:`InputFileError` names each bad field and its line."""
    return parse_waivers(read_text(path, max_bytes=MAX_YAML_BYTES), str(path))


def parse_waivers(text: str, where: str) -> list[Waiver]:
    """Validate a waiver file's text (``where`` names it in messages: a path, or a bundle member)."""
    document = parse_yaml(text, where, loader=_NoDatesLoader)
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
        if not problems:
            problems = _unknown(waivers, _item_lines(text))
    if problems:
        raise InputFileError(where, problems)
    return waivers


@dataclass(frozen=True)
class WaiverFile:
    """A waiver file as given: its waivers, its exact bytes and its approver's signature (if any)."""

    waivers: tuple[Waiver, ...]
    text: bytes
    signature: bytes | None = None


def signature_path(path: Path) -> Path:
    """Where the approver's signature of a waiver file lives: ``WAIVERS.yaml.sig``."""
    return path.with_name(path.name + ".sig")


def read_waiver_file(path: Path) -> WaiverFile:
    """Load a waiver file and, when ``FILE.sig`` lies beside it, its signature, which must sign these
    very bytes (a file changed after it was signed is refused here, not at the platform)."""
    from yzt.conformance.signatures import WAIVERS_CONTEXT, verify

    read_text(path, max_bytes=MAX_YAML_BYTES)  # a missing, binary or huge file: named
    data = path.read_bytes()  # the exact bytes the approver signed (no newline translation)
    waivers = tuple(parse_waivers(data.decode("utf-8"), str(path)))
    sig_path = signature_path(path)
    if not sig_path.exists():
        return WaiverFile(waivers, data)
    signature = read_text(sig_path, max_bytes=4096).encode("utf-8")
    verify(str(sig_path), signature, WAIVERS_CONTEXT, data, None)
    return WaiverFile(waivers, data, signature)


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
