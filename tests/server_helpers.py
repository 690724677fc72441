"""Helpers shared by the reference operator's tests: subjects from the fixtures, request bodies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from yzt.client import PlatformClient
from yzt.domain.topology import load_topology
from yzt.fixtures import Subject, generate_fixtures
from yzt.server.testing import DEFAULT_SECRET, free_port, serve_command, wait_healthy

OPERATOR, SEED, SUBJECTS = "R07", 7, 200


@cache
def subjects() -> tuple[Subject, ...]:
    """The subjects ``running_server()`` serves by default (R07, seed 7, 200 subjects)."""
    return tuple(generate_fixtures(load_topology().get(OPERATOR), SEED, SUBJECTS).subjects().values())


def subject_with(min_live: int = 1, *, genuine: bool | None = None, skip: int = 0) -> Subject:
    """A subject with at least ``min_live`` live cards (one of them non-genuine if asked)."""
    found = [s for s in subjects() if len(s.live_cards) >= min_live and (
        genuine is None or any(c.genuine is genuine for c in s.live_cards))]
    return found[skip]


def client(base_url: str) -> PlatformClient:
    return PlatformClient(base_url, "k1", DEFAULT_SECRET)


def subject_doc(s: Subject) -> dict[str, str]:
    return {"name": s.name, "id_type": "resident_id", "id_number": s.id_number}


def query(c: PlatformClient, s: Subject, **verification: Any) -> dict[str, Any]:
    return {"query_id": c.new_id(), "subject": subject_doc(s),
            "verification": c.verification(s.name, s.id_number, **verification)}


OUTCOMES = ("unbound", "suspended", "cancelled")


def refs(c: PlatformClient, s: Subject) -> dict[str, Any]:
    """card_ref → fixture card of a subject's listed cards, matched by masked number."""
    listed = c.send("POST", "/v1/card-details", body=query(c, s)).json()["cards"]
    by_mask = {f"{k.msisdn[:3]}****{k.msisdn[-4:]}": k for k in s.live_cards}
    return {x["card_ref"]: by_mask[x["msisdn_masked"]] for x in listed}


def expected_outcome(card: Any) -> str:
    """The reference operator's documented outcome rule (yzt.server.lifecycle.dispute_outcome)."""
    import hashlib

    index = hashlib.sha256(card.msisdn.encode()).digest()[0] % 3
    return "confirmed_owner" if card.genuine else OUTCOMES[index]


def find_card(c: PlatformClient, outcome: str, used: set[str]) -> tuple[Subject, str]:
    """A subject and one of its card refs whose dispute will end in ``outcome``."""
    for s in subjects():
        if outcome != "confirmed_owner" and all(k.genuine for k in s.live_cards):
            continue
        for ref, card in refs(c, s).items():
            if ref not in used and expected_outcome(card) == outcome:
                used.add(ref)
                return s, ref
    raise AssertionError(f"no card with outcome {outcome}")


def dispute(c: PlatformClient, s: Subject, ref: str, **verification: Any) -> dict[str, Any]:
    body = dict(query(c, s, **verification), card_ref=ref, claim="not_mine")
    body["dispute_id"] = body.pop("query_id")
    return body


def cancellation(c: PlatformClient, s: Subject, ref: str, method: str = "face") -> dict[str, Any]:
    body = dict(query(c, s, method=method), card_ref=ref)
    body["cancellation_id"] = body.pop("query_id")
    return body


@contextmanager
def server_process(db: Path, output: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``yzt serve`` (R07, seed 7, 200 subjects) on ``db`` as a child process the test may kill,
    its stdout and stderr appended to ``output``; killed on exit if it still runs."""
    port = free_port()
    cmd = serve_command(OPERATOR, SEED, SUBJECTS, port, "k1", db, (), list(extra))
    with output.open("ab") as out:
        since = out.tell()  # an earlier server's ready line in the same file is not this one's
        proc = subprocess.Popen(cmd, stdout=out, stderr=out,
                                env=dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode()))
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log=output, since=since)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


#: Runs ``yzt ARGS`` through the CLI's entry point for each job in argv[1], one after another in one
#: process, each with its own environment; its output and exit status go to files in its folder.
_YZT_IN_ONE_PROCESS = """
import contextlib, json, os, sys
from yzt.cli import main
for argv, env, folder in json.loads(sys.argv[1]):
    os.environ.clear()
    os.environ.update(env)
    with open(os.path.join(folder, "output.txt"), "w", encoding="utf-8") as out, \\
            contextlib.redirect_stderr(out), contextlib.redirect_stdout(out):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 2
    with open(os.path.join(folder, "status"), "w", encoding="utf-8") as f:
        f.write(str(status))
"""


def yzt_in_one_process(jobs: list[tuple[list[str], dict[str, str], Path]],
                       timeout: float) -> list[tuple[int, str]]:
    """``yzt ARGV`` for each ``(argv, environment, folder)``, one after another through the CLI's
    entry point in one Python process (one start and one set of imports for them all; a step's own
    children are still processes): each run's exit status (-1 if it never ended) and its output
    (stdout and stderr), kept in ``folder``."""
    for _, _, folder in jobs:
        folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-P", "-c", _YZT_IN_ONE_PROCESS,
                    json.dumps([(argv, env, str(folder)) for argv, env, folder in jobs])],
                   timeout=timeout, check=False)
    return [(int((folder / "status").read_text("utf-8")) if (folder / "status").is_file() else -1,
             (folder / "output.txt").read_text("utf-8") if (folder / "output.txt").is_file() else "")
            for _, _, folder in jobs]
