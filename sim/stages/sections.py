"""How a stage reads its part of a scenario document (``Stage.parse``).

:func:`yzt.sim.scenario.from_document` checks the document against the JSON Schema, then asks each
registered stage, in flow order, for what a schema cannot say (its :attr:`Section.required` keys
of the merged operator defaults, its :attr:`Section.operator_rules` and :attr:`Section.rules`),
and builds the frozen tree from the fields each stage parses (:attr:`Section.fields`,
:attr:`Section.operator`). The typed tree's classes stay in :mod:`yzt.sim.scenario`, which every
part of the model imports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]


@dataclass(frozen=True)
class Section:
    """A stage's scenario keys: how to check and parse them."""

    fields: Callable[[Doc], dict[str, Any]] | None = None
    """The :class:`~yzt.sim.scenario.Scenario` fields it owns, from the validated document."""
    operator: Callable[[Doc], dict[str, Any]] | None = None
    """The :class:`~yzt.sim.scenario.OperatorParams` fields it owns, from one operator's merged
    configuration (``operators.defaults.<kind>`` merged with ``operators.<ID>``)."""
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Keys each operator default must hold: ``""`` → keys of the operator itself, else a
    mapping of it → that mapping's keys (the schema cannot require them of ``operators.<ID>``,
    which may override a part only)."""
    operator_rules: Callable[[Doc, str, Doc], list[str]] | None = None
    """Problems of one operator configuration ``(document, its path, configuration)`` (a
    default or an override, so every key may be missing)."""
    rules: Callable[[Doc], list[str]] | None = None
    """Problems of the document as a whole, checked after every operator's."""


def staffed_rules(section: str) -> Callable[[Doc, str, Doc], list[str]]:
    """The rules of a staffed section of an operator (its ``shifts`` and ``patterns``)."""

    def rules(doc: Doc, base: str, cfg: Doc) -> list[str]:
        del doc
        problems = []
        sect = cfg.get(section, {})
        for i, s in enumerate(sect.get("shifts", [])):
            if s["end_h"] <= s["start_h"]:
                problems.append(f"at {base}.{section}.shifts[{i}].end_h: {s['end_h']} is not after "
                                f"start_h {s['start_h']} (split a shift over midnight into two)")
        opening = sect.get("patterns", {}).get("opening")
        if opening is not None and opening[0] % 24 == opening[1] % 24:
            problems.append(f"at {base}.{section}.patterns.opening: {opening} opens and closes "
                            "at the same hour (give [open, close), e.g. [8, 22])")
        return problems

    return rules
