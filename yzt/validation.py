"""Load YAML/JSON input files and validate them against JSON Schemas, naming the field and the fix.

Every input file of yzt (topology, scenarios, SLA profiles, waivers, fault profiles) goes through
:func:`load_document`, so every bad file fails the same way: ``file: at operators[3].host: 'X' is not
one of ['CMCC', 'CUCC', 'CTCC']``, before anything runs.

Reading is bounded before parsing: a YAML file may hold at most :data:`MAX_YAML_BYTES`, nest at most
:data:`MAX_DEPTH` levels and use no aliases (``*name``), so a 500-byte "billion laughs" file or a
200,000-level nesting is a named error, not a hang, an exhausted memory or a RecursionError. JSON
from users (fixture lines, recorded exchanges) goes through :func:`parse_json`, bounded the same way.
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


#: Largest YAML input file (scenarios, topology, waivers, faults, SLA files are a few KiB).
MAX_YAML_BYTES = 1 << 20
#: Deepest nesting of mappings and lists accepted in YAML and JSON input (real files use under 10).
MAX_DEPTH = 64


def read_text(path: Path, *, max_bytes: int | None = None) -> str:
    """A UTF-8 input file's text; a missing, unreadable, binary or too large file (a directory too)
    is an :class:`InputFileError` naming the file and the fix."""
    try:
        if path.is_dir():
            raise InputFileError(str(path), ["is a directory (give the path of a file)"])
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise InputFileError(str(path), [
                f"{path.stat().st_size} bytes, more than the {max_bytes} an input file of this kind "
                "may hold (is it the right file?)"])
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(str(path), ["file not found (check the path)"]) from None
    except PermissionError:
        raise InputFileError(str(path), ["cannot read: permission denied (check its mode)"]) from None
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), [f"not UTF-8 text (byte {exc.start}): is it a binary "
                                         "file?"]) from None
    except OSError as exc:
        raise InputFileError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None


class _Bounded:
    """Composer limits mixed into a safe loader: no aliases, nesting at most :data:`MAX_DEPTH`.

    PyYAML expands every alias into a shared node and builds it recursively, so a few nested
    aliases make billions of nodes; refusing them costs nothing for yzt's files, which use none.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        loader: Any = self
        if loader.check_event(yaml.AliasEvent):
            event = loader.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"alias *{event.anchor} found: aliases and anchors are not accepted in "
                "yzt input files (write the values out)", event.start_mark)
        if self._depth >= MAX_DEPTH:
            event = loader.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep (is it the right file?)",
                event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


def read_yaml(path: Path, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """Parse a YAML (or JSON) file with a safe ``loader``, bounded in size, depth and aliases; a
    syntax error names the line and column."""
    return parse_yaml(read_text(path, max_bytes=MAX_YAML_BYTES), str(path), loader)


def parse_yaml(text: str, where: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """:func:`read_yaml` for text already read (a member of a bundle); ``where`` names it."""
    if len(text) > MAX_YAML_BYTES:
        raise InputFileError(where, [f"more than the {MAX_YAML_BYTES} bytes a YAML input may hold"])
    bounded = type(f"Bounded{loader.__name__}", (_Bounded, loader), {})
    try:
        return yaml.load(text, Loader=bounded)  # safe: loader is SafeLoader or a subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputFileError(where, [f"{at}not valid YAML: {problem}"]) from None
    except RecursionError:  # a limit above should have caught it; never a traceback
        raise InputFileError(where, [f"nested too deep (at most {MAX_DEPTH} levels)"]) from None


class TooDeepError(ValueError):
    """JSON or YAML input nested deeper than :data:`MAX_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"nested too deep (at most {MAX_DEPTH} levels of objects and lists)")


def parse_json(text: str | bytes) -> Any:
    """``json.loads`` for user input, with nesting bounded by :data:`MAX_DEPTH`.

    Raises ``json.JSONDecodeError`` for bad syntax and :class:`TooDeepError` for deep nesting, both
    ``ValueError`` with a message fit for a user.
    """
    try:
        document = json.loads(text)
    except RecursionError:
        raise TooDeepError from None
    if _depth_over(document, MAX_DEPTH):
        raise TooDeepError
    return document


def _depth_over(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` containers deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


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
