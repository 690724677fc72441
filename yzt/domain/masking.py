"""Masking of personal data: every log line, report and artifact goes through here.

MSISDNs show the first 3 and last 4 digits (``138****1234``, as OIF-DET-2 prescribes); ID numbers
show the first 6 (region) and the last character (``110105***********X``), enough to tell two
synthetic subjects apart in a report and never enough to identify a person.
"""

from __future__ import annotations

import bisect
import codecs
import logging
import re
import unicodedata
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
_ID_SHAPE = re.compile(_ID_GLUED.pattern[3:-1])
# An MSISDN glued to digits is masked only behind the country code (``8613812345678``,
# ``+86…``, ``0086…``): any other 11-digit window of a longer number (a millisecond timestamp
# ``1764730123456`` holds ``17647301234``) is left alone.
_MSISDN_AFTER_86 = re.compile(r"(?<=86)(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
# Numbers written in groups: an ID number with a space or dash between any of its characters
# (``541824-19500307-1968``; masked when grouped 6-8-4 as written on forms, else when its date and
# check character are right), and an MSISDN grouped 3-4-4 or 3-8 (``170 3155 6407``).
_ID_GROUPED = re.compile(r"(?<![0-9A-Za-z])[1-9](?:[ -]?[0-9]){16}[ -]?[0-9Xx](?![0-9A-Za-z])")
_ID_FORM = re.compile(r"[0-9]{6}[ -][0-9]{8}[ -][0-9]{3}[0-9Xx]")
_MSISDN_GROUPED = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9](?:([ -])[0-9]{4}\1|[ -][0-9]{4})[0-9]{4}"
                             r"(?![0-9])")
#: Spaces and dashes people and word processors put between digit groups, read as ``' '``/``'-'``;
#: fullwidth ``Ｘ`` as ``X``; every other decimal digit (fullwidth ``１``, Arabic-Indic…) as 0-9.
_SPACES = "\u00a0\u2007\u2009\u202f\u3000"
_DASHES = "\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d"
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# A UUID, with or without dashes: its digit runs are never personal data.
_UUID = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1"
                   r"[0-9a-fA-F]{4}\1[0-9a-fA-F]{12}(?![0-9A-Za-z])")
# A run of 11 digits or more, at most one space or dash apart, and an X at its end: every shape
# above lies inside one.
_DIGITS_ENOUGH = re.compile(r"[0-9](?:[ -]?[0-9]){10,}[Xx]?")


def _normal(char: str) -> str | None:
    """The ASCII character masking reads ``char`` as, or None when it reads it as it is."""
    if char.isdecimal():
        return str(unicodedata.decimal(char))
    if char in _SPACES:
        return " "
    if char in _DASHES:
        return "-"
    if char in "\uff38\uff58":
        return "X"
    return None


def _view(text: str) -> tuple[str, list[int] | None]:
    """``text`` as masking reads it, one character for each character or percent-encoded UTF-8
    character of ``text`` (a URL in an access log keeps ``%EF%BC%91`` for ``１``), and where each
    one starts in ``text`` (None: plain ASCII, read as it is)."""
    runs = list(_PERCENT_RUN.finditer(text)) if "%" in text else []
    if not runs:  # one character for one: only the characters themselves are read differently
        if text.isascii():
            return text, None
        return text.translate(_table(set(text))), None
    chars: list[str] = []
    starts: list[int] = []
    at = 0
    for m in runs:
        chars += text[at:m.start()]
        starts += range(at, m.start())
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        first = m.start()
        for k in range(m.start(), m.end(), 3):
            out = decoder.decode(bytes([int(text[k + 1:k + 3], 16)]))
            if out:
                chars += out
                starts += [first] * len(out)
                first = k + 3
        out = decoder.decode(b"", final=True)
        chars += out
        starts += [first] * len(out)
        at = m.end()
    chars += text[at:]
    starts += range(at, len(text))
    return "".join(chars).translate(_table(set(chars))), starts


def _table(chars: set[str]) -> dict[int, str]:
    """A ``str.translate`` table for the characters of ``chars`` masking reads differently."""
    return {ord(c): n for c in chars if not c.isascii() and (n := _normal(c)) is not None}


#: The rest of a run of digits beside a glued ID number that is itself a mobile number.
_MOBILE_REST = re.compile(r"1[3-9][0-9]{9}")


