"""Errors a user can fix. The CLI prints them as one line and exits non-zero, with no traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in a flag, a file or a target that the user can fix.

    ``exit_code`` lets a command keep its documented status (2 for usage errors by default).
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class InputFileError(UserError):
    """A bad scenario, topology or fixture file: names the file, the place and the field."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{path}: {len(problems)} problem(s):\n{shown}{more}")


class PreflightError(UserError):
    """A run that cannot judge its endpoint as configured (exit 2): transport, signature or clock.

    ``step`` names the preflight step (``health``, ``clock``, ``signed request`` …); the message
    says what to fix. Defined here because :mod:`yzt.conformance.preflight` and :mod:`yzt.clock` raise it.
    """

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"preflight {step}: {message}", exit_code=2)
        self.step = step
