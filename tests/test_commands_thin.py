"""Commands stay thin: a module of ``yzt/commands/`` parses flags and calls the library.

The rules, each checked by scanning the source (AST, so imports inside functions count too) and
each shown to catch a seeded breach:

- no command module imports another command module; ``common.py`` (the shared flag types, not a
  command) imports none either. A command that needs another's logic finds it in the library.
- every command module stays within :data:`MAX_LINES` lines. The budget is a blunt rule, picked
  because it holds for every command today without exceptions (the largest, ``conform.py``, is
  under it) while the two that held pipelines did not (``check.py`` 537 lines, ``load.py`` 530):
  a command that grows past it has logic to move into ``pipeline/`` or a runner.
- no command module imports ``json``: results files are written by the library
  (``yzt.resultfile.write``), never assembled by hand in a command.
- neither ``yzt/commands/`` nor ``pipeline/`` spells a verdict word as a string literal or maps
  exit statuses to verdicts in a dict of its own: every verdict and exit status goes through
  ``yzt/verdict.py`` (``Verdict.X.value``, ``.exit_code``, ``from_exit_code``); a non-zero exit
  status is never returned as a bare number (0, "done", is the one number a command may return).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from yzt.cli import COMMANDS
from yzt.verdict import Verdict

ROOT = Path(__file__).resolve().parents[1]
#: Modules of ``yzt/commands/`` that are not commands: shared flag types, the package marker.
SHARED = {"__init__", "common"}
MAX_LINES = 250
#: Where verdict words and exit maps must come from ``yzt/verdict.py``.
VOCABULARY_FOLDERS = ("yzt/commands", "pipeline")
VERDICT_WORDS = {v.value for v in Verdict}


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # ``from . import load`` or ``from .load import x`` inside yzt/commands
                base = "yzt.commands" + (f".{node.module}" if node.module else "")
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def command_modules(root: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted((root / "yzt" / "commands").glob("*.py")) if p.stem not in SHARED}


def thinness_problems(root: Path) -> list[str]:
    """Every breach of the first three rules, as ``file: what`` lines."""
    commands = command_modules(root)
    problems: list[str] = []
    for path in sorted((root / "yzt" / "commands").glob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        imported = _imports(ast.parse(text, filename=rel))
        for other in sorted(commands):
            if other != path.stem and f"yzt.commands.{other}" in imported:
                problems.append(f"{rel}: imports the command yzt.commands.{other}")
        if path.stem in SHARED:
            continue
        lines = len(text.splitlines())
        if lines > MAX_LINES:
            problems.append(f"{rel}: {lines} lines, over the budget of {MAX_LINES}")
        if "json" in imported:
            problems.append(f"{rel}: imports json (results files are written by the library)")
    return problems


def vocabulary_problems(root: Path) -> list[str]:
    """Verdict words written as literals, and dicts that map exit statuses to verdicts."""
    problems: list[str] = []
    for folder in VOCABULARY_FOLDERS:
        for path in sorted((root / folder).glob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and node.value in VERDICT_WORDS:
                    problems.append(f"{rel}:{node.lineno}: the verdict word {node.value!r} (use "
                                    "Verdict)")
                if isinstance(node, ast.Dict) and node.keys and all(
                        isinstance(k, ast.Constant) and type(k.value) is int for k in node.keys):
                    problems.append(f"{rel}:{node.lineno}: a dict keyed by exit statuses (use "
                                    "yzt.verdict.from_exit_code)")
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) \
                        and type(node.value.value) is int and node.value.value != 0:
                    problems.append(f"{rel}:{node.lineno}: returns the exit status "
                                    f"{node.value.value} (use Verdict.X.exit_code)")
    return problems


def test_the_command_modules_are_the_cli_s_commands() -> None:
    """The scan covers every command the CLI registers, and nothing else."""
    assert sorted(command_modules(ROOT)) == sorted(name.rsplit(".", 1)[1] for name in COMMANDS)


def test_commands_are_thin_and_import_no_other_command() -> None:
    assert thinness_problems(ROOT) == []


def test_commands_and_the_pipeline_speak_the_verdict_vocabulary() -> None:
    assert vocabulary_problems(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"yzt/commands/__init__.py": "", "yzt/commands/common.py": "X = 1\n",
                       "yzt/commands/load.py": "def run(args):\n    return 0\n",
                       "pipeline/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("files", "expected"), [
    ({"yzt/commands/check.py": "def run(args):\n    from yzt.commands.load import run_preflight\n"},
     "yzt/commands/check.py: imports the command yzt.commands.load"),
    ({"yzt/commands/check.py": "from yzt.commands import load\n"},
     "yzt/commands/check.py: imports the command yzt.commands.load"),
    ({"yzt/commands/check.py": "from .load import run\n"},
     "yzt/commands/check.py: imports the command yzt.commands.load"),
    ({"yzt/commands/common.py": "import yzt.commands.load\n"},
     "yzt/commands/common.py: imports the command yzt.commands.load"),
    ({"yzt/commands/check.py": "X = 1\n" * (MAX_LINES + 1)},
     f"yzt/commands/check.py: {MAX_LINES + 1} lines, over the budget"),
    ({"yzt/commands/check.py": "def run(args):\n    import json\n"},
     "yzt/commands/check.py: imports json"),
])
def test_a_seeded_breach_of_thinness_is_caught(tmp_path: Path, files: dict[str, str],
                                               expected: str) -> None:
    root = _tree(tmp_path, files)
    found = thinness_problems(root)
    assert any(p.startswith(expected) for p in found), found
    assert not any(p.startswith("yzt/commands/load.py") for p in found)


def test_the_seeded_tree_without_a_breach_is_clean(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"yzt/commands/check.py": "from yzt.commands.common import X\n"
                            "from yzt.pipeline.check import CheckPipeline\n" + "Y = 2\n" * 200})
    assert thinness_problems(root) == []
    assert vocabulary_problems(root) == []


@pytest.mark.parametrize(("files", "expected"), [
    # the hand-written record the load run wrote when interrupted before any request was recorded
    ({"pipeline/load.py": 'DOC = {"verdict": "incomplete", "exit_code": 3}\n'},
     "pipeline/load.py:1: the verdict word 'incomplete'"),
    # the capacity probe's own exit map, which said incomplete where from_exit_code says error
    ({"pipeline/load.py": "def f(code):\n    return {0: Verdict.PASS, 1: Verdict.FAIL}.get(code)\n"},
     "pipeline/load.py:2: a dict keyed by exit statuses"),
    ({"yzt/commands/check.py": 'VERDICT = "pass"\n'},
     "yzt/commands/check.py:1: the verdict word 'pass'"),
    # the worker's "the master refused us" status, written as a bare 2
    ({"pipeline/load.py": "def f(outcome):\n    if outcome:\n        return 2\n    return 0\n"},
     "pipeline/load.py:3: returns the exit status 2"),
])
def test_a_seeded_verdict_literal_or_exit_map_is_caught(tmp_path: Path, files: dict[str, str],
                                                        expected: str) -> None:
    found = vocabulary_problems(_tree(tmp_path, files))
    assert any(p.startswith(expected) for p in found), found
