"""Write ``docs/protocol.md`` from the requirement catalogue and the OpenAPI document.

The protocol has one source: ``requirements.yaml`` (every rule with its id, Chinese text and the
regulator's phrase) and ``openapi.yaml`` (endpoints, headers, message schemas, the prose sections
under ``x-yzt-protocol``). The Markdown a person reads is rendered from them, so it cannot drift;
a test fails when the committed file differs from what :func:`render` writes.

Usage, from the repository root: ``python -m yzt.conformance.protocol_doc`` (rewrites
``docs/protocol.md``) or ``python -m yzt.conformance.protocol_doc --check`` (exit 1 when stale).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from yzt import endpoints
from yzt.conformance.requirements import (
    Requirement,
    load_requirements,
    load_unnumbered,
    protocol_version,
    regulation_phrases,
)

DEFAULT_OUT = Path("docs/protocol.md")
_REF = "#/components/schemas/"
#: Requirement groups of the prose sections, in the order the document shows them.
_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("Transport", "OIF-T", "transport"),
    ("Request signing", "OIF-AUTH", "signing"),
    ("Identity verification", "OIF-VER", "verification"),
    ("Subject validation", "OIF-ID", "subject"),
)
#: Where a shared message is described (Markdown heading anchors of this document).
_SECTION_OF = {"subject": "subject-validation-oif-id", "verification": "identity-verification-oif-ver",
               "card": "card", "problem": "error-codes"}
_CROSS_CUTTING = ("OIF-IDEM", "unnumbered:EXTRA-MEMBERS", "unnumbered:REFUSALS", "OIF-PII", "OIF-ERR")


def _all_requirements() -> dict[str, Requirement]:
    return {**load_requirements(), **load_unnumbered()}


def _in_group(req_id: str, group: str) -> bool:
    return req_id == group or req_id.startswith(group + "-")


def _requirement_lines(groups: Iterable[str]) -> list[str]:
    catalogue = _all_requirements()
    lines = []
    for group in groups:
        for req in catalogue.values():
            if not _in_group(req.id, group):
                continue
            label = req.id.removeprefix("unnumbered:")
            line = f"- **{label}** {req.text}"
            if req.regulation:
                line += " Regulation: " + "; ".join(f"「{p}」" for p in req.regulation) + "."
            lines.append(line)
    return lines


def _schemas() -> dict[str, Any]:
    found: dict[str, Any] = endpoints.openapi_document()["components"]["schemas"]
    return found


def _resolve(ref: str) -> tuple[str, dict[str, Any]]:
    """``#/components/schemas/common/$defs/uuid`` → ("uuid", the definition)."""
    parts = ref[len(_REF):].split("/")
    node: Any = _schemas()
    for part in parts:
        node = node[part]
    return parts[-1], node


def _describe(node: dict[str, Any]) -> tuple[str, str]:
    """(type, description) of one member's schema, for a table cell."""
    description = str(node.get("description", ""))
    if "$ref" in node:
        name, target = _resolve(node["$ref"])
        if "/$defs/" in node["$ref"]:
            return f"`{name}`", description or str(target.get("description", ""))
        return f"`{name}` ([{target.get('title', name)}](#{_SECTION_OF.get(name, name)}))", description
    if "const" in node:
        return f"`{node['const']}`", description
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"]), description
    kind = node.get("type")
    if kind == "array":
        item_type, _ = _describe(node.get("items", {}))
        bounds = f", at least {node['minItems']}" if node.get("minItems") else ""
        return f"list of {item_type}{bounds}", description
    if kind == "object" and "properties" in node:
        return "{" + ", ".join(f"`{k}`" for k in node["properties"]) + "}", description
    limits = []
    if "minimum" in node:
        limits.append(f"≥ {node['minimum']}")
    if "minLength" in node or "maxLength" in node:
        limits.append(f"{node.get('minLength', 0)}-{node.get('maxLength', '…')} characters")
    shown = f"{kind}" + (f" ({', '.join(limits)})" if limits else "")
    return shown, description


def _member_table(schema_name: str) -> list[str]:
    schema = _schemas()[schema_name]
    required = set(schema.get("required", ()))
    rows = ["| member | required | type | notes |", "|---|---|---|---|"]
    for member, node in schema.get("properties", {}).items():
        kind, description = _describe(node)
        rows.append(f"| `{member}` | {'yes' if member in required else 'no'} | {kind} | {description} |")
    return rows


def _message(schema_name: str) -> list[str]:
    schema = _schemas()[schema_name]
    return [f"`{schema_name}`: {schema.get('description', '')}", "", *_member_table(schema_name)]


