"""The one JUnit XML writer, for CI systems that show test results.

Callers map their rows to :class:`Case`; a case's :class:`~yzt.verdict.Verdict` decides how JUnit
shows it (:attr:`Verdict.junit`). Test case names start with the requirement id
(``OIF-AUTH-3 replayed_nonce``) so that CI pages sort and group by requirement.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from yzt.domain.masking import scrub
from yzt.verdict import Verdict


@dataclass(frozen=True)
class Case:
    """One JUnit test case."""

    name: str
    classname: str
    verdict: Verdict
    message: str = ""
    details: str = ""
    time_s: float = 0.0


def to_xml(suite_name: str, cases: Iterable[Case]) -> bytes:
    """Render one ``<testsuite>`` inside ``<testsuites>``; every text is scrubbed of PII."""
    cases = list(cases)
    kinds = [c.verdict.junit for c in cases]
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name=scrub(suite_name), tests=str(len(cases)),
                          failures=str(kinds.count("failure")), errors=str(kinds.count("error")),
                          skipped=str(kinds.count("skipped")),
                          time=f"{sum(c.time_s for c in cases):.3f}")
    for case in cases:
        el = ET.SubElement(suite, "testcase", name=scrub(case.name), classname=case.classname,
                           time=f"{case.time_s:.3f}")
        message = scrub(case.message)
        kind = case.verdict.junit
        if kind in ("failure", "error"):
            ET.SubElement(el, kind, message=message, type=case.verdict.value).text = scrub(case.details)
        elif kind == "skipped":
            ET.SubElement(el, "skipped", message=f"{case.verdict.value}: {message}")
        if kind not in ("failure", "error"):
            # a warning is a passed case whose output says what to review
            said = f"{case.verdict.value}: {message}\n" if case.verdict is not Verdict.PASS else ""
            if said or case.details:
                ET.SubElement(el, "system-out").text = said + scrub(case.details)
    ET.indent(suites)
    data: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return data


def write_junit(path: Path, suite_name: str, cases: Iterable[Case]) -> None:
    """Write the JUnit file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_xml(suite_name, cases))
