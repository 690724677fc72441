"""Bad flags, paths and files on the command line: exit 2, naming the flag or the file, no traceback.

Covers output paths (``--out`` is a folder, ``--junit`` a file; missing parents are created, a file
or folder in the wrong place is refused), fixture and secret files (missing, a folder, unreadable,
binary), timeouts that are not finite positive numbers, malformed target URLs, absurd sizes
(replications, durations) and hostile ``yzt validate`` input (deep nesting, impossible statuses).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from yzt.cli import main

UNREACHABLE = "http://127.0.0.1:9"
CONFORM = ["conform", UNREACHABLE, "--operator", "R07", "--key-id", "k", "--seed", "7",
           "--subjects", "5"]
LOAD = ["load", UNREACHABLE, "--operator", "R07", "--key-id", "k", "--seed", "7", "--rate", "5"]


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YZT_SECRET", "hostile-test-secret")


@pytest.fixture
def place(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    return tmp_path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    """A path that exists but cannot be opened as a file, even by root (open gives ENXIO)."""
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        yield path


def _run(argv: list[str]) -> object:
    """``yzt ARGV`` in this process; argparse's own usage errors exit through SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *named: str) -> str:
    status = _run(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    for text in named:
        assert text in err, err
    assert "Traceback" not in err
    return err


# -- output paths ---------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "named"), [
    (["--out", "{p}/a-file"], ["argument --out", "is a file"]),
    (["--out", "{p}/a-file/below"], ["argument --out", "a-file is a file, not a folder"]),
    (["--junit", "{p}/a-folder"], ["argument --junit", "is a folder"]),
    (["--junit", "{p}/a-file/junit.xml"], ["argument --junit", "a-file is a file, not a folder"]),
])
def test_conform_output_paths_in_the_wrong_place(argv: list[str], named: list[str], place: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _refused(CONFORM + [a.format(p=place) for a in argv], capsys, *named)


@pytest.mark.parametrize("argv", [
    ["sim", "baseline", "--out", "{p}/a-file"],
    ["load", UNREACHABLE, "--operator", "R07", "--key-id", "k", "--seed", "7", "--rate", "5",
     "--out", "{p}/a-file"],
    ["check", "--out", "{p}/a-file/x"],
    ["fixtures", "--operator", "R07", "--out", "{p}/a-folder"],
])
def test_every_command_checks_its_output_path(argv: list[str], place: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _refused([a.format(p=place) for a in argv], capsys, "argument --out")


def test_missing_parents_of_outputs_are_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new" / "deeper" / "fixtures.jsonl"
    assert main(["fixtures", "--operator", "R07", "--subjects", "3", "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8").count("\n") >= 3


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_an_unwritable_output_folder_is_refused(place: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = place / "a-folder"
    locked.chmod(0o500)
    try:
        _refused([*CONFORM, "--out", str(locked / "out")], capsys, "argument --out", "not writable")
    finally:
        locked.chmod(0o700)


# -- fixture and secret files ----------------------------------------------------------------
def test_fixture_file_that_is_a_folder_or_cannot_be_opened(place: Path, unix_socket: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    base = ["conform", UNREACHABLE, "--operator", "R07", "--key-id", "k"]
    _refused([*base, "--fixtures", str(place / "a-folder")], capsys, "a-folder", "is a directory")
    _refused([*base, "--fixtures", str(unix_socket)], capsys, str(unix_socket), "cannot read")
    _refused([*base, "--fixtures", str(place / "nothing.jsonl")], capsys, "file not found")


def test_fixture_file_that_is_binary_or_deep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 100)
    status = main(["fixtures", "--check", str(binary)])  # --check reports problems with exit 1
    assert status == 1 and "not UTF-8" in capsys.readouterr().err
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    _refused(["conform", UNREACHABLE, "--operator", "R07", "--key-id", "k", "--fixtures", str(deep)],
             capsys, "deep.jsonl", "line 1: nested too deep")


@pytest.mark.parametrize(("content", "named"), [
    (b"\x00\xff\xfe\x01secret", "holds binary data"),
    (b"line one\nline two\n", "one line of printable text"),
    (b"", "is empty"),
    (b"x" * 10_000, "is it the right file"),
])
def test_bad_secret_files(content: bytes, named: str, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(content)
    _refused([*CONFORM, "--secret-file", str(secret)], capsys, "--secret-file", named)


def test_secret_file_that_is_a_folder_or_cannot_be_opened(place: Path, unix_socket: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _refused([*CONFORM, "--secret-file", str(place / "a-folder")], capsys, "--secret-file",
             "is a directory")
    _refused([*CONFORM, "--secret-file", str(unix_socket)], capsys, "--secret-file", "cannot read")
    _refused([*CONFORM, "--secret-file", str(place / "missing")], capsys, "--secret-file",
             "cannot read")


# -- numbers and URLs ------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "1e400", "soon"])
def test_conform_timeout_must_be_finite_and_positive(value: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _refused([*CONFORM, "--timeout", value], capsys, "argument --timeout")


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999", "http://127.0.0.1:x",
                                 "ftp://127.0.0.1", "127.0.0.1:8700", "http://", "http://h:0",
                                 "http://h/?q=1", "http://h /x"])
@pytest.mark.parametrize("command", ["conform", "load"])
def test_malformed_target_urls(command: str, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = (CONFORM if command == "conform" else LOAD).copy()
    argv[1] = url
    _refused(argv, capsys, "argument TARGET_URL")


@pytest.mark.parametrize(("argv", "named"), [
    (["sim", "baseline", "-n", "1000000000"], "argument --replications/-n: must be between 1 and 1000"),
    (["sim", "baseline", "-n", "0"], "argument --replications/-n"),
    (["sim", "baseline", "--hours", "nan"], "argument --hours"),
    ([*LOAD, "--duration", "1000000000h"], "--duration '1000000000h' is longer than"),
    ([*LOAD, "--timeout", "1000000000h"], "--timeout '1000000000h' is longer than"),
    (["fixtures", "--operator", "R07", "--subjects", "1000000000"], "argument --subjects"),
    ([*CONFORM[:-2], "--subjects", "0"], "argument --subjects"),
])
def test_absurd_sizes_are_refused_before_anything_runs(argv: list[str], named: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _refused(argv, capsys, named)


# -- yzt validate ----------------------------------------------------------------------------
def _record(status: object) -> str:
    return json.dumps({"request": {"method": "GET", "path": "/v1/health"},
                       "response": {"status": status, "body": {"status": "ok"}}})


@pytest.mark.parametrize("status", [-1, 1e308, 0, 99, 600, 200.5, "two hundred", True, None])
def test_validate_refuses_impossible_statuses(status: object, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    recorded = tmp_path / "rec.jsonl"
    recorded.write_text(_record(status) + "\n", encoding="utf-8")
    _refused(["validate", str(recorded)], capsys, "rec.jsonl", "line 1")


def test_validate_accepts_a_real_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = tmp_path / "rec.jsonl"
    recorded.write_text(_record(200) + "\n", encoding="utf-8")
    assert main(["validate", str(recorded)]) in (0, 1)  # judged, not refused
    assert "1 exchange(s)" in capsys.readouterr().out


@pytest.mark.parametrize("text", [
    '{"request": ' + "[" * 200_000 + "]" * 200_000 + "}",            # deeper than the parser goes
    '{"request": ' + "[" * 500 + "]" * 500 + "}",                    # within it, beyond the bound
    '{"log": ' + "{\"x\": " * 5000 + "1" + "}" * 5000 + "}",         # a HAR file
])
def test_validate_refuses_deep_input(text: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    recorded = tmp_path / "deep.jsonl"
    recorded.write_text(text + "\n", encoding="utf-8")
    _refused(["validate", str(recorded)], capsys, "deep.jsonl", "nested too deep")


def test_a_real_process_prints_one_line_not_a_traceback(tmp_path: Path) -> None:
    """The same refusals from a real ``yzt`` process: exit 2, the flag named, nothing else."""
    done = subprocess.run([sys.executable, "-m", "yzt", *CONFORM, "--timeout", "nan"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "YZT_SECRET": "x"})
    assert done.returncode == 2
    assert "argument --timeout" in done.stderr and "Traceback" not in done.stderr
