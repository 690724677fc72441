"""Runners write records and ``reports/`` reads them: no runner imports a reporter. Locust (which
patches the interpreter with gevent) is imported only by the load generator's own files. The core
(``yzt/`` but its commands) imports none of the parts built on it: the conformance suite, the load
tests, the simulation, the twin (a live federation held against the model) and the reports;
the commands, the top layer, may call any of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Folders that run and judge: they write records and must not import ``reports/``.
RUNNERS = ("conformance", "loadtests", "sim", "twin")
#: The only folder whose files may import locust or gevent.
LOCUST_HOME = "loadtests"
#: Test scripts that only ever run as their own process (a test starts them with ``python FILE``),
#: so their gevent patching never reaches pytest: they may import locust, and nothing may import them.
OWN_PROCESS_SCRIPTS = {"tests/hostile/fake_locust_peer.py"}
SKIP = {".venv", ".git", "build", "dist", "node_modules", "__pycache__"}
#: The parts built on the core, as installed (``yzt.conformance``) and as folders (``conformance``).
ABOVE_THE_CORE = ("conformance", "loadtests", "sim", "twin", "reports", "pipeline")
#: Files of ``yzt/`` that are not the core: the commands, which may call any library.
TOP_LAYER = ("yzt/commands/", "yzt/cli.py")
#: Calls whose first argument names a module or package they load (``resources.files`` imports it).
_LOADERS = ("import_module", "__import__", "files", "find_spec")


def imported(path: Path, root: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (inside functions too), relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _package_of(path, root)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                in _LOADERS and node.args and isinstance(node.args[0], ast.Constant):
            found.add(str(node.args[0].value))
    return found


def _package_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    top = parts[0]
    return ".".join(["yzt", *parts[:-1]] if top in (*RUNNERS, "reports", "scenarios") else parts[:-1])


def _python_files(root: Path) -> list[Path]:
    """The project's Python files, each once (not again through a symlinked folder)."""
    def through_link(p: Path) -> bool:
        return any((root / parent).is_symlink() for parent in p.relative_to(root).parents)

    def in_a_virtualenv(p: Path) -> bool:  # any name (.venv-wheel, env, ...): its pyvenv.cfg says so
        return any((root / parent / "pyvenv.cfg").is_file() for parent in p.relative_to(root).parents)
    return [p for p in root.rglob("*.py")
            if not SKIP & set(p.relative_to(root).parts) and not through_link(p)
            and not in_a_virtualenv(p)]


def _is(module: str, name: str) -> bool:
    return module == name or module.startswith(name + ".")


def in_the_core(rel: Path) -> bool:
    """Whether the file at ``rel`` (relative to the checkout) belongs to the core."""
    posix = rel.as_posix()
    return posix.startswith("yzt/") and not posix.startswith(TOP_LAYER)


def boundary_problems(root: Path) -> list[str]:
    """Every import that crosses a boundary, as ``file: module`` lines."""
    problems: list[str] = []
    for path in sorted(_python_files(root)):
        rel = path.relative_to(root)
        top = rel.parts[0]
        for module in sorted(imported(path, root)):
            if top in RUNNERS and (_is(module, "yzt.reports") or _is(module, "reports")):
                problems.append(f"{rel.as_posix()}: imports {module} (runners write records; "
                                "reports/ reads them)")
            if top in RUNNERS and (_is(module, "yzt.pipeline") or _is(module, "pipeline")):
                problems.append(f"{rel.as_posix()}: imports {module} (the pipeline drives the "
                                "runners, not the other way round)")
            if top != LOCUST_HOME and rel.as_posix() not in OWN_PROCESS_SCRIPTS and (
                    _is(module, "locust") or _is(module, "gevent")):
                problems.append(f"{rel.as_posix()}: imports {module} (only loadtests/ may)")
            if in_the_core(rel) and any(_is(module, f"yzt.{part}") or _is(module, part)
                                        for part in ABOVE_THE_CORE):
                problems.append(f"{rel.as_posix()}: imports {module} (the core imports nothing "
                                "built on it; move the shared fact into yzt/)")
            if any(_is(module, Path(s).stem) for s in OWN_PROCESS_SCRIPTS):
                problems.append(f"{rel.as_posix()}: imports {module} (a script that runs only as "
                                "its own process)")
    return problems


