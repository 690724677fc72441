"""Shared fixtures: a private clock memory, a reference operator, a real headless Chromium; and the
suite's schedule: the longest files first, the numba kernels compiled once up front."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

#: The longest test files, roughly longest first (their summed wall time in a whole run, measured with
#: ``python benchmarks/suite_cpu.py``; docs/benchmarks.md "Test suite time"). The
#: xdist workers take whole files in this order and the short files fill in behind them; in
#: xdist's own order (by number of tests) the longest started midway and could end the run alone.
#: After the first four, files that mostly wait on real processes (W: load runs, slow endpoints,
#: deadlines) alternate with files that compute in the test process (C: simulations and plans):
#: two waiting files side by side left the cores idle (a whole run's CPU fell to 0.85 of 2 for
#: 20 s when the client-load and slow-endpoint files met beside the results-schema file).
#: The three files that measure live answer times (the twin's model-against-live comparison, the
#: calibration's fit, the federation's live-against-model check) run with :func:`quiet_cores`:
#: beside CPU-bound files at the same priority a node's p95 once missed (docs/benchmarks.md), so
#: the first two used to end the run for ~40 s in which the cores stood mostly idle.
LONGEST_FIRST = (
    "test_ci_templates.py",  # two clean virtualenvs installing from a tagged clone, two `yzt check`
    # the variant matrix before the defect matrix: the defect matrix's first run (the clean
    # reference alone) must outpace a rate limit, better not while the kernels compile at start
    "test_variant_matrix.py",  # three whole `yzt check` runs and a `yzt conform` per variant
    "test_conform_matrix.py",  # a server and a `yzt check` per seeded conformance defect
    "test_plan_launch_day.py",  # C: a full-scale plan and `yzt sim` of it
    "test_load_integration.py",  # W: Locust runs of several seconds each
    "test_golden.py",  # C
    "test_check_endpoint.py",  # W
    "test_plan.py",  # C
    "test_client_load.py",  # W
    "test_sim_fast.py",  # C
    "test_check_status.py",  # W
    "test_result_schemas.py",  # a whole `yzt check`, a plan and a twin run
    "test_conform_onboarding.py",
    "test_sim_model.py",  # C
    "test_load_remote_workers.py",  # W
    "test_objectives.py",  # C
    "test_twin_verdict.py",  # W, quiet_cores: live federation windows (~35 s)
    "test_server_durability.py",  # C
    "test_tooling.py",  # C: mypy strict over the package (17 CPU-s without its cache)
    "test_plan_calibrate.py",  # W, quiet_cores: a 20 s load run whose answer times are fitted
    "test_evidence_forgery.py",
    "test_sla_profiles.py",  # C
    "test_server_slow_head.py",  # W: ~22 s waiting on the server's head deadlines
    "test_plan_rosters.py",  # C
    "test_conform_rerun.py",
    "test_server_http_errors.py",  # W: ~26 s waiting on the server's body deadlines
    "test_conform_registry.py",
    "test_server_dblock.py",
)


_WARM_UP: list[tuple[subprocess.Popen[bytes], str]] = []


def _keep_bytecode() -> None:
    """Let the suite's processes keep their compiled bytecode, whatever the environment says.

    The suite starts hundreds of Python processes (workers, servers, ``yzt`` commands, Locust) that
    import the same modules. With ``PYTHONDONTWRITEBYTECODE`` set, as some CI images and shells set
    it, none of them writes a ``__pycache__``: each compiles yzt's modules from source again (about
    0.1 CPU-s a process), and each pytest worker rewrites the assertions of every test module and
    plugin again (a worker's collection: 7.3 CPU-s, against 3.5 once the caches exist; on a fresh
    clone the workers collect at once, so only the next run gains there). The caches go to
    ``__pycache__`` folders, which git ignores; the workers and every child inherit this
    environment."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False


