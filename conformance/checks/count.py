"""OIF-CNT: the count of live cards agrees with the fixture truth; the answer echoes the query."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from yzt.conformance.checks._expect import json_answer, schema_findings, schema_for
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, check, failed, not_testable
from yzt.domain.masking import mask_id_number
from yzt.fixtures import Subject

COUNT = "/v1/card-count"
SAMPLE = 8


def count_sample(ctx: RunContext) -> list[Subject]:
    """Subjects whose counts are checked: those with cancelled cards, without live ones, and others."""
    def pick() -> list[Subject]:
        chosen: list[Subject] = []
        predicates: tuple[Callable[[Subject], bool], ...] = (
            lambda s: len(s.live_cards) == 0,
            lambda s: len(s.live_cards) > 0 and len(s.cards) > len(s.live_cards),
            lambda s: len(s.live_cards) >= 3,
            lambda s: any(c.status == "suspended" for c in s.cards),
        )
        for predicate in predicates:
            found = next((s for s in ctx.readonly if predicate(s) and s not in chosen), None)
            if found is not None:
                chosen.append(found)
        for s in ctx.readonly:
            if len(chosen) >= SAMPLE:
                break
            if s not in chosen:
                chosen.append(s)
        return chosen
    return ctx.once("count_sample", pick)


@check("OIF-CNT-1", endpoint=f"POST {COUNT}")
def count_matches_fixtures(ctx: RunContext) -> Iterator[Finding]:
    """card_count equals the subject's cards that are not cancelled, per the fixtures."""
    for s in count_sample(ctx):
        ex = ctx.count(s)
        body = json_answer(ex)
        if isinstance(body, Finding):
            yield body
            continue
        expected = len(s.live_cards)
        if body.get("card_count") != expected:
            cancelled = len(s.cards) - expected
            yield failed(f"card_count {body.get('card_count')!r} for {mask_id_number(s.id_number)}",
                         f"{expected} (fixtures: {expected} live, {cancelled} cancelled)", ex)


@check("OIF-CNT-1", endpoint=f"POST {COUNT}")
def unknown_subject_counts_zero(ctx: RunContext) -> Iterator[Finding]:
    """A valid subject the operator does not know gets 200 with card_count 0 and exactly the members
    of a customer's answer (extra members are allowed, but not ones that tell a non-customer apart)."""
    name, id_number = ctx.unknown_subject()
    ex = ctx.post(COUNT, ctx.subject_body(name, id_number))
    body = json_answer(ex)
    if isinstance(body, Finding):
        yield body
        return
    if body.get("card_count") != 0:
        yield failed(f"card_count {body.get('card_count')!r}", "0 for a subject with no cards", ex)
    customer = next((s for s in ctx.readonly if s.live_cards), None)
    if customer is None:
        yield not_testable("no fixture subject with live cards to compare the answer's members with")
        return
    known = ctx.count(customer)
    known_body = json_answer(known)
    if isinstance(known_body, Finding):
        yield known_body
        return
    if set(body) != set(known_body):
        only_unknown = sorted(set(body) - set(known_body))
        only_customer = sorted(set(known_body) - set(body))
        yield failed(f"members {sorted(body)} for a non-customer (only there: {only_unknown}; only "
                     f"in a customer's answer: {only_customer})",
                     "the same members as a customer's answer: the answer must not reveal whether "
                     "the person is a customer", ex, known)


@check("OIF-CNT-2", endpoint=f"POST {COUNT}")
def count_echoes_query(ctx: RunContext) -> Iterator[Finding]:
    """The answer echoes query_id and names this operator."""
    s = ctx.readonly[0]
    request = ctx.subject_body(s.name, s.id_number)
    ex = ctx.post(COUNT, request)
    body = json_answer(ex)
    if isinstance(body, Finding):
        yield body
        return
    if body.get("query_id") != request["query_id"]:
        yield failed(f"query_id {body.get('query_id')!r}", f"the request's {request['query_id']!r}", ex)
    if body.get("operator_id") != ctx.operator_id:
        yield failed(f"operator_id {body.get('operator_id')!r}", f"{ctx.operator_id!r}", ex)


@check("OIF-CNT-2", endpoint=f"POST {COUNT}", phase="sweep")
def count_answers_schema(ctx: RunContext) -> Iterator[Finding]:
    """Every 200 card-count answer seen in the run is valid against card_count_response."""
    seen = 0
    for ex in ctx.exchanges():
        if schema_for(ex) == "card_count_response":
            seen += 1
            yield from schema_findings(ex, "card_count_response")
    if not seen:
        yield not_testable("no 200 card-count answer was seen in this run")
