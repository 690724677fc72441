"""JUnit files against the schema CI servers read, and against the report they come with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import xmlschema

from yzt.verdict import Verdict

#: The JUnit dialect GitLab and Jenkins read (see the file's header for its source and licence).
XSD = Path(__file__).parent / "data" / "junit-jenkins.xsd"


def load_junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def _cases(junit: Path) -> list[dict[str, str]]:
    """Every test case of a junit.xml: name, classname and how it ended."""
    import xml.etree.ElementTree as ET

    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        text = "".join((child.get("message") or "") + "\n" + (child.text or "")
                       for child in case if child.tag in ("failure", "error", "skipped", "system-out"))
        out.append({"name": case.get("name", ""), "classname": case.get("classname", ""),
                    "kind": kinds[0] if kinds else "passed", "text": text})
    return out


def same_cases(out: Path, schema: xmlschema.XMLSchema) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """report.json and junit.xml of a folder, after checking that the JUnit file validates and has
    one case per row of the report, with the row's verdict."""
    junit = out / "junit.xml"
    schema.validate(str(junit))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    cases = _cases(junit)
    rows = [(f"yzt.{s['key']}", f"{r['requirement']} {r['name']}".strip(), Verdict.parse(r["verdict"]).junit)
            for s in report["sections"] for r in s["rows"]]
    assert [(c["classname"], c["name"], c["kind"]) for c in cases] == rows
    return report, cases
