"""``yzt check [TARGET_URL]``: the whole job in one command, one report, one exit status.

Without a URL it judges the embedded reference operator: fixtures, ``yzt serve`` on loopback,
conformance, a short load test and a simulation scenario. With a URL it judges the operator's own
endpoint, in five steps: preflight (credentials, clock and fixtures), conformance, a load test at
the rate the scenario's busiest minute asks of every operator, the capacity finder (bisection to
within 10 %), and a simulation of the scenario with that operator's latency, error ratio and
capacity replaced by the measured ones, judging SLA-E2E-1 and the operator's own SLAs at the
scenario's national volume.

Each step is the public command a user would run (``yzt conform``, ``yzt load``, ``yzt sim``), as
a child process in its own process group, so the check exercises exactly what users get and a step
that fails leaves the others' results. Fixtures, the reference operator's database and the server
log live in a private work folder (mode 0700, removed at the end unless ``--keep-work``): the
``--out`` folder holds only masked records and reports, safe to attach to a ticket.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from yzt import resultfile
from yzt.commands.common import (
    add_clock_offset_argument,
    add_lang_argument,
    add_secret_argument,
    add_subjects_argument,
    clock_offset_of,
    output_dir,
    read_secret,
)
from yzt.errors import UserError
from yzt.verdict import Verdict, from_exit_code

if TYPE_CHECKING:
    from yzt.reports.model import Report

#: Key id of the embedded reference operator (its secret is made afresh for each run).
EMBEDDED_KEY_ID = "yzt-check"
STEPS = ("conform", "load", "capacity", "sim")
#: Name prefix of the private work folders under the temporary directory.
WORK_PREFIX = "yzt-check-"

#: At most this many characters of a step's own error go into check.json and the report.
MAX_STEP_MESSAGE = 1500


@dataclass(frozen=True)
class StepRecord:
    """What ``check.json`` records of one step: its verdict, whether it ran, how long it took, its
    own error (or why it was skipped) and the command it ran, as a user would type it."""

    verdict: Verdict
    state: str = "ran"
    duration_s: float | None = None
    message: str = ""
    command: str = ""

    def to_json(self) -> dict[str, object]:
        return {"verdict": self.verdict.value, "state": self.state,
                "duration_s": None if self.duration_s is None else round(self.duration_s, 2),
                "message": self.message, "command": self.command}


def skipped(reason: str) -> StepRecord:
    """A step that did not run because an earlier step left it nothing to run on: it judged
    nothing (``incomplete``), and the reason says why; an earlier failure stays the run's verdict."""
    return StepRecord(Verdict.INCOMPLETE, state="skipped", message=_scrubbed(reason))


def _yzt_args(cmd: list[str]) -> list[str]:
    """The arguments after ``yzt`` of a child's command line (``load URL …``)."""
    if "yzt.spawn" in cmd:  # python -P -m yzt.spawn PARENT_PID yzt ARGS…
        return cmd[cmd.index("yzt.spawn") + 3:]
    return cmd[3:] if cmd[1:3] == ["-m", "yzt"] else cmd[1:]


def shown_command(cmd: list[str]) -> str:
    """A child's command line as a user would type it: ``yzt …`` (the secret is never on it)."""
    return shlex.join(["yzt", *_yzt_args(cmd)])


def _scrubbed(text: str) -> str:
    from yzt.domain.masking import scrub

    text = scrub(text.strip())
    return text if len(text) <= MAX_STEP_MESSAGE else text[:MAX_STEP_MESSAGE] + " …"


