"""The contract of yzt's results files: one writer, one reader, a registry of kinds and their schemas.

Results are a public contract (CI jobs and dashboards read them), so every file names what it is
(``kind``) and which version of that kind's schema it follows (``schema_version``), and every file
is written the same way: keys sorted, two-space indent, UTF-8 without escapes, a final newline,
and NaN or infinity as ``null`` (JSON has neither). Readers dispatch on ``kind``, never on the
shape of the keys.

Each kind is registered once in :data:`KINDS`: its schema version, the file its command writes,
its JSON Schema (draft 2020-12, shipped in ``yzt/schema/results/``, documented in docs/results.md)
and the typed class that reads it. The class is named by its import path, as entry points name
theirs, so that this core module imports no runner: the class is imported when a file of its kind
is read. :func:`read` refuses, naming the file, the field and the fix, a file whose ``kind`` is
missing or unknown, whose ``schema_version`` is newer than this yzt knows, or that breaks its schema.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar

from yzt.errors import UserError
from yzt.verdict import Verdict

#: Where the kinds' JSON Schemas ship (package data of ``yzt``).
SCHEMA_DIR = Path(__file__).resolve().parent / "schema" / "results"
#: The largest results file :func:`load` reads, checked before parsing (parsed JSON takes about 7
#: times its size: a 248 MB file once took 1.75 GB). Those yzt writes are far smaller.
MAX_BYTES = 64 << 20


class Typed(Protocol):
    """What a kind's reader class offers: its kind, the document in, the document out."""

    KIND: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Self: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Kind:
    """One kind of results file: what the registry knows about it."""

    #: The value of the file's ``kind``.
    name: str
    #: The newest ``schema_version`` this yzt writes and reads.
    schema_version: int
    #: The file's name as its command writes it.
    file: str
    #: The command that writes it, for messages and docs.
    written_by: str

    @property
    def schema_path(self) -> Path:
        return SCHEMA_DIR / f"{self.name}.schema.json"

    def schema(self) -> dict[str, Any]:
        """The kind's JSON Schema."""
        return _schema(self.name)

    def reader_class(self) -> type[Typed]:
        """The typed class its writer registered (:func:`reads`); the core names no runner, so
        the writer's module must be imported first (``yzt.reports`` imports them all)."""
        try:
            return _READERS[self.name]
        except KeyError:
            raise UserError(f"no reader for {self.name!r} results is loaded: import the module of "
                            f"{self.written_by!r} that writes them (yzt.reports loads every one)"
                            ) from None


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("sim", 1, "sim-results.json", "yzt sim"),
    Kind("plan", 1, "plan.json", "yzt plan"),
    Kind("conform", 1, "results.json", "yzt conform"),
    Kind("load", 1, "results.json", "yzt load"),
    Kind("capacity", 1, "capacity.json", "yzt load --find-capacity"),
    Kind("check", 1, "check.json", "yzt check"),
    Kind("preflight", 1, "preflight.json", "yzt check TARGET_URL"),
    Kind("calibration", 1, "sim/calibration.json", "yzt check TARGET_URL"),
    Kind("federation", 1, "federation.json", "yzt federation up"),
    Kind("twin-live", 1, "twin-live.json", "yzt twin"),
    Kind("twin", 1, "twin.json", "yzt twin"),
)}

_READERS: dict[str, type[Typed]] = {}
T = TypeVar("T", bound=type)


def reads(cls: T) -> T:
    """Class decorator: ``cls`` (with ``KIND``, ``from_json``, ``to_json``) reads its kind's files.
    Each runner registers the class of what it writes, like checks register themselves."""
    kind = getattr(cls, "KIND", None)
    if kind not in KINDS:
        raise ValueError(f"{cls.__name__}: KIND {kind!r} is not a known kind ({known()})")
    if getattr(cls, "SCHEMA_VERSION", None) != KINDS[kind].schema_version:
        raise ValueError(f"{cls.__name__}: SCHEMA_VERSION differs from the {kind!r} kind's")
    _READERS[kind] = cls
    return cls


def clean(obj: Any) -> Any:
    """``obj`` with NaN and infinities as ``None`` and tuples as lists: what JSON can hold."""
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    return obj


def dumps(document: dict[str, Any]) -> str:
    """The text of a results file: deterministic, so equal results are equal bytes."""
    return json.dumps(clean(document), sort_keys=True, ensure_ascii=False, indent=2,
                      allow_nan=False) + "\n"


