"""The children ``yzt check`` starts never come from the current directory and never outlive it.

A ``yzt/`` folder where the user stands must not run in place of the installed yzt; ``kill -9`` of
``yzt check`` mid-run must take ``yzt serve``, ``yzt load`` and Locust with it within seconds, and
the private work folder the killed run could not remove is removed, and named, by the next run.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from test_shutdown_load import described, survivors, wait_for_locust

from yzt.spawn import python_command, yzt_command

pytestmark = pytest.mark.integration

#: The console script installed beside this interpreter: how users start yzt (its own folder, not
#: the current one, is first on sys.path); without one, the same through ``-P``.
_SCRIPT = Path(sys.executable).with_name("yzt")
YZT = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-P", "-m", "yzt"]
HOSTILE = """import pathlib
pathlib.Path({marker!r}).write_text("the yzt/ folder of the current directory ran")
raise SystemExit(1)
"""


def hostile_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding ``yzt/__main__.py`` and ``locust/__main__.py`` that write a marker file."""
    cwd = tmp_path / "cwd"
    marker = tmp_path / "MARKER"
    for name in ("yzt", "locust"):
        (cwd / name).mkdir(parents=True)
        (cwd / name / "__main__.py").write_text(HOSTILE.format(marker=str(marker)), encoding="utf-8")
    return cwd, marker


def test_child_commands_ignore_modules_in_the_current_directory(tmp_path: Path) -> None:
    cwd, marker = hostile_folder(tmp_path)
    # the hazard is real: a plain `python -m yzt` runs the folder's code
    plain = subprocess.run([sys.executable, "-m", "yzt", "--version"], cwd=cwd, capture_output=True,
                           text=True, timeout=60)
    assert plain.returncode == 1 and marker.exists()
    marker.unlink()
    done = subprocess.run(yzt_command("--version"), cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "0." in done.stdout + done.stderr
    done = subprocess.run(python_command("locust", "--version"), cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "locust" in done.stdout + done.stderr
    assert not marker.exists()


def test_check_does_not_run_a_yzt_folder_in_the_current_directory(tmp_path: Path) -> None:
    cwd, marker = hostile_folder(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run([*YZT, "check", "--out", str(out), "--subjects", "50", "--skip", "conform",
                           "--skip", "sim", "--load-duration", "2s"],
                          cwd=cwd, capture_output=True, text=True, timeout=240)
    assert not marker.exists(), done.stderr[-2000:]
    assert "did not start" not in done.stderr, done.stderr[-2000:]
    steps = json.loads((out / "check.json").read_text(encoding="utf-8"))["steps"]
    assert steps["load"]["verdict"] in ("pass", "fail"), (steps, done.stderr[-2000:])  # judged: it ran


def _start_check(tmp_path: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))  # its private folder goes here
    return subprocess.Popen([*YZT, "check", "--out", str(out), "--subjects", "100", *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_kill_9_of_check_leaves_no_child_and_the_next_run_removes_its_folder(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    proc = _start_check(tmp_path, tmp_path / "out", "--skip", "conform", "--skip", "sim",
                        "--load-duration", "60s")
    try:
        tree = wait_for_locust(proc)
        kinds = " ".join(described(p) for p in tree)
        assert "yzt serve" in kinds and "yzt load" in kinds and "locust" in kinds, kinds
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()
    _, alive = psutil.wait_procs(tree, timeout=5.0)
    left_alive = survivors(alive)
    for p in alive:  # the test's own clean-up when the code under test failed
        with contextlib.suppress(psutil.Error):
            p.kill()
    assert left_alive == [], "still running 5 s after kill -9 of yzt check"
    left = list((tmp_path / "tmp").glob("yzt-check-*"))
    assert len(left) == 1 and (left[0] / "operator.sqlite").exists()  # what the next run cleans

    nxt = _start_check(tmp_path, tmp_path / "out2", "--skip", "conform", "--skip", "load", "--skip",
                       "sim")
    _, err = nxt.communicate(timeout=120)
    assert not left[0].exists()
    assert (f"removed the work folder of an earlier run that was killed (pid {proc.pid}): {left[0]}"
            in err), err
    assert list((tmp_path / "tmp").glob("yzt-check-*")) == []  # its own folder is gone too


def test_a_kept_or_live_work_folder_is_not_removed(tmp_path: Path) -> None:
    from yzt.shutdown import claim_folder, release_folder, remove_orphan_folders

    kept, live, dead = (tmp_path / f"yzt-check-{n}" for n in ("kept", "live", "dead"))
    for folder in (kept, live, dead):
        folder.mkdir()
        claim_folder(folder)
    release_folder(kept)  # --keep-work
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    owner = (dead / ".yzt-owner").read_text().split()
    (dead / ".yzt-owner").write_text(f"{gone.stdout.strip()} {owner[1]}\n")
    assert remove_orphan_folders(tmp_path, "yzt-check-") == [(dead, int(gone.stdout))]
    assert kept.exists() and live.exists() and not dead.exists()
