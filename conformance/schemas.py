"""Load and apply the protocol's JSON Schemas: one definition of every message for every caller.

The reference operator, the conformance checks and the load tests all call :func:`validate`, so a
message is judged the same way wherever it is seen. Schemas refer to each other by ``$id``
(``urn:yzt:schema:<name>``) and resolve through one :class:`referencing.Registry`; validators are
built once and cached, because the load tests validate every response.

Problems name the field path (``subject.id_number``) and never echo a subject's name, a full ID
number or a full MSISDN (OIF-PII-1 applies to yzt's own reports too).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from yzt import endpoints
from yzt.domain.idnumber import id_number_problem, name_problem
from yzt.domain.masking import scrub
from yzt.validation import field_path

#: Every schema file in ``conformance/schema/`` (``common`` holds shared ``$defs`` only).
SCHEMA_NAMES: tuple[str, ...] = (
    "common",
    "subject",
    "verification",
    "card",
    "problem",
    "card_count_request",
    "card_count_response",
    "card_details_request",
    "card_details_response",
    "dispute_request",
    "dispute_accepted",
    "dispute_status",
    "cancellation_request",
    "cancellation_accepted",
    "cancellation_status",
    "service_info",
    "health",
    "sandbox_clock_request",
    "sandbox_clock_response",
)

#: Request bodies the platform sends (closed: an unknown property is a 400).
REQUEST_SCHEMAS: tuple[str, ...] = (
    "card_count_request",
    "card_details_request",
    "dispute_request",
    "cancellation_request",
    "sandbox_clock_request",
)

ID_PREFIX = "urn:yzt:schema:"
_PACKAGE = "yzt.conformance"
# Errors whose message may be shown although the instance is an object (they name keys only).
_KEY_ONLY = frozenset({"required", "additionalProperties", "unevaluatedProperties"})
_SUBJECT_RULES = {("subject", "id_number"): "invalid_id_number", ("subject", "name"): "invalid_name"}


def schema_id(name: str) -> str:
    """``card`` → ``urn:yzt:schema:card``."""
    return ID_PREFIX + name


def _check_name(name: str) -> None:
    if name not in SCHEMA_NAMES:
        raise ValueError(f"unknown schema {name!r}; known schemas: {', '.join(SCHEMA_NAMES)}")


@cache
def _raw(name: str) -> dict[str, Any]:
    _check_name(name)
    text = resources.files(_PACKAGE).joinpath("schema", f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def load_schema(name: str) -> dict[str, Any]:
    """The schema ``name`` as a fresh dict (a copy: callers may change it freely)."""
    return copy.deepcopy(_raw(name))


@cache
def registry() -> Registry[Any]:
    """A registry holding every schema under its ``$id``, so ``$ref``s between files resolve."""
    resources_ = [
        (schema_id(name), Resource.from_contents(_raw(name), default_specification=DRAFT202012))
        for name in SCHEMA_NAMES
    ]
    registry_: Registry[Any] = Registry().with_resources(resources_)
    return registry_.crawl()


def _is_utc_time(instance: object) -> bool:
    # The schema's pattern fixes the shape; this checks the calendar and the clock (no 25:00, no
    # 31 February). Local, so the answer does not depend on which optional format packages exist.
    if not isinstance(instance, str):
        return True
    try:
        datetime.strptime(instance[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def _is_date(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        date.fromisoformat(instance)
    except ValueError:
        return False
    return True


@cache
def format_checker() -> FormatChecker:
    """The formats the protocol uses, checked the same way in every environment."""
    checker = FormatChecker(("uuid",))
    checker.checks("date-time")(_is_utc_time)
    checker.checks("date")(_is_date)
    return checker


@cache
def validator(name: str) -> Draft202012Validator:
    """A cached Draft 2020-12 validator for ``name``, with the registry and format checks."""
    return Draft202012Validator(_raw(name), registry=registry(), format_checker=format_checker())


def errors(name: str, instance: Any) -> list[jsonschema.ValidationError]:
    """Every schema error of ``instance`` against ``name``, in document order."""
    found = validator(name).iter_errors(instance)
    return sorted(found, key=lambda e: [str(p) for p in e.absolute_path])


def _value_free(error: jsonschema.ValidationError) -> str:
    if error.validator == "type":
        return f"is not of type {error.validator_value!r}"
    value = json.dumps(error.validator_value, ensure_ascii=False)
    return f"does not satisfy {error.validator}: {value}"


def describe(error: jsonschema.ValidationError) -> str:
    """``at subject.id_number: '1234' does not match …`` — without a name or a full number."""
    where = field_path(error.absolute_path)
    path = tuple(error.absolute_path)
    echoes_name = bool(path) and path[-1] == "name" and "subject" in path
    scalar = not isinstance(error.instance, dict | list)
    if error.validator == "not" and error.validator_value in ({}, True):
        message = "must be absent here"
    elif error.validator in _KEY_ONLY or (scalar and not echoes_name):
        message = error.message
    else:
        message = _value_free(error)
    if error.validator == "additionalProperties":
        message += " (remove it, or check its spelling)"
    elif error.validator == "required":
        message += " (add it)"
    text = f"at {where}: {message}"
    masked = scrub(text)
    return masked if masked == text else masked + " (personal data masked)"


def validate(name: str, instance: Any) -> list[str]:
    """Problems of ``instance`` against schema ``name``, each naming the field path; ``[]`` if valid."""
    return [describe(e) for e in errors(name, instance)]


@dataclass(frozen=True)
class ResponseJudgement:
    """A response judged the protocol's way (v1.2 "Extra members": responses are open).

    ``problems`` break the schema; ``extra_members`` (``history[0].note``) are members the protocol
    does not name, which the platform ignores and a conformance run reports as warnings.
    """

    problems: list[str]
    extra_members: list[str]


def _extra_names(error: jsonschema.ValidationError) -> list[str]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    named = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
    where = field_path(error.absolute_path)
    prefix = "" if where == "(root)" else where + "."
    return [prefix + str(key) for key in instance if key not in named]


def judge_response(name: str, instance: Any) -> ResponseJudgement:
    """Judge a response body against ``name``: the schemas list exactly the named members, and
    ``additionalProperties: false`` in a response schema means "report it", not "refuse it"."""
    if name in REQUEST_SCHEMAS:
        raise ValueError(f"{name!r} is a request schema: requests are closed; use validate()")
    problems: list[str] = []
    extras: list[str] = []
    for error in errors(name, instance):
        if error.validator == "additionalProperties":
            extras += [scrub(e) for e in _extra_names(error)]
        else:
            problems.append(describe(error))
    return ResponseJudgement(problems, extras)


def is_valid(name: str, instance: Any) -> bool:
    """True when ``instance`` satisfies schema ``name``."""
    valid: bool = validator(name).is_valid(instance)
    return valid


def _missing_verification(error: jsonschema.ValidationError) -> bool:
    return (
        error.validator == "required"
        and not error.absolute_path
        and error.message.startswith("'verification'")
    )


def _subject_rule(error: jsonschema.ValidationError) -> str | None:
    if error.validator == "type":
        return None
    return _SUBJECT_RULES.get(tuple(error.absolute_path))


def request_problem(name: str, instance: Any, today: date | None = None) -> tuple[int, str] | None:
    """The answer a parsed request body earns at the shape steps of OIF-ERR-3, or ``None``.

    In order: any schema failure outside the subject rules is 400 ``malformed_request``; a bad ID
    number or name is 422 (OIF-ID-1: the schema's shape checks plus the code rules of
    :mod:`yzt.domain.idnumber`, which add the check digit and the birth date); a missing
    ``verification`` is 403 ``verification_required`` (OIF-VER-1). The ticket itself, its age and
    the business rules come later and are not judged here.
    """
    if name not in REQUEST_SCHEMAS:
        raise ValueError(f"{name!r} is not a request schema; use one of {', '.join(REQUEST_SCHEMAS)}")
    subject_codes: list[str] = []
    missing_verification = False
    for error in errors(name, instance):
        code = _subject_rule(error)
        if code is not None:
            subject_codes.append(code)
        elif _missing_verification(error):
            missing_verification = True
        else:
            return 400, "malformed_request"
    subject = instance.get("subject") if isinstance(instance, dict) else None
    if isinstance(subject, dict):
        if id_number_problem(subject.get("id_number"), today) is not None:
            subject_codes.append("invalid_id_number")
        if name_problem(subject.get("name")) is not None:
            subject_codes.append("invalid_name")
    if subject_codes:
        first = "invalid_id_number" if "invalid_id_number" in subject_codes else "invalid_name"
        return 422, first
    if missing_verification:
        return 403, "verification_required"
    return None


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the interface (a copy: callers may change it freely)."""
    return copy.deepcopy(endpoints.openapi_document())
