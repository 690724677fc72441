"""Named hotline service profiles, each target traced to the standard and clause it comes from.

A scenario's hotline target (SLA-HOT-1: a share of calls answered within a time, and an
abandonment ceiling) is otherwise an assumption. The profiles here tie those three numbers to
published service standards, with the requirement quoted as published, so a plan or a report can
say where each target comes from. Whatever the sources do not say is marked ``[ASSUMPTION]``.

- ``gbt-33358-2016``: GB/T 33358-2016 《政府热线服务规范》 (recommended national standard for
  government hotlines, in force 2017-07-01): answer within 15 s, 24-hour 接通率 ≥ 95 %.
- ``miit-3g-2009``: MIIT 《第三代移动通信服务规范（试行）》 (in force 2009-06-01): the customer-service
  centre, and a person, answer within 15 s. It states no share; the share is an assumption.
- ``assumption``: the harness's default (topology ``sla_profiles.default``): 85 % within 15 s,
  abandonment ≤ 5 %.

The standards' full texts were not at hand: the quotes are the wording of the public reports named
in ``Source.quoted_from``, and clause numbers are not given where they could not be checked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from yzt.domain.topology import HotlineSla, SlaProfile
from yzt.errors import UserError

ASSUMPTION = "[ASSUMPTION]"


@dataclass(frozen=True)
class Source:
    """Where one target comes from: the document, its clause, and the requirement as quoted."""

    document: str
    clause: str
    quote: str
    """The requirement in the published wording (empty for an assumption)."""
    quoted_from: str
    """Where the quoted wording was read (the standard itself or a public report of it)."""
    note: str = ""
    """How the quoted requirement becomes the number (an interpretation is said here)."""

    @property
    def is_assumption(self) -> bool:
        """True when the number is not stated by the document (it carries ``[ASSUMPTION]``)."""
        return ASSUMPTION in self.clause or ASSUMPTION in self.note or not self.quote


@dataclass(frozen=True)
class Target:
    """One number of a profile with its source."""

    field: str
    """The field of :class:`~yzt.domain.topology.HotlineSla` it sets."""
    value: float
    source: Source


@dataclass(frozen=True)
class Profile:
    """A named hotline service profile: the three numbers of SLA-HOT-1, each with its source."""

    name: str
    title: str
    answer_within_s: Target
    answered_share_min: Target
    abandonment_max: Target

    @property
    def targets(self) -> tuple[Target, Target, Target]:
        return (self.answer_within_s, self.answered_share_min, self.abandonment_max)

    def hotline_sla(self) -> HotlineSla:
        """The profile as the scenario's hotline target (``op.sla.hotline``)."""
        return HotlineSla(
            answer_within_s=self.answer_within_s.value,
            answered_share_min=self.answered_share_min.value,
            abandonment_max=self.abandonment_max.value,
        )

    def apply(self, sla: SlaProfile) -> SlaProfile:
        """``sla`` with its hotline target replaced by this profile's (every other row kept)."""
        return dataclasses.replace(sla, hotline=self.hotline_sla())

    def required_agents(self, calls_per_h: float, handle_time_mean_s: float,
                        patience_mean_s: float | None) -> int:
        """Least agents that Erlang A (Erlang C without patience) says meet this profile at a
        stationary arrival rate: the planner's own search (``yzt.sim.stages.hotline.erlang_required``)."""
        from yzt.sim.stages.hotline import erlang_required  # the planner's search

        return erlang_required(calls_per_h / 3600.0, handle_time_mean_s, patience_mean_s,
                               self.answer_within_s.value, self.answered_share_min.value,
                               self.abandonment_max.value)


_GBT = "GB/T 33358-2016 《政府热线服务规范》"
_GBT_CLAUSE = "受理要求 (acceptance requirements), telephone acceptance; clause number not checked"
_GBT_QUOTED = ("CCTV report of the standard's publication, 2016-12-23 (央视网, "
               "“政府热线服务规范将实施 电话受理时应在15秒之内接听”)")
