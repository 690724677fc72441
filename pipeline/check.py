"""The check pipeline behind ``yzt check``: its steps, the record of each, and the commands that
reproduce them.

Without a target it judges the embedded reference operator: fixtures, ``yzt serve`` on loopback,
conformance, a short load test and a simulation scenario. With a target it judges the operator's
own endpoint, in five steps: preflight (credentials, clock and fixtures), conformance, a load test
at the rate the scenario's busiest minute asks of every operator, the capacity finder (bisection to
within 10 %), and a simulation of the scenario with that operator's latency, error ratio and
capacity replaced by the measured ones, judging SLA-E2E-1 and the operator's own SLAs at the
scenario's national volume.

Each step is the public command a user would run (``yzt conform``, ``yzt load``, ``yzt sim``), as
a child process in its own process group (a fork of this process that calls the command's entry
point, where :func:`yzt.spawn.can_fork` allows), so the check exercises exactly what users get and
a step that fails leaves the others' results. Each step's record carries that command as a user would
type it (its reproduce command). Fixtures, the reference operator's database and the server log
live in a private work folder (mode 0700, removed at the end unless ``keep_work``): the output
folder holds only masked records and reports, safe to attach to a ticket.
"""

from __future__ import annotations

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from yzt import resultfile
from yzt.errors import UserError
from yzt.fixtures import DEFAULT_SUBJECTS, FixtureSelection
from yzt.pipeline.results import CalibrationResults, CheckResults, PreflightResults
from yzt.verdict import Verdict, from_exit_code

if TYPE_CHECKING:
    from yzt.reports.i18n import Lang
    from yzt.reports.model import Report

#: The conformance step's certification bundle, in its folder (``yzt validate conform/evidence.zip``).
EVIDENCE = "evidence.zip"
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


def _no_secret() -> bytes:
    raise UserError("no secret: set YZT_SECRET or pass --secret-file FILE")


@dataclass(frozen=True)
class CheckSettings:
    """What ``yzt check`` was asked to do; each field is the flag of the same name."""

    out: Path
    target: str | None = None
    operator: str = "R07"
    key_id: str | None = None
    fixtures: Path | None = None
    seed: int = 7
    subjects: int = DEFAULT_SUBJECTS
    clock_offset: float | None = None
    load_rate: float | None = None
    load_duration: str = "10s"
    capacity_duration: str = "4s"
    capacity_runs: int = 10
    scenario: str = "baseline"
    replications: int = 4
    rate_limit: float = 150.0
    skip: tuple[str, ...] = ()
    waivers: Path | None = None
    run_seed: int | None = None
    lang: Lang = "en"
    keep_work: bool = False
    #: Reads the shared secret (``--secret-file`` or ``YZT_SECRET``) when a step needs it: only
    #: a check of the operator's own endpoint does, and a missing one is then recorded as the
    #: preflight's error.
    secret: Callable[[], bytes] = field(default=_no_secret, repr=False)

    @property
    def fixture_selection(self) -> FixtureSelection:
        return FixtureSelection(self.fixtures, self.seed, self.subjects)

    def validate(self) -> None:
        """Every flag checked before anything starts; each message names its flag."""
        from yzt.loadtests.shapes import parse_duration

        if self.replications < 2 or self.replications > 1000:
            raise UserError(f"--replications must be between 2 and 1000 (confidence intervals need 2), "
                            f"got {self.replications}")
        if not 1 <= self.subjects <= 100_000:
            raise UserError(f"--subjects must be between 1 and 100000, got {self.subjects}")
        if not 1 <= self.capacity_runs <= 30:
            raise UserError(f"--capacity-runs must be between 1 and 30, got {self.capacity_runs}")
        for flag, value in (("--load-duration", self.load_duration),
                            ("--capacity-duration", self.capacity_duration)):
            seconds = parse_duration(value, flag)
            if seconds > 3600:
                raise UserError(f"{flag} must be at most 1h, got {seconds:g} s")
        if self.load_rate is not None and not (math.isfinite(self.load_rate)
                                               and 0 < self.load_rate <= 100_000):
            raise UserError(f"--load-rate must be between 0 and 100000 req/s, got {self.load_rate:g}")
        if self.waivers is not None:
            from yzt.conformance.waivers import load_waivers

            load_waivers(self.waivers)  # a bad waiver file stops here, naming its line
        if "sim" not in self.skip:
            from yzt.sim.scenario import load_scenario

            try:
                load_scenario(self.scenario)
            except UserError as exc:
                raise UserError(f"--scenario {self.scenario}: {exc}") from None
        if self.target is None:
            if self.key_id or self.fixtures:
                raise UserError("--key-id and --fixtures are for TARGET_URL; the embedded reference "
                                "makes its own")
            if (self.load_rate or 20.0) >= self.rate_limit:
                raise UserError(f"--load-rate ({self.load_rate or 20.0:g}) must stay below --rate-limit "
                                f"({self.rate_limit:g}), or the load test measures the rate limit")
        elif not self.key_id:
            raise UserError("--key-id is required with TARGET_URL: the key id your endpoint knows the "
                            "secret by")