def stamp(kind: str, schema_version: int, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its ``kind`` and ``schema_version`` set."""
    return {**document, "kind": kind, "schema_version": schema_version}


def dumps_kind(kind: str, document: dict[str, Any]) -> str:
    """The text of a results file of ``kind``, stamped with the version the registry gives it."""
    return dumps(stamp(kind, KINDS[kind].schema_version, document))


def write(path: Path, kind: str, schema_version: int, document: dict[str, Any]) -> Path:
    """Write ``document`` as a results file of ``kind`` at ``path``; returns ``path``."""
    path.write_text(dumps(stamp(kind, schema_version, document)), encoding="utf-8")
    return path


def write_typed(path: Path, record: Typed) -> Path:
    """Write a typed record (its class's ``KIND`` and ``SCHEMA_VERSION``) at ``path``."""
    return write(path, record.KIND, record.SCHEMA_VERSION, record.to_json())


# --- reading -------------------------------------------------------------------------------------

def known() -> str:
    """The known kinds, as a message lists them."""
    return ", ".join(KINDS)


def load(path: Path) -> Any:
    """The parsed JSON of ``path``, refused over :data:`MAX_BYTES` before it is parsed."""
    from yzt.validation import parse_json

    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            raw = b"" if size > MAX_BYTES else f.read(MAX_BYTES + 1)
        if size > MAX_BYTES or len(raw) > MAX_BYTES:
            raise UserError(f"{path}: {max(size, len(raw)) / 2**20:.1f} MiB, over the "
                            f"{MAX_BYTES >> 20} MiB a results file may have (yzt report "
                            "reads the results yzt writes: give the folder of a run)")
        return parse_json(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the results ({exc})") from None


def kind_of(document: Any, where: str) -> Kind:
    """The registered kind of ``document``; UserError naming the file, what it found and the fix
    when ``kind`` is missing or unknown or ``schema_version`` is newer than this yzt knows."""
    if not isinstance(document, dict):
        raise UserError(f"{where}: not a yzt results file (a JSON object with \"kind\" is expected, "
                        f"found {type(document).__name__}); known kinds: {known()}")
    if "kind" not in document:
        raise UserError(f"{where}: no \"kind\", so not a results file of this yzt (known kinds: "
                        f"{known()}; see docs/results.md): give a folder or file that a yzt command "
                        "wrote, or run that command again with this yzt")
    name = document["kind"]
    kind = KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise UserError(f"{where}: unknown kind {name!r} (known kinds: {known()}; see "
                        "docs/results.md): give a folder or file that a yzt command wrote")
    version = document.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > kind.schema_version:
        raise UserError(f"{where}: kind {kind.name!r} schema_version {version} is newer than this "
                        f"yzt reads ({kind.schema_version}): upgrade yzt to read it")
    return kind


def validate(document: Any, where: str) -> Kind:
    """Check ``document`` against its kind's schema; UserError names the first failing field."""
    import jsonschema

    kind = kind_of(document, where)
    error = jsonschema.exceptions.best_match(_validator(kind.name).iter_errors(document))
    if error is not None:
        field = field_name(error.absolute_path) or "(the document)"
        raise UserError(f"{where}: {field}: {error.message} (a {kind.name!r} results file, schema "
                        f"{kind.schema_path.name}, described in docs/results.md)")
    return kind


def field_name(path: Any) -> str:
    """A JSON path as messages show it: ``checks[3].verdict``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse(document: Any, where: str) -> Typed:
    """``document`` validated and read into its kind's typed class."""
    kind = validate(document, where)
    try:
        return kind.reader_class().from_json(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{where}: not a valid {kind.name!r} results file ({exc})") from None


def read(path: Path) -> Typed:
    """The typed record of the results file at ``path`` (see :func:`parse`)."""
    return parse(load(path), str(path))


R = TypeVar("R", bound=Typed)


def read_as(path: Path, cls: type[R]) -> R:
    """The record at ``path``, which must be of the kind ``cls`` reads (UserError otherwise)."""
    document = load(path)
    kind = validate(document, str(path))
    if kind.name != cls.KIND:
        raise UserError(f"{path}: a {kind.name!r} results file where a {cls.KIND!r} one is expected")
    try:
        return cls.from_json(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: not a valid {kind.name!r} results file ({exc})") from None


@cache
def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(KINDS[name].schema_path.read_text(encoding="utf-8"))
    return schema


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/NAME"}`` replaced by the definition itself."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            rest = {k: _inline(v, defs) for k, v in node.items() if k != "$ref"}
            return {**_inline(defs[ref.removeprefix("#/$defs/")], defs), **rest}
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@cache
def _validator(name: str) -> Any:
    """The kind's validator, its ``$defs`` references inlined: the same schema, validated about
    twice as fast (resolving a reference per row dominated a 20 000-check conform file)."""
    import jsonschema

    schema = _schema(name)
    body = {k: v for k, v in schema.items() if k != "$defs"}
    return jsonschema.Draft202012Validator(_inline(body, schema.get("$defs", {})))


def main(argv: list[str] | None = None) -> int:
    """``python -m yzt.resultfile FILE…``: check results files against their kinds' schemas (for a
    CI job that reads them): one line per file, exit 0 when all are valid, 2 otherwise."""
    import sys

    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m yzt.resultfile FILE…", file=sys.stderr)
        return 2
    status = Verdict.PASS.exit_code
    for given in paths:
        try:
            kind = validate(load(Path(given)), given)
        except UserError as exc:
            print(f"invalid: {exc}", file=sys.stderr)
            status = Verdict.ERROR.exit_code
            continue
        print(f"{given}: valid {kind.name} results, schema version {kind.schema_version}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
