"""What ``yzt plan`` prints: the answer to the question asked, in the chosen language.

Per planned operator and resource, current → planned and the row that binds it; the infeasible
answers; the what-if table with its numbers (the planned value of every item at every load); what
was not planned and still breaches, and what that means for ``yzt sim planned.yaml``.
"""

from __future__ import annotations

from typing import Any

from yzt.reports.i18n import Lang, tr, verdict_word


def _values(v: Any) -> str:
    return ",".join(str(x) for x in v) if v else "-"


def plan_text(document: dict[str, Any], lang: Lang) -> str:
    """The console answer of a ``plan.json`` document."""
    lines = [tr("console.plan.head", lang, scenario=document["scenario"]["name"],
                reps=document["replications"], seed=document["seed"],
                confidence=f"{document['confidence']:.0%}", sims=document["simulations"])]
    cols = tr("console.plan.cols", lang).split("|")
    lines.append(f"  {cols[0]:<9} {cols[1]:<22} {cols[2]:>18}  {cols[3]:<12} {cols[4]}")
    for e in document["items"]:
        name = e["resource"] + (f".{e['part']}" if e["part"] else "")
        change = f"{_values(e['current'])} → {_values(e['planned'])}"
        mark = "*" if e["current"] != e["planned"] else " "
        binding = ", ".join(e.get("binding") or []) or "-"
        lines.append(f"  {e['operator']:<9} {name:<22} {change:>18}{mark} {binding:<12} "
                     f"{verdict_word(e['verdict'], lang)}")
    for e in document["items"]:
        if e["infeasible"]:
            inf = e["infeasible"]
            lines.append(tr("console.plan.infeasible", lang, reason=inf["reason"],
                            best=_values(inf["best_value"])))
    whatif = document.get("what_if") or []
    if whatif:
        lines.append(tr("console.plan.what_if", lang))
        loads = [tr("plan.load", lang, factor=format(w["load"], "g")) for w in whatif]
        head = "".join(f"{load:>14}" for load in loads)
        lines.append(f"  {tr('plan.item', lang):<32}{head}")
        for j, item in enumerate(whatif[0]["items"]):
            label = f"{item['operator']} {item['resource']}" + (f".{item['part']}" if item["part"] else "")
            shown = [_values(w["items"][j]["planned"]) + ("!" if w["items"][j]["infeasible"] else "")
                     for w in whatif]
            cells = "".join(f"{x:>14}" for x in shown)
            lines.append(f"  {label:<32}{cells}")
        verdicts = "".join(f"{verdict_word(w['verdict'], lang):>14}" for w in whatif)
        lines.append(f"  {tr('console.plan.verdict', lang):<32}{verdicts}")
    outside = document["confirmation"]["breached_outside_plan"]
    if outside:
        reqs = sorted({r["requirement"] for r in outside})
        lines.append(tr("console.plan.outside", lang, n=len(outside), rows=", ".join(reqs)))
    lines.append(tr("console.plan.verdict_line", lang,
                    verdict=verdict_word(document["verdict"], lang)))
    return "\n".join(lines)
