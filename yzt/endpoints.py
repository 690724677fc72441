"""The protocol's endpoint table, read once from the OpenAPI document (``openapi.yaml``).

Paths, methods, the id that makes a request idempotent, whether a request is signed, the success
status and the schemas of request and answer are facts of the OpenAPI document. The reference
operator's routes, the conformance checks, offline validation and the load traffic all read them
here, so an endpoint added to or changed in the document reaches every part at once. The table is
part of the core: the server reads it without importing the conformance code that judges servers.

An endpoint's ``name`` is its path after ``/v1/`` (``card-count``, ``disputes/{dispute_id}``); the
four business requests keep the short names the load mix and the fault profiles use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

_PACKAGE = "yzt"
_SCHEMA_REF = "#/components/schemas/"
_PREFIX = "/v1/"


@dataclass(frozen=True)
class Endpoint:
    """One operation of the interface."""

    name: str
    operation_id: str
    method: str
    path: str
    signed: bool
    id_key: str | None
    success_status: int
    request_schema: str | None
    response_schema: str
    carries_subject: bool

    @property
    def pattern(self) -> re.Pattern[str]:
        """The path template as a regular expression (a path parameter is one segment)."""
        return _pattern(self.path)

    def matches(self, method: str, path: str) -> bool:
        """Whether ``method path`` (the protocol path, no query) is this endpoint."""
        return method.upper() == self.method and self.pattern.fullmatch(path) is not None

    def path_params(self, path: str) -> dict[str, str] | None:
        """The path parameters of ``path`` by name (``{"dispute_id": "…"}``), or None when
        ``path`` is not this endpoint's. Values are the raw (still percent-encoded) segments."""
        found = _named_pattern(self.path).fullmatch(path)
        return None if found is None else found.groupdict()

    @property
    def label(self) -> str:
        """``POST /v1/card-count``, as checks and reports cite an endpoint."""
        return f"{self.method} {self.path}"


@cache
def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)))


@cache
def _named_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)))


def _schema_name(content: dict[str, Any] | None) -> str | None:
    if not content:
        return None
    ref = str(content["application/json"]["schema"]["$ref"])
    return ref[len(_SCHEMA_REF):] if ref.startswith(_SCHEMA_REF) else None


def openapi_path() -> Path:
    """Where ``openapi.yaml`` is (the generators of its derived parts rewrite it in place)."""
    return Path(__file__).resolve().parent / "openapi.yaml"


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (``yzt/openapi.yaml``, package data of the core), parsed once."""
    text = resources.files(_PACKAGE).joinpath("openapi.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when built: 5-10x faster
    document: dict[str, Any] = yaml.load(text, Loader=loader)
    return document


@cache
def endpoints() -> tuple[Endpoint, ...]:
    """Every operation of ``openapi.yaml``, in the document's order."""
    document = openapi_document()
    schemas = document["components"]["schemas"]
    out = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            success = next(int(code) for code in op["responses"] if str(code).startswith("2"))
            answer = _schema_name(op["responses"][str(success)].get("content"))
            request = _schema_name((op.get("requestBody") or {}).get("content"))
            params = [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
            id_key = op.get("x-yzt-id-key") or (params[0] if params else None)
            required = set(schemas[request].get("required", ())) if request else set()
            out.append(Endpoint(
                name=path.removeprefix(_PREFIX), operation_id=op["operationId"], method=method.upper(),
                path=path, signed=op.get("security", document.get("security")) != [],
                id_key=id_key, success_status=success, request_schema=request,
                response_schema=answer or "", carries_subject="subject" in required))
    return tuple(out)


def by_name(name: str) -> Endpoint:
    """The endpoint called ``name`` (``card-count``, ``disputes/{dispute_id}``, ``health``)."""
    for endpoint in endpoints():
        if endpoint.name == name:
            return endpoint
    raise KeyError(f"no endpoint {name!r}; known: {', '.join(e.name for e in endpoints())}")


def find(method: str, path: str) -> Endpoint | None:
    """The endpoint that ``method path`` addresses, or None."""
    for endpoint in endpoints():
        if endpoint.matches(method, path):
            return endpoint
    return None


def business() -> tuple[Endpoint, ...]:
    """The signed requests about a subject, each idempotent by its own id (the load mix's four)."""
    return tuple(e for e in endpoints() if e.carries_subject and e.method == "POST")
