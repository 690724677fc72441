"""JUnit XML from plain verdict records, for CI systems that show test results.

One writer serves conformance checks, SLA thresholds and simulation SLAs: callers map their records
to :class:`Case` and the writer knows nothing else about them. Test case names start with the
requirement id (``OIF-AUTH-3 replayed_nonce``) so that CI pages sort and group by requirement.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from yzt.domain.masking import scrub

#: Verdicts that JUnit shows as failures, errors and skips; everything else is a pass.
_FAILED = {"failed", "fail", "breached"}
_ERROR = {"error"}
_SKIPPED = {"not_testable", "waived", "skipped", "inconclusive", "incomplete", "not_applicable"}


@dataclass(frozen=True)
class Case:
    """One JUnit test case."""

    name: str
    classname: str
    status: str
    message: str = ""
    details: str = ""
    time_s: float = 0.0


def to_xml(suite_name: str, cases: Iterable[Case]) -> bytes:
    """Render one ``<testsuite>`` inside ``<testsuites>``; every text is scrubbed of PII."""
    cases = list(cases)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests=str(len(cases)),
                          failures=str(sum(c.status in _FAILED for c in cases)),
                          errors=str(sum(c.status in _ERROR for c in cases)),
                          skipped=str(sum(c.status in _SKIPPED for c in cases)),
                          time=f"{sum(c.time_s for c in cases):.3f}")
    for case in cases:
        el = ET.SubElement(suite, "testcase", name=scrub(case.name), classname=case.classname,
                           time=f"{case.time_s:.3f}")
        message = scrub(case.message)
        if case.status in _FAILED:
            ET.SubElement(el, "failure", message=message, type=case.status).text = scrub(case.details)
        elif case.status in _ERROR:
            ET.SubElement(el, "error", message=message, type=case.status).text = scrub(case.details)
        elif case.status in _SKIPPED:
            ET.SubElement(el, "skipped", message=f"{case.status}: {message}")
        if case.details and case.status not in _FAILED | _ERROR:
            ET.SubElement(el, "system-out").text = scrub(case.details)
    ET.indent(suites)
    data: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return data


def write_junit(path: Path, suite_name: str, cases: Iterable[Case]) -> None:
    """Write the JUnit file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_xml(suite_name, cases))
