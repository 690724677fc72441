"""A federation on loopback: one reference operator per node of a scenario, as few processes as
the machine needs, described by a topology file that platforms (the fan-out client) read.

:func:`start` plans the nodes (3 carriers, or their 93 provincial nodes, and 39 resellers; or the
``only`` ones), gives each its own key (a random shared secret and key id), fixture file and SQLite
file under the federation folder, splits them over ``workers`` processes (:mod:`yzt.twin.worker`,
each started through :mod:`yzt.spawn` so it dies with this process, ``kill -9`` included), waits a
bounded time for every node's port and for ``GET /v1/health`` to answer 200, and writes
``DIR/federation.json`` (schema ``federation.schema.json`` of this package). A node that does not
come up is named in the error, and everything already started is stopped.

Outages happen in wall time: a scenario outage at ``start_h`` runs from
``epoch + (start_h − origin_h)·3600·time_factor`` seconds (``epoch``: the federation's start, in the
topology file), so ``time_factor`` 1/60 plays an hour of the scenario in a minute.

:func:`run_up` is ``yzt federation up``: start, then serve until SIGTERM or SIGINT (which is how
:func:`down` stops it) or until a worker dies. :func:`down` is ``yzt federation down``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from yzt.errors import UserError
from yzt.sim.scenario import OperatorParams, Scenario
from yzt.twin.behaviour import NodeBehaviour, OutageWindow

#: The topology file's name in a federation folder, and its kind.
TOPOLOGY_FILE = "federation.json"
#: Default bound on start-up (every node listening and healthy), in seconds.
STARTUP_TIMEOUT_S = 90.0
#: Fixture subjects per node: enough distinct subjects for a live window, quick to generate.
DEFAULT_SUBJECTS = 50


@dataclass(frozen=True)
class NodePlan:
    """One node to serve: its id (``R07``, ``CMCC-11``), its operator and the scenario's numbers."""

    node: str
    operator: str
    params: OperatorParams


def plan_nodes(sc: Scenario, only: Sequence[str] = ()) -> list[NodePlan]:
    """The scenario's fan-out nodes (as the model has them), or those named in ``only`` (node ids
    or operator ids, which take all of that operator's nodes)."""
    from yzt.sim.engine import node_ids

    nodes = [NodePlan(nid, op.id, op) for op in sc.operators for nid in node_ids(sc, op)]
    if not only:
        return nodes
    wanted = set(only)
    known = {n.node for n in nodes} | {n.operator for n in nodes}
    unknown = sorted(wanted - known)
    if unknown:
        raise UserError(f"--only {unknown[0]!r} is not a node of scenario {sc.name!r} (give operator "
                        "ids such as R07 or CMCC, or provincial node ids such as CMCC-11)")
    return [n for n in nodes if n.node in wanted or n.operator in wanted]


def outage_windows(params: OperatorParams, epoch: float, origin_h: float,
                   time_factor: float) -> tuple[OutageWindow, ...]:
    """The node's outages in Unix time (those that end before ``origin_h`` are left out)."""
    out = []
    for o in params.outages:
        start = epoch + (o.start_h - origin_h) * 3600.0 * time_factor
        end = epoch + (o.start_h + o.duration_h - origin_h) * 3600.0 * time_factor
        if end > epoch:
            out.append(OutageWindow(max(start, epoch), end, o.mode))
    return tuple(out)


@dataclass
class FederationNode:
    """One node as the topology file lists it."""

    node: str
    operator: str
    key_id: str
    secret_file: Path
    fixtures: Path
    db: Path
    worker: int
    behaviour: NodeBehaviour
    port: int = 0
    pid: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "url": self.url, "key_id": self.key_id,
                "secret_file": str(self.secret_file), "fixtures": str(self.fixtures),
                "db": str(self.db), "worker": self.worker, "pid": self.pid,
                "behaviour": self.behaviour.to_dict()}

    def spec(self, fixture_seed: int, subjects: int) -> dict[str, Any]:
        return {"node": self.node, "operator": self.operator, "key_id": self.key_id,
                "secret_file": str(self.secret_file), "fixtures": str(self.fixtures),
                "fixture_seed": fixture_seed, "subjects": subjects, "db": str(self.db),
                "behaviour": self.behaviour.to_dict()}


