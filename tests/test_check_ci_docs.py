"""The CI examples under docs/ci/ and the README's onboarding commands: valid YAML, and every yzt
command they run parses with yzt's own parser (a renamed flag or command fails here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from yzt.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _yzt_commands(text: str) -> list[list[str]]:
    """Every ``yzt …`` command line in ``text``, CI variables replaced by sample values."""
    text = re.sub(r"\$\{\{\s*[^}]+\}\}", "VALUE", text)
    text = text.replace("$YZT_CHECK_ARGS", "")  # optional extra flags: empty unless the user sets them
    text = re.sub(r"\"?\$[A-Z_]+\"?", "VALUE", text)
    out = []
    for line in re.findall(r"(?:^|[\s-])(yzt (?:[^\n#]|\n(?=\s*--))+)", text):
        words = shlex.split(line.replace("\n", " "))
        ends = [i for i, w in enumerate(words) if w in {"||", "&&", ";", "|"}]
        out.append(words[1:ends[0]] if ends else words[1:])
    return out


def _parses(argv: list[str]) -> str:
    args = build_parser().parse_args(argv)
    assert getattr(args, "func", None), argv
    return str(args.command)


def test_gitlab_job_is_valid_and_runs_yzt_check():
    doc = yaml.safe_load((ROOT / "docs/ci/gitlab-ci.yml").read_text(encoding="utf-8"))
    job = doc["yzt-check"]
    commands = _yzt_commands("\n".join(job["script"]))
    assert [_parses(c) for c in commands] == ["check"]
    assert job["artifacts"]["reports"]["junit"] == "out/check/junit.xml"
    assert job["allow_failure"]["exit_codes"] == [3]  # incomplete is a warning, not a red job


def test_github_workflow_is_valid_and_runs_yzt_check():
    doc = yaml.safe_load((ROOT / "docs/ci/github-actions.yml").read_text(encoding="utf-8"))
    steps = doc["jobs"]["yzt-check"]["steps"]
    runs = "\n".join(s["run"] for s in steps if "run" in s)
    commands = _yzt_commands(runs)
    assert [_parses(c) for c in commands] == ["check"]
    assert any("secrets.YZT_SECRET" in str(s.get("env", {})) for s in steps)
    assert True in doc or "on" in doc  # PyYAML reads the bare key `on` as True


def test_readme_onboarding_commands_parse():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Onboarding your endpoint", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert blocks
    commands = _yzt_commands(re.sub(r"#.*", "", "\n".join(blocks)))
    assert [_parses(c) for c in commands] == ["fixtures", "check"]


@pytest.mark.parametrize("name", ["gitlab-ci.yml", "github-actions.yml"])
def test_ci_examples_hold_no_secret(name):
    text = (ROOT / "docs/ci" / name).read_text(encoding="utf-8")
    assert "YZT_SECRET=" not in text and "--secret-file" not in text


@pytest.mark.parametrize("name", ["gitlab-ci.yml", "github-actions.yml"])
def test_ci_examples_pass_the_fixture_file_and_the_waivers(name):
    doc = yaml.safe_load((ROOT / "docs/ci" / name).read_text(encoding="utf-8"))
    job = doc["yzt-check"] if "yzt-check" in doc else doc["jobs"]["yzt-check"]
    scripts = job.get("script") or [s["run"] for s in job["steps"] if "run" in s]
    (command,) = [c for c in _yzt_commands("\n".join(scripts)) if c and c[0] == "check"]
    args = build_parser().parse_args(command)
    assert str(args.fixtures) == "yzt-fixtures.jsonl" and str(args.waivers) == "yzt-waivers.yaml"
    assert "--seed" not in command


def test_example_waiver_file_loads():
    from yzt.conformance.waivers import load_waivers

    waivers = load_waivers(ROOT / "docs/ci/yzt-waivers.yaml")
    assert [w.requirement for w in waivers] == ["OIF-ERR-2"]