def step_error(log: Path, command: str) -> str:
    """A failed step's own error from its log: the ``yzt CMD: error:`` message the CLI prints (with
    the lines that follow it), else the last lines that are not a traceback's frames; scrubbed."""
    try:
        lines = [line.rstrip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                 if line.strip()]
    except OSError:
        return ""
    marker = f"yzt {command}: error: "
    for i in range(len(lines) - 1, -1, -1):
        if marker in lines[i]:
            return _scrubbed("\n".join([lines[i].split(marker, 1)[1], *lines[i + 1:i + 8]]))
    tail = [line for line in lines if not line.startswith((" ", "\t"))][-3:]
    return _scrubbed("\n".join(tail))


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check",
        help="judge an operator endpoint end to end (or the embedded reference) and write one report",
        description="Without TARGET_URL: generate fixtures, start the reference operator on "
        "127.0.0.1, run the conformance suite, a short load test and a simulation scenario. With "
        "TARGET_URL (your endpoint): preflight, conformance, a load test at the scenario's busiest "
        "rate, the capacity finder, and a simulation of what the measured endpoint means for "
        "SLA-E2E-1 and your SLAs. Writes report.html, report.md, report.json and junit.xml to "
        "--out. Exit 0 pass, 1 a requirement or SLA failed, 2 usage, connection or credential "
        "error, 3 incomplete (130 after Ctrl-C). The secret comes from YZT_SECRET or --secret-file.",
    )
    p.add_argument("target", metavar="TARGET_URL", nargs="?",
                   help="your operator endpoint's base URL (default: the embedded reference)")
    p.add_argument("--out", type=output_dir, default=Path("out/check"),
                   help="output folder, created if missing (default out/check)")
    p.add_argument("--operator", default="R07", help="operator id (default R07)")
    p.add_argument("--key-id", help=f"with TARGET_URL: the key id your endpoint knows the secret by "
                   f"(default {EMBEDDED_KEY_ID!r})")
    p.add_argument("--fixtures", type=Path, metavar="FILE",
                   help="with TARGET_URL: the fixture file your endpoint loaded (else --seed/--subjects)")
    p.add_argument("--seed", type=int, default=7, help="seed for fixtures and simulation (default 7)")
    add_subjects_argument(p)
    add_secret_argument(p)
    add_clock_offset_argument(p)
    p.add_argument("--load-rate", type=float,
                   help="load test rate, req/s (default: 20 on the embedded reference; with TARGET_URL "
                   "the rate the scenario's busiest minute asks of every operator, at least 1)")
    p.add_argument("--load-duration", default="10s", help="load test duration (default 10s)")
    p.add_argument("--capacity-duration", default="4s",
                   help="length of each capacity-finder run (default 4s)")
    p.add_argument("--capacity-runs", type=int, default=10,
                   help="most load runs of the capacity finder (default 10)")
    p.add_argument("--scenario", default="baseline", help="simulation scenario (default baseline)")
    p.add_argument("--replications", type=int, default=4, help="simulation replications (default 4, "
                   "at least 2)")
    p.add_argument("--rate-limit", type=float, default=150.0,
                   help="embedded reference only: it answers 429 above this rate, so that overload "
                   "handling (OIF-ERR-2) can be judged; keep it above --load-rate (default 150)")
    p.add_argument("--skip", action="append", default=[], choices=list(STEPS),
                   help="leave out a step (repeatable)")
    p.add_argument("--waivers", type=Path, metavar="FILE",
                   help="waiver file for the conformance step (yzt conform --waivers): dated, "
                   "approved exceptions, e.g. for checks a sandbox cannot run")
    p.add_argument("--run-seed", type=int, metavar="N",
                   help="run seed of the conformance step (the subjects disputes and cancellations "
                   "change, and the request ids; default random): the same seed runs the same requests")
    add_lang_argument(p)
    p.add_argument("--keep-work", action="store_true",
                   help="keep the private work folder (fixtures, database, server log) and print it")
    p.set_defaults(func=run)


def _yzt(*args: str) -> list[str]:
    from yzt.spawn import yzt_command

    return yzt_command(*args)


def _waivers(args: argparse.Namespace) -> list[str]:
    """``--waivers FILE`` and ``--run-seed N`` for the conformance step, when given."""
    seed = ["--run-seed", str(args.run_seed)] if args.run_seed is not None else []
    return (["--waivers", str(args.waivers.resolve())] if args.waivers is not None else []) + seed


