"""The variant matrix, the dual of the defect matrix: no check fails a correct operator that made
another legal choice (``yzt serve --variant NAME``, ``yzt/server/variants.py``).

``yzt conform`` runs against every variant alone; the whole of ``yzt check URL`` (preflight,
conformance, load, capacity, simulation; short durations, a small scenario) runs against three
servers whose union covers every variant (docs/reference-operator.md, "Which combinations are
run"). Each asserts the documented verdict: exit 0, or exit 3 naming exactly the checks the
registry says the variants leave not testable; never a failure, never an error. Two runs at a
time: each full check against a ``yzt serve`` of its own; the variants alone from two processes
that serve half of them each (``running_servers``), one ``yzt conform`` at a time against each,
the runs of a half through the CLI's entry point in one Python process (the full checks are
processes of their own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from yzt.server.testing import DEFAULT_SECRET, running_server, running_servers
from yzt.server.variants import VARIANTS, VariantName, conflicts, untestable

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

#: The reference's sandbox rate limit, so that OIF-ERR-2 has overload to judge (as in the defect
#: matrix); the variants that are about the rate limit bring their own or none.
RATE_LIMIT = ("--rate-limit", "150")
COMMON = ("--operator", "R07", "--key-id", "k1", "--seed", "7", "--subjects", "200")
SCENARIO = """version: 1
extends: baseline
name: variant-matrix
description: a small day (2 000 queries, one in 4 simulated) for the variant matrix's quick runs
arrivals:
  queries_per_day: 2000
sampling: {one_in: 4}
"""


@dataclass(frozen=True)
class Server:
    """One ``yzt serve`` with some variants and the flags they need."""

    name: str
    variants: tuple[str, ...]
    flags: tuple[str, ...] = RATE_LIMIT

    def args(self) -> list[str]:
        return [a for v in self.variants for a in ("--variant", v)] + [*self.flags, "--no-access-log"]

    def untestable(self) -> set[str]:
        return untestable(self.variants)


def _alone(name: str) -> Server:
    return Server(name, (name,), () if name == VariantName.NO_RATE_LIMIT else RATE_LIMIT)


ALONE = [_alone(str(v)) for v in VariantName]
#: The three servers ``yzt check URL`` judges whole (the doc's table lists them and their pairs).
CHECKED = [
    Server("payload", ("extra-members", "json-style", "chunked", "fractional-seconds", "card-ref-shape",
                       "lifecycle-timing", "dispute-outcomes", "rate-limit-503"), ("--rate-limit", "40")),
    Server("transport", ("date-sandbox-clock", "http10", "connection-close", "gzip",
                         "latency-lognormal"),
           ("--rate-limit", "40")),
    Server("production-like", ("no-sandbox-clock", "no-rate-limit"), ()),
]
#: Short load and capacity runs on a busy machine may end incomplete for the machine's sake
#: (a starved load generator, a capacity bracket the small run budget could not close).
MACHINE = ("generator", "run budget", "no SLA broke within")


def _env() -> dict[str, str]:
    return dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())


def _conform_each(servers: list[Server], work: Path) -> list[tuple[str, object]]:
    """One process serving every server of ``servers``; ``yzt conform`` against each in turn,
    through the CLI's entry point in one Python process (one start and one set of imports)."""
    from server_helpers import yzt_in_one_process

    with running_servers([((), s.args()) for s in servers]) as urls:
        started = time.monotonic()
        done = yzt_in_one_process(
            [(["conform", url, *COMMON, "--out", str(work / f"conform-{s.name}")], _env(),
              work / f"run-{s.name}") for s, url in zip(servers, urls, strict=True)],
            timeout=300 * len(servers))
    print(f"conform of {len(servers)} variants: {time.monotonic() - started:.0f} s")
    runs: list[tuple[str, object]] = []
    for server, (status, output) in zip(servers, done, strict=True):
        out = work / f"conform-{server.name}"
        assert (out / "results.json").exists(), f"{server.name}: exit {status}\n{output[-3000:]}"
        results = json.loads((out / "results.json").read_text("utf-8"))
        runs.append((f"conform:{server.name}", (status, results)))
    return runs


