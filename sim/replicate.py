"""Run replications in parallel through the ``concurrent.futures`` Executor interface.

Executors: ``local`` (a process pool of ``os.cpu_count()`` workers, the default), ``processes:N``,
``serial`` (in this process; for debugging and small runs) and ``dask://HOST:PORT`` (a Dask
cluster: ``distributed.Client(addr).get_executor()``). Replication ``i`` always uses the streams of
``(seed, i)``, so every executor gives the same results for the same seed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from yzt.errors import UserError
from yzt.sim.engine import run_replication
from yzt.sim.fast import refusals, run_replication_fast
from yzt.sim.results import replication_output
from yzt.sim.scenario import Scenario
from yzt.sim.stages import derive
from yzt.spawn import die_with_parent

EXECUTOR_HELP = "local | serial | processes:N | dask://HOST:PORT"
ENGINES = ("auto", "fast", "simpy")
"""``fast``: stage-wise exact queue recursions (:mod:`yzt.sim.fast`); ``simpy``: event by event
(:mod:`yzt.sim.engine`, the reference); ``auto``: fast when it represents the scenario exactly."""


def choose_engine(sc: Scenario, requested: str) -> tuple[str, str]:
    """The engine to run ``sc`` with and a note for the results (empty when nothing to say).

    ``fast`` refuses a scenario it cannot represent exactly, naming the feature; ``auto`` falls
    back to SimPy then and says why."""
    if requested not in ENGINES:
        raise UserError(f"--engine {requested!r}: use one of {', '.join(ENGINES)}")
    if requested == "simpy":
        return "simpy", ""
    problems = refusals(sc)
    if not problems:
        return "fast", ""
    if requested == "fast":
        raise UserError(f"--engine fast cannot run scenario {sc.name!r} exactly: "
                        + "; ".join(problems) + " (use --engine simpy or auto)")
    return "simpy", "the fast engine cannot represent " + "; ".join(problems) + ": ran SimPy"


class SerialExecutor(Executor):
    """Runs each task at submit time, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            fut.set_exception(exc)
        return fut


@contextmanager
def make_executor(spec: str, tasks: int | None = None, *, threads: bool = False
                  ) -> Iterator[Executor]:
    """An Executor for ``spec`` (see :data:`EXECUTOR_HELP`), shut down on exit.

    ``threads``: ``local`` runs the tasks on one thread per CPU in this process, for work that
    releases the GIL and gains from sharing memory (``yzt plan`` on the fast engine: every task
    finds the replication memo its earlier rounds built, whichever thread runs it)."""
    if spec == "serial":
        yield SerialExecutor()
        return
    if spec == "local" or (m := re.fullmatch(r"processes:(\d+)", spec)):
        n = os.cpu_count() or 1 if spec == "local" else int(m.group(1))  # type: ignore[union-attr]
        if n < 1:
            raise UserError(f"--executor {spec}: N must be at least 1")
        n = min(n, tasks or n)
        if n == 1:  # one task: no worker process to start
            yield SerialExecutor()
            return
        pool: Executor = (ThreadPoolExecutor(max_workers=n) if threads and spec == "local"
                          else ProcessPoolExecutor(max_workers=n, initializer=die_with_parent))
        try:
            yield pool
        finally:  # interrupted (Ctrl-C): the tasks not started yet are dropped, not run first
            pool.shutdown(wait=True, cancel_futures=True)
        return
    m = re.fullmatch(r"dask://([^:/]+):(\d+)", spec)
    if m:
        try:
            import distributed
        except ImportError:  # pragma: no cover - dask is an optional extra
            raise UserError("--executor dask://… needs dask: pip install \"dask[distributed]>=2024.8\" "
                            "in yzt's environment") from None
        try:
            dist: Any = distributed
            client = dist.Client(f"tcp://{m.group(1)}:{m.group(2)}", timeout=10)
        except OSError as exc:
            raise UserError(f"--executor {spec}: cannot reach the Dask scheduler ({exc})") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    raise UserError(f"--executor {spec!r}: use {EXECUTOR_HELP}")


def replicate_one(sc: Scenario, seed: int, index: int, engine: str = "simpy",
                  threads: int | None = None) -> dict[str, Any]:
    """Worker entry point: one replication with ``engine`` (``fast`` or ``simpy``), summarised."""
    if engine == "fast":
        return replication_output(derive(sc, run_replication_fast(sc, seed, index, threads=threads)),
                                  sc)
    return replication_output(derive(sc, run_replication(sc, seed, index)), sc)


def run_replications(
    sc: Scenario,
    seed: int,
    replications: int,
    executor: str = "local",
    progress: Callable[[int], object] | None = None,
    engine: str = "simpy",
) -> list[dict[str, Any]]:
    """Outputs of replications ``0..n-1`` in index order; ``progress(1)`` after each one.

    ``engine`` is ``fast`` or ``simpy`` (resolve ``auto`` with :func:`choose_engine` first). The
    fast engine runs a replication's fan-out nodes on every CPU when replications run one at a
    time, and on one thread each when they run in parallel."""
    if engine not in ("fast", "simpy"):
        raise ValueError(f"engine {engine!r}: resolve it with choose_engine first")
    parallel = replications > 1 and executor != "serial"
    threads = 1 if parallel else None
    out: list[dict[str, Any] | None] = [None] * replications
    start = 0
    if engine == "fast" and parallel and not executor.startswith("dask://") and _kernels_cold():
        # a new install: replication 0 here compiles and caches the kernels, and the workers load
        # them, instead of each worker compiling them all itself (~10 CPU-s apiece)
        out[0], start = replicate_one(sc, seed, 0, engine), 1
        if progress:
            progress(1)
    with make_executor(executor, replications - start) as ex:
        futures = {ex.submit(replicate_one, sc, seed, i, engine, threads): i
                   for i in range(start, replications)}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            if progress:
                progress(1)
    return [o for o in out if o is not None]


def _kernels_cold() -> bool:
    from yzt.sim import fastqueue

    return fastqueue.cache_is_cold()
