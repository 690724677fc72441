"""The load run behind ``yzt load``: settings checked, the run configuration and its SLA limits
assembled, the preflight, one Locust run or the capacity search, and the records it writes.

Exit status (:class:`yzt.verdict.Verdict`): 0 every threshold holds, 1 an SLA threshold is breached,
2 usage or connection error, 3 incomplete (the generator could not offer the target rate, or its
CPU was saturated). The run writes ``results.json`` (kind ``load``); the report (HTML, JUnit, the
latency histogram) is rendered from it by ``yzt.reports``, as ``yzt report`` would.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yzt.errors import UserError
from yzt.fixtures import DEFAULT_SUBJECTS, FixtureSelection
from yzt.verdict import Verdict, from_exit_code

if TYPE_CHECKING:
    from yzt.loadtests.results import RunResult
    from yzt.loadtests.runner import LocustSeries
    from yzt.loadtests.shapes import Shape
    from yzt.loadtests.thresholds import Threshold
    from yzt.reports.i18n import Lang

#: Longest load run (--duration) and per-request deadline (--timeout) accepted: a day, five minutes.
MAX_DURATION_S = 24 * 3600.0
MAX_TIMEOUT_S = 300.0
#: The share of answers checked against the JSON Schemas unless ``--schema-sample`` says otherwise.
DEFAULT_SCHEMA_SAMPLE = 0.05


def _no_secret() -> bytes:
    raise UserError("no secret: set YZT_SECRET or pass --secret-file FILE")


@dataclass(frozen=True)
class LoadSettings:
    """What ``yzt load`` was asked to do; each field is the flag of the same name
    (``worker_target`` is ``--target``, the URL a ``--worker`` may send to)."""

    target: str | None = None
    operator: str | None = None
    key_id: str | None = None
    fixtures: Path | None = None
    seed: int | None = None
    subjects: int = DEFAULT_SUBJECTS
    secret_file: Path | None = None
    rate: float | None = None
    duration: str = "60s"
    shape: str = "steady"
    steps: int = 4
    surge_peak: float = 3.0
    surge_start: float = 0.2
    surge_decay: float = 0.2
    scenario: str | None = None
    arrivals: str = "poisson"
    sla: Path | None = None
    topology: Path | None = None
    workers: int = 1
    remote_workers: int = 0
    worker: bool = False
    master_host: str | None = None
    worker_target: str | None = None
    master_bind_host: str = "127.0.0.1"
    master_port: int | None = None
    users: int | None = None
    timeout: str = "5s"
    schema_sample: float = DEFAULT_SCHEMA_SAMPLE
    clock_offset: float | None = None
    skip_preflight: bool = False
    find_capacity: bool = False
    capacity_factor: float = 2.0
    capacity_steps: int = 12
    capacity_tolerance: float = 0.10
    out: Path = Path("out/load")
    lang: Lang = "en"
    #: Reads the shared secret (``--secret-file`` or ``YZT_SECRET``) once the flags are checked.
    secret: Callable[[], bytes] = field(default=_no_secret, repr=False)

    @property
    def fixture_selection(self) -> FixtureSelection:
        return FixtureSelection(self.fixtures, self.seed, self.subjects)

    def validate(self) -> None:
        """Every flag of a run, before any load; each message names its flag."""
        for flag, value in (("TARGET_URL", self.target), ("--operator", self.operator),
                            ("--key-id", self.key_id)):
            if not value:
                raise UserError(f"{flag} is required (unless --worker)")
        if self.fixtures is None and self.seed is None:
            raise UserError("one of --fixtures FILE or --seed N is required: the fixtures the operator "
                            "loaded")
        if self.rate is None:
            raise UserError("--rate is required (requests/s, e.g. --rate 50) unless --scenario gives it")
        if not math.isfinite(self.rate) or self.rate <= 0 or self.rate > 1_000_000:
            raise UserError(f"--rate must be between 0 and 1000000 requests/s, got {self.rate:g}")
        if self.workers < 0 or self.workers > 64 or (self.workers == 0 and not self.remote_workers):
            raise UserError(f"--workers must be between 1 and 64 (0 only with --remote-workers), got "
                            f"{self.workers}")
        if self.remote_workers < 0 or self.remote_workers > 256:
            raise UserError(f"--remote-workers must be between 0 and 256, got {self.remote_workers}")
        if not 0 <= self.schema_sample <= 1:
            raise UserError(f"--schema-sample must be a share between 0 and 1, got {self.schema_sample}")
        if self.users is not None and not 1 <= self.users <= 5000:
            raise UserError(f"--users must be between 1 and 5000, got {self.users}")
        if self.subjects < 1 or self.subjects > 1_000_000:
            raise UserError(f"--subjects must be between 1 and 1000000, got {self.subjects}")
        if self.find_capacity and (self.capacity_factor <= 1 or not 1 <= self.capacity_steps <= 30):
            raise UserError("--capacity-factor must be above 1 and --capacity-steps between 1 and 30")
        if self.find_capacity and not 0.01 <= self.capacity_tolerance < 1:
            raise UserError(f"--capacity-tolerance must be in [0.01, 1), got {self.capacity_tolerance:g}")
        self._check_master_flags()

    def _check_master_flags(self) -> None:
        """The master's flags, before any load: a bad address or a busy port is a usage error
        naming the flag, not a traceback from Locust after the preflight."""
        if self.worker_target:
            raise UserError("--target is for --worker; the master's target is TARGET_URL")
        check_port(self.master_port)
        distributed = self.remote_workers > 0 or self.workers > 1
        check_bindable(self.master_bind_host, self.master_port if distributed else None)


def check_port(port: int | None) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise UserError(f"--master-port must be between 1 and 65535, got {port}")


def check_bindable(host: str, port: int | None) -> None:
    """``--master-bind-host`` must be an IPv4 address of this machine (or 0.0.0.0), and
    ``--master-port``, when given, free on it (ZeroMQ binds with SO_REUSEADDR, so do we)."""
    import errno
    import socket

    fix = "give an IPv4 address of this machine, or 0.0.0.0 for all"
    try:
        socket.getaddrinfo(host, port or 0, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UserError(f"--master-bind-host {host!r} is not an address ({exc}): {fix}") from None
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port or 0))
        except OSError as exc:
            if port and exc.errno == errno.EADDRINUSE:
                raise UserError(f"--master-port {port} is already in use on {host}: choose a free port, "
                                "or leave it out for a free one") from None
            raise UserError(f"--master-bind-host {host!r}: cannot listen there ({exc.strerror}): "
                            f"{fix}") from None


def scenario_surge(name: str) -> tuple[float, float, float, float]:
    """(busiest-hour rate in requests/s, peak multiple, start, decay) of a scenario's first surge,
    start and decay as fractions of its horizon: the surge's shape, compressed into the load run.

    The platform asks every operator about every query (protocol, "Actors"), so an operator's
    card-count rate is the platform's query rate, whatever its card share.
    """
    try:
        from yzt.sim.scenario import load_scenario
    except ImportError:  # pragma: no cover - depends on the installed tree
        raise UserError("--scenario needs yzt.sim, which is not installed") from None
    scenario = load_scenario(name)
    arrivals = scenario.arrivals
    if not arrivals.surges:
        raise UserError(f"--scenario {name}: its arrivals have no surges; use --shape surge with "
                        "--surge-peak/--surge-decay instead")
    s = arrivals.surges[0]
    busiest = arrivals.queries_per_day / 86400 * max(arrivals.diurnal)
    start = min(max(s.start_h / scenario.horizon_h, 0.0), 0.5)
    decay = max(s.decay_h / scenario.horizon_h, 0.02)
    return busiest, s.peak_multiplier, start, decay


def run_load(settings: LoadSettings) -> int:
    """``yzt load``: a worker joining a master elsewhere, or a run (or capacity search) of ours;
    SIGTERM or SIGINT ends it with its partial results marked incomplete."""
    from yzt.shutdown import Interrupted, interruptible

    if settings.worker:
        return run_worker(settings)
    with interruptible():
        try:
            return LoadRun.prepare(settings).run()
        except Interrupted as exc:
            print(f"yzt load: stopped by {exc.name}; partial results are marked incomplete",
                  file=sys.stderr)
            return exc.exit_code


def run_worker(s: LoadSettings) -> int:
    """``yzt load --worker --master-host H --target URL``: one generator process of a master
    elsewhere, which sends to URL only and only once the master proved it holds the secret."""
    import socket

    from yzt.loadtests.runner import run_worker as join_master
    from yzt.shutdown import Interrupted, interruptible

    if not s.master_host:
        raise UserError("--worker needs --master-host: the address of the machine running the master")
    if s.target or s.find_capacity:
        raise UserError("--worker takes no TARGET_URL and no --find-capacity: give the operator's URL "
                        "as --target URL; the master sends the rest of the run configuration")
    if not s.worker_target:
        raise UserError("--worker needs --target URL: the operator's base URL this worker may send to "
                        "(a master that sends another target is refused)")
    check_port(s.master_port)
    port = s.master_port or 5557
    try:
        socket.getaddrinfo(s.master_host, port, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UserError(f"--master-host {s.master_host!r} does not resolve ({exc}): give the master "
                        "machine's address") from None
    secret = s.secret()
    target = s.worker_target.rstrip("/")
    print(f"yzt load: worker joining the master at {s.master_host}:{port} for {target}", file=sys.stderr)
    with interruptible():
        try:
            outcome = join_master(s.master_host, port, secret, target)
        except Interrupted as exc:
            return exc.exit_code
    if outcome.reason:
        raise UserError(outcome.reason)
    if outcome.exit_code != 0:
        print(f"yzt load: the worker ended with status {outcome.exit_code} (refused by the master, or "
              "the master went away)", file=sys.stderr)
        return Verdict.ERROR.exit_code
    return Verdict.PASS.exit_code


def users_for(peak_per_process: float, timeout: float, explicit: int | None) -> int:
    """Enough users that a slow answer does not throttle the offered rate (2 s of arrivals in
    flight), within [10, 500] per process."""
    if explicit:
        return explicit
    return int(min(500, max(10, math.ceil(peak_per_process * min(2.0, timeout)))))


@dataclass(frozen=True)
class LoadRun:
    """A load run assembled from its settings: the shape of the offered load, the SLA limits it is
    judged by, the request deadline and the secret; :meth:`run` runs it (or the capacity search)."""

    settings: LoadSettings
    shape: Shape
    limits: list[Threshold]
    timeout: float
    secret: bytes

    @classmethod
    def prepare(cls, settings: LoadSettings) -> LoadRun:
        """Check the settings, read the topology, fixtures and SLA, build the shape and run the
        preflight: everything that can fail does so here, naming its flag, before any load."""
        from yzt.clock import explicit_offset
        from yzt.domain.topology import load_topology
        from yzt.loadtests import shapes, thresholds

        s = settings
        scenario_rate = None
        if s.scenario:
            scenario_rate, peak, start, decay = scenario_surge(s.scenario)
            s = replace(s, surge_peak=peak, surge_start=start, surge_decay=decay, shape="surge",
                        rate=round(scenario_rate, 3) if s.rate is None else s.rate)
        s.validate()
        assert s.target is not None and s.operator is not None and s.key_id is not None
        assert s.rate is not None
        target, key_id = s.target, s.key_id
        duration = shapes.parse_duration(s.duration, max_s=MAX_DURATION_S)
        timeout = shapes.parse_duration(s.timeout, "--timeout", max_s=MAX_TIMEOUT_S)
        topology = load_topology(s.topology)
        operator = topology.get(s.operator)
        secret = s.secret()
        selection = s.fixture_selection
        fixtures = selection.load(operator, topology)  # fail now, naming the line, not in Locust
        limits = (thresholds.load_sla_file(s.sla, operator.sla) if s.sla
                  else thresholds.from_profile(operator.sla))
        shape = shapes.build_shape(s.shape, s.rate, duration, steps=s.steps, peak=s.surge_peak,
                                   start=s.surge_start, decay=s.surge_decay)
        if scenario_rate is not None:
            print(f"yzt load: surge of scenario {s.scenario}: ×{s.surge_peak:g} at "
                  f"{s.surge_start:.0%} of the run on a base of {s.rate:g} req/s (the scenario's "
                  f"busiest hour: {scenario_rate:.2f} req/s)", file=sys.stderr)
        s = replace(s, clock_offset=explicit_offset(s.clock_offset))  # the flag, else YZT_CLOCK_OFFSET
        if s.skip_preflight:
            from yzt.loadtests.runner import check_reachable

            check_reachable(target)
        else:
            from yzt.conformance.preflight import run_preflight

            note = run_preflight(target, key_id, secret, fixtures, operator.id, selection.shown(),
                                 clock_offset=s.clock_offset)
            print(f"yzt load: {note}", file=sys.stderr)
        return cls(s, shape, limits, timeout, secret)

    def run(self) -> int:
        """One run into the output folder, or the capacity search; the exit status."""
        out = self.settings.out
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from None
        if not self.settings.find_capacity:
            result_code, _ = self.one_run(self.shape, self.settings.out)
            return result_code
        return self.find_capacity()

    def one_run(self, shape: Shape, out: Path, *, quiet: bool = False,
                series: LocustSeries | None = None) -> tuple[int, RunResult]:
        """One Locust run at ``shape`` into ``out``: judged, recorded and rendered (by the Locust
        process of ``series`` when given: a probe of a capacity search)."""
        from yzt.loadtests import results as res
        from yzt.loadtests import runner, shapes
        from yzt.loadtests.traffic import RunConfig
        from yzt.shutdown import Interrupted

        s = self.settings
        assert s.target is not None and s.operator is not None and s.key_id is not None
        processes = s.workers + s.remote_workers
        clock = runner.read_operator_clock(s.target, s.key_id, self.secret, explicit=s.clock_offset)
        if not quiet:
            print(f"yzt load: {clock.note()}", file=sys.stderr)
        config = RunConfig(
            target=s.target.rstrip("/"), operator=s.operator, key_id=s.key_id, shape=shape,
            out_dir=str(out.resolve()), seed=s.seed, subjects=s.subjects,
            fixtures=str(s.fixtures.resolve()) if s.fixtures else None, workers=processes,
            users_per_process=users_for(shape.peak_rate / processes, self.timeout, s.users),
            poisson=s.arrivals == "poisson", timeout_s=self.timeout, grace_s=self.timeout + 2.0,
            schema_sample=s.schema_sample, traffic_seed=s.seed or 0,
            clock_offset_s=clock.offset_s,
            join_s=runner.REMOTE_JOIN_S if s.remote_workers else runner.STARTUP_SLACK_S)
        port = s.master_port
        if s.remote_workers and port is None:
            from yzt.server.testing import free_port

            port = free_port(s.master_bind_host)
        launch = runner.Launch(local_workers=s.workers, expect_workers=processes,
                               master_bind_host=s.master_bind_host, master_port=port)
        if s.remote_workers:
            assert port is not None
            print(f"yzt load: waiting for {s.remote_workers} worker(s) from other machines; on each, "
                  f"run:\n  {runner.worker_command('<this-host>', port, s.target)}", file=sys.stderr,
                  flush=True)
        print(f"yzt load: {shapes.describe(shape)} against {s.target} ({s.operator}), "
              f"{processes} generator process(es) × {config.users_per_process} users", file=sys.stderr)
        try:
            outcome = (series.run(config) if series is not None
                       else runner.run_locust(config, self.secret, launch))
        except Interrupted as exc:
            self.write_partial(out, shape, exc.name)
            raise
        refused = sorted((out / "raw").glob("refused-*.json"))
        if outcome.timed_out or outcome.exit_code != 0:
            why = "".join(f"\n  refused worker: {json.loads(p.read_text(encoding='utf-8'))['reason']}"
                          for p in refused)
            if outcome.timed_out:
                raise UserError(f"Locust overran its time limit and was stopped; see "
                                f"{outcome.console_log}{why}")
            raise UserError(f"Locust failed (exit {outcome.exit_code}); last lines of "
                            f"{outcome.console_log}:\n{runner.tail(outcome.console_log)}{why}")
        try:
            result = res.evaluate(out / "raw", self.limits, shape.expected_requests() / shape.duration,
                                  shape.duration)
        except RuntimeError as exc:
            raise UserError(str(exc)) from None
        every = result.endpoints["all"]
        if every.count and every.by_kind.get("connection", 0) == every.count:
            raise UserError(f"cannot reach {s.target} — every request failed to connect")
        if res.auth_reject_share(result) > res.MAX_AUTH_REJECTS:
            raise UserError(f"the operator rejected {res.auth_reject_share(result) * 100:.1f} % of "
                            "requests with 401/403: check --key-id, the secret, --operator and the "
                            "fixtures")
        self.write_outputs(out, shape, result, elapsed_s=outcome.elapsed_s, clock_note=clock.note())
        if not quiet:
            print(res.console_summary(result))
            print(f"\nresults: {out / 'results.json'}, {out / 'report.html'}, {out / 'junit.xml'}, "
                  f"{out / 'locust'}/", file=sys.stderr)
        return result.exit_code, result

    def _document(self, shape: Shape) -> dict[str, Any]:
        s = self.settings
        return {"target": s.target, "operator": s.operator, "shape": shape.to_json()}

    def write_outputs(self, out: Path, shape: Shape, result: RunResult, *,
                      elapsed_s: float | None = None, interrupted: str | None = None,
                      clock_note: str = "") -> None:
        """results.json (the record), then what ``yzt.reports`` renders from it: report.html/.md/
        .json, junit.xml and latency.png."""
        from yzt.loadtests import results as res

        s = self.settings
        document = result.to_json()
        if clock_note:  # the offset every request was signed with, to paste as --clock-offset
            document["notes"] = [clock_note, *document.get("notes", [])]
        document.update(self._document(shape),
                        sla_source=str(s.sla) if s.sla else f"topology profile {s.operator}")
        document["reproduce"] = self.reproduce(out, shape)
        if elapsed_s is not None:
            document["locust_elapsed_s"] = round(elapsed_s, 2)
        if interrupted:
            document["interrupted"] = interrupted
        res.write_results(out / "results.json", document)
        write_html(out, s.lang)

    def write_partial(self, out: Path, shape: Shape, signal_name: str) -> None:
        """After SIGTERM or SIGINT: what the generators recorded before they stopped, marked
        incomplete."""
        from yzt.loadtests import results as res

        reason = f"interrupted by {signal_name}: partial results of an unfinished run"
        try:
            result = res.evaluate(out / "raw", self.limits, shape.expected_requests() / shape.duration,
                                  shape.duration)
            result.verdict = Verdict.INCOMPLETE
            result.reasons = [reason]  # the generator's health is not judged on a run cut short
            self.write_outputs(out, shape, result, interrupted=signal_name)
        except (RuntimeError, OSError, ValueError):
            out.mkdir(parents=True, exist_ok=True)
            verdict = Verdict.INCOMPLETE
            res.write_results(out / "results.json", {
                "verdict": verdict.value, "exit_code": verdict.exit_code,
                "reasons": [reason, "no requests were recorded"], "interrupted": signal_name,
                **self._document(shape)})

    def reproduce(self, out: Path, shape: Shape) -> str:
        """The command that repeats this run (one run of a capacity search at its own rate)."""
        from yzt.loadtests.results import reproduce_command

        s = self.settings
        assert s.target is not None and s.operator is not None and s.key_id is not None
        extra: list[str] = []
        if s.shape == "steady":
            rate = shape.expected_requests() / shape.duration if shape.duration else s.rate
        else:
            rate = s.rate
            extra += ["--shape", s.shape, "--steps", str(s.steps), "--surge-peak", f"{s.surge_peak:g}",
                      "--surge-start", f"{s.surge_start:g}", "--surge-decay", f"{s.surge_decay:g}"]
        assert rate is not None
        if s.arrivals != "poisson":
            extra += ["--arrivals", s.arrivals]
        if s.schema_sample != DEFAULT_SCHEMA_SAMPLE:
            extra += ["--schema-sample", "all" if s.schema_sample >= 1 else f"{s.schema_sample:g}"]
        for flag, value in (("--sla", s.sla), ("--secret-file", s.secret_file),
                            ("--topology", s.topology)):
            if value:
                extra += [flag, str(Path(value).resolve())]
        if s.timeout != "5s":
            extra += ["--timeout", s.timeout]
        if s.workers != 1:
            extra += ["--workers", str(s.workers)]
        return reproduce_command(s.target, s.operator, s.key_id, s.fixture_selection.flags(),
                                 round(rate, 3), shape.duration, str(out), extra)

    def find_capacity(self) -> int:
        """Grow the rate ×``--capacity-factor`` until an SLA breaks, then bisect (bounded runs)."""
        from yzt.loadtests.capacity import find_capacity
        from yzt.loadtests.runner import LocustSeries

        s = self.settings
        base = self.shape.expected_requests() / self.shape.duration
        counter = [0]
        # one Locust process runs every probe (each a fresh generator on its own configuration);
        # with workers, each probe starts its master and workers as a single run does
        series = LocustSeries(s.out, self.secret) if s.workers == 1 and not s.remote_workers else None

        def probe(rate: float, phase: str) -> tuple[Verdict, tuple[str, ...]]:
            counter[0] += 1
            code, result = self.one_run(self.shape.scaled(rate / base),
                                        s.out / f"step-{counter[0]:02d}", quiet=True, series=series)
            verdict = from_exit_code(code)
            print(f"  run {counter[0]} ({phase}): {rate:.1f} req/s → {verdict.value}"
                  + (f" ({result.reasons[0]})" if result.reasons else ""), flush=True)
            return verdict, tuple(result.reasons)

        with series or contextlib.nullcontext():
            cap = find_capacity(probe, base, factor=s.capacity_factor, tolerance=s.capacity_tolerance,
                                max_probes=s.capacity_steps)
        cap.write(s.out / "capacity.json")
        write_html(s.out, s.lang)  # the capacity page: the search's runs, from capacity.json
        if cap.highest_sustainable_rate is None:
            print(f"capacity: below {cap.probes[-1].rate:.1f} req/s — {cap.stopped}")
        else:
            bound = "" if cap.converged else "at least "
            print(f"capacity: highest sustainable rate {bound}{cap.highest_sustainable_rate:.1f} "
                  f"req/s — {cap.stopped}")
        return cap.verdict.exit_code


def write_html(out: Path, lang: Lang) -> Path:
    """The report of a load run (thresholds, verdict, histogram) and its latency.png, rendered by
    ``yzt.reports`` from the folder's records (a capacity search's capacity.json too)."""
    from yzt.reports.readers import read_dirs
    from yzt.reports.render import write_report

    report = read_dirs([out], lang, out_dir=out)
    write_report(report, out)
    for plot in report.sections[0].plots[:1]:
        (out / "latency.png").write_bytes(plot.png)
    return out / "report.html"
