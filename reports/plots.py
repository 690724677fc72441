"""The report's figures, rendered to PNG bytes with matplotlib's Agg backend (no display needed).

Labels may be Chinese, so every figure uses a CJK font (Noto Sans CJK, Debian's ``fonts-noto-cjk``)
ahead of DejaVu Sans; :func:`cjk_font` says whether matplotlib found one, and readers fall back to
English labels when it did not, rather than draw boxes, and say so in the report.

matplotlib remembers the fonts it found on its first run (``fontlist-v*.json`` in its cache
folder); a font installed later stays invisible to it. Before falling back, :func:`cjk_font`
rescans the installed fonts once and writes the cache again.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import font_manager, ticker
from matplotlib.figure import Figure  # no pyplot: no global figure list, safe in threads

#: CJK families tried in order; the first one installed draws every label.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei")
#: What draws the labels when no CJK family is installed.
LATIN_FAMILY = "DejaVu Sans"
_RED, _BLUE, _GREEN, _AMBER = "#b3261e", "#3b6ea8", "#1f7a3a", "#8a5a00"
_log = logging.getLogger(__name__)


def _installed_cjk() -> str | None:
    for family in CJK_FAMILIES:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family),
                                  fallback_to_default=False)
        except ValueError:
            continue
        return family
    return None


def rescan_fonts() -> int:
    """Add the installed fonts matplotlib's cached font list lacks (fonts installed after its first
    run, found on the system and through fontconfig) and write the list back to its cache, so the
    next run finds them at once. Returns how many font files were added."""
    manager = font_manager.fontManager
    known = {Path(f.fname) for f in (*manager.ttflist, *manager.afmlist)}
    added = 0
    for path in font_manager.findSystemFonts(fontext="ttf"):
        if Path(path) in known:
            continue
        try:
            manager.addfont(path)  # what FontManager does for each font it finds on a first run
        except (OSError, RuntimeError, ValueError) as exc:
            _log.debug("font %s not added: %s", path, exc)
            continue
        added += 1
    if added:
        cache_file = Path(matplotlib.get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json")
        font_manager.json_dump(manager, cache_file)  # warns, never raises, when it cannot write
    return added


@cache
def cjk_font() -> str | None:
    """The first installed family of :data:`CJK_FAMILIES`, or None (Chinese labels would be boxes).

    A family matplotlib's cached font list does not know is looked for again after one rescan of
    the installed fonts (:func:`rescan_fonts`)."""
    found = _installed_cjk()
    if found is None and rescan_fonts():
        found = _installed_cjk()
    return found


def family() -> str:
    """The family that draws the plots' labels: the CJK one, or :data:`LATIN_FAMILY`."""
    return cjk_font() or LATIN_FAMILY


def _fonts() -> None:
    """Draw with the CJK family first (it has Latin glyphs too) and DejaVu Sans behind it."""
    family = cjk_font()
    matplotlib.rcParams["font.family"] = [family, LATIN_FAMILY] if family else [LATIN_FAMILY]
    matplotlib.rcParams["axes.unicode_minus"] = False


def _figure(width: float = 8, height: float = 3.2) -> tuple[Any, Any]:
    _fonts()
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def is_flat(values: Sequence[float]) -> bool:
    """True when a series has nothing to show: empty, or one value throughout."""
    return not values or max(values) - min(values) == 0


def _clock_ticks(ax: Any, hours: float, day: bool) -> None:
    """Ticks of an x axis in hours as day and clock (``D1 09:00``; ``09:00`` within one day)."""
    from yzt.reports.fmt import clock, day_clock

    step = 3 if hours <= 24 else 6 if hours <= 48 else 12 if hours <= 120 else 24
    ax.xaxis.set_major_locator(ticker.MultipleLocator(step))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(
        lambda v, _pos: day_clock(round(v)) if day else clock(round(v))))
    if day:
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)


def line_chart(title: str, x: Sequence[float], series: Mapping[str, Sequence[float]], *,
               xlabel: str, ylabel: str, integer_x: bool = False, clock_x: bool = False) -> bytes:
    """One or more lines over a shared x axis (time series of queues, backlogs, rates);
    ``integer_x`` for a count on the x axis (head counts: no tick at 2.5 agents); ``clock_x`` for
    hours of a run, labelled as day and clock (``D1 09:00``)."""
    fig, ax = _figure()
    if integer_x:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    if clock_x and len(x):
        _clock_ticks(ax, max(x) - min(x), day=True)
    for name, ys in series.items():
        ax.plot(list(x)[: len(ys)], list(ys), label=name, linewidth=1.4)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return _png(fig)


