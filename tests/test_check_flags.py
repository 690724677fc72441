"""``yzt check``'s flags are checked before anything starts: usage errors exit 2 naming the flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _check(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yzt", "check", "--out", str(tmp_path / "out"), *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("args", "flag"), [
    (("--replications", "1"), "--replications must be between 2 and 1000"),
    (("--scenario", "nosuch"), "--scenario nosuch: scenario 'nosuch' not found"),
    (("--load-duration", "forever"), "--load-duration 'forever' is not a duration"),
    (("--capacity-runs", "0"), "--capacity-runs must be between 1 and 30"),
    (("http://127.0.0.1:9",), "--key-id is required with TARGET_URL"),
    (("--key-id", "k1"), "--key-id and --fixtures are for TARGET_URL"),
])
def test_usage_errors_name_the_flag(tmp_path, args, flag):
    proc = _check(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert flag in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "report.json").exists()  # nothing ran


def test_unreachable_target_is_exit_2(tmp_path):
    from yzt.server.testing import free_port

    proc = subprocess.run([sys.executable, "-m", "yzt", "check", f"http://127.0.0.1:{free_port()}",
                           "--key-id", "k1", "--out", str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=60, check=False, env={"YZT_SECRET": "x", "PATH": ""})
    assert proc.returncode == 2, proc.stderr
    assert "connection refused" in proc.stderr and "Traceback" not in proc.stderr


def test_fixture_flags_are_spelled_once_and_quoted_for_a_shell(tmp_path):
    """One spelling of the fixture flags (``yzt check`` builds its steps' arguments from the same
    ``FixtureSelection.flags``): ``yzt load``'s reproduce command and ``yzt conform``'s reproduce
    commands name the file by its absolute path, quoted once for a shell."""
    import argparse
    import shlex

    from yzt.commands.conform import fixture_source
    from yzt.fixtures import FixtureSelection
    from yzt.loadtests import shapes
    from yzt.pipeline.load import LoadRun, LoadSettings

    given = Path("my fixtures") / "cards.jsonl"  # relative, as typed, with a space to quote
    selection = FixtureSelection(given)
    absolute = str(given.resolve())
    assert selection.flags() == ["--fixtures", absolute]
    assert selection.shown() == f"--fixtures '{absolute}'" and shlex.split(selection.shown()) == \
        selection.flags()
    assert FixtureSelection(None, 7, 150).shown() == "--seed 7 --subjects 150"

    conform_args = argparse.Namespace(fixtures=given, seed=None, subjects=200)
    assert fixture_source(conform_args) == selection.shown()
    settings = LoadSettings(target="http://127.0.0.1:9", operator="R07", key_id="k1", fixtures=given,
                            rate=5.0, duration="2s")
    run = LoadRun(settings, shapes.build_shape("steady", 5.0, 2.0), [], 5.0, b"x")
    command = shlex.split(run.reproduce(tmp_path / "out", run.shape))
    at = command.index("--fixtures")
    assert command[at:at + 2] == selection.flags()
