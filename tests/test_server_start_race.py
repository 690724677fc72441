"""A server started on a port that was free a moment ago must be the one that answers there.

``free_port()`` finds a port free, closes it, and the child binds it about half a second later
(interpreter start and imports). Meanwhile another server (another test worker's, another thread's)
may take it: the child then exits ("address already in use"), but the port answers
``GET /v1/health`` with 200 all the same, from the other server, and a starter that trusted that
answer handed out a URL served by a stranger (a server with another defect, another clock). These
tests take the port first and check that each starter refuses the stranger's answer and moves on to
another port: ``wait_healthy`` with the child's log, ``running_server``, ``running_servers`` and the
reference operator ``yzt check`` starts for itself.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import yzt.server.testing as testing
from yzt.domain.topology import load_topology
from yzt.fixtures import generate_fixtures, write_fixtures
from yzt.pipeline.check import CheckPipeline, CheckSettings
from yzt.server.testing import DEFAULT_SECRET, running_server, running_servers, serve_command

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stranger() -> Iterator[str]:
    """A reference operator already listening: the server that holds the port."""
    with running_server(extra_args=["--no-access-log"]) as url:
        yield url


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture
def taken_first(stranger: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``free_port()`` answers the stranger's port once, then free ones; returns what it gave."""
    real = testing.free_port
    given: list[int] = []

    def port() -> int:
        given.append(_port(stranger) if not given else real())
        return given[-1]

    monkeypatch.setattr(testing, "free_port", port)
    return given


def _healthy(url: str) -> bool:
    return httpx.get(url + "/v1/health", timeout=5).status_code == 200


def test_the_stranger_s_answer_does_not_count_as_the_child_s(stranger: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(serve_command("R07", 7, 50, _port(stranger), "k1", None, (), ()),
                                stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode()))
    try:
        with pytest.raises(RuntimeError, match="exited"):
            testing.wait_healthy(stranger, proc, log=log)
    finally:
        testing.stop_process(proc)
    assert "address already in use" in log.read_text("utf-8").lower()
    assert _healthy(stranger), "the stranger should still be serving"


def test_running_server_moves_to_another_port(stranger: str, taken_first: list[int]) -> None:
    with running_server(extra_args=["--no-access-log"]) as url:
        assert url != stranger and len(taken_first) == 2
        assert _port(url) == taken_first[1] and _healthy(url)


def test_running_servers_move_to_other_ports(stranger: str, taken_first: list[int]) -> None:
    with running_servers([((), ("--no-access-log",)), ((), ("--no-access-log",))]) as urls:
        assert stranger not in urls and len(set(urls)) == 2
        assert all(_healthy(url) for url in urls)


def test_yzt_check_s_own_operator_moves_to_another_port(stranger: str, taken_first: list[int],
                                                        tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures.jsonl"
    write_fixtures(generate_fixtures(load_topology().get("R07"), 7, 50), fixtures)
    pipeline = CheckPipeline(CheckSettings(out=tmp_path / "out"))
    pipeline._env = {**os.environ, "YZT_SECRET": "x" * 64}
    with pipeline._reference_operator(fixtures, tmp_path) as url:
        assert url != stranger and _port(url) == taken_first[-1] and len(taken_first) == 2
        assert _healthy(url)
    assert "address already in use" not in (tmp_path / "serve.log").read_text("utf-8").lower(), (
        "the log should be the second attempt's")