def _glued_ids(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of ID numbers with a right check character inside longer tokens, left to right,
    not overlapping.

    Where candidates overlap, one that starts or ends its run of digits wins: an ID number glued to
    an MSISDN stands at one end of the run, and a window that straddles the two (a valid check
    character by chance, one time in eleven) would leave the MSISDN's digits in the clear. Where
    both ends hold a candidate, the one whose rest of the run is a mobile number (or nothing) wins:
    the other, a straddling window whose date happens to be real, would leave the ID number's
    digits in the clear.
    """
    found = [(m.start(), m.start() + 18) for m in _ID_GLUED.finditer(text)
             if check_digit(m.group(1)[:17]) == m.group(1)[17].upper()]

    def at_an_edge(start: int, end: int) -> bool:
        return (start == 0 or not text[start - 1].isdigit()) or (end == len(text)
                                                                 or not text[end].isalnum())

    def explains_its_run(start: int, end: int) -> bool:
        left, right = start, end
        while left > 0 and text[left - 1].isdigit():
            left -= 1
        while right < len(text) and text[right].isdigit():
            right += 1
        rest = text[left:start] + text[end:right]
        return not rest or _MOBILE_REST.fullmatch(rest) is not None

    chosen: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda w: (not at_an_edge(*w), not explains_its_run(*w),
                                                   w[0])):
        if all(end <= a or start >= b for a, b in chosen):
            chosen.append((start, end))
    yield from sorted(chosen)


Found = list[tuple[int, int, str, int, int]]
"""Numbers found: the positions to hide (start, end), the value (digits only) and where the
whole number stands (start, end)."""


def _found(read: str) -> tuple[Found, Found]:
    """The ID numbers and MSISDNs in ``read`` (see :func:`_view`). Every shape is a run of
    digits (one space or dash apart at most, an ``X`` at the end), so only such runs of 11
    digits or more are read, each with the character either side, joined by line breaks (which
    no shape crosses): a long text with few numbers costs one scan."""
    pieces: list[str] = []
    starts: list[int] = []  # where each piece starts in the joined text
    origins: list[int] = []  # and in ``read``
    size = 0
    opaque: list[tuple[int, int]] | None = None
    for m in _DIGITS_ENOUGH.finditer(read):
        if opaque is None:
            opaque = [u.span() for u in _UUID.finditer(read)]
        if any(a <= m.start() and m.end() <= b for a, b in opaque):
            continue  # digits inside a UUID are random hex, not a number
        lo, hi = max(m.start() - 1, 0), min(m.end() + 1, len(read))
        pieces.append(read[lo:hi])
        starts.append(size)
        origins.append(lo)
        size += hi - lo + 1
    if not pieces:
        return [], []
    ids, msisdns = _found_in("\n".join(pieces))

    def back(found: Found) -> Found:
        out = []
        for a, b, v, c, d in found:
            k = bisect.bisect_right(starts, a) - 1
            shift = origins[k] - starts[k]
            out.append((a + shift, b + shift, v, c + shift, d + shift))
        return out
    return back(ids), back(msisdns)


def _found_in(read: str) -> tuple[Found, Found]:
    """:func:`_found` in one run. ID numbers are found first; an MSISDN is then looked for with
    the ID numbers taken out, so one glued to an ID number is not hidden by the ID's last digit."""
    work = list(read)
    ids: Found = []
    taken: list[tuple[int, int]] = []

    def hide_id(start: int, end: int, positions: list[int]) -> None:
        value = "".join(read[i] for i in positions)
        for i in positions[6:17]:
            work[i] = "*"
        ids.append((positions[6], positions[16] + 1, value, positions[0], positions[-1] + 1))
        taken.append((start, end))

    for m in _ID_RE.finditer(read):
        hide_id(m.start(), m.end(), list(range(m.start(), m.end())))
    for start, end in _glued_ids("".join(work)):
        hide_id(start, end, list(range(start, end)))
    for m in _ID_GROUPED.finditer("".join(work)):
        token = m.group()
        digits = token.replace(" ", "").replace("-", "")
        if " " not in token and "-" not in token:
            continue
        if _ID_FORM.fullmatch(token) or (_ID_SHAPE.fullmatch(digits)
                                         and check_digit(digits[:17]) == digits[17].upper()):
            hide_id(m.start(), m.end(), [m.start() + i for i, c in enumerate(token) if c not in " -"])
    view = work[:]
    for start, end in taken:
        view[start:end] = "\x00" * (end - start)
    msisdns: Found = []
    for pattern in (_MSISDN_RE, _MSISDN_AFTER_86, _MSISDN_GROUPED):
        for m in pattern.finditer("".join(view)):
            positions = [m.start() + i for i, c in enumerate(m.group()) if c.isdigit()]
            for i in positions[3:7]:
                view[i] = work[i] = "*"
            msisdns.append((positions[3], positions[6] + 1,
                            "".join(read[i] for i in positions), positions[0], positions[-1] + 1))
    return ids, msisdns


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
    they are unmistakable (see ``_ID_GLUED`` and ``_MSISDN_AFTER_86``); grouped ones (``170 3155
    6407``) as ``_ID_GROUPED`` and ``_MSISDN_GROUPED`` say. Fullwidth and other Unicode digits,
    and percent-encoded characters, are read as the digits they are; the hidden characters become
    ``*`` and everything else stays as written.
    """
    read, starts = _view(text)
    ids, msisdns = _found(read)
    if not ids and not msisdns:
        return text
    hidden = sorted({i for start, end, *_ in (*ids, *msisdns) for i in range(start, end)
                     if read[i] not in " -"})
    parts: list[str] = []
    at = 0
    for i in hidden:
        begin = i if starts is None else starts[i]
        stop = i + 1 if starts is None else (starts[i + 1] if i + 1 < len(starts) else len(text))
        parts += [text[at:begin], "*"]
        at = stop
    return "".join(parts) + text[at:]


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
    """Return the full ID numbers and MSISDNs in ``text``, already masked, for evidence (those
    :func:`scrub` masks: ID numbers first, then MSISDNs)."""
    ids, msisdns = _found(_view(text)[0])
    return ([mask_id_number(v) for _, _, v, _, _ in ids]
            + [mask_msisdn(v) for _, _, v, _, _ in msisdns])


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
    not once per string, makes the same texts for a fraction of the CPU. One Aho–Corasick pass
    finds which values a string holds, so the replacements below look only for those (a run's
    table holds about a thousand values; most strings hold none).
    """

    def __init__(self, known: Mapping[str, str]) -> None:
        self._known = dict(known)
        self._longest_first = [value for value in sorted(self._known, key=len, reverse=True) if value]
        self._reverse: dict[str, str] = {}
        for value, masked in self._known.items():
            self._reverse.setdefault(masked, value)
        self._automaton: Any = None  # built on the first mark(): a replay only unmarks
        self._always: list[int] = []

    def _prepare(self) -> Any:
        """The automaton of the values (index in longest-first order), built once."""
        if self._automaton is None:
            # a value that a replacement could bring in (inside a mark) is looked for in every string
            marks = "\n".join(f"{MARK_OPEN}{masked}{MARK_CLOSE}" for masked in self._known.values())
            self._always = [i for i, value in enumerate(self._longest_first)
                            if value in marks or MARK_OPEN in value or MARK_CLOSE in value]
            automaton = ahocorasick.Automaton()
            for i, value in enumerate(self._longest_first):
                automaton.add_word(value, i)
            automaton.make_automaton()
            self._automaton = automaton
        return self._automaton

    def mark(self, text: str) -> str:
        """Mask known values (full → masked) wherever they stand, and stand-alone numbers shaped
        like a full ID number or MSISDN, each between « », so :meth:`unmark` can put a value of the
        same shape back (a UUID that happens to hold 11 digits is left alone, as OIF-PII-1 leaves
        it)."""
        if self._longest_first:
            present = {i for _, i in self._prepare().iter(text)}
            present.update(self._always)
            for i in sorted(present):  # longest first, as the table's order
                value = self._longest_first[i]
                if value in text:
                    text = text.replace(value, f"{MARK_OPEN}{self._known[value]}{MARK_CLOSE}")
        text = _ID_ALONE.sub(lambda m: f"{MARK_OPEN}{mask_id_number(m.group(0))}{MARK_CLOSE}", text)
        text = _MSISDN_ALONE.sub(lambda m: f"{MARK_OPEN}{mask_msisdn(m.group(0))}{MARK_CLOSE}", text)
        return _mark_others(text)

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


def _mark_others(text: str) -> str:
    """Every other number :func:`scrub` masks (glued, behind ``86``, grouped, fullwidth), masked
    between « » (a glued one keeps its shape for :meth:`PiiMarks.unmark`)."""
    read, starts = _view(text)
    ids, msisdns = _found(read)
    if not ids and not msisdns:
        return text

    def at(i: int) -> int:
        return i if starts is None else (starts[i] if i < len(starts) else len(text))
    parts: list[str] = []
    done = 0
    for *_, first, end in sorted((*ids, *msisdns), key=lambda f: f[3]):
        a, b = at(first), at(end)
        parts += [text[done:a], MARK_OPEN, scrub(text[a:b]), MARK_CLOSE]
        done = b
    return "".join(parts) + text[done:]


def mark_pii(text: str, known: Mapping[str, str]) -> str:
    """:meth:`PiiMarks.mark` for one text (many texts with one table: make a :class:`PiiMarks`)."""
    return PiiMarks(known).mark(text)


def unmark_pii(text: str, known: Mapping[str, str]) -> str:
    """:meth:`PiiMarks.unmark` for one text (many texts with one table: make a :class:`PiiMarks`)."""
    return PiiMarks(known).unmark(text)


_NUMBER_MASK = re.compile(r"[0-9]{3}\*{4}[0-9]{4}|[1-9][0-9]{5}\*{11}[0-9Xx]")
