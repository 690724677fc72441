"""The reference operator's configuration: one frozen object built from flags, checked at start."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from yzt.fixtures import DEFAULT_SUBJECTS
from yzt.server.defects import DefectName
from yzt.server.faults import FaultProfile
from yzt.server.variants import RATE_503_RPS, VariantName, conflicts


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``create_app`` needs; ``yzt serve`` builds it from its flags.

    Cards come from ``fixtures`` (a JSON Lines file) or are generated from ``seed`` and
    ``subjects``. ``db`` is the SQLite file that makes accepted work durable.
    """

    operator_id: str
    key_id: str
    secret: bytes
    db: Path
    fixtures: Path | None = None
    seed: int = 1
    subjects: int = DEFAULT_SUBJECTS
    base_path: str = ""
    defects: frozenset[DefectName] = frozenset()
    #: Legal variants (``yzt serve --variant``): freedoms the protocol leaves to an operator.
    variants: frozenset[VariantName] = frozenset()
    sandbox_clock: bool = True
    #: Status answers carry members the protocol does not name (allowed: responses are open).
    extra_members: bool = False
    bench_hello: bool = False
    faults: FaultProfile = field(default_factory=FaultProfile)
    #: The ``rate-limit-503`` variant's limit in req/s: the fault profile's rate limit, moved here
    #: (so it answers 503 instead of 429), or :data:`~yzt.server.variants.RATE_503_RPS`.
    limit_503_rps: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        names = {str(d) for d in self.defects}
        unknown = sorted(names - set(DefectName))
        if unknown:
            raise ValueError(f"unknown defect(s): {', '.join(unknown)} (see yzt serve --list-defects)")
        # names given as plain strings become members, so has() compares like with like
        object.__setattr__(self, "defects", frozenset(DefectName(n) for n in names))
        chosen = {str(v) for v in self.variants}
        unknown = sorted(chosen - set(VariantName))
        if unknown:
            raise ValueError(f"unknown variant(s): {', '.join(unknown)} (see yzt serve --list-variants)")
        object.__setattr__(self, "variants", frozenset(VariantName(n) for n in chosen))
        if clash := conflicts(chosen):
            raise ValueError(clash)
        if self.varies(VariantName.NO_RATE_LIMIT) and self.faults.rate_limit:
            raise ValueError("--variant no-rate-limit never answers 429: drop --rate-limit (or the "
                             "fault profile's rate_limit)")
        if self.varies(VariantName.RATE_LIMIT_503):
            object.__setattr__(self, "limit_503_rps", self.faults.rate_limit or RATE_503_RPS)
            object.__setattr__(self, "faults", replace(self.faults, rate_limit=None))
        # the variants that an older flag already expressed set that flag's field
        if self.varies(VariantName.NO_SANDBOX_CLOCK):
            object.__setattr__(self, "sandbox_clock", False)
        if self.varies(VariantName.EXTRA_MEMBERS):
            object.__setattr__(self, "extra_members", True)
        if self.base_path and (not self.base_path.startswith("/") or self.base_path.endswith("/")):
            raise ValueError(f"base path {self.base_path!r} must start with / and not end with /")
        if not self.secret:
            raise ValueError("the shared secret must not be empty")

    def has(self, defect: DefectName) -> bool:
        """True when the seeded defect ``defect`` is switched on."""
        return defect in self.defects

    def varies(self, variant: VariantName) -> bool:
        """True when the legal variant ``variant`` is switched on."""
        return variant in self.variants