@dataclass(frozen=True)
class Step:
    """One step as the pipeline runs it: a ``yzt`` sub-command in its own process group."""

    key: str
    title: str
    #: The arguments after ``yzt``: the step's reproduce command is ``yzt`` and these.
    argv: tuple[str, ...]
    log: Path
    timeout: float
    #: The step's output folder, emptied before it runs (None: the caller prepared it).
    results: Path | None = None

    @property
    def command(self) -> list[str]:
        from yzt.spawn import yzt_command

        return yzt_command(*self.argv)

    @property
    def reproduce(self) -> str:
        return shown_command(self.command)


@contextmanager
def work_folder(keep: bool) -> Iterator[Path]:
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


def run_step(step: Step, env: dict[str, str]) -> StepRecord:
    """Run one sub-command in its own process group; its verdict from its exit status, and on an
    error its own message from its log. The step's results folder is emptied first, so that a
    folder reused from an earlier run never reports that run's records as this one's."""
    from yzt.shutdown import Child, stop_tree
    from yzt.spawn import Forked, can_fork

    if step.results is not None:
        shutil.rmtree(step.results, ignore_errors=True)
    print(f"yzt check: {step.title} …", file=sys.stderr, flush=True)
    started = time.monotonic()
    cmd = step.command
    command = step.reproduce
    log, timeout = step.log, step.timeout
    with log.open("w", encoding="utf-8") as log_fh:
        # a fork of this process where it can be (the same command, without a new interpreter's
        # start and imports), else the command line itself
        proc: Child = (Forked(step.argv, env, log_fh.fileno()) if can_fork() else
                       subprocess.Popen(cmd, env=env, stdout=log_fh, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True))
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"yzt check: {step.title} did not finish within {timeout:.0f} s (see {log})",
                  file=sys.stderr)
            return StepRecord(Verdict.ERROR, duration_s=time.monotonic() - started, command=command,
                              message=f"did not finish within {timeout:.0f} s and was stopped")
        finally:
            stop_tree(proc)  # a no-op when it ended; on SIGTERM to us, stops its whole tree
    verdict = from_exit_code(status)
    elapsed = time.monotonic() - started
    message = step_error(log, next(iter(_yzt_args(cmd)), "")) if verdict is Verdict.ERROR else ""
    print(f"yzt check: {step.title}: {verdict.value} ({elapsed:.1f} s, log {log})"
          + (f"\n  {message.splitlines()[0]}" if message else ""), file=sys.stderr, flush=True)
    return StepRecord(verdict, duration_s=elapsed, message=message, command=command)


def _import_the_report_writers() -> None:
    """Import the report modules (matplotlib among them) now rather than at the end, when the steps
    fork from this process: every step writes a report of its own and inherits them instead of
    importing them again: about 0.3 CPU-s a step, measured (docs/benchmarks.md). This process
    imports them for its own report anyway, so nothing is spent that was not spent before."""
    from yzt.spawn import can_fork

    if can_fork():
        import yzt.reports.readers
        import yzt.reports.render  # noqa: F401


