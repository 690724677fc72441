"""Mobile number segments (号段) by operator, from MIIT's allocation table.

Resellers (移动通信转售企业) use 162, 165, 167, 170 and 171; each is tied to a host carrier, and 170
by its fourth digit (1700-1702 Telecom, 1703/1705/1706 Mobile, 1704/1707-1709 Unicom). Satellite and
IoT segments (1349, 1740x, 14x data-only) and China Broadnet's 192 are left out: the service as the
regulator described it in 2021 covers the three basic carriers and the 39 resellers.
"""

from __future__ import annotations

import random
import re

CARRIER_SEGMENTS: dict[str, tuple[str, ...]] = {
    "CMCC": (
        "1340", "1341", "1342", "1343", "1344", "1345", "1346", "1347", "1348", "135", "136", "137",
        "138", "139", "147", "150", "151", "152", "157", "158", "159", "172", "178", "182", "183",
        "184", "187", "188", "195", "197", "198",
    ),
    "CUCC": ("130", "131", "132", "145", "155", "156", "166", "175", "176", "185", "186", "196"),
    "CTCC": ("133", "153", "173", "177", "180", "181", "189", "190", "191", "193", "199"),
}  # fmt: skip

#: Reseller segments by host carrier.
RESELLER_SEGMENTS: dict[str, tuple[str, ...]] = {
    "CMCC": ("165", "1703", "1705", "1706"),
    "CUCC": ("167", "171", "1704", "1707", "1708", "1709"),
    "CTCC": ("162", "1700", "1701", "1702"),
}

MSISDN_RE = re.compile(r"1[3-9][0-9]{9}")


def host_of_segment(msisdn_or_prefix: str) -> tuple[str, bool] | None:
    """Return ``(host carrier, is_reseller_segment)`` for a number or prefix, or ``None``."""
    for host, prefixes in RESELLER_SEGMENTS.items():
        if any(msisdn_or_prefix.startswith(p) for p in prefixes):
            return host, True
    for host, prefixes in CARRIER_SEGMENTS.items():
        if any(msisdn_or_prefix.startswith(p) for p in prefixes):
            return host, False
    return None


def in_segments(msisdn: str, segments: tuple[str, ...] | list[str]) -> bool:
    """True when ``msisdn`` is an 11-digit number starting with one of ``segments``."""
    return bool(MSISDN_RE.fullmatch(msisdn)) and any(msisdn.startswith(s) for s in segments)


def generate_msisdn(rng: random.Random, segments: tuple[str, ...] | list[str]) -> str:
    """Draw an 11-digit number inside ``segments`` using only ``rng`` (reproducible)."""
    prefix = rng.choice(list(segments))
    rest = 11 - len(prefix)
    return prefix + f"{rng.randrange(10**rest):0{rest}d}"
