"""OIF-PII-1: no response body or header of the run holds a full ID number, MSISDN or a name."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator

from yzt.conformance.checks._expect import shapes
from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, NothingToJudge, Said, check, failed
from yzt.domain.masking import KnownValues, mask_id_number, mask_msisdn

# Anything shaped like a full ID number or MSISDN standing alone: not inside a longer run of letters,
# digits, '-' or '_' (so UUIDs, card_refs and timestamps do not match). Known values (fixtures and
# what the run sent) are found anywhere, inside longer strings too.
# The first character comes before the look-behind so that the regex engine skips ahead to it
# (three times faster on long bodies than a pattern opening with the look-behind).
_ID_ALONE = re.compile(r"[1-9](?<![0-9A-Za-z_-].)[0-9]{16}[0-9Xx](?![0-9A-Za-z_-])")
_MSISDN_ALONE = re.compile(r"1(?<![0-9A-Za-z_-].)[3-9][0-9]{9}(?![0-9A-Za-z_-])")


def shaped_like_pii(text: str) -> list[str]:
    """Masked forms of the stand-alone ID numbers and MSISDNs in ``text``."""
    return ([mask_id_number(m.group(0)) for m in _ID_ALONE.finditer(text)]
            + [mask_msisdn(m.group(0)) for m in _MSISDN_ALONE.finditer(text)])


def _body_text(raw: bytes) -> str:
    """The body as sent and, when it is JSON, decoded (so \\uXXXX-escaped names are found too)."""
    texts = [raw.decode("utf-8", errors="replace")]
    with contextlib.suppress(ValueError, RecursionError):  # deep nesting: the raw text is scanned
        texts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    return "\n".join(texts)


def leaked_values(text: str, known: KnownValues) -> list[str]:
    """Masked forms of the known values in ``text``, then of anything else shaped like one.

    One pass for the known values (:class:`KnownValues`), one per shape: linear in the text's size.
    """
    leaked = sorted(known.found(text))
    return leaked + sorted(set(shaped_like_pii(text)) - set(leaked))


@check("OIF-PII-1", endpoint="(every response)", phase="sweep")
def no_pii_in_responses(ctx: RunContext) -> Iterator[Finding]:
    """Scan every response body and header of the run for the fixtures' and the requests' ID numbers,
    MSISDNs and names, and for anything shaped like a full ID number or MSISDN."""
    known = KnownValues(ctx.sensitive_values())
    in_body: dict[bytes, list[str]] = {}  # an endpoint that repeats one huge body is scanned once
    judged = 0
    for ex in ctx.exchanges():
        if ex.status is None:
            continue
        judged += 1
        digest = hashlib.blake2b(ex.response_body, digest_size=16).digest()
        if digest not in in_body:
            in_body[digest] = leaked_values(_body_text(ex.response_body), known)
        headers = "\n".join(f"{k}: {v}" for k, v in ex.response_headers.items())
        leaked = in_body[digest] + [v for v in leaked_values(headers, known) if v not in in_body[digest]]
        if leaked:
            yield failed(Said.of("pii_in_answer", what=shapes(leaked), status=str(ex.status),
                                 request=f"{ex.method} {ex.path}"),
                         Said.of("pii_none"), ex)
    if not judged:
        raise NothingToJudge("no answer was received in this run")
