"""The one way yzt writes a results file: what every runner's JSON output has in common.

Results are a public contract (CI jobs and dashboards read them), so every file names what it is
(``kind``) and which version of that kind's schema it follows (``schema_version``), and every file
is written the same way: keys sorted, two-space indent, UTF-8 without escapes, a final newline,
and NaN or infinity as ``null`` (JSON has neither). Readers dispatch on ``kind``, never on the
shape of the keys.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


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


def write(path: Path, kind: str, schema_version: int, document: dict[str, Any]) -> Path:
    """Write ``document`` as a results file of ``kind`` at ``path``; returns ``path``."""
    path.write_text(dumps(stamp(kind, schema_version, document)), encoding="utf-8")
    return path
