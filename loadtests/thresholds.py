"""SLA thresholds per endpoint, k6-style: ``p95<=300ms`` judged ✓/✗ against exact measurements.

The operator's :class:`~yzt.domain.topology.SlaProfile` gives SLA-LAT-1…3 and SLA-ERR-1; an SLA file
(``--sla FILE``) overrides its numbers and may add expressions of its own. Locust has no threshold
language (its issues #587, #2267, #2668); this module is that layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yzt.domain.topology import LatencySla, SlaProfile
from yzt.errors import InputFileError

_EXPR_RE = re.compile(
    r"^\s*(?:p\(?(?P<pct>\d+(?:\.\d+)?)\)?|(?P<name>max|mean|avg|error_ratio))\s*"
    r"(?P<op><=|<)\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|%)?\s*$"
)
#: Which requirement covers which endpoint's latency, and the profile field that holds its numbers.
LATENCY_REQUIREMENTS: dict[str, tuple[str, str]] = {
    "card-count": ("SLA-LAT-1", "card_count"),
    "card-details": ("SLA-LAT-2", "card_details"),
    "disputes": ("SLA-LAT-3", "submit"),
    "cancellations": ("SLA-LAT-3", "submit"),
}
ENDPOINT_SCOPES = (*LATENCY_REQUIREMENTS, "all")


@dataclass(frozen=True)
class Threshold:
    """One judgement: ``metric op limit`` on one endpoint (``all``: every request together).

    Latency limits are in milliseconds, error ratios as fractions.
    """

    requirement: str
    endpoint: str
    metric: str
    op: str
    limit: float

    @property
    def expression(self) -> str:
        if self.metric == "protocol_violations":
            return f"violations{self.op}{self.limit:g}"
        if self.metric == "error_ratio":
            return f"error_ratio{self.op}{self.limit * 100:g}%"
        return f"{self.metric}{self.op}{self.limit:g}ms"

    def holds(self, measured: float) -> bool:
        return measured < self.limit if self.op == "<" else measured <= self.limit


def parse_expression(text: str, *, requirement: str = "custom", endpoint: str = "all") -> Threshold:
    """``p95<300ms``, ``p(99)<=1.5s``, ``max<2s``, ``error_ratio<0.1%`` or ``error_ratio<0.001``."""
    m = _EXPR_RE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a threshold: write e.g. p95<300ms, p(99)<=1.5s, max<2s "
                         "or error_ratio<0.1%")
    value, unit = float(m["value"]), m["unit"]
    if m["pct"] is not None:
        pct = float(m["pct"])
        if not 0 < pct < 100:
            raise ValueError(f"{text!r}: the percentile must be between 0 and 100")
        metric = f"p{m['pct']}"
    else:
        metric = "mean" if m["name"] == "avg" else m["name"]
    if metric == "error_ratio":
        if unit in ("ms", "s"):
            raise ValueError(f"{text!r}: an error ratio takes a fraction or a percentage, not a time")
        limit = value / 100 if unit == "%" else value
        if limit > 1:
            raise ValueError(f"{text!r}: an error ratio cannot exceed 100 %")
    else:
        if unit == "%":
            raise ValueError(f"{text!r}: a latency takes ms or s, not %")
        if unit is None:
            raise ValueError(f"{text!r}: give the unit (ms or s)")
        limit = value * 1000 if unit == "s" else value
    return Threshold(requirement, endpoint, metric, m["op"], limit)


#: The row that judges answers checked against the protocol's schemas during the run: no violation
#: is allowed. It is apart from SLA-ERR-1, so a defect in every answer reads as a protocol defect,
#: not as an error ratio.
PROTOCOL_UNDER_LOAD = Threshold("protocol under load", "all", "protocol_violations", "<=", 0.0)


def _latency_thresholds(requirement: str, endpoint: str, sla: LatencySla) -> list[Threshold]:
    out = []
    if sla.p95_ms is not None:
        out.append(Threshold(requirement, endpoint, "p95", "<=", float(sla.p95_ms)))
    if sla.p99_ms is not None:
        out.append(Threshold(requirement, endpoint, "p99", "<=", float(sla.p99_ms)))
    return out


def from_profile(profile: SlaProfile) -> list[Threshold]:
    """SLA-LAT-1…3 per endpoint, then SLA-ERR-1 per endpoint and over all requests."""
    out: list[Threshold] = []
    for endpoint, (requirement, attr) in LATENCY_REQUIREMENTS.items():
        out += _latency_thresholds(requirement, endpoint, getattr(profile, attr))
    for endpoint in ENDPOINT_SCOPES:
        out.append(Threshold("SLA-ERR-1", endpoint, "error_ratio", "<=", profile.error_ratio_max))
    out.append(PROTOCOL_UNDER_LOAD)
    return out


def _merge_latency(base: LatencySla, raw: dict[str, Any] | None) -> LatencySla:
    if raw is None:
        return base
    return LatencySla(p95_ms=raw.get("p95_ms", base.p95_ms), p99_ms=raw.get("p99_ms", base.p99_ms))


def load_sla_file(path: Path, profile: SlaProfile) -> list[Threshold]:
    """Thresholds from an SLA file over ``profile``; every problem names its field path."""
    from dataclasses import replace

    from yzt.validation import load_document, package_schema

    doc = load_document(path, package_schema("yzt.loadtests", "sla")) or {}
    merged = replace(
        profile,
        card_count=_merge_latency(profile.card_count, doc.get("card_count")),
        card_details=_merge_latency(profile.card_details, doc.get("card_details")),
        submit=_merge_latency(profile.submit, doc.get("submit")),
        error_ratio_max=doc.get("error_ratio_max", profile.error_ratio_max),
    )
    out = from_profile(merged)
    problems: list[str] = []
    for endpoint, expressions in (doc.get("thresholds") or {}).items():
        for i, text in enumerate(expressions):
            try:
                out.append(parse_expression(text, endpoint=endpoint))
            except ValueError as exc:
                problems.append(f"at thresholds.{endpoint}[{i}]: {exc}")
    if problems:
        raise InputFileError(str(path), problems)
    return out