_MIIT = "MIIT 《第三代移动通信服务规范（试行）》 (2009)"
_MIIT_CLAUSE = "service-quality indicators, customer-service centre; clause number not checked"
_MIIT_QUOTED = "Beijing Morning Post report, 2009-04-27 (北京晨报, “工信部发出3G服务规范 客服释疑限15秒响应”)"
_DEFAULT = "yzt topology, sla_profiles.default (docs/protocol.md, SLA-HOT-1)"

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="gbt-33358-2016",
            title="GB/T 33358-2016 government hotline service (政府热线服务规范)",
            answer_within_s=Target("answer_within_s", 15.0, Source(
                _GBT, _GBT_CLAUSE, "电话受理时应在15秒之内接听", _GBT_QUOTED,
                "answered within 15 s counts as answered in time")),
            answered_share_min=Target("answered_share_min", 0.95, Source(
                _GBT, _GBT_CLAUSE, "连续24小时内呼叫接通率应大于等于95%", _GBT_QUOTED,
                "接通率 ≥ 95 % joined with the 15 s clause as one target: ≥ 95 % of offered calls "
                "answered within 15 s (stricter than 95 % answered at all); the standard measures "
                "any 24 consecutive hours, the harness the whole run")),
            abandonment_max=Target("abandonment_max", 0.05, Source(
                _GBT, _GBT_CLAUSE, "连续24小时内呼叫接通率应大于等于95%", _GBT_QUOTED,
                "a call not connected is a call abandoned (the model blocks no call): "
                "1 − 95 % = 5 %; implied by the share above")),
        ),
        Profile(
            name="miit-3g-2009",
            title="MIIT 3G service specification, trial (第三代移动通信服务规范（试行）)",
            answer_within_s=Target("answer_within_s", 15.0, Source(
                _MIIT, _MIIT_CLAUSE, "客户服务中心的应答时限最长为15秒，人工服务的应答时限最长为15秒",
                _MIIT_QUOTED,
                "answered within 15 s (人工服务: counted from the caller asking for a person, "
                "which the model's hotline has no menu before); the 85 % in the same document is "
                "a video-call connection rate, not a hotline figure")),
            answered_share_min=Target("answered_share_min", 0.85, Source(
                _DEFAULT, ASSUMPTION, "", "",
                f"{ASSUMPTION} the document states a longest time, not a share (no staff "
                "guarantees every random arrival an answer within 15 s); the share is the "
                "harness's default")),
            abandonment_max=Target("abandonment_max", 0.05, Source(
                _DEFAULT, ASSUMPTION, "", "",
                f"{ASSUMPTION} the document states no abandonment ceiling; the harness's default")),
        ),
        Profile(
            name="assumption",
            title="yzt default (no published source for the share)",
            answer_within_s=Target("answer_within_s", 15.0, Source(
                _MIIT, _MIIT_CLAUSE, "客户服务中心的应答时限最长为15秒，人工服务的应答时限最长为15秒",
                _MIIT_QUOTED, "the 15 s of the service specification")),
            answered_share_min=Target("answered_share_min", 0.85, Source(
                _DEFAULT, ASSUMPTION, "", "", f"{ASSUMPTION} no published share for this service")),
            abandonment_max=Target("abandonment_max", 0.05, Source(
                _DEFAULT, ASSUMPTION, "", "", f"{ASSUMPTION} no published abandonment ceiling")),
        ),
    )
}


def profile(name: str) -> Profile:
    """The profile called ``name``; a :class:`~yzt.errors.UserError` lists the known names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UserError(
            f"unknown SLA profile {name!r}: use one of {', '.join(PROFILES)}"
        ) from None


def _format(t: Target) -> str:
    if t.field == "answer_within_s":
        return f"{t.value:g} s"
    return f"{t.value:.0%}".replace("%", " %")


def markdown_table() -> str:
    """Every profile's targets with their sources, as the Markdown table of docs/planning.md."""
    head = ("| profile | target | value | document | clause | requirement as published | reading |\n"
            "|---|---|---|---|---|---|---|")
    rows = []
    for p in PROFILES.values():
        for t in p.targets:
            s = t.source
            quote = f"「{s.quote}」" if s.quote else "—"
            rows.append(f"| `{p.name}` | `{t.field}` | {_format(t)} | {s.document} | {s.clause} "
                        f"| {quote} | {s.note} |")
    quoted = sorted({s.quoted_from for p in PROFILES.values() for t in p.targets
                     if (s := t.source).quoted_from})
    sources = "\n".join(f"- {q}" for q in quoted)
    return f"{head}\n" + "\n".join(rows) + f"\n\nQuoted wording as read in:\n\n{sources}\n"


if __name__ == "__main__":  # pragma: no cover - prints the table of docs/planning.md
    print(markdown_table(), end="")
