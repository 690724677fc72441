"""Certification bundles: one zip a reseller hands to the platform, re-judged offline by anyone.

``yzt conform --evidence FILE.zip [--sign KEY]`` writes:

* ``results.json`` of the run, with its ``junit.xml`` and ``report.html`` (rendered by the caller
  from ``results.json``: conformance code writes records, ``yzt.reports`` renders them);
* ``exchanges.har``: every exchange of the run, masked (full ID numbers, MSISDNs and names appear
  as their masked forms between « »), each entry naming the check that sent it;
* ``waivers.yaml`` (and ``waivers.sig``, its approver's signature) when the run had waivers;
* ``manifest.json``: yzt and protocol versions, the SHA-256 of every schema, target, operator,
  key id, run seed, profile, selection, waivers, fixture source, run date, start and end time,
  verdict, and every other member with its size and SHA-256 (schema:
  ``schema/evidence-manifest.json``);
* ``manifest.sig`` (with ``--sign``): an Ed25519 signature of the exact bytes of ``manifest.json``
  (:mod:`yzt.conformance.signatures`).

``yzt validate FILE.zip [--trust PUBKEY]`` checks the signature before anything else is read,
then the manifest's schema, then every member against the manifest (streamed, size-capped), sweeps
every member for personal data, and replays the run from ``exchanges.har`` through the same checks
(:mod:`yzt.conformance.replay`), comparing each requirement's verdict with ``results.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yzt import __version__
from yzt.conformance import schemas
from yzt.conformance.context import RunContext
from yzt.conformance.recorded import from_har, to_har
from yzt.conformance.replay import ReplayClient, fixture_secrets
from yzt.conformance.requirements import protocol_version
from yzt.conformance.results import ConformResults, parse_results
from yzt.conformance.runner import RunFinished, dumps, results_document
from yzt.conformance.signatures import (
    MANIFEST_CONTEXT,
    MAX_SIGNATURE_BYTES,
    WAIVERS_CONTEXT,
    PublicKey,
    sign,
    verify,
)
from yzt.conformance.waivers import Waiver, WaiverFile, parse_waivers
from yzt.domain.masking import PiiMarks, scrub
from yzt.errors import InputFileError, UserError
from yzt.fixtures import FixtureSet
from yzt.validation import TooDeepError, parse_json, schema_problems
from yzt.verdict import Verdict

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FILES = ("results.json", "junit.xml", "report.html", "exchanges.har")
WAIVERS_FILE, WAIVERS_SIG = "waivers.yaml", "waivers.sig"
#: Largest member of a bundle (a full run's HAR is about 1 MiB) and largest bundle, uncompressed.
MAX_MEMBER_BYTES = 64 << 20
MAX_TOTAL_BYTES = 256 << 20
#: Largest manifest (a real one is about 3 KiB) and most entries a bundle's zip may hold.
MAX_MANIFEST_BYTES = 1 << 20
MAX_ENTRIES = 16
_CHUNK = 1 << 16
_MIB = 1 << 20


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def schema_digests() -> dict[str, str]:
    """SHA-256 of every protocol schema file, as shipped with this yzt."""
    folder = resources.files("yzt.conformance").joinpath("schema")
    return {name: _sha256(folder.joinpath(f"{name}.schema.json").read_bytes())
            for name in schemas.SCHEMA_NAMES}


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema of ``manifest.json`` (shipped as ``schema/evidence-manifest.json``)."""
    text = resources.files("yzt.conformance").joinpath("schema", "evidence-manifest.json")
    loaded: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return loaded


@dataclass(frozen=True)
class RunSettings:
    """What a replay needs to make the same choices as the run (all but the secret)."""

    key_id: str
    fixtures: dict[str, Any]
    only: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    today: str = ""
    #: the waiver file as given (its bytes and its approver's signature), carried into the bundle
    waiver_file: WaiverFile | None = None


def _waiver_json(w: Waiver) -> dict[str, Any]:
    return {"requirement": w.requirement, "check": w.check, "reason": w.reason,
            "approver": w.approver, "expires": w.expires.isoformat()}


def _waiver_of(item: Mapping[str, Any]) -> Waiver:
    return Waiver(item["requirement"], item["reason"], item["approver"],
                  date.fromisoformat(item["expires"]), item.get("check"))


