"""A simple, self-contained HTML page of one ``yzt conform`` run (``yzt check`` makes the rich one).

Everything shown is escaped, and every text has already been masked by the runner; the page
scrubs once more so that no full ID number or MSISDN can reach it by another path.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING

from yzt.domain.masking import scrub

if TYPE_CHECKING:
    from yzt.conformance.results import ConformResults

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;
text-align:left;vertical-align:top}.pass{color:#176f2c}.fail,.error{color:#b00020;
font-weight:bold}.incomplete,.warning{color:#8a6d00}.waived,.not_applicable{color:#555}pre{white-space:pre-wrap;
margin:0;font-size:85%}"""


def _e(text: object) -> str:
    return escape(scrub(str(text)), quote=True)


def render(run: ConformResults) -> str:
    """The page as a string: primary failures first (the records' order), consequences marked."""
    rows = []
    for r in run.checks:
        evidence = json.dumps(list(r.evidence), ensure_ascii=False, indent=1) if r.evidence else ""
        details = (f"<details><summary>evidence</summary><pre>{_e(evidence)}</pre></details>"
                   if evidence else "")
        rows.append(f"<tr><td>{_e(r.requirement)}</td><td>{_e(r.check)}</td>"
                    f"<td class=\"{_e(r.verdict.value)}\">{_e(r.verdict.value)}"
                    f"{'' if r.primary or not r.consequence_of else ' (consequence)'}</td>"
                    f"<td>{_e(r.message)}{details}</td></tr>")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(run.counts.items()))
    notes = "".join(f"<li>{_e(n)}</li>" for n in run.notes)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>yzt conform — {_e(run.operator_id)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>yzt conform: {_e(run.verdict.value.upper())}</h1>"
        f"<p>Target {_e(run.target)}, operator {_e(run.operator_id)}: {_e(counts)}; "
        f"{run.requests} requests in {run.duration_s:.1f} s.</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + f"<p>{len(run.primary_failures)} primary failure(s), "
        f"{len(run.consequential_failures)} consequence(s), {len(run.warnings)} warning(s).</p>"
        + "<table><thead><tr><th>Requirement</th><th>Check</th><th>Verdict</th><th>Message</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></body></html>\n"
    )