def pytest_configure(config: pytest.Config) -> None:
    """On a fresh checkout, compile the numba kernels once while the xdist workers start.

    The kernels are cached on disk (``cache=True``) after their first compile (~12 s of CPU here),
    but every process that runs the fast engine before that cache exists compiles them itself, and
    the first files to run start several at once (the variant matrix's three ``yzt check`` runs).
    A small ``yzt sim`` in the background writes the cache first; with the cache already there it
    only loads it (~1 s). Only the xdist controller does this, and only when workers run.

    First of all, bytecode caches are kept (:func:`_keep_bytecode`)."""
    _keep_bytecode()
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if config.option.collectonly:
        return
    out = tempfile.mkdtemp(prefix="yzt-numba-warm-up-")
    _WARM_UP.append((subprocess.Popen(
        [sys.executable, "-m", "yzt", "sim", "baseline", "-n", "1", "--seed", "7", "-q", "--out", out],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))


def pytest_unconfigure(config: pytest.Config) -> None:
    for proc, out in _WARM_UP:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        shutil.rmtree(out, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the longest files first (see LONGEST_FIRST); the rest keep their collection order, and
    a file's tests stay together and in order (its module fixtures start once)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(item.path.name, len(first_seen))
    items.sort(key=lambda item: (rank.get(item.path.name, len(LONGEST_FIRST)),
                                 first_seen[item.path.name]))


@pytest.fixture(scope="module")
def quiet_cores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """While this module runs, every other process of the run has a lower CPU priority than this
    worker and its children, so that a timing measurement beside CPU-bound files is not theirs.

    Under xdist only (one process has no neighbours). Each half second, every process under the
    xdist controller outside a quiet worker's tree gets a nice value 10 above this worker's (at
    most 19; raising one's own processes' nice value needs no privilege, lowering it would): new
    children inherit it. The quiet workers are files in the run's shared temporary folder, so two
    quiet modules at once keep each other's trees. At the end, when no other quiet module runs,
    every process of the run goes back to the controller's value where the user may lower a nice
    value (root, as in CI), so that the next quiet module has 10 steps to give again; elsewhere
    this worker takes the highest value the others have, so that all run at one priority again
    (a third quiet module in one run then finds the others at 19 already, and gains nothing)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    import threading

    import psutil

    me = psutil.Process()
    controller = me.parent()
    marks = tmp_path_factory.getbasetemp().parent / "quiet-workers"
    marks.mkdir(exist_ok=True)
    mark = marks / str(me.pid)
    mark.touch()
    target = min(19, me.nice() + 10)
    stop = threading.Event()

    def tree(pid: int) -> set[int]:
        try:
            return {pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))}
        except psutil.Error:
            return set()

    def lower_the_others() -> None:
        while not stop.wait(0.5):
            quiet = set().union(*(tree(int(m.name)) for m in marks.iterdir()))
            for p in controller.children(recursive=True):
                try:
                    if p.pid not in quiet and p.nice() < target:
                        p.nice(target)
                except psutil.Error:  # ended, or another user's (not ours to change)
                    continue

    thread = threading.Thread(target=lower_the_others, daemon=True, name="quiet-cores")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        mark.unlink(missing_ok=True)
        if any(marks.iterdir()) or not _renice_all(controller.children(recursive=True),
                                                   controller.nice()):
            others = [w.nice() for w in controller.children() if w.pid != me.pid and w.is_running()]
            level = max([me.nice(), *others])
            for p in [me, *me.children(recursive=True)]:
                try:
                    p.nice(level)
                except psutil.Error:
                    continue


def _renice_all(processes: list[Any], level: int) -> bool:
    """Set every process above ``level`` back to it; False where lowering a nice value is not
    allowed (it needs privilege, or a raised RLIMIT_NICE)."""
    import psutil

    for p in processes:
        try:
            if p.nice() > level:
                p.nice(level)
        except psutil.AccessDenied:
            return False
        except psutil.Error:  # ended meanwhile
            continue
    return True


@pytest.fixture(scope="session", autouse=True)
def _clock_memory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """yzt remembers sandbox clocks under YZT_STATE_DIR (yzt.clock): the tests' memory is theirs,
    shared by one test process and its children, never the user's."""
    saved = {k: os.environ.get(k) for k in ("YZT_STATE_DIR", "YZT_CLOCK_OFFSET")}
    os.environ["YZT_STATE_DIR"] = str(tmp_path_factory.mktemp("yzt-state"))
    os.environ.pop("YZT_CLOCK_OFFSET", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A clean reference operator (R07, seed 7) for one test module, on a free loopback port."""
    from yzt.server.testing import running_server

    with running_server() as url:
        yield url


@pytest.fixture
def c(base_url: str) -> Iterator[Any]:
    """A platform client for ``base_url`` (signs with the reference's test key)."""
    from server_helpers import client

    with client(base_url) as platform:
        yield platform


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright; skipped without it unless YZT_REQUIRE_CHROMIUM=1."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("YZT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is required (YZT_REQUIRE_CHROMIUM=1) but not installed: "
                        "apt-get install chromium")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