def write_bundle(path: Path, run: RunFinished, ctx: RunContext, settings: RunSettings,
                 rendered: Mapping[str, bytes], key: Ed25519PrivateKey | None = None) -> None:
    """Write the certification bundle of a finished run (zip, deflated); ``rendered`` holds the
    ``junit.xml`` and ``report.html`` made from the run's ``results.json``. With ``key`` the
    manifest is signed (``manifest.sig``)."""
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
    if settings.waiver_file is not None:
        files[WAIVERS_FILE] = settings.waiver_file.text
        if settings.waiver_file.signature is not None:
            files[WAIVERS_SIG] = settings.waiver_file.signature
    too_big = [name for name, data in files.items() if len(data) > MAX_MEMBER_BYTES]
    if too_big:
        raise UserError(f"--evidence {path}: {', '.join(too_big)} would exceed the "
                        f"{MAX_MEMBER_BYTES // _MIB} MiB a bundle member may hold")
    manifest = {
        "kind": "yzt-evidence-manifest", "format": 2,
        "yzt_version": __version__, "protocol_version": protocol_version(),
        "schemas_sha256": schema_digests(), "target": run.target, "operator_id": run.operator_id,
        "key_id": settings.key_id, "run_seed": run.run_seed or 0, "id_salt": ctx.id_salt,
        "profile": run.profile,
        "strict": run.strict, "only": list(settings.only), "fixtures": settings.fixtures,
        "waivers": [_waiver_json(w) for w in settings.waivers], "today": settings.today,
        "started_at": run.started_at, "finished_at": run.finished_at,
        "verdict": run.verdict.value, "exchanges": len(ctx.client.recorded),
        "members": {name: {"size": len(data), "sha256": _sha256(data)}
                    for name, data in files.items()},
    }
    manifest_bytes = (dumps(manifest) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr(MANIFEST, manifest_bytes)
            if key is not None:
                bundle.writestr(SIGNATURE, sign(key, MANIFEST_CONTEXT, MANIFEST, manifest_bytes))
            for name, data in files.items():
                bundle.writestr(name, data)
    except OSError as exc:
        raise UserError(f"--evidence {path}: cannot write ({exc.strerror})") from None


@dataclass(frozen=True)
class Bundle:
    """A bundle as read back and verified: its manifest, members, results, HAR and signer."""

    path: Path
    manifest: dict[str, Any]
    results: ConformResults
    har: dict[str, Any]
    #: every member's bytes, as checked against the manifest (the manifest and signature too)
    members: Mapping[str, bytes]
    #: the key that signed the manifest (None: unsigned)
    signer: PublicKey | None = None
    #: whether ``signer`` was checked against a trust list (``--trust``)
    trusted: bool = False


def _short(text: str, limit: int = 300) -> str:
    """A message part as shown: scrubbed of personal data and cut (a bad field may be huge)."""
    text = scrub(text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, read in chunks and never more than ``limit`` (the caller has checked
    the zip's own ``file_size`` against it; this guards against a zip that lies about it)."""
    out = bytearray()
    with zf.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            out += chunk
            if len(out) > limit:
                raise ValueError(f"holds more than the {limit} bytes declared")
    return bytes(out)


def _entries(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The zip's entries by name, refusing what no bundle of yzt holds: duplicate names, many
    entries, other compression methods, encryption, sizes over the caps."""
    where = str(path)
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise InputFileError(where, [f"{len(infos)} entries: a bundle holds at most {MAX_ENTRIES}"])
    by_name: dict[str, zipfile.ZipInfo] = {}
    problems = []
    for info in infos:
        name = _short(info.filename, 80)
        if info.filename in by_name:
            problems.append(f"{name}: appears twice in the zip (a reader would see only one of them)")
        by_name[info.filename] = info
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            problems.append(f"{name}: compression method {info.compress_type} (yzt bundles are "
                            "stored or deflated)")
        if info.flag_bits & 0x1:
            problems.append(f"{name}: encrypted (yzt bundles are not)")
        cap = MAX_MANIFEST_BYTES if info.filename == MANIFEST else (
            MAX_SIGNATURE_BYTES if info.filename in (SIGNATURE, WAIVERS_SIG) else MAX_MEMBER_BYTES)
        if info.file_size > cap:
            problems.append(f"{name}: {info.file_size} bytes uncompressed, more than the {cap} a "
                            "member of this kind may hold (not read)")
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        problems.append(f"{total} bytes uncompressed in all, more than the {MAX_TOTAL_BYTES // _MIB} "
                        "MiB a bundle may hold (not read)")
    if problems:
        raise InputFileError(where, problems)
    return by_name


def _signer(path: Path, zf: zipfile.ZipFile, entries: Mapping[str, zipfile.ZipInfo],
            trusted: Sequence[PublicKey] | None) -> tuple[bytes, PublicKey | None]:
    """The manifest's bytes and its signer, checked before anything else of the bundle is read."""
    where = str(path)
    if MANIFEST not in entries:
        raise InputFileError(where, [f"not a yzt certification bundle: no {MANIFEST}"])
    manifest = _read_member(zf, entries[MANIFEST], MAX_MANIFEST_BYTES)
    if SIGNATURE not in entries:
        if trusted is not None:
            raise UserError(f"{path}: the bundle is not signed ({SIGNATURE} is missing), so --trust "
                            "cannot hold: the run must be written with yzt conform --evidence "
                            "FILE.zip --sign KEY")
        return manifest, None
    signature = _read_member(zf, entries[SIGNATURE], MAX_SIGNATURE_BYTES)
    return manifest, verify(f"{path}:{SIGNATURE}", signature, MANIFEST_CONTEXT, manifest, trusted)


def _date_problems(manifest: Mapping[str, Any]) -> list[str]:
    """Dates and times the schema's patterns let through but no calendar has (the run date is
    what waivers' expiry is judged against: it must be a real day)."""
    problems = []
    for i, item in enumerate(manifest["waivers"]):
        try:
            date.fromisoformat(item["expires"])
        except ValueError:
            problems.append(f"at waivers[{i}].expires: {item['expires']!r} is not a real date")
    try:
        date.fromisoformat(manifest["today"])
    except ValueError:
        problems.append(f"at today: {manifest['today']!r} is not a real date")
    stamps = {}
    for field in ("started_at", "finished_at"):
        try:
            stamps[field] = datetime.fromisoformat(manifest[field].replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"at {field}: {manifest[field]!r} is not a real time")
    if len(stamps) == 2 and stamps["finished_at"] < stamps["started_at"]:
        problems.append("at finished_at: before started_at")
    return problems


def check_manifest(where: str, data: bytes) -> dict[str, Any]:
    """Parse and validate ``manifest.json``; :class:`InputFileError` names every bad field."""
    try:
        manifest = parse_json(data)
    except (TooDeepError, UnicodeDecodeError) as exc:
        raise InputFileError(where, [f"not a manifest: {exc}"]) from None
    except ValueError as exc:
        raise InputFileError(where, [f"not JSON ({_short(str(exc))})"]) from None
    problems = [_short(p) for p in schema_problems(manifest, manifest_schema())]
    if not problems:
        problems = _date_problems(manifest)
    if problems:
        raise InputFileError(where, problems)
    checked: dict[str, Any] = manifest
    return checked


def read_bundle(path: Path, trusted: Sequence[PublicKey] | None = None) -> Bundle:
    """Read and verify a bundle: the signature first (against ``trusted`` when given), then the
    manifest's schema, then every member against the manifest's size and SHA-256, each member read
    in chunks and never past its cap. Any failure is an :class:`InputFileError` (exit 2)."""
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_TOTAL_BYTES + _MIB:
            raise InputFileError(where, [f"{size} bytes: larger than any yzt bundle may be "
                                         f"({MAX_TOTAL_BYTES // _MIB} MiB)"])
        with zipfile.ZipFile(path) as zf:
            entries = _entries(path, zf)
            manifest_bytes, signer = _signer(path, zf, entries, trusted)
            manifest = check_manifest(f"{path}:{MANIFEST}", manifest_bytes)
            members = _members(path, zf, entries, manifest)
    except FileNotFoundError:
        raise InputFileError(where, ["file not found (check the path)"]) from None
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
            RuntimeError, ValueError) as exc:
        raise InputFileError(where, [f"not a readable zip file ({_short(str(exc))})"]) from None
    members = {MANIFEST: manifest_bytes, **members}
    results = _json_member(path, members, "results.json")
    har = _json_member(path, members, "exchanges.har")
    entries_ = har.get("log", {}).get("entries") if isinstance(har.get("log"), dict) else None
    if isinstance(entries_, list) and len(entries_) != manifest["exchanges"]:
        raise InputFileError(where, [f"exchanges.har holds {len(entries_)} exchange(s), the manifest "
                                     f"says {manifest['exchanges']}"])
    parsed = parse_results(results, f"{where}:results.json")
    if parsed.verdict.value != manifest["verdict"]:
        raise InputFileError(where, [f"results.json says {parsed.verdict.value}, the manifest "
                                     f"{manifest['verdict']}"])
    return Bundle(path, manifest, parsed, har, members, signer, trusted is not None)


def _members(path: Path, zf: zipfile.ZipFile, entries: Mapping[str, zipfile.ZipInfo],
             manifest: Mapping[str, Any]) -> dict[str, bytes]:
    """Every member the manifest names, checked: no member missing or extra, each the size and
    SHA-256 the manifest says (the zip's own size is checked first: nothing is inflated past it)."""
    declared: Mapping[str, Mapping[str, Any]] = manifest["members"]
    present = set(entries) - {MANIFEST, SIGNATURE}
    problems = [f"{_short(n, 80)}: in the zip but not in the manifest (an extra member)"
                for n in sorted(present - set(declared))]
    problems += [f"{n}: in the manifest but not in the zip (a missing member)"
                 for n in sorted(set(declared) - present)]
    if WAIVERS_SIG in declared and WAIVERS_FILE not in declared:
        problems.append(f"{WAIVERS_SIG}: a waiver signature without {WAIVERS_FILE}")
    if sum(int(d["size"]) for d in declared.values()) > MAX_TOTAL_BYTES:
        problems.append(f"the members' sizes add up to more than {MAX_TOTAL_BYTES // _MIB} MiB")
    if problems:
        raise InputFileError(str(path), problems)
    out: dict[str, bytes] = {}
    for name, spec in declared.items():
        info, size = entries[name], int(spec["size"])
        if info.file_size != size:
            problems.append(f"{name}: {info.file_size} bytes in the zip, the manifest says {size} "
                            "(not read)")
            continue
        try:
            data = _read_member(zf, info, size)
        except (ValueError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            problems.append(f"{name}: cannot be read as the manifest describes it ({exc})")
            continue
        if len(data) != size or _sha256(data) != spec["sha256"]:
            problems.append(f"{name}: SHA-256 differs from the manifest (changed after the run?)")
            continue
        out[name] = data
    if problems:
        raise InputFileError(str(path), problems)
    return out


def _json_member(path: Path, members: Mapping[str, bytes], name: str) -> dict[str, Any]:
    try:
        document = parse_json(members[name])
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}:{name}", [f"not JSON ({_short(str(exc))})"]) from None
    if not isinstance(document, dict):
        raise InputFileError(f"{path}:{name}", ["expected a JSON object"])
    return document


def manifest_waivers(bundle: Bundle) -> list[Waiver]:
    """The waivers the manifest says the run applied."""
    return [_waiver_of(item) for item in bundle.manifest["waivers"]]


def counted_waivers(bundle: Bundle, trusted: Sequence[PublicKey] | None) -> tuple[list[Waiver],
                                                                                   list[str]]:
    """The waivers a re-judgement may apply, and why the others do not count.

    Without a trust list the manifest's waivers are taken as the run applied them (that shows only
    self-consistency). With one, a waiver counts only when it is in ``waivers.yaml`` and that file is
    signed by a trusted key other than the one that signed the run: a waiver added to the manifest,
    or approved by the run's own signer, is self-approved and does not count.
    """
    listed = manifest_waivers(bundle)
    if trusted is None or not listed:
        return listed, []
    n = f"{len(listed)} waiver(s) of the manifest"
    text, signature = bundle.members.get(WAIVERS_FILE), bundle.members.get(WAIVERS_SIG)
    if text is None:
        return [], [f"{n} do not count: the bundle has no {WAIVERS_FILE} signed by an approver"]
    if signature is None:
        return [], [f"{n} do not count: {WAIVERS_FILE} is not signed (the approver signs it with "
                    "yzt waiver sign WAIVERS.yaml --key KEY)"]
    try:
        approver = verify(f"{bundle.path}:{WAIVERS_SIG}", signature, WAIVERS_CONTEXT, text, trusted)
    except UserError as exc:
        return [], [f"{n} do not count: {exc}"]
    if approver == bundle.signer:
        return [], [f"{n} do not count: {WAIVERS_FILE} is signed by {approver.fingerprint}, the key "
                    "that signed the run (self-approved)"]
    try:
        approved = parse_waivers(text.decode("utf-8"), f"{bundle.path}:{WAIVERS_FILE}")
    except UnicodeDecodeError:
        raise InputFileError(f"{bundle.path}:{WAIVERS_FILE}", ["not UTF-8 text"]) from None
    counted = [w for w in listed if w in approved]
    notes = [f"waiver of {w.requirement}{' ' + w.check if w.check else ''} does not count: it is in "
             f"the manifest but not in the {WAIVERS_FILE} that {approver.fingerprint} approved"
             for w in listed if w not in approved]
    return counted, notes


def _shape(masked: str) -> str:
    if len(masked) == 18 and masked[6:17] == "*" * 11:
        return "an 18-character ID number"
    if len(masked) == 11 and masked[3:7] == "****":
        return "an 11-digit MSISDN"
    return "a subject's name from the fixtures"


def pii_problems(bundle: Bundle, fixtures: FixtureSet) -> list[str]:
    """OIF-PII-1 over every member: full ID numbers, MSISDNs and fixture names, named by member and
    shape (never the value). The sweep is the conformance suite's own (Aho–Corasick over the known
    values, then the stand-alone shapes)."""
    from yzt.conformance.checks.pii import leaked_values
    from yzt.domain.masking import KnownValues

    known = KnownValues(fixture_secrets(fixtures))
    out = []
    for name, data in bundle.members.items():
        if name in (SIGNATURE, WAIVERS_SIG):
            continue
        texts = [data.decode("utf-8", errors="replace")]
        if name.endswith((".json", ".har")):  # \uXXXX-escaped names are found too
            with contextlib.suppress(ValueError, RecursionError):
                texts.append(json.dumps(json.loads(data), ensure_ascii=False))
        leaked = leaked_values("\n".join(texts), known)
        if leaked:
            counts: dict[str, int] = {}
            for value in leaked:
                counts[_shape(value)] = counts.get(_shape(value), 0) + 1
            shown = ", ".join(f"{shape}" if k == 1 else f"{k} × {shape}"
                              for shape, k in counts.items())
            out.append(f"{name} holds personal data in full: {shown}")
    return out


def bundle_fixtures(bundle: Bundle, fixtures_file: Path | None = None) -> tuple[FixtureSet, str]:
    """The fixture truth of the bundle's run (regenerated from its seed, or ``fixtures_file``,
    which must be the file the run used) and how it was given."""
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures, load_fixtures

    spec = bundle.manifest["fixtures"]
    topology = load_topology()
    operator = str(bundle.manifest["operator_id"])
    if operator not in {op.id for op in topology.operators}:
        raise InputFileError(f"{bundle.path}:{MANIFEST}", [f"at operator_id: {operator} is not an "
                                                           "operator of the topology"])
    if fixtures_file is not None:
        digest = spec.get("sha256")
        try:
            data = fixtures_file.read_bytes()
        except OSError as exc:
            raise UserError(f"--fixtures {fixtures_file}: cannot read ({exc.strerror})") from None
        if digest and _sha256(data) != digest:
            raise UserError(f"--fixtures {fixtures_file} is not the fixture file of this run "
                            "(its SHA-256 differs from the manifest's)")
        return load_fixtures(fixtures_file, topology, operator), f"--fixtures {fixtures_file}"
    if "seed" in spec:
        fixtures = generate_fixtures(topology.get(operator), int(spec["seed"]),
                                     int(spec["subjects"]))
        return fixtures, f"--seed {spec['seed']} --subjects {spec['subjects']}"
    raise UserError(f"{bundle.path}: the run used the fixture file {_short(str(spec['file']), 80)}; "
                    "give it with --fixtures FILE to re-judge the bundle")


def rejudge(bundle: Bundle, fixtures_file: Path | None = None, *,
            fixtures: tuple[FixtureSet, str] | None = None,
            waivers: Sequence[Waiver] | None = None) -> tuple[RunFinished, int]:
    """Replay the bundle's run through the checks; returns the new run and the recorded exchanges
    no check asked for (0 when the replay followed the run exactly). ``waivers`` are those that
    count (:func:`counted_waivers`); by default the manifest's. Expiry is judged against the
    manifest's run date, never the validator's clock."""
    from yzt.conformance.session import open_context, run_suite

    m = bundle.manifest
    truth, source = fixtures or bundle_fixtures(bundle, fixtures_file)
    target = str(m["target"])
    records = from_har(f"{bundle.path}:exchanges.har", bundle.har)
    base = fixture_secrets(truth)
    client = ReplayClient(target, str(m["key_id"]), records, lambda: base)
    ctx = open_context(target, str(m["operator_id"]), str(m["key_id"]), b"replay",
                       truth, run_seed=int(m["run_seed"]), profile=str(m["profile"]),
                       fixture_source=source, client=client, id_salt=str(m["id_salt"]))
    client.known = ctx.sensitive_values
    applied = manifest_waivers(bundle) if waivers is None else list(waivers)
    run = run_suite(ctx, target=target, only=list(m["only"]), waivers=applied,
                    today=date.fromisoformat(m["today"]), strict=bool(m["strict"]))
    return run, client.left_over()


def verdicts_by_requirement(checks: Any) -> dict[str, Verdict]:
    """Requirement → the worst verdict of its checks, for records of either kind."""
    out: dict[str, Verdict] = {}
    for c in checks:
        seen = out.get(c.requirement)
        out[c.requirement] = c.verdict if seen is None or c.verdict.rank > seen.rank else seen
    return out
