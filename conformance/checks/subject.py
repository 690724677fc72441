"""OIF-ID-1: malformed ID numbers and names get 422 before any lookup.

Each request carries a genuine ticket minted over the bad values, so only the subject is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from yzt.conformance.checks._expect import problem
from yzt.conformance.context import RunContext, make_id
from yzt.conformance.registry import Finding, check, not_testable
from yzt.domain.idnumber import CHECK_CHARS, china_today

COUNT = "/v1/card-count"


def _ask(ctx: RunContext, name: str, id_number: str, code: str) -> Iterator[Finding]:
    ex = ctx.post(COUNT, ctx.subject_body(name, id_number))
    yield from problem(ex, 422, code)


def _wrong_check_digit(id_number: str) -> str:
    right = id_number[17]
    return id_number[:17] + next(c for c in CHECK_CHARS if c != right)


@check("OIF-ID-1", endpoint=f"POST {COUNT}")
def wrong_check_digit(ctx: RunContext) -> Iterator[Finding]:
    """A known subject's ID number with a wrong check digit gets 422 invalid_id_number."""
    s = ctx.readonly[0]
    yield from _ask(ctx, s.name, _wrong_check_digit(s.id_number), "invalid_id_number")


@check("OIF-ID-1", endpoint=f"POST {COUNT}")
def impossible_birth_date(ctx: RunContext) -> Iterator[Finding]:
    """A birth date of 31 February (check digit correct) gets 422 invalid_id_number."""
    yield from _ask(ctx, "李四", make_id("11010519900231123"), "invalid_id_number")


@check("OIF-ID-1", endpoint=f"POST {COUNT}")
def future_birth_date(ctx: RunContext) -> Iterator[Finding]:
    """A birth date next year (check digit correct) gets 422 invalid_id_number."""
    born = china_today() + timedelta(days=366)
    yield from _ask(ctx, "王五", make_id(f"110105{born:%Y%m%d}123"), "invalid_id_number")


@check("OIF-ID-1", endpoint=f"POST {COUNT}")
def lower_case_x(ctx: RunContext) -> Iterator[Finding]:
    """A known subject whose ID number ends in X, sent with a lower-case x, gets 422."""
    s = next((x for x in ctx.readonly + ctx.subjects if x.id_number.endswith("X")), None)
    if s is None:
        yield not_testable("no fixture subject has an ID number ending in X (regenerate with more "
                           "subjects)")
        return
    yield from _ask(ctx, s.name, s.id_number[:17] + "x", "invalid_id_number")


@check("OIF-ID-1", endpoint=f"POST {COUNT}")
def malformed_id_number(ctx: RunContext) -> Iterator[Finding]:
    """17 characters, or letters inside the number, get 422 invalid_id_number."""
    s = ctx.readonly[0]
    yield from _ask(ctx, s.name, s.id_number[:17], "invalid_id_number")
    yield from _ask(ctx, s.name, s.id_number[:8] + "AB" + s.id_number[10:], "invalid_id_number")


@check("OIF-ID-1", endpoint=f"POST {COUNT}")
def bad_names(ctx: RunContext) -> Iterator[Finding]:
    """Empty, 31-character and control-character names get 422 invalid_name."""
    s = ctx.readonly[0]
    for name in ("", "张" * 31, "张\u0007三"):
        yield from _ask(ctx, name, s.id_number, "invalid_name")
