"""Confidence intervals over replications (Student t), ignoring replications without a value."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from yzt.sim.theory import t_quantile


@dataclass(frozen=True)
class Estimate:
    """Mean of one metric over replications with its confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def as_dict(self) -> dict[str, float | int | None]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(f"{x:.10g}")

        return {"mean": num(self.mean), "ci_low": num(self.low), "ci_high": num(self.high),
                "n": self.n}


def estimate(values: Iterable[float], confidence: float = 0.95) -> Estimate:
    """Mean and two-sided CI of the non-NaN ``values`` (NaN bounds with fewer than 2)."""
    xs = [v for v in values if not math.isnan(v)]
    n = len(xs)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = math.fsum(xs) / n
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n)
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    h = t_quantile(confidence, n - 1) * math.sqrt(var / n)
    return Estimate(mean, mean - h, mean + h, n)
