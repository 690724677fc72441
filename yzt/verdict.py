"""The one verdict vocabulary of yzt: every check, threshold, SLA row and run speaks it.

Conform, load, sim, plan and check all judge with :class:`Verdict`; results files write its
``value``; the CLI turns a run's verdict into its exit status with :attr:`Verdict.exit_code`, and the
JUnit writer maps it with :attr:`Verdict.junit`. The members are ordered from best to worst; a run
combines its parts with :func:`combine_run`, so that CI can act on the status: a failure anywhere is
a failure, an error is an error only when nothing could be judged, and anything left unjudged
beside passes makes the run incomplete.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Verdict(enum.Enum):
    """What a judged item, or a whole run, came to; members ordered best to worst."""

    #: Meets the requirement or threshold.
    PASS = "pass"
    #: Meets it, with something a careful operator should look at (an extra response member, say).
    #: Never a failure unless the run is ``--strict``.
    WARNING = "warning"
    #: Did not meet it, and a dated, reasoned waiver accepts that for now.
    WAIVED = "waived"
    #: Left out of the verdict on purpose, with a reason (a sandbox-only check in a production run).
    NOT_APPLICABLE = "not_applicable"
    #: Could not be judged (not testable, inconclusive, interrupted): never reported as a pass.
    INCOMPLETE = "incomplete"
    #: Judged, and it breaks the requirement or threshold.
    FAIL = "fail"
    #: The judging itself went wrong (the target could not be reached, a check raised).
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Position from best (0) to worst; :func:`worst` compares by it."""
        return _ORDER.index(self)

    @property
    def exit_code(self) -> int:
        """The process exit status of a run that ends with this verdict."""
        return _EXIT[self]

    @property
    def junit(self) -> str:
        """How a JUnit test case shows it: ``passed``, ``skipped``, ``failure`` or ``error``."""
        return _JUNIT[self]

    @property
    def ok(self) -> bool:
        """True when a run with this verdict exits 0 (pass, warning, waived, not applicable)."""
        return self.exit_code == 0

    @classmethod
    def parse(cls, word: str) -> Verdict:
        """The member whose value is ``word``; ValueError names the known words otherwise."""
        try:
            return cls(word)
        except ValueError:
            known = ", ".join(v.value for v in cls)
            raise ValueError(f"unknown verdict {word!r}; known verdicts: {known}") from None


_ORDER: tuple[Verdict, ...] = tuple(Verdict)

_EXIT: dict[Verdict, int] = {
    Verdict.PASS: 0,
    Verdict.WARNING: 0,
    Verdict.WAIVED: 0,
    Verdict.NOT_APPLICABLE: 0,
    Verdict.INCOMPLETE: 3,
    Verdict.FAIL: 1,
    Verdict.ERROR: 2,
}

_JUNIT: dict[Verdict, str] = {
    Verdict.PASS: "passed",
    Verdict.WARNING: "passed",
    Verdict.WAIVED: "skipped",
    Verdict.NOT_APPLICABLE: "skipped",
    Verdict.INCOMPLETE: "skipped",
    Verdict.FAIL: "failure",
    Verdict.ERROR: "error",
}

#: Exit status of a run stopped by SIGINT (Ctrl-C), as shells expect; not a verdict.
EXIT_INTERRUPTED = 130


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of ``verdicts``; :attr:`Verdict.INCOMPLETE` when there is nothing to judge."""
    found = list(verdicts)
    if not found:
        return Verdict.INCOMPLETE
    return max(found, key=lambda v: v.rank)


#: Verdicts of parts that were judged (a verdict on the target, good or bad).
_JUDGED = (Verdict.PASS, Verdict.WARNING, Verdict.WAIVED, Verdict.FAIL)


def combine_run(verdicts: Iterable[Verdict]) -> Verdict:
    """The one rule that combines the parts of a run (checks, thresholds, steps) into its verdict.

    - ``fail`` when any part failed, whatever else went wrong: a later step's error must not hide
      a requirement the target broke (exit 1 is what CI acts on);
    - ``error`` only when parts errored and nothing at all could be judged (exit 2: usage,
      connection or credentials);
    - ``incomplete`` when some parts errored or could not be judged and none failed (exit 3);
    - otherwise the worst of the rest, parts not applicable left out (a production run whose other
      checks pass is a pass); ``not_applicable`` when nothing else was there, ``incomplete`` when
      there was nothing at all.
    """
    found = list(verdicts)
    if Verdict.FAIL in found:
        return Verdict.FAIL
    if Verdict.ERROR in found:
        return Verdict.INCOMPLETE if any(v in _JUDGED for v in found) else Verdict.ERROR
    if Verdict.INCOMPLETE in found:
        return Verdict.INCOMPLETE
    judged = [v for v in found if v is not Verdict.NOT_APPLICABLE]
    return worst(judged) if judged else (Verdict.NOT_APPLICABLE if found else Verdict.INCOMPLETE)


def run_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """A run's verdict from its items' (:func:`combine_run`). Conform, load, sim and check all
    judge a run with it."""
    return combine_run(verdicts)


def from_exit_code(code: int) -> Verdict:
    """The verdict a child ``yzt`` command reported through its exit status.

    Several verdicts share an exit status (0 is pass, warning, waived or not applicable), so this
    gives the worst verdict behind the status: :attr:`Verdict.PASS` for 0, :attr:`Verdict.FAIL` for
    1, :attr:`Verdict.INCOMPLETE` for 3, and :attr:`Verdict.ERROR` for anything else (2, a crash, a
    signal), because a step that could not say what it judged was not judged.
    """
    for verdict in (Verdict.PASS, Verdict.FAIL, Verdict.INCOMPLETE):
        if verdict.exit_code == code:
            return verdict
    return Verdict.ERROR
