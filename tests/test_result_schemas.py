"""Results are a public contract: every kind's file, as the real commands write it, validates against
the JSON Schema yzt ships, reads back through its typed class unchanged, and docs/results.md says
what the schemas say. A file without a kind, of an unknown kind, of a newer schema version or with a
field of the wrong type is refused, naming the file and the field; ``yzt report`` says so in one
line and exits 2.

The files come from one ``yzt check`` against a reference operator on loopback (preflight,
conform, load, capacity, calibration, sim, check) and one ``yzt plan`` run beside it; the twin's
(federation, twin-live, twin) from one ``yzt federation up`` of two nodes and one two-second
``yzt twin`` through it (about 5 s).

``python tests/test_result_schemas.py`` rewrites docs/results.md from the schemas.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import yzt_in_process

from yzt import resultfile
from yzt.errors import UserError
from yzt.reports.readers import _load_readers
from yzt.verdict import Verdict

_load_readers()  # each runner registers the typed class of what it writes

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "results.md"
#: Where each kind's file lies in the folders the fixture writes.
PRODUCED = {"preflight": "check/preflight.json", "check": "check/check.json",
            "conform": "check/conform/results.json", "load": "check/load/results.json",
            "capacity": "check/capacity/capacity.json", "calibration": "check/sim/calibration.json",
            "sim": "check/sim/sim-results.json", "plan": "plan/plan.json"}
#: Where each of the twin's kinds lies in the folder the ``twin_produced`` fixture writes.
TWIN_PRODUCED = {"federation": "federation.json", "twin-live": "twin/twin-live.json",
                 "twin": "twin/twin.json"}


def _yzt(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
         ) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "yzt", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``yzt check URL`` (every step, short runs) and one ``yzt plan`` at the same time.

    The simulation step fits the capacity runs' successful requests (30 at least): the first
    probe alone (10 req/s for 4 s) brings 40, so a busy machine whose search stops early still
    writes every kind."""
    from yzt.server.testing import DEFAULT_SECRET, running_server

    out = tmp_path_factory.mktemp("results")
    plan = _yzt("plan", "baseline", "--seed", "7", "--out", str(out / "plan"), cwd=out)
    check: subprocess.Popen[str] | None = None
    try:
        with running_server(operator="R12", seed=7, subjects=200,
                            extra_args=("--rate-limit", "40")) as url:
            check = _yzt("check", url, "--operator", "R12", "--key-id", "k1", "--seed", "7",
                         "--subjects", "200", "--load-rate", "10", "--load-duration", "3s",
                         "--capacity-duration", "4s", "--capacity-runs", "2", "--replications", "2",
                         "--out", str(out / "check"),
                         env=dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode()))
            _, err = check.communicate(timeout=600)
        assert check.returncode == 0, err[-3000:]
        _, err = plan.communicate(timeout=600)
        assert plan.returncode == 0, err[-3000:]
    finally:
        for proc in (plan, check):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate()  # reaps it and closes its pipes
    return out


