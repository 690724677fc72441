"""The project's own quality gates run as tests, so the README's one test command covers them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typecheck import package_dirs

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: install the dev extras (pip install -e '.[dev]')")
    return found


def test_ruff_is_clean() -> None:
    proc = subprocess.run([_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_is_clean() -> None:
    from typecheck import run_mypy

    proc = run_mypy(_tool("mypy"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the design's folders are checked as yzt.sim, yzt.conformance, ... (not silently skipped)
    checked = int(proc.stdout.rsplit(" in ", 1)[1].split()[0])
    python_files = sum(1 for folder in package_dirs().values() for _ in (ROOT / folder).rglob("*.py"))
    assert checked == python_files, proc.stdout


def test_mypy_reports_errors_in_mapped_folders_at_their_repository_path(tmp_path: Path) -> None:
    from typecheck import build_view, to_repository_paths

    prefixes = build_view(ROOT, tmp_path / "view")
    assert (tmp_path / "view" / "yzt" / "sim" / "rng.py").is_file()
    assert (tmp_path / "view" / "yzt" / "conformance" / "checks" / "auth.py").is_file()
    line = "yzt/conformance/checks/auth.py:3: error: boom"
    assert to_repository_paths(line, prefixes) == "conformance/checks/auth.py:3: error: boom"
    assert to_repository_paths("yzt/cli.py:1: error", prefixes) == "yzt/cli.py:1: error"


def test_no_symlinks_are_tracked() -> None:
    """A checkout without symlink support (Windows, core.symlinks=false) must work as is."""
    proc = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True)
    links = [line.split("\t", 1)[1] for line in proc.stdout.splitlines() if line.startswith("120000")]
    assert links == []


def test_every_package_folder_is_mapped_and_installed() -> None:
    """Each top-level folder with Python in it is a yzt sub-package listed for setuptools."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    packages = set(config["packages"])
    expected = set()
    for package, folder in package_dirs().items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            expected.add(".".join((package, *relative)))
    assert packages == expected


def test_ruff_lints_every_folder() -> None:
    """No folder of the project is kept out of ruff's sight."""
    import tomllib

    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["ruff"]
    assert "exclude" not in ruff and "extend-exclude" not in ruff
