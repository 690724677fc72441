"""``yzt plan``: the least capacity per operator, resource and shift that meets every SLA.

Exit status: 0 when a plan meets every SLA, 1 when some SLA cannot be met by any capacity within the
search bound (the answer names the operator, resource and SLA and the best value reached), 2 on a
bad flag or file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from yzt.commands.common import add_lang_argument, add_sla_profile_argument, output_dir
from yzt.errors import UserError

_CONFIDENCES = (0.95, 0.99)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "plan",
        help="find the least capacity (agents, staff, connections, SMS) that meets every SLA",
        description="Plan a scenario: for each chosen operator and resource, the least capacity "
        "with which every SLA holds at the given confidence (analytic first guesses, then bisection "
        "in simulation with common random numbers). Writes DIR/plan.json, DIR/planned.yaml (run it "
        "with 'yzt sim DIR/planned.yaml') and DIR/report.html/.md. Exit 0: a plan meets every SLA; "
        "1: an SLA cannot be met; 2: usage error.",
    )
    p.add_argument("scenario", help="shipped scenario name or path to a scenario YAML")
    p.add_argument("--operators", help="comma-separated operator ids (default: all)")
    p.add_argument("--resources", default="hotline,backoffice,connections,sms",
                   help="comma-separated: hotline, backoffice, connections, sms (default: all)")
    p.add_argument("--confidence", type=float, default=0.95, help="0.95 (default) or 0.99")
    p.add_argument("--replications", "-n", type=int,
                   help="replications per candidate (default: the scenario's)")
    p.add_argument("--engine", default="auto", choices=("auto", "fast", "simpy"),
                   help="auto (default, as yzt sim): the fast engine when it represents the scenario "
                        "exactly, SimPy otherwise")
    p.add_argument("--seed", type=int, default=1, help="root seed (default 1, as yzt sim)")
    p.add_argument("--executor", default="local",
                   help="local (default: a thread per CPU on the fast engine, a process per CPU on "
                        "SimPy) | serial | processes:N | dask://HOST:PORT")
    p.add_argument("--out", type=output_dir, default=Path("out/plan"),
                   help="output folder, created if missing (default ./out/plan)")
    add_lang_argument(p)
    add_sla_profile_argument(p)
    p.add_argument("--what-if", dest="what_if", metavar="load=F1,F2,…",
                   help="also plan at these multiples of the volume, e.g. load=0.8,1,1.25,1.5")
    p.add_argument("--calibrate", action="append", default=[], metavar="OP=DIR",
                   help="fit OP's latency, error ratio and capacity from a 'yzt load' output DIR "
                        "(repeatable)")
    p.add_argument("--design-shifts", dest="design_shifts", action="store_true",
                   help="design hotline and back-office shifts from allowed patterns (the "
                        "scenario's patterns:, or every start inside the opening hours, 4/6/8 h) "
                        "instead of sizing the scenario's windows")
    p.add_argument("--shift-target", dest="shift_target", choices=("run", "hourly"), default="run",
                   help="with --design-shifts, what a designed roster meets: run (default), each "
                        "hotline's and back office's SLA rows over the whole run, as the fixed-window "
                        "plan does, at least agent-hours; hourly, every hour at the full target")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress and no table")
    p.set_defaults(func=run)


def _csv(text: str, flag: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in text.split(",") if x.strip())
    if not items:
        raise UserError(f"{flag}: give at least one value")
    return items


def _what_if(text: str | None) -> tuple[float, ...]:
    if text is None:
        return ()
    key, _, values = text.partition("=")
    if key.strip() != "load" or not values:
        raise UserError(f"--what-if {text!r}: use load=F1,F2,… (for example load=0.8,1,1.25,1.5)")
    out = []
    for v in _csv(values, "--what-if load"):
        try:
            f = float(v)
        except ValueError:
            raise UserError(f"--what-if load: {v!r} is not a number") from None
        if not 0 < f <= 100:
            raise UserError(f"--what-if load: {v} must be in (0, 100]")
        out.append(f)
    return tuple(out)


def _parse(args: argparse.Namespace) -> dict[str, Any]:
    from yzt.sim.plan import RESOURCES

    resources = _csv(args.resources, "--resources")
    bad = [r for r in resources if r not in RESOURCES]
    if bad:
        raise UserError(f"--resources: unknown resource {bad[0]!r} (use {', '.join(RESOURCES)})")
    if args.confidence not in _CONFIDENCES:
        raise UserError(f"--confidence {args.confidence:g}: use 0.95 or 0.99")
    if args.replications is not None and not 2 <= args.replications <= 1000:
        raise UserError("--replications must be between 2 and 1000 (confidence intervals need 2)")
    if args.seed < 0:
        raise UserError("--seed must be >= 0")
    calibrate: list[tuple[str, Path]] = []
    for spec in args.calibrate:
        op, _, path = spec.partition("=")
        if not op or not path:
            raise UserError(f"--calibrate {spec!r}: use OP=DIR (for example R07=out/load)")
        calibrate.append((op.strip(), Path(path)))
    return {"resources": tuple(r for r in RESOURCES if r in resources),
            "operators": _csv(args.operators, "--operators") if args.operators else None,
            "what_if": _what_if(args.what_if), "calibrate": calibrate}


def _extends(source: str, name: str, out: Path) -> str:
    """How ``planned.yaml`` in ``out`` names its parent: a shipped name, or a relative path."""
    from yzt.sim.scenario import shipped_scenarios

    shipped = shipped_scenarios()
    if name in shipped and Path(source).resolve() == shipped[name].resolve():
        return name
    return os.path.relpath(Path(source).resolve(), out.resolve())


def run(args: argparse.Namespace) -> int:
    parsed = _parse(args)

    from tqdm import tqdm

    from yzt.sim import memory
    from yzt.sim import plan as planning
    from yzt.sim.calibrate import apply_calibration, calibration_overrides, e2e_outlook, fit_load_run
    from yzt.sim.replicate import choose_engine, make_executor
    from yzt.sim.scenario import load_scenario, with_overrides
    from yzt.verdict import Verdict

    sc = load_scenario(args.scenario)
    if args.sla_profile is not None:
        sc = with_overrides(sc, sla_profile=args.sla_profile)
    known = {op.id for op in sc.operators}
    if parsed["operators"]:
        unknown = [o for o in parsed["operators"] if o not in known]
        if unknown:
            raise UserError(f"--operators: unknown operator {unknown[0]!r} (known: CMCC, CUCC, CTCC, "
                            "R01…R39 as in the scenario's topology)")
    calibration_doc: dict[str, Any] = {}
    calibrations = []
    for op_id, load_dir in parsed["calibrate"]:
        if op_id not in known:
            raise UserError(f"--calibrate {op_id}=…: unknown operator {op_id!r}")
        cal = fit_load_run(load_dir, op_id)
        sc = apply_calibration(sc, op_id, cal)
        calibration_doc = planning.merge_docs(calibration_doc, calibration_overrides(sc, op_id, cal))
        calibrations.append((op_id, cal))
    memory.check(sc, args.replications, plan=True, load=max((1.0, *parsed["what_if"])))
    engine_name, engine_note = choose_engine(sc, args.engine)
    engine = planning.engine_function(engine_name)
    options = planning.PlanOptions(operators=parsed["operators"], resources=parsed["resources"],
                                   confidence=args.confidence, replications=args.replications,
                                   seed=args.seed, design_shifts=args.design_shifts,
                                   shift_target=args.shift_target)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot create the folder ({exc.strerror})") from None
    with tqdm(desc=f"yzt plan {sc.name}", unit="step", file=sys.stderr, disable=args.quiet or None,
              bar_format="{desc}: {n} steps, {elapsed} {postfix}") as bar:
        def progress(message: str) -> None:
            bar.set_postfix_str(message)
            bar.update(1)

        with make_executor(args.executor, threads=engine_name == "fast") as ex:
            document = planning.plan(sc, options, ex, engine, progress)
            document["engine"] = engine_name
            if engine_note:
                document["engine_note"] = engine_note
            if calibrations:
                document["calibration"] = [
                    {"operator": op_id, **cal.as_dict(),
                     "outlook": e2e_outlook(sc, op_id, cal, document)}
                    for op_id, cal in calibrations]
            if parsed["what_if"]:
                document["what_if"] = planning.what_if(sc, options, ex, engine,
                                                       parsed["what_if"], document, progress)
    document["scenario"]["extends"] = _extends(sc.source, sc.name, args.out)
    planned_doc = planning.planned_document(sc, document, calibration_doc,
                                            document["scenario"]["extends"])
    (args.out / "plan.json").write_text(planning.dumps(document), encoding="utf-8")
    (args.out / "planned.yaml").write_text(planning.planned_yaml(planned_doc, document),
                                           encoding="utf-8")
    from yzt.reports.console import plan_text
    from yzt.reports.readers import read_dirs
    from yzt.reports.render import write_report

    write_report(read_dirs([args.out], args.lang, args.out), args.out)
    verdict = Verdict.parse(document["verdict"])
    if not args.quiet:
        print(plan_text(document, args.lang))
        print(f"plan: {args.out / 'plan.json'}, {args.out / 'planned.yaml'}, "
              f"{args.out / 'report.html'}")
    return verdict.exit_code