def scenario_rate(name: str) -> float:
    """The rate the scenario's busiest minute asks of every operator (each is asked every query)."""
    from yzt.sim.calibrate import peak_demand_rps
    from yzt.sim.scenario import load_scenario

    return max(1.0, round(peak_demand_rps(load_scenario(name)), 2))


class CheckPipeline:
    """``yzt check`` as an object: :meth:`run` validates the settings, runs the steps, keeps each
    one's :class:`StepRecord` in :attr:`records` (in order, the preflight first when it stopped the
    run), writes ``check.json`` and the report, and returns the exit status."""

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = settings
        self.records: dict[str, StepRecord] = {}
        #: The children's environment: ours, with the secret the steps sign with.
        self._env: dict[str, str] = dict(os.environ)

    @property
    def out(self) -> Path:
        return self.settings.out

    @property
    def logs(self) -> Path:
        return self.settings.out / "logs"

    def run(self) -> int:
        """The whole check; raises :class:`UserError` (exit 2) when the preflight or the reference
        operator's start stopped it, after the report says why."""
        from yzt.shutdown import Interrupted, interruptible

        s = self.settings
        s.validate()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.logs.mkdir(exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {self.out}: cannot create the folder ({exc.strerror})") from None
        interrupted: str | None = None
        status: int | None = None
        stopped: UserError | None = None
        with interruptible(), work_folder(s.keep_work) as work:
            try:
                _import_the_report_writers()
                if s.target is None:
                    self._embedded(work)
                else:
                    self._endpoint(s.target, work)
            except Interrupted as exc:
                interrupted = exc.name
                status = exc.exit_code
                print(f"yzt check: stopped by {exc.name}; the report marks the run incomplete",
                      file=sys.stderr)
            except UserError as exc:
                # the preflight (or the reference operator's start) stopped the run: nothing was
                # judged; the report and junit.xml still say why, and the CLI prints the message
                stopped = exc
                self.records = {"preflight": StepRecord(Verdict.ERROR, message=_scrubbed(str(exc))),
                                **self.records}
            verdict = self._write(interrupted, summary=stopped is None)
        if stopped is not None:
            raise stopped
        if status is not None:
            return status
        return verdict.exit_code

    # -- the steps -----------------------------------------------------------------------------
    def _step(self, key: str, title: str, argv: list[str], timeout: float,
              results: bool = True) -> None:
        step = Step(key, title, tuple(argv), self.logs / f"{key}.log", timeout,
                    self.out / key if results else None)
        self.records[key] = run_step(step, self._env)

    def _conformance_flags(self) -> list[str]:
        """``--waivers FILE`` and ``--run-seed N`` for the conformance step, when given, and
        ``--evidence``: the step's folder keeps the run's certification bundle (every exchange,
        masked), which ``yzt validate`` re-judges offline without the endpoint."""
        s = self.settings
        seed = ["--run-seed", str(s.run_seed)] if s.run_seed is not None else []
        return ((["--waivers", str(s.waivers.resolve())] if s.waivers is not None else []) + seed
                + ["--evidence", str(self.out / "conform" / EVIDENCE)])

    def _embedded(self, work: Path) -> None:
        from yzt.domain.topology import load_topology
        from yzt.fixtures import generate_fixtures, write_fixtures

        s = self.settings
        operator = load_topology().get(s.operator)
        fixtures_path = work / "fixtures.jsonl"
        write_fixtures(generate_fixtures(operator, s.seed, s.subjects), fixtures_path)
        fixtures_path.chmod(0o600)
        # The secret is made here, handed to children in their environment, and never written down.
        self._env = {**os.environ, "YZT_SECRET": secrets.token_hex(32)}
        common = ["--operator", s.operator, "--key-id", EMBEDDED_KEY_ID,
                  *FixtureSelection(fixtures_path).flags(), "--lang", s.lang]
        if not {"conform", "load"} <= set(s.skip):
            with self._reference_operator(fixtures_path, work) as url:
                if "conform" not in s.skip:
                    self._step("conform", "conformance suite",
                               ["conform", url, *common, *self._conformance_flags(), "--out",
                                str(self.out / "conform")], timeout=300)
                if "load" not in s.skip:
                    self._step("load", "load test",
                               ["load", url, *common, "--rate", str(s.load_rate or 20.0),
                                "--duration", s.load_duration, "--out", str(self.out / "load")],
                               timeout=600)
        if "sim" not in s.skip:
            self._step("sim", "simulation",
                       ["sim", s.scenario, "--replications", str(s.replications), "--seed",
                        str(s.seed), "--out", str(self.out / "sim"), "--quiet"], timeout=1800)

    @contextmanager
    def _reference_operator(self, fixtures: Path, work: Path) -> Iterator[str]:
        """Start ``yzt serve`` on a free loopback port; yield its base URL; stop its process tree."""
        from yzt.server.testing import ServerStartError, start_on_free_ports
        from yzt.shutdown import stop_tree
        from yzt.spawn import yzt_command

        s = self.settings
        log = work / "serve.log"

        def launch(ports: list[int]) -> tuple[subprocess.Popen[bytes], list[str]]:
            with log.open("w", encoding="utf-8") as log_fh:
                proc = subprocess.Popen(
                    yzt_command("serve", "--operator", s.operator, "--fixtures", str(fixtures),
                                "--key-id", EMBEDDED_KEY_ID, "--host", "127.0.0.1", "--port",
                                str(ports[0]), "--db", str(work / "operator.sqlite"), "--rate-limit",
                                str(s.rate_limit)),
                    env=self._env, stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT,
                    start_new_session=True)
            return proc, [f"http://127.0.0.1:{ports[0]}"]

        # a port free a moment ago may be taken before the server binds it: then another port
        try:
            up = start_on_free_ports(1, launch, log, stop=stop_tree)
        except ServerStartError as exc:
            told = "\n".join(exc.output.strip().splitlines()[-12:])
            raise UserError(f"the reference operator did not start: {exc.reason}"
                            + (f"; it said:\n{told}" if told else "")) from None
        if up is None:
            raise UserError("the reference operator did not start: another program took each of "
                            "three free loopback ports before it could listen; run yzt check again")
        proc, (url,) = up
        try:
            yield url
        finally:
            stop_tree(proc)

    def _endpoint(self, target: str, work: Path) -> None:
        """The five steps against the operator's own endpoint."""
        from yzt.clock import explicit_offset
        from yzt.conformance.preflight import run_preflight
        from yzt.domain.topology import load_topology

        s = self.settings
        assert s.key_id is not None  # validate() requires it with a target
        topology = load_topology()
        operator = topology.get(s.operator)
        secret = s.secret()
        selection = s.fixture_selection
        fixtures = selection.load(operator, topology)
        # 1. preflight: a wrong secret, key id, clock or fixture set stops here (exit 2)
        clock_offset = explicit_offset(s.clock_offset)
        note = run_preflight(target, s.key_id, secret, fixtures, operator.id, selection.shown(),
                             clock_offset=clock_offset)
        print(f"yzt check: {note}", file=sys.stderr)
        resultfile.write(self.out / "preflight.json", PreflightResults.KIND, PreflightResults.SCHEMA_VERSION,
                         {"verdict": Verdict.PASS.value, "note": note})
        self._env = {**os.environ, "YZT_SECRET": secret.decode("utf-8")}
        common = ["--operator", operator.id, "--key-id", s.key_id, *selection.flags(), "--lang", s.lang]
        if clock_offset is not None:  # each step reads the clock again; this is only its first guess
            common += ["--clock-offset", repr(clock_offset)]
        rate = s.load_rate or scenario_rate(s.scenario)
        if "conform" not in s.skip:  # 2. conformance
            self._step("conform", "conformance suite",
                       ["conform", target, *common, *self._conformance_flags(), "--out",
                        str(self.out / "conform")], timeout=600)
        if "load" not in s.skip:  # 3. load at the scenario's busiest rate
            self._step("load", f"load test at {rate:g} req/s",
                       ["load", target, *common, "--rate", f"{rate:g}", "--duration", s.load_duration,
                        "--schema-sample", "all", "--out", str(self.out / "load")], timeout=900)
        if "capacity" not in s.skip:  # 4. the capacity finder, bisecting
            self._step("capacity", "capacity finder",
                       ["load", target, *common, "--rate", f"{rate:g}", "--duration",
                        s.capacity_duration, "--find-capacity", "--capacity-steps", str(s.capacity_runs),
                        "--arrivals", "constant", "--out", str(self.out / "capacity")], timeout=1800)
        if "sim" not in s.skip:  # 5. what the measured endpoint means at national volume
            self._calibrated_sim(operator.id)

    def _calibrated_sim(self, operator: str) -> None:
        """The scenario with ``operator``'s endpoint as measured (latency, errors, capacity), simulated.

        When the load runs left too little to fit (an endpoint so slow or failing that few requests
        succeeded), the simulation is recorded as skipped with that reason: it judged nothing, and
        the failure that caused it stays the run's verdict."""
        import yaml

        from yzt.sim.calibrate import calibration_overrides, e2e_outlook, fit_load_run
        from yzt.sim.scenario import load_scenario, resolve

        s, out, earlier = self.settings, self.out, self.records
        shutil.rmtree(out / "sim", ignore_errors=True)
        measured = out / ("capacity" if (out / "capacity" / "capacity.json").exists() else "load")
        scenario = load_scenario(s.scenario)
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
            (self.logs / "sim.log").write_text(f"skipped: {reason}\n", encoding="utf-8")
            print(f"yzt check: simulation: skipped ({reason})", file=sys.stderr)
            self.records["sim"] = skipped(reason)
            return
        if measured.name == "capacity" and (out / "load" / "raw").is_dir():
            # latency and errors at the operating rate when that run has enough samples
            with contextlib.suppress(UserError):
                at_rate = fit_load_run(out / "load", operator)
                calibration = replace(at_rate, capacity_rps=calibration.capacity_rps)
        changes = calibration_overrides(scenario, operator, calibration)
        document = {"extends": str(resolve(s.scenario).resolve()),
                    "name": f"{scenario.name}-{operator.lower()}-measured",
                    "description": f"{scenario.name} with {operator}'s endpoint as measured by yzt check",
                    **changes}
        # beside the results (it holds no personal data), so that the step's reproduce command works
        (out / "sim").mkdir(parents=True, exist_ok=True)
        path = out / "sim" / "calibrated-scenario.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
        resultfile.write(out / "sim" / "calibration.json", CalibrationResults.KIND,
                         CalibrationResults.SCHEMA_VERSION,
                         {"calibration": calibration.as_dict(), "scenario_changes": changes,
                          "outlook": e2e_outlook(scenario, operator, calibration)})
        self._step("sim", "simulation with the measured endpoint",
                   ["sim", str(path), "--replications", str(s.replications), "--seed", str(s.seed),
                    "--out", str(out / "sim"), "--quiet"], timeout=1800, results=False)

    # -- the record and the report -------------------------------------------------------------
    def _write(self, interrupted: str | None, summary: bool = True) -> Verdict:
        """``check.json`` naming the steps, then one report read from the records the steps left
        (``yzt report`` on the same folder renders the same report again), then what to fix on
        stderr."""
        from yzt.reports.readers import read_dirs
        from yzt.reports.render import write_report

        s = self.settings
        record: dict[str, object] = {"operator": s.operator, "target": s.target,
                                     "steps": {k: v.to_json() for k, v in self.records.items()}}
        if interrupted:
            record["interrupted"] = interrupted
        resultfile.write(self.out / "check.json", CheckResults.KIND, CheckResults.SCHEMA_VERSION, record)
        report = read_dirs([self.out], s.lang, out_dir=self.out)
        paths = write_report(report, self.out)
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