def _endpoint_section(group: list[endpoints.Endpoint]) -> list[str]:
    document = endpoints.openapi_document()
    title = " and ".join(f"`{e.label}`" for e in group)
    lines = [f"### {title}", ""]
    req_groups: list[str] = []
    for e in group:
        op = document["paths"][e.path][e.method.lower()]
        req_groups += op.get("x-yzt-requirements", [])
        facts = [str(op.get("summary", "")).strip(), "Signed: " + ("yes." if e.signed else "no.")]
        if e.id_key:
            facts.append(f"Identified by `{e.id_key}`" + (" (idempotent, OIF-IDEM)." if e.method == "POST"
                                                          else " (path parameter)."))
        lines += [f"**{e.label}** — " + " ".join(facts), ""]
        if e.request_schema:
            lines += ["Request body:", "", *_message(e.request_schema), ""]
        lines += [f"Answer {e.success_status}:", "", *_message(e.response_schema), ""]
        errors = sorted(code for code in op["responses"] if not str(code).startswith("2"))
        if errors:
            lines += ["Error statuses: " + ", ".join(errors) + " (see [Error codes](#error-codes)).", ""]
    rules = _requirement_lines(req_groups)
    if rules:
        lines += ["Rules:", "", *rules, ""]
    return lines


def _grouped_endpoints() -> list[list[endpoints.Endpoint]]:
    groups: dict[str, list[endpoints.Endpoint]] = {}
    for e in endpoints.endpoints():
        groups.setdefault(e.name.split("/{")[0], []).append(e)
    return list(groups.values())


def _error_table() -> list[str]:
    problem = _schemas()["problem"]
    statuses: dict[str, int] = {}
    for rule in problem.get("allOf", []):
        code = rule["if"]["properties"]["code"]["const"]
        statuses[code] = int(rule["then"]["properties"]["status"]["const"])
    catalogue = _all_requirements()
    answers = {}
    for response in endpoints.openapi_document()["components"]["responses"].values():
        status = response["content"]["application/problem+json"]["schema"]["allOf"][1]["properties"]
        answers[int(status["status"]["const"])] = str(response["description"])
    rows = ["| code | status | rules that name it | meaning |", "|---|---|---|---|"]
    for code in problem["properties"]["code"]["enum"]:
        word = re.compile(rf"(?<![a-z_]){code}(?![a-z_])")
        cited = [r.id.removeprefix("unnumbered:") for r in catalogue.values() if word.search(r.text)]
        status = statuses[code]
        rows.append(f"| `{code}` | {status} | {', '.join(cited) or '—'} | {answers.get(status, '')} |")
    return rows


def _header_table() -> list[str]:
    schemes = endpoints.openapi_document()["components"]["securitySchemes"]
    rows = ["| header | value |", "|---|---|"]
    for scheme in schemes.values():
        rows.append(f"| `{scheme['name']}` | {scheme['description']} |")
    return rows


def _sla_table() -> list[str]:
    rows = ["| id | target | regulation |", "|---|---|---|"]
    for req in load_requirements().values():
        if req.kind == "sla":
            phrases = "; ".join(f"「{p}」" for p in req.regulation) or "—"
            rows.append(f"| {req.id} | {req.text} | {phrases} |")
    return rows


def _shared_types() -> list[str]:
    rows = ["| type | meaning |", "|---|---|"]
    for name, node in _schemas()["common"]["$defs"].items():
        rows.append(f"| `{name}` | {node.get('description', '')} |")
    return rows


def render() -> str:
    """The whole of ``docs/protocol.md``."""
    document = endpoints.openapi_document()
    prose: dict[str, str] = document["x-yzt-protocol"]
    info = document["info"]
    out: list[str] = [
        f"# {info['title']}, version {protocol_version()}",
        "",
        "<!-- Generated from conformance/requirements.yaml and yzt/openapi.yaml by",
        "     `python -m yzt.conformance.protocol_doc`. Edit those files, then run it again. -->",
        "",
        str(info["description"]).strip(),
        "",
        "## Actors and words",
        "",
        prose["actors"],
        "",
        "Shared types:",
        "",
        *_shared_types(),
        "",
    ]
    for title, group, key in _SECTIONS:
        out += [f"## {title} ({group})", "", prose[key], ""]
        if key == "signing":
            out += [*_header_table(), ""]
        if key == "verification":
            out += [*_message("verification"), ""]
        if key == "subject":
            out += [*_message("subject"), ""]
        out += [*_requirement_lines([group]), ""]
    out += ["## Endpoints", ""]
    for group_endpoints in _grouped_endpoints():
        out += _endpoint_section(group_endpoints)
    out += ["### Card", "", *_message("card"), ""]
    out += ["## Cross-cutting rules", "", *_requirement_lines(_CROSS_CUTTING), ""]
    out += ["### Error codes", "", *_message("problem"), "", *_error_table(), ""]
    out += ["## Test fixtures", "", prose["fixtures"], ""]
    out += ["## SLA profile", "", prose["sla"], "", *_sla_table(), ""]
    out += ["## Regulation", "", prose["regulation"], "",
            "| phrase | meaning | requirements |", "|---|---|---|"]
    catalogue = _all_requirements()
    for phrase, meaning in regulation_phrases().items():
        ids = [r.id for r in catalogue.values() if phrase in r.regulation]
        shown = ", ".join(ids) or ("all" if phrase == "一证通查" else "— (capacity model only)")
        out.append(f"| {phrase} | {meaning} | {shown} |")
    out += ["", "## Versions", "", prose["changes"], ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with ``--check`` say whether the committed one is current."""
    parser = argparse.ArgumentParser(prog="python -m yzt.conformance.protocol_doc",
                                     description="Write docs/protocol.md from the protocol's sources.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output file (default docs/protocol.md)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs, write nothing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text("utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run python -m yzt.conformance.protocol_doc", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