@dataclass
class Federation:
    """A started federation: its folder, nodes and worker processes. Stop it with :meth:`stop`."""

    folder: Path
    scenario: str
    epoch: float
    origin_h: float
    time_factor: float
    nodes: dict[str, FederationNode]
    workers: list[subprocess.Popen[str]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def topology_file(self) -> Path:
        return self.folder / TOPOLOGY_FILE

    def to_dict(self) -> dict[str, Any]:
        import psutil

        me = os.getpid()
        return {
            "scenario": self.scenario, "epoch": self.epoch, "origin_h": self.origin_h,
            "time_factor": self.time_factor, "pid": me,
            "pid_started": psutil.Process(me).create_time(),
            "workers": [{"index": i, "pid": w.pid, "log": str(self.logs[i]),
                         "nodes": sorted(n.node for n in self.nodes.values() if n.worker == i)}
                        for i, w in enumerate(self.workers)],
            "nodes": {k: n.to_dict() for k, n in sorted(self.nodes.items())},
        }

    def write_topology(self) -> Path:
        from yzt import resultfile
        from yzt.twin.results import FederationTopology

        return resultfile.write_typed(self.topology_file, FederationTopology.from_json(self.to_dict()))

    def dead_worker(self) -> int | None:
        """The index of a worker that has ended, if any."""
        for i, w in enumerate(self.workers):
            if w.poll() is not None:
                return i
        return None

    def stop(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after a grace period) and mark the file."""
        from yzt.shutdown import stop_tree

        for w in self.workers:
            with contextlib.suppress(ProcessLookupError):
                w.send_signal(signal.SIGTERM)
        for w in self.workers:
            stop_tree(w, grace=5.0)
            if w.stdout is not None:
                w.stdout.close()
        with contextlib.suppress(OSError):
            self.topology_file.unlink()

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _reader(stream: IO[str], index: int, lines: queue.Queue[tuple[int, str]]) -> None:
    for line in stream:
        lines.put((index, line))
    lines.put((index, ""))


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _health(node: FederationNode, timeout: float) -> str | None:
    """``None`` when ``GET /v1/health`` answers 200, else what went wrong."""
    import httpx

    try:
        r = httpx.get(node.url + "/v1/health", timeout=max(0.1, timeout))
    except httpx.HTTPError as exc:
        return f"GET /v1/health failed: {type(exc).__name__}: {exc}"
    return None if r.status_code == 200 else f"GET /v1/health answered {r.status_code}"


def _prepare(sc: Scenario, folder: Path, plans: list[NodePlan], workers: int, epoch: float,
             origin_h: float, time_factor: float, seed: int) -> dict[str, FederationNode]:
    for sub in ("keys", "fixtures", "db", "logs", "workers"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "keys").chmod(0o700)
    nodes: dict[str, FederationNode] = {}
    for i, plan in enumerate(plans):
        p = plan.params
        secret_file = folder / "keys" / f"{plan.node}.secret"
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        db = folder / "db" / f"{plan.node}.sqlite"
        for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        nodes[plan.node] = FederationNode(
            node=plan.node, operator=plan.operator, key_id=f"yzt-federation-{plan.node}",
            secret_file=secret_file, fixtures=folder / "fixtures" / f"{plan.node}.jsonl", db=db,
            worker=i % workers,
            behaviour=NodeBehaviour(
                latency_median_s=p.latency.median, latency_sigma=p.latency.sigma,
                failure_ratio=p.failure_ratio, concurrency=p.concurrency,
                outages=outage_windows(p, epoch, origin_h, time_factor),
                seed=seed))
    return nodes


def start(sc: Scenario, folder: Path, *, only: Sequence[str] = (), workers: int | None = None,
          origin_h: float = 0.0, time_factor: float = 1.0, seed: int = 1,
          subjects: int = DEFAULT_SUBJECTS,
          startup_timeout: float = STARTUP_TIMEOUT_S) -> Federation:
    """Start a federation of ``sc``'s nodes under ``folder``; every node is healthy on return."""
    from yzt.spawn import python_command

    if not time_factor > 0:
        raise UserError(f"--time-factor must be > 0, got {time_factor}")
    if not 1 <= subjects <= 100_000:
        raise UserError(f"--subjects must be between 1 and 100000, got {subjects}")
    plans = plan_nodes(sc, only)
    n_workers = max(1, min(len(plans), workers or os.cpu_count() or 1))
    folder = folder.resolve()
    epoch = time.time()
    try:
        nodes = _prepare(sc, folder, plans, n_workers, epoch, origin_h, time_factor, seed)
    except OSError as exc:
        raise UserError(f"--out {folder}: cannot write the federation there ({exc.strerror or exc})"
                        ) from None
    fed = Federation(folder, sc.name, epoch, origin_h, time_factor, nodes)
    lines: queue.Queue[tuple[int, str]] = queue.Queue()
    deadline = time.monotonic() + startup_timeout
    try:
        for i in range(n_workers):
            spec = {"nodes": [n.spec(seed * 1_000 + zlib.crc32(n.node.encode()) % 1_000, subjects)
                              for n in nodes.values() if n.worker == i]}
            spec_file = folder / "workers" / f"worker-{i}.json"
            spec_file.write_text(json.dumps(spec, indent=1), encoding="utf-8")
            log = folder / "logs" / f"worker-{i}.log"
            fed.logs.append(log)
            with log.open("w", encoding="utf-8") as err:
                proc = subprocess.Popen(python_command("yzt.twin.worker", str(spec_file)),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=err, text=True)
            fed.workers.append(proc)
            assert proc.stdout is not None
            threading.Thread(target=_reader, args=(proc.stdout, i, lines), daemon=True).start()
        _await_ports(fed, lines, deadline, startup_timeout)
        for node in nodes.values():
            problem = _health(node, deadline - time.monotonic())
            if problem:
                raise UserError(f"federation node {node.node} did not come up: {problem} "
                                f"(log: {fed.logs[node.worker]})")
        fed.write_topology()
    except BaseException:
        fed.stop()
        raise
    return fed


def _await_ports(fed: Federation, lines: queue.Queue[tuple[int, str]], deadline: float,
                 timeout: float) -> None:
    ready: set[int] = set()
    while len(ready) < len(fed.workers):
        left = deadline - time.monotonic()
        try:
            index, line = lines.get(timeout=max(0.0, left)) if left > 0 else lines.get_nowait()
        except queue.Empty:
            waiting = sorted(n.node for n in fed.nodes.values() if not n.port)
            raise UserError(f"federation node {waiting[0]} did not come up within {timeout:g} s "
                            f"({len(waiting)} node(s) not listening: {', '.join(waiting[:8])}; "
                            "raise --startup-timeout on a busy machine, or lower the node count "
                            "with --only)") from None
        if not line:
            waiting = sorted(n.node for n in fed.nodes.values() if n.worker == index and not n.port)
            name = waiting[0] if waiting else f"worker {index}"
            raise UserError(f"federation node {name} did not come up: its worker process ended "
                            f"(log {fed.logs[index]}: {_log_tail(fed.logs[index])})")
        msg = json.loads(line)
        if msg.get("ready"):
            ready.add(index)
            continue
        node = fed.nodes[msg["node"]]
        node.port = int(msg["port"])
        node.pid = fed.workers[index].pid


def run_up(sc: Scenario, folder: Path, *, only: Sequence[str] = (), workers: int | None = None,
           origin_h: float = 0.0, time_factor: float = 1.0, seed: int = 1,
           subjects: int = DEFAULT_SUBJECTS, startup_timeout: float = STARTUP_TIMEOUT_S) -> int:
    """``yzt federation up``: start, report, serve until SIGTERM/SIGINT or a worker's death."""
    from yzt.shutdown import Interrupted, interruptible
    from yzt.verdict import Verdict

    with interruptible():
        fed = None
        try:
            fed = start(sc, folder, only=only, workers=workers, origin_h=origin_h,
                        time_factor=time_factor, seed=seed, subjects=subjects,
                        startup_timeout=startup_timeout)
            print(f"yzt federation: {len(fed.nodes)} node(s) of {sc.name} in {len(fed.workers)} "
                  f"process(es); topology {fed.topology_file}; stop with: yzt federation down "
                  f"{folder}", file=sys.stderr, flush=True)
            while (dead := fed.dead_worker()) is None:
                time.sleep(0.2)
            print(f"yzt federation: error: worker {dead} ended (log {fed.logs[dead]}: "
                  f"{_log_tail(fed.logs[dead])}); stopping the others", file=sys.stderr)
            return Verdict.ERROR.exit_code
        except Interrupted:
            return 0
        finally:
            if fed is not None:
                fed.stop()
                print("yzt federation: stopped", file=sys.stderr, flush=True)


def read_topology(path: Path) -> dict[str, Any]:
    """A topology file (or a federation folder), validated; problems name the field."""
    from yzt import resultfile
    from yzt.errors import InputFileError
    from yzt.validation import parse_json, read_text, schema_problems

    if path.is_dir():
        path = path / TOPOLOGY_FILE
    text = read_text(path, max_bytes=16 << 20)
    try:
        doc = parse_json(text)
    except ValueError as exc:
        raise InputFileError(str(path), [f"not JSON: {exc}"]) from None
    problems = schema_problems(doc, resultfile.KINDS["federation"].schema())
    if problems:
        raise InputFileError(str(path), problems)
    result: dict[str, Any] = doc
    return result


def _cmdline(p: Any) -> list[str]:
    try:
        return list(p.cmdline())
    except Exception:  # gone, or not ours to read
        return []


def _wait_gone(procs: list[Any], timeout: float) -> list[Any]:
    """Wait until every process has ended (a zombie counts as ended: its parent, not we, reaps
    it); return those still running after ``timeout``."""
    import psutil

    def running(p: Any) -> bool:
        try:
            return bool(p.is_running()) and p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    deadline = time.monotonic() + timeout
    alive = [p for p in procs if running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if running(p)]
    return alive


def down(folder: Path, timeout: float = 15.0) -> list[int]:
    """Stop the federation of ``folder``: SIGTERM its ``up`` process (which stops its workers),
    then kill any of its processes still there after ``timeout``. Returns the pids stopped."""
    import psutil

    path = folder / TOPOLOGY_FILE
    if not path.exists():
        raise UserError(f"{folder}: no {TOPOLOGY_FILE} (no federation runs there; start one with "
                        "yzt federation up SCENARIO --out DIR)")
    doc = read_topology(path)
    procs: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        owner = psutil.Process(int(doc["pid"]))
        if abs(owner.create_time() - float(doc["pid_started"])) < 1.0:
            procs.append(owner)
    for w in doc["workers"]:
        with contextlib.suppress(psutil.Error):
            p = psutil.Process(int(w["pid"]))
            if "yzt.twin.worker" in " ".join(p.cmdline()):
                procs.append(p)
    owner_found = bool(procs) and "yzt.twin.worker" not in " ".join(_cmdline(procs[0]))
    for p in procs[:1] if owner_found else procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    alive = _wait_gone(procs, timeout)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    _wait_gone(alive, 5.0)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return [p.pid for p in procs]
