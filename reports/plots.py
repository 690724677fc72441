"""Figures for reports, rendered to PNG bytes with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from itertools import pairwise

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend is chosen above, before pyplot loads


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


def line_chart(title: str, x: Sequence[float], series: Mapping[str, Sequence[float]], *,
               xlabel: str, ylabel: str) -> bytes:
    """One or more lines over a shared x axis (time series of queues, backlogs, rates)."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for name, ys in series.items():
        ax.plot(list(x)[: len(ys)], list(ys), label=name, linewidth=1.4)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return _png(fig)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, ylabel: str,
              threshold: float | None = None) -> bytes:
    """Bars per item, with an optional threshold line (an SLA)."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(list(labels), list(values), color="#3b6ea8")
    if threshold is not None:
        ax.axhline(threshold, color="#b3261e", linestyle="--", linewidth=1, label="threshold")
        ax.legend(fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)


def stacked_bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], *,
                 ylabel: str, colors: Sequence[str] = ("#1f7a3a", "#b3261e", "#8a5a00", "#6b2fa0")
                 ) -> bytes:
    """Bars per item split into stacked parts (passed / failed / not testable per protocol area)."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bottom = [0.0] * len(labels)
    for (name, values), color in zip(series.items(), colors, strict=False):
        ax.bar(list(labels), list(values), bottom=bottom, label=name, color=color)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _png(fig)


def histogram(title: str, edges: Sequence[float], counts: Sequence[float], *, xlabel: str,
              marks: Mapping[str, float] | None = None, log_x: bool = False) -> bytes:
    """A histogram from precomputed bin edges and counts, with labelled vertical marks (p95, SLA)."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    widths = [b - a for a, b in pairwise(edges)]
    ax.bar(list(edges[:-1]), list(counts), width=widths, align="edge", color="#3b6ea8")
    for i, (label, value) in enumerate((marks or {}).items()):
        ax.axvline(value, color=("#b3261e", "#8a5a00", "#1f7a3a")[i % 3], linestyle="--",
                   linewidth=1, label=label)
    if marks:
        ax.legend(fontsize=8)
    if log_x:
        ax.set_xscale("log")
        nonzero = [i for i, c in enumerate(counts) if c]
        if nonzero:
            ax.set_xlim(edges[nonzero[0]], edges[nonzero[-1] + 1])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.grid(alpha=0.3)
    return _png(fig)
