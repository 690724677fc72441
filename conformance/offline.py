"""``yzt validate``: judge recorded exchanges (JSON Lines or HAR) against the schemas and PII rules.

For operators that cannot expose an endpoint: they record what their server answered and `yzt`
checks each answer the way the live suite's sweeps do (schemas, problem+json, Retry-After,
content types, OIF-PII-1). A JSON Lines record is::

    {"request": {"method": "POST", "path": "/v1/card-count", "headers": {...}, "body": {...}},
     "response": {"status": 200, "headers": {...}, "body": {...}}}

``path`` may be a full URL (``url``); bodies may be JSON values or strings. A HAR file (``.har``,
``{"log": {"entries": [...]}}``) is read directly: it is plain JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from yzt.client import Exchange
from yzt.conformance import schemas
from yzt.conformance.checks._expect import schema_for
from yzt.conformance.checks.pii import leaked_values
from yzt.domain.masking import KnownValues, mask_id_number, mask_name, scrub
from yzt.errors import InputFileError
from yzt.validation import TooDeepError, parse_json, read_text

SCHEMA_REQUIREMENT = {
    "card_count_response": "OIF-CNT-2", "card_details_response": "OIF-DET-1",
    "dispute_accepted": "OIF-DSP-2", "dispute_status": "OIF-DSP-2",
    "cancellation_accepted": "OIF-CXL-2", "cancellation_status": "OIF-CXL-2",
    "service_info": "OIF-INFO-1", "health": "unnumbered:HEALTH",
    "sandbox_clock_response": "unnumbered:SANDBOX-CLOCK",
}


@dataclass(frozen=True)
class Problem:
    """One violation in one recorded exchange."""

    where: str
    requirement: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.requirement} {self.message}"


def _body_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _protocol_path(target: str) -> str:
    """``https://op.example/yzt/v1/card-count?x`` → ``/v1/card-count`` (the base URL's prefix cut)."""
    path = urlsplit(target).path if "://" in target else target.split("?", 1)[0]
    at = path.find("/v1/")
    return path[at:] if at >= 0 else path


def _exchange(method: str, target: str, req_headers: dict[str, str], req_body: bytes, status: int,
              headers: dict[str, str], body: bytes) -> Exchange:
    return Exchange(method.upper(), _protocol_path(target), req_headers, req_body, status,
                    {k.lower(): v for k, v in headers.items()}, body)


