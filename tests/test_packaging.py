"""The wheel holds every file the package reads at run time, at its installed place.

The design's folders install as ``yzt.<folder>`` through setuptools' ``package-dir``; package data
(JSON Schemas, golden examples, scenarios, templates, the requirement catalogue) is listed by glob.
A file added to a folder but missed by the globs would work in a checkout and fail for users, so
this test builds the real wheel and compares it with the tracked files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typecheck import package_dirs

ROOT = Path(__file__).resolve().parent.parent

#: Tracked files under the package folders that are not installed, with the reason.
NOT_INSTALLED: dict[str, str] = {}


def _tracked(folder: str) -> list[str]:
    proc = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    return proc.stdout.split()


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    # build from a copy of the tracked files: a stale build/ folder in the checkout would hide a slip
    source = tmp_path_factory.mktemp("source")
    for path in _tracked("."):
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, source / path)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                           str(source)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = out.glob("yzt_harness-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.mark.integration
def test_wheel_holds_every_tracked_file_of_the_package(wheel_names: set[str]) -> None:
    missing = []
    for package, folder in package_dirs().items():
        installed_root = package.replace(".", "/")
        for path in _tracked(folder):
            if path in NOT_INSTALLED:
                continue
            installed = installed_root + path[len(folder):]
            if installed not in wheel_names:
                missing.append(f"{path} (expected at {installed})")
    assert not missing, "left out of the wheel; add them to [tool.setuptools.package-data]:\n" + "\n".join(
        missing)


@pytest.mark.integration
def test_wheel_installs_nothing_outside_yzt(wheel_names: set[str]) -> None:
    tops = {name.split("/", 1)[0] for name in wheel_names}
    from yzt import __version__

    assert tops == {"yzt", f"yzt_harness-{__version__}.dist-info"}, tops
