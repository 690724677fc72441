"""Recorded exchanges: read from JSON Lines or HAR, written to HAR (masked) for bundles.

A JSON Lines record is::

    {"request": {"method": "POST", "path": "/v1/card-count", "headers": {...}, "body": {...}},
     "response": {"status": 200, "headers": {...}, "body": {...}}}

``path`` may be a full URL (``url``); bodies may be JSON values or strings. A HAR file (``.har``,
``{"log": {"entries": [...]}}``) is plain JSON. HAR files that ``yzt conform --evidence`` writes
carry two extra fields per entry (HAR allows ``_``-prefixed ones): ``_yzt_check``, the check that
sent the request, and ``_yzt_error``, a transport error instead of an answer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from yzt import __version__
from yzt.client import Exchange
from yzt.errors import InputFileError
from yzt.validation import TooDeepError, parse_json, read_text


@dataclass(frozen=True)
class RecordedExchange:
    """One exchange of a recording, where it came from, and (for bundles) the check that sent it."""

    where: str
    exchange: Exchange
    check: str = ""


def _body_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def protocol_path(target: str) -> str:
    """``https://op.example/yzt/v1/card-count?x`` → ``/v1/card-count`` (the base URL's prefix cut)."""
    path = urlsplit(target).path if "://" in target else target.split("?", 1)[0]
    at = path.find("/v1/")
    return path[at:] if at >= 0 else path


def _status(value: Any) -> int:
    """An HTTP status of a recording: an integer 100-599 (``ValueError`` names it otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"status {value!r}")
    status = int(value)
    if not 100 <= status <= 599:
        raise ValueError(f"status {value!r} (an HTTP status is 100-599)")
    return status


def _exchange(method: str, target: str, req_headers: dict[str, str], req_body: bytes,
              status: int | None, headers: dict[str, str], body: bytes,
              error: str | None = None, elapsed_s: float = 0.0) -> Exchange:
    return Exchange(method.upper(), protocol_path(target), req_headers, req_body, status,
                    {k.lower(): v for k, v in headers.items()}, body, elapsed_s, error)


def _from_jsonl(path: Path, text: str) -> list[RecordedExchange]:
    problems: list[str] = []
    out: list[RecordedExchange] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = parse_json(line)
            req, resp = raw["request"], raw["response"]
            target = req.get("path") or req["url"]
            out.append(RecordedExchange(f"line {lineno}", _exchange(
                str(req["method"]), str(target), dict(req.get("headers") or {}),
                _body_bytes(req.get("body")), _status(resp["status"]), dict(resp.get("headers") or {}),
                _body_bytes(resp.get("body")))))
        except json.JSONDecodeError as exc:
            problems.append(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
        except TooDeepError as exc:
            problems.append(f"line {lineno}: {exc}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"line {lineno}: not a record {{request: {{method, path|url, …}}, "
                            f"response: {{status, …}}}} (missing or bad {exc})")
    if problems:
        raise InputFileError(str(path), problems)
    return out


def _har_headers(items: Any) -> dict[str, str]:
    return {str(h["name"]): str(h["value"]) for h in items or [] if isinstance(h, dict)}


def from_har(where: str, document: Any,
             restore: Callable[[str], str] = lambda text: text) -> list[RecordedExchange]:
    """The entries of a HAR document; ``restore`` is applied to every text (bundles' masks)."""
    try:
        entries = document["log"]["entries"]
        out = []
        for i, entry in enumerate(entries):
            req, resp = entry["request"], entry["response"]
            content = resp.get("content") or {}
            body = restore(str(content.get("text") or ""))
            raw = base64.b64decode(body) if content.get("encoding") == "base64" else body.encode()
            post = restore((req.get("postData") or {}).get("text") or "")
            error = entry.get("_yzt_error")
            status = 0 if error and resp["status"] == 0 else _status(resp["status"])
            out.append(RecordedExchange(f"entry {i}", _exchange(
                str(req["method"]), str(req["url"]),
                {k: restore(v) for k, v in _har_headers(req.get("headers")).items()},
                post.encode(), None if error and status == 0 else status,
                {k: restore(v) for k, v in _har_headers(resp.get("headers")).items()}, raw,
                str(error) if error else None, float(entry.get("time") or 0.0) / 1000.0),
                str(entry.get("_yzt_check") or "")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputFileError(where, [f"not a HAR file log.entries[…] with request and response "
                                     f"(missing or bad {exc})"]) from None
    return out


def read_exchanges(path: Path) -> list[RecordedExchange]:
    """Records of a JSON Lines or HAR file, each with where it came from."""
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("{") and '"log"' in stripped[:200]:
        try:
            return from_har(str(path), parse_json(text))
        except json.JSONDecodeError:
            pass  # JSON Lines whose first record mentions "log"
        except TooDeepError as exc:
            raise InputFileError(str(path), [str(exc)]) from None
    records = _from_jsonl(path, text)
    if not records:
        raise InputFileError(str(path), ["the file holds no exchanges"])
    return records


def _har_pairs(headers: dict[str, str], mask: Callable[[str], str]) -> list[dict[str, str]]:
    return [{"name": k, "value": mask(v)} for k, v in headers.items()]


def to_har(base_url: str, records: Iterable[tuple[str, Exchange]],
           mask: Callable[[str], str]) -> dict[str, Any]:
    """A HAR 1.2 document of ``(check, exchange)`` pairs; every text passes ``mask``."""
    entries = []
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    for check, ex in records:
        request_text = ex.request_body.decode("utf-8", errors="replace")
        response_text = ex.response_body.decode("utf-8", errors="replace")
        entry: dict[str, Any] = {
            "startedDateTime": now, "time": round(ex.elapsed_s * 1000, 3),
            "request": {"method": ex.method, "url": base_url + ex.path, "httpVersion": "HTTP/1.1",
                        "cookies": [], "headers": _har_pairs(ex.request_headers, mask),
                        "queryString": [], "headersSize": -1, "bodySize": len(ex.request_body),
                        "postData": {"mimeType": ex.request_headers.get("Content-Type", ""),
                                     "text": mask(request_text)}},
            "response": {"status": ex.status or 0, "statusText": "", "httpVersion": "HTTP/1.1",
                         "cookies": [], "headers": _har_pairs(ex.response_headers, mask),
                         "content": {"size": len(ex.response_body), "mimeType": ex.content_type,
                                     "text": mask(response_text)},
                         "redirectURL": "", "headersSize": -1,
                         "bodySize": len(ex.response_body)},
            "cache": {}, "timings": {"send": 0, "wait": round(ex.elapsed_s * 1000, 3),
                                     "receive": 0},
            "_yzt_check": check,
        }
        if ex.error:
            entry["_yzt_error"] = mask(ex.error)
        entries.append(entry)
    return {"log": {"version": "1.2", "creator": {"name": "yzt", "version": __version__},
                    "entries": entries}}


def iter_requests(records: Iterable[RecordedExchange]) -> Iterator[dict[str, Any]]:
    """The JSON request bodies of a recording (to learn which subjects it asked about)."""
    for record in records:
        try:
            body = json.loads(record.exchange.request_body) if record.exchange.request_body else None
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(body, dict):
            yield body
