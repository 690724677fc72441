"""From one operator's measured endpoint (a ``yzt load`` run) to its parameters in a scenario.

API (used by ``yzt plan --calibrate`` and by ``yzt check``):

- :func:`fit_load_run` ``(load_dir, operator) -> Calibration`` reads the exact per-request records
  a ``yzt load`` run writes (``raw/rows-*.npy``; for a ``--find-capacity`` run, every step that
  passed) and fits:

  - the latency as a lognormal by maximum likelihood on the successful card-count requests
    (``median = exp(mean(ln x))``, ``sigma = std(ln x)``), the latency measured from the moment the
    request left the generator (the generator's own send lag is taken out);
  - the error ratio (the SLA-ERR-1 error kinds over all requests);
  - the shed capacity, from ``capacity.json`` when present: the highest rate the endpoint sustained
    within its SLAs.

- :func:`apply_calibration` ``(scenario, operator, calibration) -> Scenario`` sets that operator's
  ``latency``, ``failure_ratio`` and, with a capacity, ``concurrency`` = ``ceil(capacity × mean
  latency)`` (Little's law: the connections that carry the sustained rate at the measured latency).
  :func:`calibration_overrides` gives the same change as scenario fields.
- :func:`e2e_outlook` ``(scenario, operator, calibration, plan_document=None) -> dict`` says what
  the measured endpoint means for SLA-E2E-1: the operator's busiest demand under the scenario's
  national volume and surge against the measured capacity, and (given a plan document) the
  simulated SLA-E2E-1 row at current and planned capacities.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yzt.errors import UserError
from yzt.sim.scenario import Scenario, from_document, merge
from yzt.verdict import Verdict

#: Fewer successful samples than this give no trustworthy sigma.
MIN_SAMPLES = 30


@dataclass(frozen=True)
class Calibration:
    """What one load run measured about one endpoint."""

    operator: str
    median_ms: float
    sigma: float
    error_ratio: float
    samples: int
    capacity_rps: float | None
    """Highest sustained rate of a ``--find-capacity`` run (``None`` without one)."""
    source: str

    @property
    def mean_latency_s(self) -> float:
        return self.median_ms / 1000.0 * math.exp(self.sigma ** 2 / 2.0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _raw_dirs(load_dir: Path) -> tuple[list[Path], float | None]:
    cap_file = load_dir / "capacity.json"
    if cap_file.is_file():
        try:
            cap = json.loads(cap_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{cap_file}: not a capacity file of yzt load ({exc})") from None
        steps = sorted(load_dir.glob("step-*"))
        ok = [d / "raw" for d, s in zip(steps, cap.get("steps", []), strict=False)
              if s.get("verdict") == Verdict.PASS.value]
        rate = cap.get("highest_sustainable_rate")
        return ok or [d / "raw" for d in steps[:1]], (float(rate) if rate is not None else None)
    return [load_dir / "raw"], None


def fit_load_run(load_dir: Path, operator: str) -> Calibration:
    """Fit ``operator``'s latency, error ratio and capacity from a ``yzt load`` output folder."""
    from yzt.loadtests.results import load_raw
    from yzt.loadtests.traffic import COLUMNS, ENDPOINT_NAMES, ERROR_KINDS, KINDS, Col

    load_dir = Path(load_dir)
    if not load_dir.is_dir():
        raise UserError(f"--calibrate {operator}={load_dir}: no such folder (give a yzt load --out DIR)")
    dirs, capacity = _raw_dirs(load_dir)
    arrays = [load_raw(d)[0] for d in dirs if d.is_dir()]
    rows = np.concatenate(arrays) if arrays else np.empty((0, len(COLUMNS)))
    if rows.shape[0] == 0:
        raise UserError(f"--calibrate {operator}={load_dir}: no raw records (raw/rows-*.npy); "
                        "give the --out folder of a finished yzt load run")
    kind = rows[:, Col.KIND].astype(int)
    errors = np.isin(kind, [KINDS.index(k) for k in ERROR_KINDS])
    ok = kind == KINDS.index("ok")
    endpoint = rows[:, Col.ENDPOINT].astype(int)
    card = ok & (endpoint == ENDPOINT_NAMES.index("card-count"))
    chosen = card if card.sum() >= MIN_SAMPLES else ok
    latency = rows[chosen, Col.LATENCY_S] - rows[chosen, Col.SEND_LAG_S]
    latency = latency[latency > 0]
    if latency.size < MIN_SAMPLES:
        raise UserError(f"--calibrate {operator}={load_dir}: only {latency.size} successful requests; "
                        f"a fit needs at least {MIN_SAMPLES} (run yzt load longer)")
    logs = np.log(latency * 1000.0)
    return Calibration(operator=operator, median_ms=float(np.exp(logs.mean())),
                       sigma=float(logs.std()), error_ratio=float(errors.mean()),
                       samples=int(latency.size), capacity_rps=capacity, source=str(load_dir))


