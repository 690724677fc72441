"""The front door: queries arrive (diurnal rate, surges, repeats), pass the one-query-a-day
rule and the SMS verification code, and are verified (:mod:`yzt.sim.arrivals`)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from yzt.sim import arrivals, fast
from yzt.sim.arrivals import front_door
from yzt.sim.records import ReplicationRecords
from yzt.sim.scenario import Arrivals, Scenario, Surge, Verification, lognormal_s
from yzt.sim.stages import contract as c
from yzt.sim.stages import register
from yzt.sim.stages.sections import Doc, Section
from yzt.sim.station import Station

if TYPE_CHECKING:
    from yzt.sim.engine import Model

NAME = "frontdoor"


@dataclass
class FrontDoorRecords:
    """What the front door recorded (counts of the sampled stream)."""

    attempts: int
    gave_up_verification: int
    failed_verification: int
    refused_24h: int
    repeats_accepted: int
    verified_at: list[float]
    """Verification time of each query: a query is its index here in every stage's records."""


def of(rec: ReplicationRecords) -> FrontDoorRecords:
    return rec.of(NAME, FrontDoorRecords)


def judged_queries(rec: ReplicationRecords) -> tuple[np.ndarray, np.ndarray, int]:
    """Verification times, the queries whose reply deadline falls inside the run (only these are
    judged) and their count."""
    verified = np.asarray(of(rec).verified_at)
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

    def records(self) -> FrontDoorRecords:
        return _records(self.front, self.m.verified)


def _records(f: arrivals.FrontDoor, verified: Any) -> FrontDoorRecords:
    return FrontDoorRecords(f.attempts, f.gave_up, f.failed, f.refused_24h, f.repeats_accepted,
                            verified)


class Fast(fast.FastPart):
    """The fast engine's part: the same code and draws as the SimPy part; it hands on the
    verification times (a float array, a query's index is its id)."""

    def __init__(self) -> None:
        self.memo = fast.Lru(1)

    def run(self, flow: fast.Flow, up: fast.Step | None, offers: fast.Offers | None) -> fast.Step:
        sc = flow.sc
        key = (flow.timing, sc.arrivals, sc.verification)
        front = self.memo.get(key) or self.memo.put(key, front_door(sc, flow.streams))
        verified = np.ascontiguousarray(front.verified_at, dtype=np.float64)
        return fast.Step(key, _records(front, flow.out(verified)), out=verified,
                         emitted=lambda: verified)

    @property
    def nbytes(self) -> int:
        return sum(int(f.verified_at.nbytes) for f in self.memo.values())


def _metrics(rec: ReplicationRecords, out: c.Metrics, distributions: bool) -> None:
    scale = rec.one_in
    f = of(rec)
    p = out[c.PLATFORM]
    p["query_attempts"] = f.attempts * scale
    p["queries_verified"] = len(f.verified_at) * scale
    p["verification_gave_up_share"] = c.share(f.gave_up_verification, f.attempts)
    p["verification_failed_share"] = c.share(f.failed_verification, f.attempts)
    p["refused_24h"] = f.refused_24h * scale


# -- its scenario keys -----------------------------------------------------------------------------
def _fields(doc: Doc) -> dict[str, Any]:
    arr = doc["arrivals"]
    weights = [float(w) for w in arr["diurnal"]]
    mean_w = sum(weights) / 24.0
    return {
        "arrivals": Arrivals(
            queries_per_day=float(arr["queries_per_day"]),
            diurnal=tuple(w / mean_w for w in weights),
            surges=tuple(Surge(float(s["start_h"]), float(s["peak_multiplier"]), float(s["decay_h"]))
                         for s in arr.get("surges", [])),
            repeat_share=float(arr.get("repeat_share", 0.0)),
            repeat_delay_mean_h=float(arr.get("repeat_delay_mean_h", 12.0)),
            one_query_per_h=float(arr.get("one_query_per_h", 24.0)),
        ),
        "verification": Verification(
            code_latency=lognormal_s(doc["verification"]["code_latency"]),
            patience_mean_s=float(doc["verification"]["patience_mean_s"]),
            fail_share=float(doc["verification"]["fail_share"]),
        ),
    }


def _rules(doc: Doc) -> list[str]:
    problems = []
    for i, s in enumerate(doc["arrivals"].get("surges", [])):
        if s["start_h"] >= doc["horizon_h"]:
            problems.append(
                f"at arrivals.surges[{i}].start_h: {s['start_h']} is not inside the horizon "
                f"(horizon_h = {doc['horizon_h']})"
            )
    if sum(doc["arrivals"]["diurnal"]) <= 0:
        problems.append("at arrivals.diurnal: all weights are 0 (at least one hour must be > 0)")
    return problems


def _scale(sc: Scenario, factor: float) -> dict[str, Any]:
    return {"arrivals": {"queries_per_day": sc.arrivals.queries_per_day * factor}}


def _console(con: c.Console) -> list[str]:
    return [f"  queries verified/day      {con.ci('queries_verified', False)}"]


STAGE = c.Stage(
    name=NAME, order=0,
    simpy=FrontDoor, fast=Fast, records=FrontDoorRecords,
    parse=Section(fields=_fields, rules=_rules),
    doc="queries arrive, pass the one-a-day rule and the verification code",
    section=("arrivals", "verification", "platform"),
    metrics=_metrics, console=_console, scale=_scale,
)

register(STAGE)