def _from_jsonl(path: Path, text: str) -> Iterator[tuple[str, Exchange]]:
    problems: list[str] = []
    out: list[tuple[str, Exchange]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = parse_json(line)
            req, resp = raw["request"], raw["response"]
            target = req.get("path") or req["url"]
            out.append((f"line {lineno}", _exchange(
                str(req["method"]), str(target), dict(req.get("headers") or {}),
                _body_bytes(req.get("body")), http_status(resp["status"], "response.status"),
                dict(resp.get("headers") or {}), _body_bytes(resp.get("body")))))
        except json.JSONDecodeError as exc:
            problems.append(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
        except (_BadStatus, TooDeepError) as exc:
            problems.append(f"line {lineno}: {exc}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"line {lineno}: not a record {{request: {{method, path|url, …}}, "
                            f"response: {{status, …}}}} (missing or bad {exc})")
    if problems:
        raise InputFileError(str(path), problems)
    yield from out


class _BadStatus(ValueError):
    """A recorded status that no HTTP answer can have."""


def http_status(value: Any, field: str) -> int:
    """A recorded HTTP status: an integer 100-599 (``-1`` or ``1e308`` are no answer's status)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _BadStatus(f"{field} {value!r} is not an HTTP status (an integer 100-599)")
    try:
        number = float(value)
    except ValueError:
        raise _BadStatus(f"{field} {value!r} is not an HTTP status (an integer 100-599)") from None
    if not (100 <= number <= 599 and number == int(number)):
        raise _BadStatus(f"{field} {value!r} is not an HTTP status (an integer 100-599)")
    return int(number)


def _har_headers(items: Any) -> dict[str, str]:
    return {str(h["name"]): str(h["value"]) for h in items or [] if isinstance(h, dict)}


def _from_har(path: Path, document: Any) -> Iterator[tuple[str, Exchange]]:
    try:
        entries = document["log"]["entries"]
        out = []
        for i, entry in enumerate(entries):
            req, resp = entry["request"], entry["response"]
            content = resp.get("content") or {}
            body = str(content.get("text") or "")
            raw = base64.b64decode(body) if content.get("encoding") == "base64" else body.encode()
            post = (req.get("postData") or {}).get("text") or ""
            out.append((f"entry {i}", _exchange(
                str(req["method"]), str(req["url"]), _har_headers(req.get("headers")),
                post.encode(), http_status(resp["status"], f"log.entries[{i}].response.status"),
                _har_headers(resp.get("headers")), raw)))
    except _BadStatus as exc:
        raise InputFileError(str(path), [str(exc)]) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputFileError(str(path), [f"not a HAR file log.entries[…] with request and response "
                                         f"(missing or bad {exc})"]) from None
    yield from out


def read_exchanges(path: Path) -> list[tuple[str, Exchange]]:
    """Records of a JSON Lines or HAR file, each with where it came from."""
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("{") and '"log"' in stripped[:200]:
        try:
            return list(_from_har(path, parse_json(text)))
        except json.JSONDecodeError:
            pass  # JSON Lines whose first record mentions "log"
        except ValueError as exc:
            raise InputFileError(str(path), [str(exc)]) from None
    records = list(_from_jsonl(path, text))
    if not records:
        raise InputFileError(str(path), ["the file holds no exchanges"])
    return records


def _sensitive(ex: Exchange) -> dict[str, str]:
    """The subject's name and ID number in a request: they must not come back."""
    try:
        body = json.loads(ex.request_body) if ex.request_body else None
    except ValueError:
        return {}
    subject = body.get("subject") if isinstance(body, dict) else None
    out: dict[str, str] = {}
    if isinstance(subject, dict):
        name, id_number = subject.get("name"), subject.get("id_number")
        if isinstance(name, str) and len(name) >= 2:
            out[name] = mask_name(name)
        if isinstance(id_number, str) and len(id_number) >= 15:
            out[id_number] = mask_id_number(id_number)
    return out


def judge(where: str, ex: Exchange, known: dict[str, str] | KnownValues) -> Iterator[Problem]:
    """Every problem of one recorded exchange (``known``: fixture values → masked forms)."""
    label = f"{where} ({ex.method} {ex.path} → {ex.status})"
    status = ex.status or 0
    body = ex.json()
    if status < 400:
        name = schema_for(ex)
        if ex.response_body and ex.content_type != "application/json":
            yield Problem(label, "OIF-T-1", f"Content-Type {ex.content_type or '(none)'!r}, expected "
                                            "application/json")
        if name is not None:
            for p in schemas.validate(name, body) if body is not None else ["body is not JSON"]:
                yield Problem(label, SCHEMA_REQUIREMENT[name], f"{name}: {p}")
    else:
        if ex.content_type != "application/problem+json":
            yield Problem(label, "OIF-ERR-1", f"Content-Type {ex.content_type or '(none)'!r}, "
                                              "expected application/problem+json")
        if not isinstance(body, dict):
            yield Problem(label, "OIF-ERR-1", "the body is not a problem+json object")
        else:
            for p in schemas.validate("problem", body):
                yield Problem(label, "OIF-ERR-1", f"problem: {p}")
            if body.get("status") != status:
                yield Problem(label, "OIF-ERR-1", f"body status {body.get('status')!r} differs from "
                                                  f"the HTTP status {status}")
        if status in (429, 503) and not ex.response_headers.get("retry-after", "").strip():
            yield Problem(label, "OIF-ERR-2", f"{status} without Retry-After")
    texts = ex.response_body.decode("utf-8", errors="replace") + "\n" + "\n".join(
        f"{k}: {v}" for k, v in ex.response_headers.items())
    if body is not None:
        texts += "\n" + json.dumps(body, ensure_ascii=False)
    matcher = known if isinstance(known, KnownValues) else KnownValues(known)
    leaked = leaked_values(texts, matcher)
    leaked += sorted({masked for value, masked in _sensitive(ex).items()
                      if value in texts and masked not in leaked})
    if leaked:
        yield Problem(label, "OIF-PII-1", f"full personal data in the response: {', '.join(leaked[:4])}")


def validate_file(path: Path, known: dict[str, str] | None = None) -> tuple[int, list[Problem]]:
    """(number of exchanges, problems) of a recorded file; messages are masked."""
    records = read_exchanges(path)
    matcher = KnownValues(known or {})
    problems = [Problem(p.where, p.requirement, scrub(p.message))
                for where, ex in records for p in judge(where, ex, matcher)]
    return len(records), problems