def _check(server: Server, out: Path, scenario: Path) -> tuple[int, str]:
    with running_server(extra_args=server.args()) as url:
        done = subprocess.run(
            [sys.executable, "-m", "yzt", "check", url, *COMMON, "--load-rate", "30",
             "--load-duration", "3s", "--capacity-duration", "2s", "--capacity-runs", "5",
             "--replications", "2", "--scenario", str(scenario), "--out", str(out)],
            capture_output=True, text=True, env=_env(), timeout=600)
    return done.returncode, done.stderr


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="yzt-variant-matrix-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def runs(work: Path) -> dict[str, object]:
    """Every run of the matrix, two at a time: the full checks first (the longest), then the
    conformance runs of each variant alone."""
    scenario = work / "variant-matrix.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")

    def one(job: Server | list[Server]) -> list[tuple[str, object]]:
        if isinstance(job, list):
            return _conform_each(job, work)
        started = time.monotonic()
        result = _check(job, work / f"check-{job.name}", scenario)
        print(f"check {job.name}: exit {result[0]}, {time.monotonic() - started:.0f} s")
        return [(f"check:{job.name}", result)]

    # the variants alone are served by two processes, half each (``running_servers``)
    jobs: list[Server | list[Server]] = [*CHECKED, ALONE[0::2], ALONE[1::2]]
    with ThreadPoolExecutor(2) as pool:
        runs = dict(run for done in pool.map(one, jobs) for run in done)
    assert len(runs) == len(CHECKED) + len(ALONE)
    return runs


def _incomplete(results: dict) -> set[str]:
    return {f"{c['requirement']} {c['check']}" for c in results["checks"] if c["verdict"] == "incomplete"}


def _bad(results: dict) -> list[tuple[str, str, str]]:
    return [(c["requirement"], c["check"], c["message"][:300]) for c in results["checks"]
            if c["verdict"] in ("fail", "error")]


# -- the registry behind the matrix -----------------------------------------------------------
def test_the_checked_servers_cover_every_variant_and_run():
    covered = {v for s in CHECKED for v in s.variants}
    assert covered == set(VARIANTS)
    assert all(conflicts(s.variants) is None for s in CHECKED)


def test_the_doc_lists_the_checked_servers():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "reference-operator.md").read_text("utf-8")
    table = doc[doc.index("**Which combinations are run.**"):]
    for server in CHECKED:
        row = next(line for line in table.splitlines() if line.startswith(f"| {server.name} |"))
        assert all(f"`{v}`" in row for v in server.variants), server.name
        assert ("exit 3" in row) == bool(server.untestable()), server.name


# -- yzt conform against every variant alone ----------------------------------------------------
@pytest.mark.parametrize("server", ALONE, ids=[s.name for s in ALONE])
def test_conform_passes_every_variant_alone(runs, server):
    code, results = runs[f"conform:{server.name}"]
    assert _bad(results) == [], f"{server.name}: a check failed a legal variant"
    assert _incomplete(results) == server.untestable()
    assert code == (3 if server.untestable() else 0), results["verdict"]
    assert results["verdict"] in (("incomplete",) if server.untestable() else ("pass", "warning"))
    incomplete = [c for c in results["checks"] if c["verdict"] == "incomplete"]
    assert all(c["message"] for c in incomplete), "an untestable check must say why"


def test_extra_members_are_warnings_on_every_answer_kind(runs):
    _code, results = runs["conform:extra-members"]
    warned = {c["check"] for c in results["checks"] if c["verdict"] == "warning"}
    assert {"count_answers_schema", "details_answers_schema", "dispute_answers_schema",
            "cancellation_answers_schema", "service_info_published"} <= warned


# -- yzt check URL, every step, against the three servers ------------------------------------------
@pytest.mark.parametrize("server", CHECKED, ids=[s.name for s in CHECKED])
def test_check_url_gives_the_documented_verdict(runs, work, server):
    code, stderr = runs[f"check:{server.name}"]
    out = work / f"check-{server.name}"
    assert (out / "report.json").exists(), stderr[-3000:]
    report = json.loads((out / "report.json").read_text("utf-8"))
    verdicts = {s["key"]: s["verdict"] for s in report["sections"]}
    assert list(verdicts) == ["conform", "load", "capacity", "sim"], stderr[-3000:]
    assert not {"fail", "error"} & set(verdicts.values()), (verdicts, stderr[-3000:])
    # conformance names exactly the checks the variants leave not testable
    results = json.loads((out / "conform" / "results.json").read_text("utf-8"))
    assert _bad(results) == []
    assert _incomplete(results) == server.untestable()
    # load and capacity are complete, or incomplete only for the machine's sake
    load = json.loads((out / "load" / "results.json").read_text("utf-8"))
    if load["verdict"] == "incomplete":
        assert all(any(m in r for m in MACHINE) for r in load["reasons"]), load["reasons"]
    capacity = json.loads((out / "capacity" / "capacity.json").read_text("utf-8"))
    if capacity["verdict"] == "incomplete":
        assert any(m in capacity["stopped"] for m in MACHINE), capacity["stopped"]
    assert verdicts["sim"] == "pass", stderr[-3000:]
    expected = 3 if server.untestable() or "incomplete" in verdicts.values() else 0
    assert code == expected, (verdicts, stderr[-3000:])
    assert report["verdict"] == ("incomplete" if expected == 3 else report["verdict"])
    assert report["verdict"] in ("pass", "warning", "incomplete")
