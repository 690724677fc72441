"""Certification bundles: one zip a reseller hands to the platform, re-judged offline by anyone.

``yzt conform --evidence FILE.zip`` writes:

* ``results.json`` of the run, with its ``junit.xml`` and ``report.html`` (rendered by the caller
  from ``results.json``: conformance code writes records, ``yzt.reports`` renders them);
* ``exchanges.har``: every exchange of the run, masked (full ID numbers, MSISDNs and names appear
  as their masked forms between « »), each entry naming the check that sent it;
* ``manifest.json``: yzt and protocol versions, the SHA-256 of every schema, target, operator,
  key id, run seed, profile, selection, waivers, fixture source, start and end time, verdict, and
  the SHA-256 of every other file of the bundle.

``yzt validate FILE.zip`` replays the run from ``exchanges.har`` through the same checks
(:mod:`yzt.conformance.replay`) and compares each requirement's verdict with ``results.json``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from yzt import __version__
from yzt.conformance import schemas
from yzt.conformance.context import RunContext
from yzt.conformance.recorded import from_har, to_har
from yzt.conformance.replay import ReplayClient, fixture_secrets
from yzt.conformance.requirements import protocol_version
from yzt.conformance.results import ConformResults, parse_results
from yzt.conformance.runner import RunFinished, dumps, results_document
from yzt.conformance.waivers import Waiver
from yzt.domain.masking import PiiMarks
from yzt.errors import InputFileError, UserError
from yzt.fixtures import FixtureSet
from yzt.verdict import Verdict

MANIFEST = "manifest.json"
FILES = ("results.json", "junit.xml", "report.html", "exchanges.har")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def schema_digests() -> dict[str, str]:
    """SHA-256 of every protocol schema file, as shipped with this yzt."""
    from importlib import resources

    folder = resources.files("yzt.conformance").joinpath("schema")
    return {name: _sha256(folder.joinpath(f"{name}.schema.json").read_bytes())
            for name in schemas.SCHEMA_NAMES}


@dataclass(frozen=True)
class RunSettings:
    """What a replay needs to make the same choices as the run (all but the secret)."""

    key_id: str
    fixtures: dict[str, Any]
    only: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    today: str = ""


def _waiver_json(w: Waiver) -> dict[str, Any]:
    return {"requirement": w.requirement, "check": w.check, "reason": w.reason,
            "approver": w.approver, "expires": w.expires.isoformat()}


def write_bundle(path: Path, run: RunFinished, ctx: RunContext, settings: RunSettings,
                 rendered: Mapping[str, bytes]) -> None:
    """Write the certification bundle of a finished run (zip, deflated); ``rendered`` holds the
    ``junit.xml`` and ``report.html`` made from the run's ``results.json``."""
    missing = [name for name in ("junit.xml", "report.html") if name not in rendered]
    if missing:
        raise ValueError(f"write_bundle needs the rendered {', '.join(missing)}")
    document = results_document(run)
    marks = PiiMarks(ctx.sensitive_values())
    har = to_har(run.target, ((r.check, r.exchange) for r in ctx.client.recorded), marks.mark)
    files = {
        "results.json": (dumps(document) + "\n").encode("utf-8"),
        "junit.xml": rendered["junit.xml"],
        "report.html": rendered["report.html"],
        "exchanges.har": json.dumps(har, ensure_ascii=False).encode("utf-8"),
    }
    manifest = {
        "yzt_version": __version__, "protocol_version": protocol_version(),
        "schemas_sha256": schema_digests(), "target": run.target, "operator_id": run.operator_id,
        "key_id": settings.key_id, "run_seed": run.run_seed, "id_salt": ctx.id_salt,
        "profile": run.profile,
        "strict": run.strict, "only": list(settings.only), "fixtures": settings.fixtures,
        "waivers": [_waiver_json(w) for w in settings.waivers], "today": settings.today,
        "started_at": run.started_at, "finished_at": run.finished_at,
        "verdict": run.verdict.value, "exchanges": len(ctx.client.recorded),
        "files_sha256": {name: _sha256(data) for name, data in files.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr(MANIFEST, dumps(manifest) + "\n")
            for name, data in files.items():
                bundle.writestr(name, data)
    except OSError as exc:
        raise UserError(f"--evidence {path}: cannot write ({exc.strerror})") from None


@dataclass(frozen=True)
class Bundle:
    """A bundle as read back: its manifest, its results and its HAR document."""

    path: Path
    manifest: dict[str, Any]
    results: ConformResults
    har: dict[str, Any]


def read_bundle(path: Path) -> Bundle:
    """Read and verify a bundle: every file present and matching the manifest's SHA-256."""
    where = str(path)
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
            missing = [n for n in (MANIFEST, *FILES) if n not in names]
            if missing:
                raise InputFileError(where, [f"not a yzt certification bundle: missing "
                                             f"{', '.join(missing)}"])
            manifest = json.loads(bundle.read(MANIFEST))
            data = {name: bundle.read(name) for name in FILES}
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputFileError(where, [f"not a readable zip file ({exc})"]) from None
    except ValueError as exc:
        raise InputFileError(where, [f"{MANIFEST} is not JSON ({exc})"]) from None
    problems = [f"{name}: SHA-256 differs from the manifest (changed after the run?)"
                for name, digest in (manifest.get("files_sha256") or {}).items()
                if name in data and _sha256(data[name]) != digest]
    if problems:
        raise InputFileError(where, problems)
    results = parse_results(json.loads(data["results.json"]), f"{where}:results.json")
    return Bundle(path, manifest, results, json.loads(data["exchanges.har"]))


def _fixtures(bundle: Bundle, fixtures_file: Path | None) -> tuple[FixtureSet, str]:
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, load_fixtures

    spec = bundle.manifest.get("fixtures") or {}
    topology = load_topology()
    operator = str(bundle.manifest["operator_id"])
    if fixtures_file is not None:
        digest = spec.get("sha256")
        if digest and _sha256(fixtures_file.read_bytes()) != digest:
            raise UserError(f"--fixtures {fixtures_file} is not the fixture file of this run "
                            "(its SHA-256 differs from the manifest's)")
        return load_fixtures(fixtures_file, topology, operator), f"--fixtures {fixtures_file}"
    if "seed" in spec:
        fixtures = generate_fixtures(topology.get(operator), int(spec["seed"]),
                                     int(spec["subjects"]))
        return fixtures, f"--seed {spec['seed']} --subjects {spec['subjects']}"
    raise UserError(f"{bundle.path}: the run used the fixture file {spec.get('file', '?')}; give "
                    "it with --fixtures FILE to re-judge the bundle")


def rejudge(bundle: Bundle, fixtures_file: Path | None = None) -> tuple[RunFinished, int]:
    """Replay the bundle's run through the checks; returns the new run and the recorded exchanges
    no check asked for (0 when the replay followed the run exactly)."""
    from yzt.conformance.session import open_context, run_suite

    m = bundle.manifest
    fixtures, source = _fixtures(bundle, fixtures_file)
    target = str(m["target"])
    records = from_har(f"{bundle.path}:exchanges.har", bundle.har)
    base = fixture_secrets(fixtures)
    client = ReplayClient(target, str(m.get("key_id", "")), records, lambda: base)
    ctx = open_context(target, str(m["operator_id"]), str(m.get("key_id", "")), b"replay",
                       fixtures, run_seed=int(m["run_seed"]), profile=str(m.get("profile")),
                       fixture_source=source, client=client, id_salt=str(m.get("id_salt", "")))
    client.known = ctx.sensitive_values
    waivers = [Waiver(w["requirement"], w["reason"], w["approver"],
                      date.fromisoformat(w["expires"]), w.get("check"))
               for w in m.get("waivers") or []]
    today = date.fromisoformat(m["today"]) if m.get("today") else None
    run = run_suite(ctx, target=target, only=list(m.get("only") or ()), waivers=waivers,
                    today=today, strict=bool(m.get("strict")))
    return run, client.left_over()


def verdicts_by_requirement(checks: Any) -> dict[str, Verdict]:
    """Requirement → the worst verdict of its checks, for records of either kind."""
    out: dict[str, Verdict] = {}
    for c in checks:
        seen = out.get(c.requirement)
        out[c.requirement] = c.verdict if seen is None or c.verdict.rank > seen.rank else seen
    return out
