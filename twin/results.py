"""The twin's results files as typed records: ``federation.json`` (``yzt federation up``),
``twin-live.json`` and ``twin.json`` (``yzt twin``). Each class is registered with
:func:`yzt.resultfile.reads`, so ``yzt.resultfile.read`` and the schema tests read these kinds like
every other; the schemas ship in ``yzt/schema/results/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from yzt import resultfile


@resultfile.reads
@dataclass(frozen=True)
class FederationTopology:
    """``federation.json``: where each node of a running federation answers, and how it behaves."""

    KIND: ClassVar[str] = "federation"
    SCHEMA_VERSION: ClassVar[int] = 1

    scenario: str
    epoch: float
    origin_h: float
    time_factor: float
    pid: int
    pid_started: float
    workers: list[dict[str, Any]]
    nodes: dict[str, dict[str, Any]]

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> FederationTopology:
        return cls(str(document["scenario"]), float(document["epoch"]), float(document["origin_h"]),
                   float(document["time_factor"]), int(document["pid"]),
                   float(document["pid_started"]), list(document["workers"]), dict(document["nodes"]))

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "epoch": self.epoch, "origin_h": self.origin_h,
                "time_factor": self.time_factor, "pid": self.pid, "pid_started": self.pid_started,
                "workers": self.workers, "nodes": self.nodes}


@resultfile.reads
@dataclass(frozen=True)
class TwinLive:
    """``twin-live.json``: a live replay's requests and queries as columns, and what it replayed
    (``run``: scenario, seed, window, scale, wall time, load average)."""

    KIND: ClassVar[str] = "twin-live"
    SCHEMA_VERSION: ClassVar[int] = 1
    #: The columns; every other key of the file describes the run.
    COLUMNS: ClassVar[tuple[str, ...]] = ("requests", "queries", "pool_max_busy")

    requests: dict[str, list[Any]]
    queries: dict[str, list[Any]]
    pool_max_busy: dict[str, int]
    run: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TwinLive:
        run = {k: v for k, v in document.items()
               if k not in (*cls.COLUMNS, "kind", "schema_version")}
        return cls(dict(document["requests"]), dict(document["queries"]),
                   dict(document["pool_max_busy"]), run)

    def to_json(self) -> dict[str, Any]:
        return {**self.run, "requests": self.requests, "queries": self.queries,
                "pool_max_busy": self.pool_max_busy}


@dataclass(frozen=True)
class TwinRow:
    """One metric live (mean over the live windows, with its 95 % CI) against the model's mean and
    95 % CI, the error in % and the row's verdict; ``None`` where a value could not be measured
    (JSON has no NaN)."""

    metric: str
    scope: str
    live: float | None
    model: float | None
    model_ci_low: float | None
    model_ci_high: float | None
    error_pct: float | None
    live_ci_low: float | None = None
    live_ci_high: float | None = None
    verdict: str | None = None
    ci_level: float | None = None
    """Confidence of the model's interval (0.95, or higher for a node's: Bonferroni)."""

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> TwinRow:
        return cls(str(row["metric"]), str(row["scope"]), row["live"], row["model"],
                   row["model_ci_low"], row["model_ci_high"], row["error_pct"],
                   row.get("live_ci_low"), row.get("live_ci_high"), row.get("verdict"),
                   row.get("ci_level"))

    def to_json(self) -> dict[str, Any]:
        out = {"metric": self.metric, "scope": self.scope, "live": self.live, "model": self.model,
               "model_ci_low": self.model_ci_low, "model_ci_high": self.model_ci_high,
               "error_pct": self.error_pct}
        if self.verdict is not None:
            out.update({"live_ci_low": self.live_ci_low, "live_ci_high": self.live_ci_high,
                        "ci_level": self.ci_level, "verdict": self.verdict})
        return out


@resultfile.reads
@dataclass(frozen=True)
class TwinComparison:
    """``twin.json``: the comparison rows and the run they come from (``run``: scenario, seed,
    window, scale, counts, wall time, load average, verdict and its reason, the machine's
    saturation signals, the quantile–quantile points, the calibration)."""

    KIND: ClassVar[str] = "twin"
    SCHEMA_VERSION: ClassVar[int] = 1

    rows: tuple[TwinRow, ...]
    run: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TwinComparison:
        run = {k: v for k, v in document.items() if k not in ("rows", "kind", "schema_version")}
        return cls(tuple(TwinRow.from_json(r) for r in document["rows"]), run)

    def to_json(self) -> dict[str, Any]:
        return {**self.run, "rows": [r.to_json() for r in self.rows]}
