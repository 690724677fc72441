"""``yzt twin --calibrate``: each operator's node parameters fitted from its live samples, written
as a scenario that ``yzt sim`` and ``yzt plan`` take.

The fit starts from ``yzt plan --calibrate``'s for one operator (:mod:`yzt.sim.calibrate`): the
latency a lognormal with ``median = exp(mean(ln x))`` over the operator's successful attempts,
each measured as the platform saw it (from sending the request to its answer, so HTTP, signing and
the server's own work are in it). Its ``sigma`` is the one that puts the lognormal's 95th
percentile on the samples' (``ln(p95 / median) / z₀.₉₅``), not the maximum-likelihood
``std(ln x)`` (kept as ``sigma_mle``): the answers of a busy machine have a heavier tail than a
lognormal, and the p95 is what the SLAs and the comparison judge. The failure ratio is the error
answers over the attempts that were answered (timeouts, outages and cut calls are left out: the
scenario says those through ``timeout_s`` and ``outages``). A carrier's provincial nodes pool their
samples. An operator with fewer than :data:`yzt.sim.calibrate.MIN_SAMPLES` successful attempts
keeps its scenario numbers and is listed as such. The latency of a node that also timed out is fit
on its answers below the timeout only, and so is biased low: the file says which.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from yzt.sim.scenario import Scenario, merge, shipped_dir
from yzt.twin.fanout import ERROR, OK, TIMEOUT, LiveRecords

#: The standard normal's 95th percentile.
Z95 = 1.6448536269514722


def fit(operator_of: dict[str, str],
        records: Sequence[LiveRecords]) -> dict[str, dict[str, Any]]:
    """Operator (of each node, ``operator_of``) → its fit (``median_ms``, ``sigma``,
    ``error_ratio``, ``samples``, ``timeouts``), or ``{"samples": n, "kept": "..."}`` when there
    were too few."""
    from yzt.sim.calibrate import MIN_SAMPLES

    ok: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    timeouts: dict[str, int] = defaultdict(int)
    for rec in records:
        for node, start, end, outcome in zip(rec.req_node, rec.req_start, rec.req_end,
                                             rec.req_outcome, strict=True):
            op = operator_of[node]
            if outcome == OK and end > start:
                ok[op].append(end - start)
            elif outcome == ERROR:
                errors[op] += 1
            elif outcome == TIMEOUT:
                timeouts[op] += 1
    out: dict[str, dict[str, Any]] = {}
    for op in sorted(set(operator_of.values())):
        samples = np.asarray(ok.get(op, []), dtype=float)
        if samples.size < MIN_SAMPLES:
            out[op] = {"samples": int(samples.size),
                       "kept": f"fewer than {MIN_SAMPLES} answered attempts: scenario numbers kept"}
            continue
        logs = np.log(samples * 1000.0)
        median_ms = float(math.exp(logs.mean()))
        p95_ms = float(np.percentile(samples, 95)) * 1000.0
        sigma_mle = float(logs.std())
        sigma = math.log(p95_ms / median_ms) / Z95 if p95_ms > median_ms else sigma_mle
        answered = samples.size + errors.get(op, 0)
        out[op] = {"median_ms": median_ms, "sigma": sigma, "sigma_mle": sigma_mle,
                   "p95_ms": p95_ms, "error_ratio": errors.get(op, 0) / answered,
                   "samples": int(samples.size), "timeouts": timeouts.get(op, 0)}
    return out


def overrides(fits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The scenario fields the fits set (``yzt.sim.calibrate.calibration_overrides`` for each)."""
    from yzt.sim.calibrate import Calibration

    doc: dict[str, Any] = {}
    for op, f in fits.items():
        if "median_ms" not in f:
            continue
        cal = Calibration(operator=op, median_ms=f["median_ms"], sigma=f["sigma"],
                          error_ratio=f["error_ratio"], samples=f["samples"], capacity_rps=None,
                          source="yzt twin")
        fields = {"latency": {"median_ms": round(cal.median_ms, 3), "sigma": round(cal.sigma, 4)},
                  "failure_ratio": round(min(cal.error_ratio, 0.999), 6)}
        doc = merge(doc, {"operators": {op: fields}})
    return doc


def _extends(sc: Scenario, folder: Path) -> str:
    """What the calibrated file extends: a shipped scenario by name, any other by its path from
    ``folder`` (where the calibrated file lies)."""
    import os

    source = Path(sc.source)
    if source.parent.resolve() == shipped_dir().resolve():
        return source.stem
    return Path(os.path.relpath(source.resolve(), folder.resolve())).as_posix()


def write_calibrated(sc: Scenario, operator_of: dict[str, str], records: Sequence[LiveRecords],
                     path: Path) -> dict[str, Any]:
    """Fit, write ``path`` (a scenario extending ``sc``), check that it loads as a scenario, and
    return what ``twin.json`` records of it."""
    import yaml

    from yzt.sim.scenario import load_scenario

    fits = fit(operator_of, records)
    doc: dict[str, Any] = {"version": 1, "extends": _extends(sc, path.parent),
                           "name": f"{sc.name}-calibrated",
                           "description": f"{sc.name} with each operator's latency and failure "
                                          "ratio as a live federation measured them (yzt twin "
                                          "--calibrate)."}
    doc.update(overrides(fits))
    biased = sorted(op for op, f in fits.items() if f.get("timeouts") and "median_ms" in f)
    head = ("# Written by yzt twin --calibrate: the operators' latency and failure ratio fitted from "
            "the live windows.\n# Simulate it with: yzt sim " + path.name + "\n")
    if biased:
        head += ("# Latency fitted below the timeout only (biased low): " + ", ".join(biased)
                 + "\n")
    path.write_text(head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100),
                    encoding="utf-8")
    load_scenario(path)  # the file is a scenario yzt sim and yzt plan take
    return {"file": path.name, "operators": fits, "biased_low": biased}