def _validate(args: argparse.Namespace) -> None:
    """Every flag checked before anything starts; each message names its flag."""
    from yzt.loadtests.shapes import parse_duration

    if args.replications < 2 or args.replications > 1000:
        raise UserError(f"--replications must be between 2 and 1000 (confidence intervals need 2), "
                        f"got {args.replications}")
    if not 1 <= args.subjects <= 100_000:
        raise UserError(f"--subjects must be between 1 and 100000, got {args.subjects}")
    if not 1 <= args.capacity_runs <= 30:
        raise UserError(f"--capacity-runs must be between 1 and 30, got {args.capacity_runs}")
    for flag in ("--load-duration", "--capacity-duration"):
        seconds = parse_duration(getattr(args, flag[2:].replace("-", "_")), flag)
        if seconds > 3600:
            raise UserError(f"{flag} must be at most 1h, got {seconds:g} s")
    if args.load_rate is not None and not (math.isfinite(args.load_rate) and 0 < args.load_rate <= 100_000):
        raise UserError(f"--load-rate must be between 0 and 100000 req/s, got {args.load_rate:g}")
    if args.waivers is not None:
        from yzt.conformance.waivers import load_waivers

        load_waivers(args.waivers)  # a bad waiver file stops here, naming its line
    if "sim" not in args.skip:
        from yzt.sim.scenario import load_scenario

        try:
            load_scenario(args.scenario)
        except UserError as exc:
            raise UserError(f"--scenario {args.scenario}: {exc}") from None
    if args.target is None:
        if args.key_id or args.fixtures:
            raise UserError("--key-id and --fixtures are for TARGET_URL; the embedded reference makes "
                            "its own")
        if (args.load_rate or 20.0) >= args.rate_limit:
            raise UserError(f"--load-rate ({args.load_rate or 20.0:g}) must stay below --rate-limit "
                            f"({args.rate_limit:g}), or the load test measures the rate limit")
    elif not args.key_id:
        raise UserError("--key-id is required with TARGET_URL: the key id your endpoint knows the "
                        "secret by")


