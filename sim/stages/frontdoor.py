"""The front door: queries arrive (diurnal rate, surges, repeats), pass the one-query-a-day
rule and the SMS verification code, and are verified (:mod:`yzt.sim.arrivals`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from yzt.sim.records import ReplicationRecords
from yzt.sim.scenario import Scenario
from yzt.sim.stages import contract as c
from yzt.sim.stages import register


def judged_queries(rec: ReplicationRecords) -> tuple[np.ndarray, np.ndarray, int]:
    """Verification times, the queries whose reply deadline falls inside the run (only these are
    judged) and their count."""
    verified = np.asarray(rec.verified_at)
    judged = verified + rec.deadline_s <= rec.end_s
    return verified, judged, int(judged.sum())


def _metrics(rec: ReplicationRecords, out: c.Metrics, distributions: bool) -> None:
    scale = rec.one_in
    p = out[c.PLATFORM]
    p["query_attempts"] = rec.attempts * scale
    p["queries_verified"] = len(rec.verified_at) * scale
    p["verification_gave_up_share"] = c.share(rec.gave_up_verification, rec.attempts)
    p["verification_failed_share"] = c.share(rec.failed_verification, rec.attempts)
    p["refused_24h"] = rec.refused_24h * scale


def _scale(sc: Scenario, factor: float) -> dict[str, Any]:
    return {"arrivals": {"queries_per_day": sc.arrivals.queries_per_day * factor}}


def _console(con: c.Console) -> list[str]:
    return [f"  queries verified/day      {con.ci('queries_verified', False)}"]


STAGE = c.Stage(
    name="frontdoor", order=0,
    doc="queries arrive, pass the one-a-day rule and the verification code",
    section=("arrivals", "verification", "platform"),
    metrics=_metrics, console=_console, scale=_scale,
)

register(STAGE)
