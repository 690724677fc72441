"""Load YAML/JSON input files and validate them against JSON Schemas, naming the field and the fix.

Every input file of yzt (topology, scenarios, SLA profiles, waivers, fault profiles) goes through
:func:`load_document`, so every bad file fails the same way: ``file: at operators[3].host: 'X' is not
one of ['CMCC', 'CUCC', 'CTCC']``, before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from yzt.errors import InputFileError


def field_path(parts: Iterable[Any]) -> str:
    """``['operators', 3, 'host']`` → ``operators[3].host`` (``(root)`` for the document itself)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def _describe(error: jsonschema.ValidationError) -> str:
    where = field_path(error.absolute_path)
    if error.validator == "additionalProperties":
        return f"at {where}: {error.message} (remove it, or check its spelling)"
    if error.validator == "required":
        return f"at {where}: {error.message} (add it)"
    return f"at {where}: {error.message}"


def schema_problems(document: Any, schema: Mapping[str, Any]) -> list[str]:
    """All schema violations of ``document``, each naming the field path, in document order."""
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(e) for e in errors]


def read_text(path: Path) -> str:
    """A UTF-8 input file's text; a missing or unreadable file is an :class:`InputFileError`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(str(path), ["file not found (check the path)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(str(path), [f"cannot read: {exc}"]) from None


def read_yaml(path: Path, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """Parse a YAML (or JSON) file with a safe ``loader``; a syntax error names the line and column."""
    text = read_text(path)
    try:
        return yaml.load(text, Loader=loader)  # safe: loader is SafeLoader or a subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputFileError(str(path), [f"{where}not valid YAML: {problem}"]) from None


def load_document(path: Path, schema: Mapping[str, Any]) -> Any:
    """Read ``path`` and validate it; raise :class:`InputFileError` listing every problem."""
    document = read_yaml(path)
    problems = schema_problems(document, schema)
    if problems:
        raise InputFileError(str(path), problems)
    return document


def package_schema(package: str, name: str) -> dict[str, Any]:
    """Load a JSON Schema shipped inside a yzt package (e.g. ``yzt.scenarios``, ``topology``)."""
    text = resources.files(package).joinpath("schema", f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
