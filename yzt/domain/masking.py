"""Masking of personal data: every log line, report and artifact goes through here.

MSISDNs show the first 3 and last 4 digits (``138****1234``, as OIF-DET-2 prescribes); ID numbers
show the first 6 (region) and the last character (``110105***********X``), enough to tell two
synthetic subjects apart in a report and never enough to identify a person.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import ahocorasick

from yzt.domain.idnumber import check_digit

# A full ID number or MSISDN standing alone (not part of a longer digit run, e.g. a UUID or a time).
_ID_RE = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{5})[0-9]{11}([0-9Xx])(?![0-9A-Za-z])")
_MSISDN_RE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
# An ID number glued to letters or digits inside a longer token (``x65010219900101190Xx``): every
# 18-character window shaped like region + a real birth date (1900-2099) + sequence + check is a
# candidate, and only those whose check character is right are masked. A random digit window
# passes both the date and the check with a chance of about 1 in 15,000, so timestamps, UUIDs and
# long counters stay readable (tests/test_domain_masking_segments.py shows which).
_ID_GLUED = re.compile(r"(?=([1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
                       r"(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]))")
# An MSISDN glued to digits is masked only behind the country code (``8613812345678``,
# ``+86…``, ``0086…``): any other 11-digit window of a longer number (a millisecond timestamp
# ``1764730123456`` holds ``17647301234``) is left alone.
_MSISDN_AFTER_86 = re.compile(r"(?<=86)(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def _glued_ids(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of ID numbers with a right check character inside longer tokens, left to right,
    not overlapping."""
    after = 0
    for m in _ID_GLUED.finditer(text):
        start = m.start()
        if start < after:
            continue
        value = m.group(1)
        if check_digit(value[:17]) == value[17].upper():
            after = start + 18
            yield start, after


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
    """Mask every full ID number and MSISDN found in free text (logs, excerpts, evidence).

    Stand-alone ones are masked whatever their digits; ones glued inside a longer token only when
    they are unmistakable (see ``_ID_GLUED`` and ``_MSISDN_AFTER_86``).
    """
    text = _ID_RE.sub(lambda m: f"{m.group(1)}{'*' * 11}{m.group(2)}", text)
    spans = list(_glued_ids(text))
    if spans:
        parts, at = [], 0
        for start, end in spans:
            parts += [text[at:start], mask_id_number(text[start:end])]
            at = end
        text = "".join(parts) + text[at:]
    text = _MSISDN_AFTER_86.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
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
    alone = {m.start() for m in _ID_RE.finditer(text)}
    found += [mask_id_number(text[a:b]) for a, b in _glued_ids(text) if a not in alone]
    found += [mask_msisdn(m.group(0)) for m in _MSISDN_RE.finditer(text)]
    found += [mask_msisdn(m.group(0)) for m in _MSISDN_AFTER_86.finditer(text)]
    return found


class KnownValues:
    """Known personal values (fixtures, what a run sent) found in one pass over any text.

    One Aho–Corasick automaton (pyahocorasick) holds every value, so a sweep costs one pass over the
    text whatever the number of values: looping over 1,300 fixture values with ``in`` took 62 s on a
    10 MB body (docs/benchmarks.md has the numbers).
    """

    def __init__(self, masked: Mapping[str, str]) -> None:
        self._masked = {value: shown for value, shown in masked.items() if value}
        self._automaton: Any = None
        if self._masked:
            automaton = ahocorasick.Automaton()
            for value in self._masked:
                automaton.add_word(value, value)
            automaton.make_automaton()
            self._automaton = automaton

    def __len__(self) -> int:
        return len(self._masked)

    def found(self, text: str) -> set[str]:
        """The masked forms of the known values that occur in ``text`` (overlapping ones too)."""
        if self._automaton is None:
            return set()
        return {self._masked[value] for _, value in self._automaton.iter(text)}

    def mask(self, text: str) -> str:
        """``text`` with every known value replaced by its masked form (longest match first)."""
        if self._automaton is None:
            return text
        parts: list[str] = []
        at = 0
        for end, value in self._automaton.iter_long(text):
            start = end - len(value) + 1
            parts += [text[at:start], self._masked[value]]
            at = end + 1
        return "".join(parts) + text[at:] if parts else text


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


class PiiMarks:
    """:func:`mark_pii` and :func:`unmark_pii` for one ``known`` table (full → masked), prepared once.

    A certification bundle marks thousands of strings with the same table, and a replay restores
    every part of an exchange with one: sorting the values and inverting the table once per table,
    not once per string, makes the same texts for a fraction of the CPU.
    """

    def __init__(self, known: Mapping[str, str]) -> None:
        self._known = dict(known)
        self._longest_first = [value for value in sorted(self._known, key=len, reverse=True) if value]
        self._reverse: dict[str, str] = {}
        for value, masked in self._known.items():
            self._reverse.setdefault(masked, value)

    def mark(self, text: str) -> str:
        """Mask known values (full → masked) wherever they stand, and stand-alone numbers shaped
        like a full ID number or MSISDN, each between « », so :meth:`unmark` can put a value of the
        same shape back (a UUID that happens to hold 11 digits is left alone, as OIF-PII-1 leaves
        it)."""
        for value in self._longest_first:
            if value in text:
                text = text.replace(value, f"{MARK_OPEN}{self._known[value]}{MARK_CLOSE}")
        text = _ID_ALONE.sub(lambda m: f"{MARK_OPEN}{mask_id_number(m.group(0))}{MARK_CLOSE}", text)
        return _MSISDN_ALONE.sub(lambda m: f"{MARK_OPEN}{mask_msisdn(m.group(0))}{MARK_CLOSE}", text)

    def unmark(self, text: str) -> str:
        """Undo :meth:`mark` as far as the table allows: a masked value that one of its values has
        is restored; any other becomes a value of the same shape (``*`` → ``0``), so a check still
        sees that a full number stood there."""
        reverse = self._reverse

        def restore(match: re.Match[str]) -> str:
            masked = match.group(1)
            if masked in reverse:
                return reverse[masked]
            return masked.replace("*", "0") if _NUMBER_MASK.fullmatch(masked) else masked
        return _MARKED.sub(restore, text)


def mark_pii(text: str, known: Mapping[str, str]) -> str:
    """:meth:`PiiMarks.mark` for one text (many texts with one table: make a :class:`PiiMarks`)."""
    return PiiMarks(known).mark(text)


def unmark_pii(text: str, known: Mapping[str, str]) -> str:
    """:meth:`PiiMarks.unmark` for one text (many texts with one table: make a :class:`PiiMarks`)."""
    return PiiMarks(known).unmark(text)


_NUMBER_MASK = re.compile(r"[0-9]{3}\*{4}[0-9]{4}|[1-9][0-9]{5}\*{11}[0-9Xx]")
