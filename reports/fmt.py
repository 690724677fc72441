"""Numbers as a report shows them: sensible precision, and a confidence interval where there is one.

A share of 0.9777084743 is "97.8%", not "97.7708%": one decimal is the precision a replication
count of a few dozen supports, with a second decimal only where it matters (99.95%, 0.05%).
"""

from __future__ import annotations

import math

from yzt.reports.i18n import Lang, tr


def _decimals(share: float) -> int:
    pct = abs(share) * 100
    if pct in (0.0, 100.0) or (pct >= 10 and pct % 1 == 0):
        return 0
    return 2 if pct < 1 or pct > 99 else 1


def exact_decimals(share: float, d: int) -> int:
    """``d``, or more where ``d`` decimals would round a share short of 100 % up to 100 % (or
    one above 0 down to 0): a share that fails a 100 % target never reads ``100%``."""
    while d < 9 and ((share < 1.0 and round(share * 100, d) >= 100.0)
                     or (share > 0.0 and round(share * 100, d) <= 0.0)):
        d += 1
    return d


def pct(share: float | None, decimals: int | None = None) -> str:
    """A share in [0, 1] as a percentage: ``0.9777`` → ``97.8%``, ``0.9999974`` → ``99.9997%``
    (never ``100%`` short of it); None → ``–``."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    d = exact_decimals(share, _decimals(share) if decimals is None else decimals)
    return f"{share * 100:.{d}f}%"


def pct_ci(mean: float | None, low: float | None, high: float | None, lang: Lang) -> str:
    """``97.8% (95% CI 96.9–98.6%)``; the interval only when it is known and not a point."""
    shown = pct(mean)
    if mean is None or low is None or high is None or high - low < 1e-12:
        return shown
    low, high = max(low, 0.0), min(high, 1.0)  # a share's interval stays within [0, 1]
    d = max(exact_decimals(x, _decimals(x)) for x in (low, high, mean))
    return f"{pct(mean, d)} ({tr('ci', lang)} {low * 100:.{d}f}–{high * 100:.{d}f}%)"


def ms(value: float | None) -> str:
    """Milliseconds with three significant figures at most: ``9.66 ms``, ``19.8 ms``, ``812 ms``."""
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.3g} ms"


def number(value: float | None) -> str:
    """A plain measurement with three significant figures (integers as they are)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.3g}"


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95 % interval of a binomial share ``k / n`` (n > 0): honest at k = 0."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def day_clock(hour: int) -> str:
    """Hour ``hour`` of a run (0 = midnight of the first day) as day and clock: ``D1 09:00``,
    ``D2 09:00`` for hour 33."""
    return f"D{hour // 24 + 1} {hour % 24:02d}:00"


def count(n: float, lang: Lang) -> str:
    """A count of queries at three significant figures: ``1.36 M`` (``136 万`` in Chinese)."""
    if lang == "zh":
        for size, word in ((1e8, "亿"), (1e4, "万")):
            if n >= size:
                return f"{n / size:.3g} {word}"
        return f"{n:.0f}"
    for size, word in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size * 10 or (n >= size and size > 1e3):
            return f"{n / size:.3g} {word}"
    return f"{n:.0f}"


def clock(hour: float) -> str:
    """An hour of the day as a clock time: ``09:00``."""
    return f"{int(hour) % 24:02d}:00"
