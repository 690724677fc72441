"""Generate ``components.schemas`` of ``openapi.yaml`` from the JSON Schema files.

The JSON files are the one source. OpenAPI tools resolve local pointers more reliably than ``$id``
URNs, so each schema is copied with ``$schema``/``$id`` dropped and every ``urn:yzt:schema:<name>``
reference rewritten to ``#/components/schemas/<name>``. The test suite checks that the committed
document equals this transformation; after editing a schema run
``python -m yzt.conformance.openapi_components`` to refresh it.
"""

from __future__ import annotations

from typing import Any

import yaml

from yzt.conformance.schemas import ID_PREFIX, SCHEMA_NAMES, load_schema
from yzt.endpoints import openapi_path

#: The hand-written part of openapi.yaml ends with this line; everything after it is generated.
MARKER = "  # --- generated from conformance/schema/*.schema.json: do not edit below ---"


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$schema", "$id"):
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith(ID_PREFIX):
                name, _, fragment = value[len(ID_PREFIX) :].partition("#")
                out[key] = f"#/components/schemas/{name}{fragment}"
            else:
                out[key] = _rewrite(value)
        return out
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def to_component(schema: dict[str, Any]) -> dict[str, Any]:
    """One JSON Schema file as an OpenAPI component (no ``$id``, local ``$ref``s)."""
    rewritten: dict[str, Any] = _rewrite(schema)
    return rewritten


def components() -> dict[str, dict[str, Any]]:
    """``components.schemas`` as it must appear in ``openapi.yaml``."""
    return {name: to_component(load_schema(name)) for name in SCHEMA_NAMES}


def render(document_text: str) -> str:
    """``document_text`` with everything after :data:`MARKER` regenerated."""
    head, found, _ = document_text.partition(MARKER + "\n")
    if not found:
        raise ValueError("openapi.yaml lacks the generated-section marker line")
    dumped = yaml.safe_dump({"schemas": components()}, sort_keys=False, allow_unicode=True, width=100)
    body = "".join(f"  {line}\n" if line else "\n" for line in dumped.splitlines())
    return head + MARKER + "\n" + body


def main() -> None:
    """Rewrite the generated part of ``yzt/openapi.yaml`` in place."""
    path = openapi_path()
    path.write_text(render(path.read_text("utf-8")), "utf-8")


if __name__ == "__main__":
    main()
