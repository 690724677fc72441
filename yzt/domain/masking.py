"""Masking of personal data: every log line, report and artifact goes through here.

MSISDNs show the first 3 and last 4 digits (``138****1234``, as OIF-DET-2 prescribes); ID numbers
show the first 6 (region) and the last character (``110105***********X``), enough to tell two
synthetic subjects apart in a report and never enough to identify a person.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# A full ID number or MSISDN standing alone (not part of a longer digit run, e.g. a UUID or a time).
_ID_RE = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{5})[0-9]{11}([0-9Xx])(?![0-9A-Za-z])")
_MSISDN_RE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def mask_msisdn(msisdn: str) -> str:
    """``13812345678`` → ``138****5678`` (OIF-DET-2)."""
    if len(msisdn) != 11:
        return "*" * len(msisdn)
    return f"{msisdn[:3]}****{msisdn[-4:]}"


def mask_id_number(id_number: str) -> str:
    """``11010519491231002X`` → ``110105***********X``."""
    if len(id_number) != 18:
        return "*" * len(id_number)
    return f"{id_number[:6]}{'*' * 11}{id_number[-1]}"


def mask_name(name: str) -> str:
    """Keep the first character only: ``张三丰`` → ``张**``."""
    return name[:1] + "*" * (len(name) - 1) if name else name


def scrub(text: str) -> str:
    """Mask every full ID number and MSISDN found in free text (logs, excerpts, evidence)."""
    text = _ID_RE.sub(lambda m: f"{m.group(1)}{'*' * 11}{m.group(2)}", text)
    return _MSISDN_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def scrub_obj(value: Any, names: frozenset[str] = frozenset()) -> Any:
    """Recursively scrub strings inside JSON-like data; strings equal to a known name are masked."""
    if isinstance(value, str):
        return mask_name(value) if value in names else scrub(value)
    if isinstance(value, dict):
        return {k: scrub_obj(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_obj(v, names) for v in value]
    return value


def find_pii(text: str) -> list[str]:
    """Return the full ID numbers and MSISDNs in ``text``, already masked, for evidence."""
    found = [mask_id_number(m.group(0)) for m in _ID_RE.finditer(text)]
    found += [mask_msisdn(m.group(0)) for m in _MSISDN_RE.finditer(text)]
    return found


class MaskingFilter(logging.Filter):
    """A logging filter that scrubs the final message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = scrub(message)
        record.args = None
        if record.exc_info:  # a traceback's exception text may carry a number too
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_masking(logger: logging.Logger | None = None) -> None:
    """Attach :class:`MaskingFilter` to every handler of ``logger`` (the root logger by default)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())


#: Marks around personal data masked in a recorded exchange (certification bundles): the mark keeps
#: the fact that a full value stood there, so the exchange can be judged again without it.
MARK_OPEN, MARK_CLOSE = "«", "»"
_MARKED = re.compile(f"{MARK_OPEN}([^{MARK_CLOSE}]{{1,40}}){MARK_CLOSE}")


# Stand-alone numbers (not inside a longer run of letters, digits, '-' or '_'): the shapes OIF-PII-1
# counts as personal data when their value is not known, so UUIDs and opaque refs stay as they are.
_ID_ALONE = re.compile(r"(?<![0-9A-Za-z_-])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z_-])")
_MSISDN_ALONE = re.compile(r"(?<![0-9A-Za-z_-])1[3-9][0-9]{9}(?![0-9A-Za-z_-])")


def mark_pii(text: str, known: dict[str, str]) -> str:
    """Mask ``known`` values (full → masked) wherever they stand, and stand-alone numbers shaped
    like a full ID number or MSISDN, each between « », so :func:`unmark_pii` can put a value of the
    same shape back (a UUID that happens to hold 11 digits is left alone, as OIF-PII-1 leaves it)."""
    for value in sorted(known, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, f"{MARK_OPEN}{known[value]}{MARK_CLOSE}")
    text = _ID_ALONE.sub(lambda m: f"{MARK_OPEN}{mask_id_number(m.group(0))}{MARK_CLOSE}", text)
    return _MSISDN_ALONE.sub(lambda m: f"{MARK_OPEN}{mask_msisdn(m.group(0))}{MARK_CLOSE}", text)


def unmark_pii(text: str, known: dict[str, str]) -> str:
    """Undo :func:`mark_pii` as far as ``known`` (full → masked) allows: a masked value that one of
    them has is restored; any other becomes a value of the same shape (``*`` → ``0``), so a check
    still sees that a full number stood there."""
    reverse: dict[str, str] = {}
    for value, masked in known.items():
        reverse.setdefault(masked, value)

    def restore(match: re.Match[str]) -> str:
        masked = match.group(1)
        if masked in reverse:
            return reverse[masked]
        return masked.replace("*", "0") if _NUMBER_MASK.fullmatch(masked) else masked
    return _MARKED.sub(restore, text)


_NUMBER_MASK = re.compile(r"[0-9]{3}\*{4}[0-9]{4}|[1-9][0-9]{5}\*{11}[0-9Xx]")
