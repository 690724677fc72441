"""The reference operator's configuration: one frozen object built from flags, checked at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from yzt.fixtures import DEFAULT_SUBJECTS
from yzt.server.defects import DEFECTS
from yzt.server.faults import FaultProfile


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
    defects: frozenset[str] = frozenset()
    sandbox_clock: bool = True
    #: Status answers carry members the protocol does not name (allowed: responses are open).
    extra_members: bool = False
    bench_hello: bool = False
    faults: FaultProfile = field(default_factory=FaultProfile)

    def __post_init__(self) -> None:
        unknown = sorted(self.defects - DEFECTS.keys())
        if unknown:
            raise ValueError(f"unknown defect(s): {', '.join(unknown)} (see yzt serve --list-defects)")
        if self.base_path and (not self.base_path.startswith("/") or self.base_path.endswith("/")):
            raise ValueError(f"base path {self.base_path!r} must start with / and not end with /")
        if not self.secret:
            raise ValueError("the shared secret must not be empty")

    def has(self, defect: str) -> bool:
        """True when the seeded defect ``defect`` is switched on."""
        return defect in self.defects