def calibration_overrides(sc: Scenario, operator: str, cal: Calibration) -> dict[str, Any]:
    """The scenario fields :func:`apply_calibration` sets."""
    fields: dict[str, Any] = {"latency": {"median_ms": round(cal.median_ms, 3),
                                          "sigma": round(cal.sigma, 4)},
                              "failure_ratio": round(min(cal.error_ratio, 0.999), 6)}
    if cal.capacity_rps is not None:
        fields["concurrency"] = max(1, math.ceil(cal.capacity_rps * cal.mean_latency_s))
    return {"operators": {operator: fields}}


def apply_calibration(sc: Scenario, operator: str, cal: Calibration) -> Scenario:
    """``sc`` with ``operator``'s latency, failure ratio (and concurrency) from ``cal``."""
    sc.operator(operator)
    return from_document(merge(sc.document, calibration_overrides(sc, operator, cal)), sc.source)


def peak_demand_rps(sc: Scenario) -> float:
    """Queries a second in the scenario's busiest hour, surges included (every operator gets each)."""
    a = sc.arrivals
    best = 0.0
    for minute in range(int(sc.horizon_h * 60)):
        t = minute / 60.0
        m = 1.0
        for s in a.surges:
            if t >= s.start_h:
                m += (s.peak_multiplier - 1.0) * math.exp(-(t - s.start_h) / s.decay_h)
        best = max(best, a.queries_per_day / 86_400.0 * a.diurnal[int(t) % 24] * m)
    return best


def e2e_outlook(sc: Scenario, operator: str, cal: Calibration,
                plan_document: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the measured endpoint means for SLA-E2E-1 at the scenario's volume and surge."""
    peak = peak_demand_rps(sc)
    attempts = 1.0 / max(1e-9, 1.0 - cal.error_ratio)
    out: dict[str, Any] = {
        "peak_queries_per_s": round(peak, 3),
        "peak_attempts_per_s": round(peak * attempts, 3),
        "measured_capacity_rps": cal.capacity_rps,
        "peak_over_capacity": (round(peak * attempts / cal.capacity_rps, 4)
                               if cal.capacity_rps else None),
        "deadline_h": sc.deadline_h,
    }
    if plan_document is not None:
        def row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
            return next((r for r in rows if r["requirement"] == "SLA-E2E-1"), None)

        cur, fin = row(plan_document["current_rows"]), row(plan_document["confirmation"]["rows_at_mean"])
        out["sla_e2e_1_current"] = cur and {"verdict": cur["verdict"], "value": cur["value"]}
        out["sla_e2e_1_planned"] = fin and {"verdict": fin["verdict"], "value": fin["value"]}
    if cal.capacity_rps:
        ratio = out["peak_over_capacity"]
        out["meaning"] = (
            f"{operator}'s endpoint sustained {cal.capacity_rps:g} req/s; the busiest minute of "
            f"{sc.name} asks {peak * attempts:.1f} req/s (×{ratio:g}). "
            + ("Queries queue at the surge and are answered later; SLA-E2E-1 holds while the backlog "
               f"clears within {sc.deadline_h:g} h." if ratio and ratio > 1 else
               "The endpoint carries the surge without a backlog."))
    else:
        out["meaning"] = (f"no --find-capacity run: {operator}'s capacity is the scenario's; its "
                          "latency and error ratio are the measured ones")
    return out