@contextmanager
def _work_folder(keep: bool) -> Iterator[Path]:
    """A private folder (0700) for fixtures, the database and the server log; removed at the end
    unless ``keep``. Folders a killed run left behind are removed first, each named."""
    from yzt.shutdown import claim_folder, release_folder, remove_orphan_folders

    for orphan, pid in remove_orphan_folders(Path(tempfile.gettempdir()), WORK_PREFIX):
        print(f"yzt check: removed the work folder of an earlier run that was killed (pid {pid}): "
              f"{orphan}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
    work.chmod(0o700)
    claim_folder(work)
    try:
        yield work
    finally:
        if keep:
            release_folder(work)  # kept on purpose: no later run removes it
            print(f"yzt check: work folder kept (fixtures, database, server log): {work}",
                  file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _reference_operator(args: argparse.Namespace, fixtures: Path, env: dict[str, str],
                        work: Path) -> Iterator[str]:
    """Start ``yzt serve`` on a free loopback port; yield its base URL; stop its process tree."""
    from yzt.server.testing import free_port, wait_healthy
    from yzt.shutdown import stop_tree

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    with log.open("w", encoding="utf-8") as log_fh:
        proc = subprocess.Popen(
            _yzt("serve", "--operator", args.operator, "--fixtures", str(fixtures), "--key-id",
                 EMBEDDED_KEY_ID, "--host", "127.0.0.1", "--port", str(port), "--db",
                 str(work / "operator.sqlite"), "--rate-limit", str(args.rate_limit)),
            env=env, stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            try:
                wait_healthy(url, proc)
            except RuntimeError as exc:
                told = "\n".join(log.read_text("utf-8", errors="replace").strip().splitlines()[-12:])
                raise UserError(f"the reference operator did not start: {exc}"
                                + (f"; it said:\n{told}" if told else "")) from None
            yield url
        finally:
            stop_tree(proc)


def _step(name: str, cmd: list[str], env: dict[str, str], log: Path, timeout: float,
          results: Path | None = None) -> StepRecord:
    """Run one sub-command in its own process group; its verdict from its exit status, and on an
    error its own message from its log. ``results`` (the step's folder) is emptied first, so that
    a folder reused from an earlier run never reports that run's records as this one's."""
    from yzt.shutdown import stop_tree

    if results is not None:
        shutil.rmtree(results, ignore_errors=True)
    print(f"yzt check: {name} …", file=sys.stderr, flush=True)
    started = time.monotonic()
    command = shown_command(cmd)
    with log.open("w", encoding="utf-8") as log_fh:
        proc = subprocess.Popen(cmd, env=env, stdout=log_fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"yzt check: {name} did not finish within {timeout:.0f} s (see {log})", file=sys.stderr)
            return StepRecord(Verdict.ERROR, duration_s=time.monotonic() - started, command=command,
                              message=f"did not finish within {timeout:.0f} s and was stopped")
        finally:
            stop_tree(proc)  # a no-op when it ended; on SIGTERM to us, stops its whole tree
    verdict = from_exit_code(proc.returncode)
    elapsed = time.monotonic() - started
    message = step_error(log, next(iter(_yzt_args(cmd)), "")) if verdict is Verdict.ERROR else ""
    print(f"yzt check: {name}: {verdict.value} ({elapsed:.1f} s, log {log})"
          + (f"\n  {message.splitlines()[0]}" if message else ""), file=sys.stderr, flush=True)
    return StepRecord(verdict, duration_s=elapsed, message=message, command=command)


def run(args: argparse.Namespace) -> int:
    from yzt.shutdown import Interrupted, interruptible

    _validate(args)
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "logs").mkdir(exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create the folder ({exc.strerror})") from None
    verdicts: dict[str, StepRecord] = {}
    interrupted: str | None = None
    status: int | None = None
    stopped: UserError | None = None
    with interruptible(), _work_folder(args.keep_work) as work:
        try:
            if args.target is None:
                _embedded(args, work, verdicts)
            else:
                _endpoint(args, work, verdicts)
        except Interrupted as exc:
            interrupted = exc.name
            status = exc.exit_code
            print(f"yzt check: stopped by {exc.name}; the report marks the run incomplete",
                  file=sys.stderr)
        except UserError as exc:
            # the preflight (or the reference operator's start) stopped the run: nothing was judged;
            # the report and junit.xml still say why, and the CLI prints the message (exit 2)
            stopped = exc
            verdicts = {"preflight": StepRecord(Verdict.ERROR, message=_scrubbed(str(exc))),
                        **verdicts}
        verdict = _write(args, verdicts, interrupted, summary=stopped is None)
    if stopped is not None:
        raise stopped
    if status is not None:
        return status
    return verdict.exit_code


def _embedded(args: argparse.Namespace, work: Path, verdicts: dict[str, StepRecord]) -> None:
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, write_fixtures

    out: Path = args.out
    operator = load_topology().get(args.operator)
    fixtures_path = work / "fixtures.jsonl"
    write_fixtures(generate_fixtures(operator, args.seed, args.subjects), fixtures_path)
    fixtures_path.chmod(0o600)
    # The secret is made here, handed to children in their environment, and never written down.
    env = {**os.environ, "YZT_SECRET": secrets.token_hex(32)}
    common = ["--operator", args.operator, "--key-id", EMBEDDED_KEY_ID, "--fixtures", str(fixtures_path),
              "--lang", args.lang]
    logs = out / "logs"
    if not {"conform", "load"} <= set(args.skip):
        with _reference_operator(args, fixtures_path, env, work) as url:
            if "conform" not in args.skip:
                verdicts["conform"] = _step(
                    "conformance suite", _yzt("conform", url, *common, *_waivers(args), "--out",
                                              str(out / "conform")),
                    env, logs / "conform.log", timeout=300, results=out / "conform")
            if "load" not in args.skip:
                verdicts["load"] = _step(
                    "load test", _yzt("load", url, *common, "--rate", str(args.load_rate or 20.0),
                                      "--duration", args.load_duration, "--out", str(out / "load")),
                    env, logs / "load.log", timeout=600, results=out / "load")
    if "sim" not in args.skip:
        verdicts["sim"] = _step(
            "simulation", _yzt("sim", args.scenario, "--replications", str(args.replications),
                               "--seed", str(args.seed), "--out", str(out / "sim"), "--quiet"),
            env, logs / "sim.log", timeout=1800, results=out / "sim")


def _endpoint(args: argparse.Namespace, work: Path, verdicts: dict[str, StepRecord]) -> None:
    """The five steps against the operator's own endpoint."""
    from yzt.commands.load import run_preflight
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, load_fixtures

    out: Path = args.out
    logs = out / "logs"
    topology = load_topology()
    operator = topology.get(args.operator)
    secret = read_secret(args)
    if args.fixtures:
        fixtures = load_fixtures(args.fixtures, topology, operator.id)
        source = ["--fixtures", str(args.fixtures.resolve())]
    else:
        fixtures = generate_fixtures(operator, args.seed, args.subjects)
        source = ["--seed", str(args.seed), "--subjects", str(args.subjects)]
    # 1. preflight: a wrong secret, key id, clock or fixture set stops here (exit 2)
    clock_offset = clock_offset_of(args)
    note = run_preflight(args.target, args.key_id, secret, fixtures, operator.id, " ".join(source),
                         clock_offset=clock_offset)
    print(f"yzt check: {note}", file=sys.stderr)
    resultfile.write(out / "preflight.json", "preflight", 1, {"verdict": "pass", "note": note})
    env = {**os.environ, "YZT_SECRET": secret.decode("utf-8")}
    common = ["--operator", operator.id, "--key-id", args.key_id, *source, "--lang", args.lang]
    if clock_offset is not None:  # each step reads the clock again; this is only its first guess
        common += ["--clock-offset", repr(clock_offset)]
    rate = args.load_rate or _scenario_rate(args.scenario)
    if "conform" not in args.skip:  # 2. conformance
        verdicts["conform"] = _step(
            "conformance suite", _yzt("conform", args.target, *common, *_waivers(args), "--out",
                                      str(out / "conform")),
            env, logs / "conform.log", timeout=600, results=out / "conform")
    if "load" not in args.skip:  # 3. load at the scenario's busiest rate
        verdicts["load"] = _step(
            f"load test at {rate:g} req/s",
            _yzt("load", args.target, *common, "--rate", f"{rate:g}", "--duration", args.load_duration,
                 "--schema-sample", "all", "--out", str(out / "load")),
            env, logs / "load.log", timeout=900, results=out / "load")
    if "capacity" not in args.skip:  # 4. the capacity finder, bisecting
        verdicts["capacity"] = _step(
            "capacity finder",
            _yzt("load", args.target, *common, "--rate", f"{rate:g}", "--duration",
                 args.capacity_duration, "--find-capacity", "--capacity-steps", str(args.capacity_runs),
                 "--arrivals", "constant", "--out", str(out / "capacity")),
            env, logs / "capacity.log", timeout=1800, results=out / "capacity")
    if "sim" not in args.skip:  # 5. what the measured endpoint means at national volume
        verdicts["sim"] = _calibrated_sim(args, work, env, operator.id, verdicts)


def _scenario_rate(name: str) -> float:
    """The rate the scenario's busiest minute asks of every operator (each is asked every query)."""
    from yzt.sim.calibrate import peak_demand_rps
    from yzt.sim.scenario import load_scenario

    return max(1.0, round(peak_demand_rps(load_scenario(name)), 2))


def _calibrated_sim(args: argparse.Namespace, work: Path, env: dict[str, str], operator: str,
                    earlier: dict[str, StepRecord]) -> StepRecord:
    """The scenario with ``operator``'s endpoint as measured (latency, errors, capacity), simulated.

    When the load runs left too little to fit (an endpoint so slow or failing that few requests
    succeeded), the simulation is recorded as skipped with that reason: it judged nothing, and the
    failure that caused it stays the run's verdict."""
    import yaml

    from yzt.sim.calibrate import calibration_overrides, e2e_outlook, fit_load_run
    from yzt.sim.scenario import load_scenario, resolve

    out: Path = args.out
    shutil.rmtree(out / "sim", ignore_errors=True)
    measured = out / ("capacity" if (out / "capacity" / "capacity.json").exists() else "load")
    scenario = load_scenario(args.scenario)
    try:
        calibration = fit_load_run(measured, operator)
    except UserError as exc:
        failed = [name for name in ("load", "capacity") if name in earlier
                  and earlier[name].verdict in (Verdict.FAIL, Verdict.ERROR)]
        after = "".join(f" (after the {name} step "
                        f"{'failed' if earlier[name].verdict is Verdict.FAIL else 'ended in error'})"
                        for name in failed[:1])
        why = str(exc).split(": ", 1)[-1] if str(exc).startswith("--calibrate ") else str(exc)
        reason = f"no calibration from the {measured.name} run{after}: {why}"
        (out / "logs" / "sim.log").write_text(f"skipped: {reason}\n", encoding="utf-8")
        print(f"yzt check: simulation: skipped ({reason})", file=sys.stderr)
        return skipped(reason)
    if measured.name == "capacity" and (out / "load" / "raw").is_dir():
        # latency and errors at the operating rate when that run has enough samples
        with contextlib.suppress(UserError):
            at_rate = fit_load_run(out / "load", operator)
            calibration = replace(at_rate, capacity_rps=calibration.capacity_rps)
    document = {"extends": str(resolve(args.scenario).resolve()),
                "name": f"{scenario.name}-{operator.lower()}-measured",
                "description": f"{scenario.name} with {operator}'s endpoint as measured by yzt check",
                **calibration_overrides(scenario, operator, calibration)}
    # beside the results (it holds no personal data), so that the step's reproduce command works
    (out / "sim").mkdir(parents=True, exist_ok=True)
    path = out / "sim" / "calibrated-scenario.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    resultfile.write(out / "sim" / "calibration.json", "calibration", 1,
                     {"calibration": calibration.as_dict(),
                      "scenario_changes": calibration_overrides(scenario, operator, calibration),
                      "outlook": e2e_outlook(scenario, operator, calibration)})
    return _step("simulation with the measured endpoint",
                 _yzt("sim", str(path), "--replications", str(args.replications), "--seed",
                      str(args.seed), "--out", str(out / "sim"), "--quiet"),
                 env, out / "logs" / "sim.log", timeout=1800)


def _write(args: argparse.Namespace, verdicts: dict[str, StepRecord], interrupted: str | None,
           summary: bool = True) -> Verdict:
    """``check.json`` naming the steps, then one report read from the records the steps left
    (``yzt report`` on the same folder renders the same report again), then what to fix on stderr."""
    from yzt.reports.readers import read_dirs
    from yzt.reports.render import write_report

    out: Path = args.out
    record: dict[str, object] = {"operator": args.operator, "target": args.target,
                                 "steps": {k: v.to_json() for k, v in verdicts.items()}}
    if interrupted:
        record["interrupted"] = interrupted
    resultfile.write(out / "check.json", "check", 1, record)
    report = read_dirs([out], args.lang, out_dir=out)
    paths = write_report(report, out)
    if summary:
        print_fixes(report, sys.stderr)
    print(f"yzt check: verdict {report.verdict.value.upper()} — report {paths['html']}",
          file=sys.stderr)
    return report.verdict


def print_fixes(report: Report, stream: TextIO, limit: int = 15) -> None:
    """What to fix, on the terminal: each failure or error with its message and the command that
    reproduces it; the checks that could not complete, named (the report says how to finish them)."""
    from yzt.domain.masking import scrub
    from yzt.reports.render import fixes, unfinished

    found = [f for f in fixes(report) if f.row.verdict in (Verdict.FAIL, Verdict.ERROR)]
    if found:
        print("yzt check: what to fix:", file=stream)
    for f in found[:limit]:
        message = " ".join(f.row.message.split()) or f"measured {f.row.measured}, expected {f.row.expected}"
        message = message if len(message) <= 300 else message[:300] + " …"
        what = f"{f.row.requirement} {f.row.name}".strip()
        print(scrub(f"  {f.row.verdict.value.upper()} {what}: {message}"), file=stream)
        if f.row.reproduce:
            print(scrub(f"    reproduce: {f.row.reproduce}"), file=stream)
    if len(found) > limit:
        print(f"  … and {len(found) - limit} more in the report", file=stream)
    left = unfinished(report)
    if left:
        names = ", ".join(f"{c['requirement']} {c['check']}" for c in left["checks"])
        print(f"yzt check: could not complete: {names} (the report says the two ways to finish them)",
              file=stream)
