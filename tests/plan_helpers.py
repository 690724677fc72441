"""Test doubles for the planner's searches: a judged candidate whose every row holds or fails by
one rule the test states, so a search's logic is tested without simulating SLA rows."""

from __future__ import annotations

from typing import Any


class FixedVerdicts:
    """What :meth:`yzt.sim.plan.Planner.judge` returns, reduced to one answer for every row:
    ``ok`` holds, else fails outright."""

    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def holds(self, resource: str, scope: str, confident: bool = True) -> bool:
        return self.ok

    def fails_outright(self, resource: str, scope: str) -> bool:
        return not self.ok

    def evidence(self, resource: str, scope: str) -> dict[str, Any]:
        return {"holds": self.ok, "holds_at_mean": self.ok, "metrics": {}}