def test_the_repository_keeps_its_import_boundaries() -> None:
    assert len(_python_files(ROOT)) > 50  # the scan sees the project
    assert boundary_problems(ROOT) == []


@pytest.mark.parametrize(("path", "source", "expected"), [
    ("sim/bad.py", "from yzt.reports.plots import line_chart\n", "sim/bad.py: imports yzt.reports"),
    ("conformance/bad.py", "def f():\n    from ..reports import render\n",
     "conformance/bad.py: imports yzt.reports"),
    ("loadtests/bad.py", "import yzt.reports.junit\n", "loadtests/bad.py: imports yzt.reports.junit"),
    ("yzt/commands/bad.py", "import locust\n", "yzt/commands/bad.py: imports locust"),
    ("tests/test_bad.py", "from gevent import monkey\n", "tests/test_bad.py: imports gevent"),
    ("sim/lazy.py", "import importlib\nimportlib.import_module('locust.env')\n",
     "sim/lazy.py: imports locust.env"),
    ("conformance/up.py", "from yzt.pipeline.check import CheckPipeline\n",
     "conformance/up.py: imports yzt.pipeline"),
    ("twin/bad.py", "def f():\n    from yzt.reports.readers import read_dirs\n",
     "twin/bad.py: imports yzt.reports.readers"),
    ("twin/up.py", "from ..pipeline import check\n", "twin/up.py: imports yzt.pipeline"),
])
def test_a_seeded_crossing_is_caught(tmp_path: Path, path: str, source: str, expected: str) -> None:
    file = tmp_path / path
    file.parent.mkdir(parents=True)
    file.write_text(source, encoding="utf-8")
    (tmp_path / "loadtests").mkdir(exist_ok=True)
    (tmp_path / "loadtests" / "ok.py").write_text("import locust\nimport gevent\n", encoding="utf-8")
    found = boundary_problems(tmp_path)
    assert any(p.startswith(expected) for p in found), found
    assert not any(p.startswith("loadtests/ok.py") for p in found)


@pytest.mark.parametrize(("path", "source", "expected"), [
    ("yzt/server/bad.py", "from yzt.conformance import endpoints\n",
     "yzt/server/bad.py: imports yzt.conformance"),
    ("yzt/bad.py", "from yzt.conformance.registry import Said\n",
     "yzt/bad.py: imports yzt.conformance.registry"),
    ("yzt/server/lazy.py", "def f():\n    from ..loadtests import traffic\n",
     "yzt/server/lazy.py: imports yzt.loadtests"),
    ("yzt/domain/bad.py", "import yzt.sim.engine\n", "yzt/domain/bad.py: imports yzt.sim.engine"),
    ("yzt/bad.py", "from yzt.twin.results import TwinComparison\n", "yzt/bad.py: imports yzt.twin"),
    ("yzt/bad.py", "from reports import render\n", "yzt/bad.py: imports reports"),
    ("yzt/data.py", "from importlib import resources\nresources.files('yzt.conformance')\n",
     "yzt/data.py: imports yzt.conformance"),
])
def test_a_seeded_crossing_out_of_the_core_is_caught(tmp_path: Path, path: str, source: str,
                                                     expected: str) -> None:
    file = tmp_path / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source, encoding="utf-8")
    found = boundary_problems(tmp_path)
    assert any(p.startswith(expected) and "the core imports nothing" in p for p in found), found


def test_the_commands_may_call_any_library(tmp_path: Path) -> None:
    for path in ("yzt/commands/conform.py", "yzt/cli.py"):
        file = tmp_path / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("from yzt.conformance import runner\nfrom yzt.sim import engine\n"
                        "from yzt.reports import render\nfrom yzt.loadtests import traffic\n",
                        encoding="utf-8")
    (tmp_path / "yzt" / "endpoints.py").write_text("from yzt.signing import format_time\n",
                                                   encoding="utf-8")
    assert boundary_problems(tmp_path) == []
    assert in_the_core(Path("yzt/server/app.py")) and in_the_core(Path("yzt/endpoints.py"))
    assert not in_the_core(Path("yzt/commands/serve.py")) and not in_the_core(Path("yzt/cli.py"))
    assert not in_the_core(Path("conformance/endpoints.py"))
