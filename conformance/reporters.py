"""Listeners that turn runner events into records: the console lines and ``results.json``.

The runner never imports this module; the CLI subscribes the writers it was asked for. Reports
(HTML, JUnit) are ``yzt.reports``' business: they are rendered from ``results.json``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from yzt.conformance.runner import (
    CheckFinished,
    Event,
    RunFinished,
    RunStarted,
    dumps,
    results_document,
)

SYMBOL = {"passed": "ok", "failed": "FAIL", "not_testable": "n/t", "error": "ERROR",
          "waived": "waived"}


class ConsoleReporter:
    """One line per check that did not pass (all with ``verbose``), then a summary."""

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
            if self.verbose or r.status != "passed":
                print(f"  {SYMBOL[r.status]:>6}  {r.requirement:<11} {r.check}: {r.message}", file=out)
        elif isinstance(event, RunFinished):
            counts = ", ".join(f"{n} {s}" for s, n in sorted(event.counts.items()))
            print(f"verdict: {event.verdict.upper()} — {counts}; {event.requests} requests in "
                  f"{event.duration_s:.1f} s", file=out)
            if event.verdict == "incomplete":
                print("  (incomplete: some checks could not run against this target and are NOT "
                      "counted as passed)", file=out)


def on_finish(write: Callable[[RunFinished], None]) -> Callable[[Event], None]:
    """A listener that calls ``write`` with the final event only."""
    def listener(event: Event) -> None:
        if isinstance(event, RunFinished):
            write(event)
    return listener


def write_results_json(path: Path) -> Callable[[Event], None]:
    def write(run: RunFinished) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(results_document(run)) + "\n", encoding="utf-8")
    return on_finish(write)

