"""docs/protocol.md is generated from the protocol's one source and carries everything a user needs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from yzt import endpoints
from yzt.conformance import protocol_doc
from yzt.conformance.requirements import load_requirements, load_unnumbered, regulation_phrases

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol.md"


@pytest.fixture(scope="module")
def text() -> str:
    return protocol_doc.render()


def test_committed_document_is_current(text: str) -> None:
    assert DOC.read_text("utf-8") == text, (
        "docs/protocol.md is out of date: run python -m yzt.conformance.protocol_doc")


def test_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "protocol.md"
    stale.write_text(protocol_doc.render().replace("OIF-CXL-1", "OIF-CXL-9", 1), "utf-8")
    assert protocol_doc.main(["--check", "--out", str(stale)]) == 1
    protocol_doc.main(["--out", str(stale)])
    assert protocol_doc.main(["--check", "--out", str(stale)]) == 0


def test_every_requirement_with_its_regulation_phrase(text: str) -> None:
    for req in [*load_requirements().values(), *load_unnumbered().values()]:
        label = req.id.removeprefix("unnumbered:")
        assert f"**{label}** {req.text}" in text or f"| {req.id} | {req.text} |" in text, req.id
        for phrase in req.regulation:
            assert f"「{phrase}」" in text
    for phrase in regulation_phrases():
        assert f"| {phrase} |" in text


def test_every_endpoint_with_its_members(text: str) -> None:
    schemas = endpoints.openapi_document()["components"]["schemas"]
    for e in endpoints.endpoints():
        assert f"**{e.label}**" in text
        for name in filter(None, (e.request_schema, e.response_schema)):
            for member in schemas[name]["properties"]:
                assert re.search(rf"^\| `{member}` \|", text, re.M), (e.label, member)


@pytest.mark.parametrize("needed", [
    "X-YZT-Key-Id", "X-YZT-Timestamp", "X-YZT-Nonce", "X-YZT-Signature",   # signing headers
    "METHOD\nPATH\nTIMESTAMP\nNONCE\nhex(SHA256(body))",                  # the string to sign
    "v1|METHOD|ID_NUMBER|NAME|VERIFIED_AT",                               # the verification ticket
    "GB 11643", "(ISO 7064",                                              # subject validation
    "## Test fixtures", "genuine: false", "## SLA profile", "## Actors and words",
    "**EXTRA-MEMBERS** Requests are closed", "(OIF-PII-1)", "(OIF-CNT-1)",
    "**REFUSALS**", "rejected in the POST answer itself breaks\nOIF-CXL-1".replace("\n", " "),
    "| `idempotency_conflict` | 409 |", "| `payload_too_large` | 413 |", "| `unavailable` | 503 |",
])
def test_document_carries(text: str, needed: str) -> None:
    assert needed in text


def test_document_names_its_version(text: str) -> None:
    assert text.startswith("# YZT Operator Interface, version 1.3\n")
    # v1.3: the HTTP Date header carries no sandbox time
    assert ("The HTTP Date header is not part of this protocol: an operator may send real time "
            "there while its sandbox clock is advanced, so a platform learns the sandbox clock only "
            "from this endpoint.") in text


#: Pointers out of the repository: the shared folder beside a checkout, absolute paths of a machine,
#: a file that exists only outside the project. "/tmp/x" style values in tests are data, not pointers.
OUTSIDE = re.compile(r"\.\./shared|/work/|/home/\w|/root/|/Users/|[A-Z]:\\\\|regulation\.md"
                     r"|(?<![\w/\"])protocol\.md")


def test_nothing_in_the_repository_points_outside_it() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    hits = []
    for name in files:
        path = ROOT / name
        if path.suffix not in (".py", ".md", ".yaml", ".yml", ".json", ".toml", ".html", ".txt", "") \
                or not path.is_file():
            continue
        for lineno, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line) and "OUTSIDE" not in line and "re.compile" not in line:
                hits.append(f"{name}:{lineno}: {line.strip()}")
    assert not hits, "\n".join(hits)
