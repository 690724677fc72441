"""OIF-PII-1: no response body or header of the run holds a full ID number, MSISDN or a name."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator

from yzt.conformance.context import RunContext
from yzt.conformance.registry import Finding, NothingToJudge, check, failed
from yzt.domain.masking import mask_id_number, mask_msisdn

# Anything shaped like a full ID number or MSISDN standing alone: not inside a longer run of letters,
# digits, '-' or '_' (so UUIDs, card_refs and timestamps do not match). Known values (fixtures and
# what the run sent) are found anywhere, inside longer strings too.
_ID_ALONE = re.compile(r"(?<![0-9A-Za-z_-])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z_-])")
_MSISDN_ALONE = re.compile(r"(?<![0-9A-Za-z_-])1[3-9][0-9]{9}(?![0-9A-Za-z_-])")


def shaped_like_pii(text: str) -> list[str]:
    """Masked forms of the stand-alone ID numbers and MSISDNs in ``text``."""
    return ([mask_id_number(m.group(0)) for m in _ID_ALONE.finditer(text)]
            + [mask_msisdn(m.group(0)) for m in _MSISDN_ALONE.finditer(text)])


def _texts(raw: bytes, headers: dict[str, str]) -> list[str]:
    """The body as sent and, when it is JSON, decoded (so \\uXXXX-escaped names are found too)."""
    body = raw.decode("utf-8", errors="replace")
    texts = [body, "\n".join(f"{k}: {v}" for k, v in headers.items())]
    with contextlib.suppress(ValueError):
        texts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    return texts


@check("OIF-PII-1", endpoint="(every response)", phase="sweep")
def no_pii_in_responses(ctx: RunContext) -> Iterator[Finding]:
    """Scan every response body and header of the run for the fixtures' and the requests' ID numbers,
    MSISDNs and names, and for anything shaped like a full ID number or MSISDN."""
    secrets = ctx.sensitive_values()
    judged = 0
    for ex in ctx.exchanges():
        if ex.status is None:
            continue
        judged += 1
        texts = _texts(ex.response_body, ex.response_headers)
        joined = "\n".join(texts)
        leaked = sorted({masked for value, masked in secrets.items() if value in joined})
        leaked += sorted(set(shaped_like_pii(joined)) - set(leaked))
        if leaked:
            yield failed(f"{', '.join(leaked[:4])} in the {ex.status} answer to {ex.method} {ex.path}",
                         "no full ID number, MSISDN or subject name in any response", ex)
    if not judged:
        raise NothingToJudge("no answer was received in this run")
