"""Resident ID numbers (GB 11643-1999): validation and generation.

The check digit is ISO 7064 MOD 11-2. Only upper-case ``X`` is a valid check character (OIF-ID-1).
The region code (digits 1-6) is not checked against the list of administrative divisions: that list
changes every year and old numbers stay valid, so a careful operator does not reject on it.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from operator import mul

#: Weights of digits 1..17 (2^(17-i) mod 11).
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
CHINA_TZ = timezone(timedelta(hours=8))
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")

#: Province-level codes (GB/T 2260), used for generation only.
PROVINCE_CODES = (
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
)  # fmt: skip


def check_digit(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for 17 digits."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("check_digit needs exactly 17 ASCII digits")
    return CHECK_CHARS[sum(map(mul, map(int, first17), WEIGHTS)) % 11]


def china_today(now: datetime | None = None) -> date:
    """Today's date in China (UTC+8): a birth date is "in the future" against this date."""
    now = now or datetime.now(UTC)
    return now.astimezone(CHINA_TZ).date()


def id_number_problem(value: object, today: date | None = None) -> str | None:
    """Return why ``value`` is not a valid resident ID number, or ``None`` when it is valid.

    Answers are cached per (number, day): an operator sees the same subjects again and again.
    """
    if not isinstance(value, str):
        return "must be a string"
    return _id_number_problem(value, today or china_today())


@lru_cache(maxsize=65536)
def _id_number_problem(value: str, today: date) -> str | None:
    if len(value) != 18:
        return f"must be 18 characters, got {len(value)}"
    if value[17] == "x":
        return "check character must be upper-case X"
    if not _SHAPE.fullmatch(value):
        return "must be 17 digits followed by a digit or X"
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return f"digits 7-14 ({value[6:14]}) are not a real calendar date"
    if birth > today:
        return f"birth date {birth.isoformat()} is in the future"
    expected = check_digit(value[:17])
    if value[17] != expected:
        return "check digit does not match (ISO 7064 MOD 11-2)"
    return None


def is_valid_id_number(value: object, today: date | None = None) -> bool:
    """True when ``value`` passes every rule of OIF-ID-1."""
    return id_number_problem(value, today) is None


def generate_id_number(
    rng: random.Random,
    *,
    birth: date | None = None,
    want_x: bool | None = None,
    today: date | None = None,
) -> str:
    """Generate a valid, synthetic ID number.

    ``want_x`` forces (True) or forbids (False) an ``X`` check character; one in eleven numbers ends
    in X when it is ``None``. Generation draws only from ``rng`` so fixtures are reproducible.
    """
    today = today or date(2026, 1, 1)
    for _ in range(10_000):
        region = rng.choice(PROVINCE_CODES) + f"{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}"
        if birth is None:
            start = date(1940, 1, 1).toordinal()
            end = (today - timedelta(days=16 * 365)).toordinal()
            b = date.fromordinal(rng.randint(start, end))
        else:
            b = birth
        seq = f"{rng.randint(0, 999):03d}"
        first17 = f"{region}{b:%Y%m%d}{seq}"
        c = check_digit(first17)
        if want_x is None or want_x == (c == "X"):
            return first17 + c
    raise RuntimeError("could not generate an ID number with the requested check character")


def name_problem(value: object) -> str | None:
    """Return why ``value`` is not an acceptable subject name (OIF-ID-1), or ``None``.

    Length counts Unicode code points; control characters are Unicode category Cc.
    """
    if not isinstance(value, str):
        return "must be a string"
    return _name_problem(value)


@lru_cache(maxsize=65536)
def _name_problem(value: str) -> str | None:
    if value.strip() == "":
        return "must not be empty"
    if len(value) > 30:
        return f"must be at most 30 characters, got {len(value)}"
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return "must not contain control characters"
    return None
