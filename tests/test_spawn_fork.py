"""A step that ``yzt check`` forks behaves as the command line it stands for: the same exit status
and output, only the environment it was given, a session of its own, stopped as a process tree,
and never outliving ``yzt check`` (``kill -9`` included); with another thread running, the step is
the command line itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from yzt.server.testing import DEFAULT_SECRET
from yzt.shutdown import stop_tree
from yzt.spawn import Forked

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked steps are Linux's")

SERVE = ("serve", "--operator", "R07", "--seed", "7", "--subjects", "20", "--key-id", "k1", "--port", "0")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "YZT_SECRET"}
    return {**env, "YZT_STATE_DIR": str(tmp_path / "state"), **extra}


def _ready(log: Path, proc: Forked, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"yzt serve: R07 on (http://\S+)", log.read_text(encoding="utf-8"))
        if found:
            return found.group(1)
        assert proc.poll() is None, log.read_text(encoding="utf-8")
        time.sleep(0.05)
    raise AssertionError(f"no ready line: {log.read_text(encoding='utf-8')}")


def test_exit_status_and_output_are_the_commands(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    with log.open("w", encoding="utf-8") as fh:
        assert Forked(("--version",), _env(tmp_path), fh.fileno()).wait(timeout=30) == 0
        # a usage error travels as from a process: exit 2 and the CLI's own message
        assert Forked(("conform",), _env(tmp_path), fh.fileno()).wait(timeout=30) == 2
    text = log.read_text(encoding="utf-8")
    assert re.search(r"\b0\.\d+", text) and "yzt conform: error: TARGET_URL is required" in text


def test_the_child_sees_only_the_environment_it_was_given(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YZT_SECRET", DEFAULT_SECRET.decode())  # the parent has a secret…
    log = tmp_path / "step.log"
    with log.open("w", encoding="utf-8") as fh:  # …the step's environment has none
        proc = Forked(SERVE, _env(tmp_path), fh.fileno())
    try:
        assert proc.wait(timeout=60) == 2
    finally:
        stop_tree(proc)
    assert "yzt serve: error: no secret" in log.read_text(encoding="utf-8")


def test_own_session_timeout_and_stop_as_a_tree(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    with log.open("w", encoding="utf-8") as fh:
        proc = Forked(SERVE, _env(tmp_path, YZT_SECRET=DEFAULT_SECRET.decode()), fh.fileno())
    try:
        _ready(log, proc)
        assert os.getsid(proc.pid) == proc.pid and os.getpgid(proc.pid) == proc.pid
        assert psutil.Process(proc.pid).name() == "yzt serve"
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.2)
    finally:
        stop_tree(proc)
    # SIGTERM to its group ended it: the server's own clean exit, not the SIGKILL after the grace
    assert proc.poll() == 0


PARENT = textwrap.dedent("""
    import os, sys, time
    from yzt.spawn import Forked
    fh = open(sys.argv[1], "w")
    proc = Forked(tuple(sys.argv[2:]), dict(os.environ), fh.fileno())
    print(proc.pid, flush=True)
    time.sleep(120)
""")


def test_kill_9_of_the_parent_takes_the_forked_step(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(log), *SERVE],
                              env=_env(tmp_path, YZT_SECRET=DEFAULT_SECRET.decode()),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
        deadline = time.monotonic() + 60
        while "on http://" not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.is_running()
        parent.kill()
        parent.wait(timeout=10)
        _, alive = psutil.wait_procs([child], timeout=5.0)
        for p in alive:  # the test's own clean-up when the code under test failed
            p.kill()
        assert alive == [], "the forked step outlived kill -9 of its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        if parent.stdout is not None:
            parent.stdout.close()


THREADS = textwrap.dedent("""
    import threading
    from yzt.spawn import can_fork
    alone = can_fork()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    beside_a_thread = can_fork()
    stop.set()
    thread.join()
    print(alone, beside_a_thread, can_fork())
""")


def test_no_fork_while_another_thread_runs() -> None:
    # in a process of its own: a pytest worker runs threads of its own (execnet's)
    done = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stdout.split() == ["True", "False", "True"]
