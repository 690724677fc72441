"""Run ``mypy -p yzt`` over the package as it installs, with errors reported at repository paths.

The design's folders (``sim/``, ``conformance/``, ...) install as ``yzt.sim``, ``yzt.conformance``, ...
through setuptools' ``package-dir``. mypy finds modules by folder name and cannot follow the
import hook of an editable install, so from the repository root it would not see ``yzt.sim``.
This script lays out the installed view (``build/typecheck/yzt/...``, Python files only, mtimes
kept so mypy's cache stays warm) from the same ``package-dir`` table that setuptools reads, runs
mypy there with the project's configuration, and maps every path in the output back to the file
to edit. Usage: ``python tests/typecheck.py`` (exit status is mypy's).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIEW = ROOT / "build" / "typecheck"


def package_dirs(root: Path = ROOT) -> dict[str, str]:
    """Installed package name -> folder in the repository, as pyproject.toml maps them."""
    config = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    mapping: dict[str, str] = {"yzt": "yzt"}
    mapping.update(config.get("package-dir", {}))
    return mapping


def _view_path(package: str) -> str:
    return package.replace(".", "/")


def build_view(root: Path = ROOT, view: Path = VIEW) -> dict[str, str]:
    """Copy the Python files of every mapped folder to its installed place under ``view``.

    Returns view-relative prefix -> repository-relative prefix, longest first, for path mapping.
    """
    if view.exists():
        shutil.rmtree(view)
    mapping = package_dirs(root)
    for package, folder in mapping.items():
        source = root / folder
        target = view / _view_path(package)
        for file in source.rglob("*"):
            if file.suffix not in (".py", ".pyi") and file.name != "py.typed":
                continue
            relative = file.relative_to(source)
            if any(part == "__pycache__" for part in relative.parts):
                continue
            dest = target / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, dest)
    prefixes = {_view_path(p) + "/": f.rstrip("/") + "/" for p, f in mapping.items()}
    return dict(sorted(prefixes.items(), key=lambda kv: -len(kv[0])))


def to_repository_paths(output: str, prefixes: dict[str, str]) -> str:
    """Rewrite ``yzt/sim/x.py:3: error`` lines to ``sim/x.py:3: error``."""
    lines = []
    for line in output.splitlines():
        for view_prefix, repo_prefix in prefixes.items():
            if line.startswith(view_prefix):
                line = repo_prefix + line[len(view_prefix):]
                break
        lines.append(line)
    return "\n".join(lines)


def run_mypy(mypy: str = "mypy", root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``mypy -p yzt`` over the installed view; stdout carries repository paths."""
    prefixes = build_view(root)
    proc = subprocess.run(
        [mypy, "--config-file", str(root / "pyproject.toml"), "--cache-dir", str(root / ".mypy_cache"),
         "-p", "yzt"],
        cwd=VIEW, capture_output=True, text=True, timeout=600, check=False,
    )
    proc.stdout = to_repository_paths(proc.stdout, prefixes)
    return proc


def main() -> int:
    """Run mypy and print its report with repository paths."""
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or "mypy"
    proc = run_mypy(mypy)
    sys.stdout.write(proc.stdout + "\n")
    sys.stderr.write(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
