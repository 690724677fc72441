"""Listeners that turn runner events into records: the console lines and ``results.json``.

The runner never imports this module; the CLI subscribes the writers it was asked for. Reports
(HTML, JUnit) are ``yzt.reports``' business: they are rendered from ``results.json``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from yzt.conformance.results import write_results
from yzt.conformance.runner import (
    CheckFinished,
    Event,
    RunFinished,
    RunStarted,
    results_document,
)
from yzt.verdict import Verdict

SYMBOL = {Verdict.PASS: "ok", Verdict.WARNING: "warn", Verdict.WAIVED: "waived",
          Verdict.NOT_APPLICABLE: "n/a", Verdict.INCOMPLETE: "n/t", Verdict.FAIL: "FAIL",
          Verdict.ERROR: "ERROR"}


class ConsoleReporter:
    """One line per check that did not pass (all with ``verbose``), then a summary that lists
    primary failures first, each with the command that reproduces it."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.verbose = verbose

    def __call__(self, event: Event) -> None:
        out = self.stream
        if isinstance(event, RunStarted):
            print(f"yzt conform: {len(event.checks)} checks against {event.target} "
                  f"(operator {event.operator_id})", file=out)
            for note in event.notes:
                print(f"  note: {note}", file=out)
        elif isinstance(event, CheckFinished):
            r = event.result
            if self.verbose or r.verdict is not Verdict.PASS:
                print(f"  {SYMBOL[r.verdict]:>6}  {r.requirement:<11} {r.check}: {r.message}",
                      file=out)
        elif isinstance(event, RunFinished):
            self.summary(event)

    def summary(self, run: RunFinished) -> None:
        out = self.stream
        primary, knock_on = run.primary_failures, run.consequential_failures
        if primary:
            print(f"primary failures ({len(primary)}):", file=out)
            for r in primary:
                print(f"  {r.requirement} {r.check}: {r.message}", file=out)
                if r.reproduce:
                    print(f"    reproduce: {r.reproduce}", file=out)
        if knock_on:
            print(f"consequences of those failures, counted apart ({len(knock_on)}):", file=out)
            for r in knock_on:
                print(f"  {r.requirement} {r.check}: {r.message}", file=out)
        counts = ", ".join(f"{n} {s}" for s, n in sorted(run.counts.items()))
        split = (f" ({len(primary)} primary, {len(knock_on)} consequences)"
                 if primary or knock_on else "")
        print(f"verdict: {run.verdict.value.upper()} — {counts}{split}; {run.requests} requests in "
              f"{run.duration_s:.1f} s", file=out)
        if run.verdict is Verdict.INCOMPLETE:
            print("  (incomplete: some checks could not run against this target and are NOT "
                  "counted as passed)", file=out)
        warned = run.counts.get(Verdict.WARNING.value, 0)
        if warned:
            print(f"  ({warned} warning(s): allowed, shown for review; --strict makes them "
                  "failures)", file=out)


def on_finish(write: Callable[[RunFinished], None]) -> Callable[[Event], None]:
    """A listener that calls ``write`` with the final event only."""
    def listener(event: Event) -> None:
        if isinstance(event, RunFinished):
            write(event)
    return listener


def write_results_json(path: Path) -> Callable[[Event], None]:
    def write(run: RunFinished) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_results(path, results_document(run))
    return on_finish(write)

