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

#: The longest test files, longest first (their summed wall time in a whole run, measured with
#: ``python benchmarks/suite_cpu.py``; docs/benchmarks.md "Test suite time"). The
#: xdist workers take whole files in this order and the short files fill in behind them; in
#: xdist's own order (by number of tests) the longest started midway and could end the run alone.
LONGEST_FIRST = (
    "test_ci_templates.py",  # two clean virtualenvs installing from a tagged clone, two `yzt check`
    # the variant matrix before the defect matrix: the defect matrix's first run (the clean
    # reference alone) must outpace a rate limit, better not while the kernels compile at start
    "test_variant_matrix.py",  # three whole `yzt check` runs and a `yzt conform` per variant
    "test_conform_matrix.py",  # a server and a `yzt check` per seeded conformance defect
    "test_plan_launch_day.py",  # a full-scale plan and `yzt sim` of it: a minute or more of one worker
    "test_load_integration.py",  # Locust runs of several seconds each
    "test_check_endpoint.py",
    "test_golden.py",
    "test_conform_onboarding.py",
    "test_result_schemas.py",  # a whole `yzt check`, a plan and a twin run
    "test_client_load.py",
    "test_check_status.py",
    "test_plan.py",
    "test_tooling.py",  # mypy strict over the package
    "test_evidence_forgery.py",
    "test_conform_rerun.py",
    "test_load_remote_workers.py",
    "test_sim_fast.py",
    "test_conform_registry.py",
    "test_server_dblock.py",
    # ~22 s waiting on the server's head deadlines (3 CPU-s): it once ended the run beside the
    # twin, where with the two other end files it made one worker's tail 48 s against the twin's 37
    "test_server_slow_head.py",
)

#: The files that end the run, in this order. The twin's model-against-live comparison measures
#: timing and needs a quiet core: beside CPU-bound files a node's p95 missed (docs/benchmarks.md),
#: so it ran last, alone, for its ~35 s of mostly waiting while the two other workers stood idle.
#: The files after it keep the other workers busy without taking the twin's core: the calibration
#: test's 20 s load run at a modest rate (about 4 CPU-s in 26 s, and it too needs its answers on
#: time: 200 in 20 s), and a file that waits on the server's 10 s body deadlines (about 2 CPU-s
#: in 26 s).
AT_THE_END = (
    "test_twin_verdict.py",
    "test_plan_calibrate.py",
    "test_server_http_errors.py",
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
    """Run the longest files first (see LONGEST_FIRST) and AT_THE_END last; the rest keep their
    collection order, and a file's tests stay together and in order (its module fixtures start
    once)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    rank.update({name: len(LONGEST_FIRST) + 1 + i for i, name in enumerate(AT_THE_END)})
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(item.path.name, len(first_seen))
    items.sort(key=lambda item: (rank.get(item.path.name, len(LONGEST_FIRST)),
                                 first_seen[item.path.name]))


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
