"""The front door: queries arrive (diurnal rate, surges, repeats), pass the one-query-a-day
rule and the SMS verification code, and are verified (:mod:`yzt.sim.arrivals`)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from yzt.sim.arrivals import front_door
from yzt.sim.records import ReplicationRecords
from yzt.sim.scenario import Scenario
from yzt.sim.stages import contract as c
from yzt.sim.stages import register
from yzt.sim.station import Station

if TYPE_CHECKING:
    from yzt.sim.engine import Model

NAME = "frontdoor"


def judged_queries(rec: ReplicationRecords) -> tuple[np.ndarray, np.ndarray, int]:
    """Verification times, the queries whose reply deadline falls inside the run (only these are
    judged) and their count."""
    verified = np.asarray(rec.verified_at)
    judged = verified + rec.deadline_s <= rec.end_s
    return verified, judged, int(judged.sum())


class FrontDoor:
    """The SimPy part: hands each verified query on at its verification time."""

    def __init__(self, model: Model) -> None:
        self.m = model
        self.front = front_door(model.sc, model.streams)
        model.verified = self.front.verified_at.tolist()

    def start(self) -> None:
        self.m.env.process(self._feed())

    def _feed(self) -> Generator[Any, Any, None]:
        env = self.m.env
        for q, t in enumerate(self.m.verified):
            if t > env.now:
                yield env.timeout(t - env.now)
            self.m.emit(NAME, q, t)

    def receive(self, query: int, t: float) -> None:
        raise AssertionError("the front door admits queries; no stage hands it any")

    def stations(self) -> list[Station]:
        return []

    def sample(self) -> list[float]:
        return []

    def records(self) -> dict[str, Any]:
        f = self.front
        return {"attempts": f.attempts, "gave_up_verification": f.gave_up,
                "failed_verification": f.failed, "refused_24h": f.refused_24h,
                "repeats_accepted": f.repeats_accepted, "verified_at": self.m.verified}


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
    name=NAME, order=0,
    simpy=FrontDoor,
    doc="queries arrive, pass the one-a-day rule and the verification code",
    section=("arrivals", "verification", "platform"),
    metrics=_metrics, console=_console, scale=_scale,
)

register(STAGE)