@pytest.fixture(scope="module")
def twin_produced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``yzt federation up`` of R01 and R04, one ``yzt twin`` of a 2 s window (5 queries) through
    it, ``yzt federation down``; ``federation.json`` is copied out while the federation runs (down
    removes it)."""
    import time

    out = tmp_path_factory.mktemp("twin")
    up = _yzt("federation", "up", "baseline", "--out", str(out / "fed"), "--only", "R01,R04",
              "--workers", "1", "--subjects", "10", cwd=out)
    try:
        topology = out / "fed" / "federation.json"
        deadline = time.monotonic() + 90
        while not topology.exists():
            assert up.poll() is None, up.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "federation up did not write its topology in 90 s"
            time.sleep(0.1)
        (out / "federation.json").write_bytes(topology.read_bytes())
        twin = _yzt("twin", "baseline", "--topology", str(out / "fed"), "--window", "2s",
                    "--scale", "5", "--repeats", "2", "--out", str(out / "twin"), cwd=out)
        _, err = twin.communicate(timeout=180)
        assert twin.returncode in (0, 1, 3), err[-3000:]  # a verdict: pass, fail or not testable
        down = _yzt("federation", "down", str(out / "fed"), cwd=out)
        _, err = down.communicate(timeout=60)
        assert down.returncode == 0, err[-3000:]
        up.communicate(timeout=30)
    finally:
        if up.poll() is None:
            up.kill()
            up.communicate()
    return out


@pytest.mark.integration
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", sorted(TWIN_PRODUCED))
def test_the_twins_kinds_validate_against_their_shipped_schemas(twin_produced: Path,
                                                               kind: str) -> None:
    path = twin_produced / TWIN_PRODUCED[kind]
    document = _document(path)
    assert document["kind"] == kind
    assert document["schema_version"] == resultfile.KINDS[kind].schema_version
    jsonschema.Draft202012Validator(_shipped_schema(kind)).validate(document)
    assert path.read_text(encoding="utf-8") == resultfile.dumps(document)
    record = resultfile.read(path)
    assert type(record) is resultfile.KINDS[kind].reader_class()
    assert record.to_json() == {k: v for k, v in document.items() if k not in ("kind", "schema_version")}


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_the_twins_comparison_reads_as_typed_rows(twin_produced: Path) -> None:
    from yzt.sim.scenario import load_scenario
    from yzt.twin.fanout import window_offsets
    from yzt.twin.results import TwinComparison

    record = resultfile.read_as(twin_produced / TWIN_PRODUCED["twin"], TwinComparison)
    # two live windows, each the model's arrivals of one front-door replication
    sent = [window_offsets(load_scenario("baseline"), seed=1, start_h=10, duration_s=2, scale=5,
                           replication=r) for r in (0, 1)]
    assert record.run["queries"] == sum(map(len, sent)) and record.run["windows"] == 2
    assert record.run["verdict"] in ("pass", "fail", "incomplete")
    assert {(r.metric, r.scope) for r in record.rows} >= {("fanout_p50_s", "fanout"),
                                                          ("answer_p95_s", "R01"),
                                                          ("answer_p95_s", "R04")}


@pytest.mark.integration
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", sorted(set(TWIN_PRODUCED) - {"twin"}))
def test_yzt_report_says_the_twins_kinds_have_no_report_yet(twin_produced: Path, tmp_path: Path,
                                                           kind: str) -> None:
    path = twin_produced / TWIN_PRODUCED[kind]
    done = _report(str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0] == (f"yzt report: error: {path}: a {kind!r} results file "
                        f"({resultfile.KINDS[kind].written_by}) has no report yet: read it as JSON "
                        "(docs/results.md describes it)")
    assert not (tmp_path / "out" / "report.html").exists()


def test_yzt_report_reads_a_twin_folder_by_its_twin_json(tmp_path: Path) -> None:
    """A folder ``yzt twin`` wrote is read by its ``twin.json``; one without a verdict (written
    before yzt twin judged) is incomplete, exit 3, never a pass."""
    (tmp_path / "twin").mkdir()
    resultfile.write(tmp_path / "twin" / "twin.json", "twin", 1,
                     {"scenario": "baseline", "seed": 1, "start_h": 10.0, "window_s": 2.0,
                      "scale": 5.0, "queries": 0, "requests": 0, "replications": 2, "rows": []})
    done = _report(str(tmp_path / "twin"), "--out", str(tmp_path / "out"))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "out" / "report.html").is_file()


def _document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _shipped_schema(kind: str) -> dict[str, Any]:
    """The schema as the installed package holds it (package data, not the checkout's path)."""
    from importlib.resources import files

    text = (files("yzt") / "schema" / "results" / f"{kind}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.mark.integration
@pytest.mark.timeout(900)
@pytest.mark.parametrize("kind", sorted(PRODUCED))
def test_every_kind_the_commands_write_validates_against_its_shipped_schema(produced: Path,
                                                                           kind: str) -> None:
    document = _document(produced / PRODUCED[kind])
    assert document["kind"] == kind
    assert document["schema_version"] == resultfile.KINDS[kind].schema_version
    jsonschema.Draft202012Validator(_shipped_schema(kind)).validate(document)
    # written by the one writer: its bytes are what resultfile.dumps gives
    assert (produced / PRODUCED[kind]).read_text(encoding="utf-8") == resultfile.dumps(document)
    # the typed class reads it, and gives the same document back
    record = resultfile.read(produced / PRODUCED[kind])
    assert type(record) is resultfile.KINDS[kind].reader_class()
    assert record.to_json() == {k: v for k, v in document.items() if k not in ("kind", "schema_version")}


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_every_registered_kind_is_produced_and_every_results_file_has_a_kind(produced: Path) -> None:
    assert set(PRODUCED) | set(TWIN_PRODUCED) == set(resultfile.KINDS)
    inputs = {"run-config.json"}  # the load generator's own input, not a result
    found = {p for p in produced.rglob("*.json") if p.name not in inputs
             and not p.name.startswith(("report", "gen-"))}
    assert len(found) >= len(PRODUCED)
    for path in found:
        assert _document(path).get("kind") in resultfile.KINDS, path


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_verdicts_in_every_file_are_the_verdict_enums_values(produced: Path) -> None:
    words = {v.value for v in Verdict}
    seen: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "verdict":
                    seen.append(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in PRODUCED.values():
        walk(_document(produced / name))
    assert len(seen) > 20 and set(seen) <= words, set(seen) - words


@pytest.mark.parametrize("kind", sorted(resultfile.KINDS))
def test_each_schema_is_draft_2020_12_and_speaks_the_verdict_enum(kind: str) -> None:
    schema = resultfile.KINDS[kind].schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["verdict"]["enum"] == [v.value for v in Verdict]
    assert schema["properties"]["kind"] == {**schema["properties"]["kind"], "const": kind}
    assert schema["properties"]["schema_version"]["maximum"] == resultfile.KINDS[kind].schema_version
    assert {"kind", "schema_version"} <= set(schema["required"])
    assert _shipped_schema(kind) == schema
    cls = resultfile.KINDS[kind].reader_class()
    assert kind == cls.KIND
    assert resultfile.KINDS[kind].schema_version == cls.SCHEMA_VERSION


# --- refused, with the field named ---------------------------------------------------------------

CONFORM = {"kind": "conform", "schema_version": 1, "verdict": "fail", "operator_id": "R07",
           "checks": [{"requirement": "OIF-AUTH-1", "check": "bad_signature", "verdict": "fail"}]}


def _write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != key}


def _set(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(document)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize(("document", "said"), [
    (_without(CONFORM, "kind"), r'no "kind", so not a results file of this yzt \(known kinds: sim, '
                                r"plan, conform, load, capacity, check, preflight, calibration"),
    ({**CONFORM, "kind": "conformance"}, r"unknown kind 'conformance' \(known kinds: sim, plan, "
                                         r"conform, load"),
    ({**CONFORM, "schema_version": 2}, r"kind 'conform' schema_version 2 is newer than this yzt reads "
                                       r"\(1\): upgrade yzt"),
    (_without(CONFORM, "schema_version"), r"\(the document\): 'schema_version' is a required property"),
    (_set(CONFORM, ("checks", 0, "verdict"), 3), r"checks\[0\]\.verdict: 3 is not one of \['pass'"),
    (_set(CONFORM, ("checks", 0, "verdict"), "ok"), r"checks\[0\]\.verdict: 'ok' is not one of"),
    (_set(CONFORM, ("requests",), "many"), r": requests: 'many' is not of type 'integer'"),
    ([CONFORM], r"not a yzt results file \(a JSON object with \"kind\" is expected, found list\)"),
])
def test_a_wrong_file_is_refused_naming_the_file_and_the_field(tmp_path: Path, document: Any,
                                                             said: str) -> None:
    path = _write(tmp_path / "results.json", document)
    with pytest.raises(UserError, match=said) as caught:
        resultfile.read(path)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(("kind", "document", "field"), [
    ("load", {"verdict": "pass", "thresholds": [{"requirement": "SLA-LAT-1", "endpoint": "all",
                                                 "expression": "p95 < 1s", "verdict": "pass",
                                                 "measured": "fast"}]},
     r"thresholds\[0\]\.measured: 'fast' is not of type 'number', 'null'"),
    ("capacity", {"verdict": "pass", "steps": [{"rate": 10, "verdict": "pass", "phase": "sideways"}]},
     r"steps\[0\]\.phase: 'sideways' is not one of \['grow', 'shrink', 'bisect'\]"),
    ("sim", {"verdict": "pass", "scenario": {"name": "x"}, "seed": 7, "replications": "two",
             "sla": []}, r"replications: 'two' is not of type 'integer'"),
    ("plan", {"verdict": "pass", "scenario": {"name": "x"}, "items": [{"operator": "R01"}]},
     r"items\[0\]: 'resource' is a required property"),
    ("check", {"operator": "R07", "steps": {"conform": "fail"}},
     r"steps\.conform: 'fail' is not of type 'object'"),
    ("check", {"operator": "R07", "steps": {"deploy": {"verdict": "pass"}}},
     r"steps: 'deploy' is not one of \['preflight', 'conform'"),
    ("preflight", {"verdict": "passed"}, r"verdict: 'passed' is not one of"),
    ("calibration", {"calibration": {"operator": "R12", "median_ms": "9 ms", "sigma": 0.3,
                                     "error_ratio": 0.0}},
     r"calibration\.median_ms: '9 ms' is not of type 'number'"),
])
def test_each_kind_names_its_wrong_field(tmp_path: Path, kind: str, document: dict[str, Any],
                                         field: str) -> None:
    path = _write(tmp_path / "x.json", resultfile.stamp(kind, 1, document))
    with pytest.raises(UserError, match=field):
        resultfile.read(path)


def test_check_steps_are_read_in_the_order_they_run(tmp_path: Path) -> None:
    """The writer sorts keys (capacity, conform, load, sim); the report keeps the steps' order."""
    from yzt.pipeline.results import CheckResults

    steps = {name: {"verdict": "pass"} for name in ("sim", "load", "conform", "capacity")}
    path = resultfile.write(tmp_path / "check.json", "check", 1, {"operator": "R07", "steps": steps})
    assert list(_document(path)["steps"]) == ["capacity", "conform", "load", "sim"]
    assert list(resultfile.read_as(path, CheckResults).steps) == ["conform", "load", "capacity", "sim"]


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    """``yzt report ARGS``, in this process: what it prints and returns, not its process."""
    return yzt_in_process("report", *args)


@pytest.mark.parametrize("given", ["folder", "file"])
def test_yzt_report_refuses_a_file_of_unknown_kind_in_one_line(tmp_path: Path, given: str) -> None:
    """Before, ``results.json`` was taken for conform's because it had ``checks``."""
    path = _write(tmp_path / "run" / "results.json", {**CONFORM, "kind": "conformance"})
    done = _report(str(path.parent if given == "folder" else path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"yzt report: error: {path}: unknown kind 'conformance' (known kinds: "
                               "sim, plan, conform, load, capacity, check, preflight, calibration")
    assert not (tmp_path / "out" / "report.html").exists()


def test_yzt_report_refuses_a_step_folder_that_holds_another_kind(tmp_path: Path) -> None:
    """check.json's conform step must leave conform's results, not a load run's."""
    (tmp_path / "run" / "conform").mkdir(parents=True)
    resultfile.write(tmp_path / "run" / "conform" / "results.json", "load", 1, {"verdict": "pass"})
    resultfile.write(tmp_path / "run" / "check.json", "check", 1,
                     {"operator": "R07", "steps": {"conform": {"verdict": "pass"}}})
    done = _report(str(tmp_path / "run"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert "a 'load' results file where check.json's step 'conform' leaves a 'conform' one" in done.stderr
    assert "Traceback" not in done.stderr


def test_yzt_report_reads_a_results_file_given_by_itself(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    path = resultfile.write(tmp_path / "run" / "results.json", "conform", 1,
                            _without(_without(CONFORM, "kind"), "schema_version"))
    done = _report(str(path), "--out", str(tmp_path / "out"), "--lang", "en")
    assert done.returncode == 1, done.stderr  # the run's verdict: fail
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert [s["key"] for s in report["sections"]] == ["conform"]


def test_python_m_resultfile_checks_files_for_a_ci_job(tmp_path: Path) -> None:
    good = resultfile.write(tmp_path / "results.json", "conform", 1,
                            _without(_without(CONFORM, "kind"), "schema_version"))
    bad = _write(tmp_path / "bad.json", _set(CONFORM, ("checks", 0, "verdict"), "ok"))
    done = subprocess.run([sys.executable, "-m", "yzt.resultfile", str(good), str(bad)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stdout == f"{good}: valid conform results, schema version 1\n"
    assert done.stderr.startswith(f"invalid: {bad}: checks[0].verdict: 'ok' is not one of")
    assert "Traceback" not in done.stderr


# --- docs/results.md -----------------------------------------------------------------------------

def _type(node: dict[str, Any]) -> str:
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    if "const" in node:
        return json.dumps(node["const"])
    if "enum" in node:
        return " \\| ".join(json.dumps(v) for v in node["enum"])
    if "anyOf" in node:
        return " or ".join(_type(n) for n in node["anyOf"])
    kind = node.get("type", "any")
    shown = " or ".join(kind) if isinstance(kind, list) else kind
    if "array" in shown and isinstance(node.get("items"), dict) and node["items"]:
        shown = shown.replace("array", f"array of {_type(node['items'])}")
    extra = node.get("additionalProperties")
    if shown == "object" and isinstance(extra, dict):
        shown = f"object of {_type(extra)}"
    return shown


def _table(node: dict[str, Any]) -> list[str]:
    required = set(node.get("required", ()))
    lines = ["| Field | Type | Required | Meaning |", "|---|---|---|---|"]
    for name, prop in node.get("properties", {}).items():
        lines.append(f"| `{name}` | {_type(prop)} | {'yes' if name in required else ''} | "
                     f"{prop.get('description', '')} |")
    return lines


def render_docs() -> str:
    """docs/results.md, from the shipped schemas and the registry of kinds."""
    out = [
        "# Results files",
        "",
        "Every results file yzt writes is a public contract: CI jobs and dashboards read them. Each",
        "names what it is (`kind`) and the version of that kind's schema it follows",
        "(`schema_version`); each kind has a JSON Schema (draft 2020-12) shipped in the package",
        "(`yzt/schema/results/KIND.schema.json`). Every file is written the same way: keys sorted,",
        "two-space indent, UTF-8, a final newline, NaN and infinity as `null`. Every verdict is a",
        "word of yzt's one verdict vocabulary: " + ", ".join(f"`{v.value}`" for v in Verdict) + ".",
        "",
        "A new field may appear within a schema version (the schemas leave objects open); a field",
        "removed, renamed or changed in meaning raises the kind's `schema_version`. yzt refuses a",
        "file whose `kind` is missing or unknown, whose `schema_version` is newer than it knows, or",
        "that breaks its kind's schema, naming the file and the field: `yzt report` exits 2 with",
        "one line.",
        "",
        "To check files in a CI job against the schemas this yzt ships (one line per file; exit",
        "0 when all are valid, 2 otherwise):",
        "",
        "```sh",
        "python -m yzt.resultfile out/check/check.json out/check/conform/results.json",
        "```",
        "",
        "Any JSON Schema validator does the same with the schema files: `python -c 'from yzt import",
        "resultfile; print(resultfile.SCHEMA_DIR)'` prints their folder.",
        "",
        "This page is generated from the schemas (`python tests/test_result_schemas.py`); a test",
        "keeps it equal to them.",
        "",
        "| Kind | File | Written by | Version |",
        "|---|---|---|---|",
    ]
    for kind in resultfile.KINDS.values():
        out.append(f"| [`{kind.name}`](#{kind.name}) | `{kind.file}` | `{kind.written_by}` | "
                   f"{kind.schema_version} |")
    for kind in resultfile.KINDS.values():
        schema = kind.schema()
        out += ["", f"## {kind.name}", "", f"`{kind.file}`, written by `{kind.written_by}`; schema "
                f"`{kind.schema_path.name}`, version {kind.schema_version}. {schema['description']}", ""]
        out += _table(schema)
        for name, node in schema.get("$defs", {}).items():
            if name == "verdict" or "properties" not in node:
                continue
            out += ["", f"### {kind.name}: `{name}`", "", node.get("description", ""), ""]
            out += _table(node)
    return "\n".join(out) + "\n"


def test_docs_say_what_the_schemas_say() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_docs(), \
        "docs/results.md differs from the schemas: run python tests/test_result_schemas.py"


if __name__ == "__main__":
    DOCS.write_text(render_docs(), encoding="utf-8")
    print(f"wrote {DOCS}")
