"""``yzt serve`` as a user starts it: one server per database file however it is reached (its path,
a symlink, a hardlink), user errors with exit 2, no traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from yzt.server.testing import DEFAULT_SECRET, free_port, serve_command, stop_process, wait_healthy

pytestmark = pytest.mark.integration

ENV = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())


def start(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        since = out.tell()
        proc = subprocess.Popen(serve_command("R07", 7, 50, port, "k1", db, (), ()),
                                stdout=out, stderr=out, env=ENV)
    wait_healthy(f"http://127.0.0.1:{port}", proc, log=log, since=since)
    return proc


def refused(*args: str) -> str:
    """Run ``yzt serve`` expecting a user error: exit 2, one message, no traceback."""
    cmd = serve_command("R07", 7, 50, free_port(), "k1", None, (), args)
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith("yzt serve: error: ")
    return done.stderr


def test_a_second_server_on_the_same_db_is_refused_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "op.sqlite"
    first = start(db, free_port(), tmp_path / "first.log")
    try:
        message = refused("--db", str(db))
        assert f"--db {db} is in use by another yzt serve (pid {first.pid})" in message
        assert first.poll() is None  # the holder is untouched
    finally:
        stop_process(first)
    assert first.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir() if "lock" in p.name) == []  # no lock file left


@pytest.mark.parametrize("link", ["symlink", "hardlink", "dotted path"])
def test_a_second_server_on_the_same_file_under_another_name_is_refused(tmp_path: Path, link: str) -> None:
    """The lock is the file's (its inode), not its name's: split brain needs only another name."""
    db = tmp_path / "op.sqlite"
    first = start(db, free_port(), tmp_path / "first.log")
    try:
        other = tmp_path / "elsewhere" / "alias.sqlite"
        other.parent.mkdir()
        if link == "symlink":
            other.symlink_to(db)
        elif link == "hardlink":
            other.hardlink_to(db)
        else:
            other = tmp_path / "elsewhere" / ".." / "op.sqlite"
        message = refused("--db", str(other))
        assert f"--db {other} is in use by another yzt serve (pid {first.pid})" in message
        assert first.poll() is None
    finally:
        stop_process(first)
    assert first.returncode == 0


def test_the_lock_does_not_outlive_a_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "op.sqlite"
    first = start(db, free_port(), tmp_path / "first.log")
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = start(db, free_port(), tmp_path / "second.log")  # at once: the kernel dropped the lock
    try:
        assert f"(pid {second.pid})" in refused("--db", str(db))
    finally:
        stop_process(second)


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cmd = serve_command("R07", 7, 50, port, "k1", tmp_path / "op.sqlite", (), ())
        done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "address already in use" in done.stderr.lower()


def test_db_that_is_a_directory(tmp_path: Path) -> None:
    assert f"--db {tmp_path} is a directory" in refused("--db", str(tmp_path))


def test_db_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"not SQLite, just some text\n" * 200)
    assert f"--db {junk} is not a yzt SQLite database" in refused("--db", str(junk))
    assert junk.read_bytes() == b"not SQLite, just some text\n" * 200  # left as it was


def test_db_in_a_missing_folder(tmp_path: Path) -> None:
    db = tmp_path / "nope" / "op.sqlite"
    assert f"the folder {db.parent} does not exist" in refused("--db", str(db))


@pytest.mark.parametrize("host", ["999.1.1.1", "127.0.0.256"])
def test_host_that_cannot_be_listened_on(tmp_path: Path, host: str) -> None:
    message = refused("--host", host, "--db", str(tmp_path / "op.sqlite"))
    assert f"--host '{host}' is not an address this machine can listen on" in message


def test_access_log_that_is_a_directory(tmp_path: Path) -> None:
    message = refused("--access-log", str(tmp_path), "--db", str(tmp_path / "op.sqlite"))
    assert f"--access-log {tmp_path} is a directory; give a file path" in message


def test_access_log_that_cannot_be_written(tmp_path: Path) -> None:
    """A missing folder, and a path even root cannot open for writing (a socket: ENXIO); without
    root, a read-only folder too."""
    missing = tmp_path / "nope" / "access.log"
    message = refused("--access-log", str(missing), "--db", str(tmp_path / "op.sqlite"))
    assert f"--access-log {missing}: cannot write to it (its folder does not exist)" in message
    with socket.socket(socket.AF_UNIX) as s:
        sock = tmp_path / "sock"
        s.bind(str(sock))
        message = refused("--access-log", str(sock), "--db", str(tmp_path / "op.sqlite"))
    assert f"--access-log {sock}: cannot write to it (" in message
    assert "leave the flag out to log to standard error" in message
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        message = refused("--access-log", str(locked / "a.log"), "--db", str(tmp_path / "op.sqlite"))
        assert "cannot write to it (Permission denied)" in message