def step_chart(title: str, x: Sequence[int], series: Mapping[str, Sequence[int]], *,
               xlabel: str, ylabel: str) -> bytes:
    """Head counts hour by hour as steps (one per series) on an integer y axis."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = _figure()
    for (name, ys), style in zip(series.items(), ("-", "--", ":"), strict=False):
        ax.step(list(x), list(ys), where="post", label=name, linewidth=1.6, linestyle=style)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _clock_ticks(ax, 24, day=False)  # hours of the day as clock times
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def stacked_bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], *,
                 ylabel: str, colors: Sequence[str] = (_GREEN, _RED, _AMBER)) -> bytes:
    """Bars per item split into stacked parts (passed / failing / not judged per protocol area)."""
    fig, ax = _figure()
    bottom = [0.0] * len(labels)
    for (name, values), color in zip(series.items(), colors, strict=False):
        ax.bar(list(labels), list(values), bottom=bottom, label=name, color=color)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def histogram(title: str, edges: Sequence[float], counts: Sequence[float], *, xlabel: str,
              ylabel: str, marks: Mapping[str, float] | None = None, log_x: bool = False) -> bytes:
    """A histogram from precomputed bin edges and counts, with labelled vertical marks (p95, SLA)."""
    fig, ax = _figure()
    widths = [b - a for a, b in pairwise(edges)]
    ax.bar(list(edges[:-1]), list(counts), width=widths, align="edge", color=_BLUE)
    for i, (label, value) in enumerate((marks or {}).items()):
        ax.axvline(value, color=(_RED, _AMBER, _GREEN)[i % 3], linestyle="--", linewidth=1,
                   label=label)
    if marks:
        ax.legend(fontsize=8)
    if log_x:
        ax.set_xscale("log")
        # plain numbers (2, 5, 10, 20 ms) rather than crowded 2×10⁰ minor labels
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        nonzero = [i for i, c in enumerate(counts) if c]
        if nonzero:
            ax.set_xlim(edges[nonzero[0]], edges[nonzero[-1] + 1])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _png(fig)


def share_panels(title: str, labels: Sequence[str],
                 panels: Sequence[tuple[str, Sequence[tuple[float, float, float]], Sequence[float],
                                        str, bool]]) -> bytes:
    """Shares per item with 95 % CI bars against a per-item target, one panel per measure.

    Each panel is ``(ylabel, [(mean, ci_low, ci_high)…], targets, target label, higher_is_better)``;
    bars that miss their target are red.
    """
    _fonts()
    width = max(8.0, 0.22 * len(labels) + 2)
    fig = Figure(figsize=(width, 2.6 * len(panels) + 0.6))
    grid = fig.subplots(len(panels), 1, sharex=True, squeeze=False)
    axes = [row[0] for row in grid]
    x = list(range(len(labels)))
    for ax, (ylabel, values, targets, target_label, higher) in zip(axes, panels, strict=True):
        means = [v[0] * 100 for v in values]
        # a share lies in [0, 1]: a t-interval of few replications can reach past it, the bar cannot
        err = [[max(0.0, (v[0] - max(v[1], 0.0)) * 100) for v in values],
               [max(0.0, (min(v[2], 1.0) - v[0]) * 100) for v in values]]
        missed = [(m < t * 100) if higher else (m > t * 100) for m, t in zip(means, targets, strict=True)]
        ax.bar(x, means, color=[_RED if b else _BLUE for b in missed], yerr=err, capsize=2,
               error_kw={"elinewidth": 0.8, "ecolor": "#333"})
        if len(set(targets)) == 1:
            ax.axhline(targets[0] * 100, color=_RED, linestyle="--", linewidth=1, label=target_label)
        else:
            ax.scatter(x, [t * 100 for t in targets], marker="_", s=120, color=_RED, label=target_label,
                       zorder=3)
        ax.set_ylabel(f"{ylabel} (%)")
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8, loc="lower right" if higher else "upper right")
        ax.set_xticks(x)
        ax.set_xticklabels([])
        ax.set_xlim(-0.6, len(labels) - 0.4)
    axes[0].set_title(title)
    axes[-1].set_xticklabels(list(labels), rotation=90, fontsize=7)
    return _png(fig)

