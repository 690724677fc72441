"""Every YAML input of yzt refuses a billion-laughs file, deep nesting and oversized files with a named
error and exit 2, quickly and without a traceback.

The inputs: a scenario (``yzt sim FILE``, and a scenario that ``extends`` a bad one), a topology
(``--topology``), waivers (``conform --waivers``), a fault profile (``serve --faults``) and an SLA
file (``load --sla``). Each case runs the real command line in this process (a hang would trip the
timeout marker; memory is bounded by refusing aliases before anything expands).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from yzt.cli import main
from yzt.validation import MAX_DEPTH, MAX_YAML_BYTES

# A ~500-byte file whose aliases expand to 9^9 (387 million) strings inside a field yzt reads.
LAUGHS = """version: 1
name: laughs
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
description: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

BAD_FILES: dict[str, tuple[Callable[[], str], str]] = {
    "billion-laughs": (lambda: LAUGHS, "aliases and anchors are not accepted"),
    "deep-flow": (lambda: "version: [" + "[" * 200_000 + "]" * 200_000 + "]\n",
                  f"nested more than {MAX_DEPTH} levels deep"),
    "deep-block": (lambda: "version:\n" + "".join("  " * i + "- \n" for i in range(1, 500)),
                   f"nested more than {MAX_DEPTH} levels deep"),
    "deep-json": (lambda: '{"version": ' + "[" * 100_000 + "]" * 100_000 + "}",
                  f"nested more than {MAX_DEPTH} levels deep"),
    "oversized": (lambda: "# padding\n" * (MAX_YAML_BYTES // 10 + 1) + "version: 1\n",
                  f"more than the {MAX_YAML_BYTES}"),
}

UNREACHABLE = "http://127.0.0.1:9"
PLATFORM = ["--operator", "R07", "--key-id", "k"]


def _commands(bad: Path, tmp: Path) -> dict[str, list[str]]:
    """One command line per YAML input, each reaching that input before any network or server."""
    parent = tmp / "child.yaml"
    parent.write_text(f"extends: {bad}\nname: child\n", encoding="utf-8")
    return {
        "scenario": ["sim", str(bad), "--out", str(tmp / "sim"), "--quiet"],
        "scenario-extends": ["sim", str(parent), "--out", str(tmp / "sim"), "--quiet"],
        "topology": ["fixtures", "--operator", "R07", "--topology", str(bad)],
        "topology-load": ["load", UNREACHABLE, *PLATFORM, "--seed", "7", "--rate", "5",
                          "--topology", str(bad)],
        "waivers": ["conform", UNREACHABLE, *PLATFORM, "--seed", "7", "--subjects", "5",
                    "--waivers", str(bad)],
        "faults": ["serve", *PLATFORM, "--port", "0", "--faults", str(bad)],
        "sla": ["load", UNREACHABLE, *PLATFORM, "--seed", "7", "--rate", "5", "--sla", str(bad)],
    }


INPUTS = ("scenario", "scenario-extends", "topology", "topology-load", "waivers", "faults", "sla")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", list(BAD_FILES))
@pytest.mark.parametrize("which", INPUTS)
def test_every_yaml_input_refuses_hostile_files(which: str, kind: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YZT_SECRET", "hostile-test-secret")
    make, expected = BAD_FILES[kind]
    bad = tmp_path / f"{kind}.yaml"
    bad.write_text(make(), encoding="utf-8")
    status = main(_commands(bad, tmp_path)[which])
    err = capsys.readouterr().err
    assert status == 2, err
    assert str(bad) in err  # the file is named…
    assert expected in err  # …and what is wrong with it
    assert "Traceback" not in err


def test_a_scenario_whose_volume_would_not_fit_in_memory_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """queries_per_day: 1e12 once tried to allocate 11.6 TiB; now the estimate is checked first."""
    huge = tmp_path / "huge.yaml"
    huge.write_text("extends: baseline\nname: huge\narrivals:\n  queries_per_day: 1.0e+12\n",
                    encoding="utf-8")
    assert main(["sim", str(huge), "--out", str(tmp_path / "sim"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "arrivals.queries_per_day" in err and "GiB of memory" in err
    assert not (tmp_path / "sim").exists()  # refused before anything ran
