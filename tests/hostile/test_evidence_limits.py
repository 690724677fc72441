"""Hostile certification bundles: zip bombs, malformed manifests and personal data in members.

Every bundle here is signed by a key the validator trusts, so the signature check passes and what
is shown is the check behind it: the size caps (a 2.6 MB zip holding a 2.5 GiB member is refused
without inflating it), the manifest's schema (exit 2 naming the field, never a traceback) and the
OIF-PII-1 sweep of every member.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from yzt.cli import main
from yzt.conformance.bundle import FILES, MANIFEST, MAX_MEMBER_BYTES, SIGNATURE, check_manifest
from yzt.conformance.runner import dumps
from yzt.conformance.signatures import MANIFEST_CONTEXT, generate_key, load_private_key, sign
from yzt.domain.topology import load_topology
from yzt.fixtures import generate_fixtures
from yzt.server.testing import DEFAULT_SECRET, running_server

GIB = 1 << 30
MIB = 1 << 20


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "run.key"
    generate_key(path)
    return path


def _pub(key: Path) -> Path:
    return key.with_name(key.name + ".pub")


def _signed(key: Path, manifest: bytes) -> bytes:
    return sign(load_private_key(key), MANIFEST_CONTEXT, MANIFEST, manifest)


# -- the manifest's schema -----------------------------------------------------------------------
BASE: dict[str, Any] = {
    "kind": "yzt-evidence-manifest", "format": 2, "yzt_version": "0.1.0", "protocol_version": "1.2",
    "schemas_sha256": {"common": "0" * 64}, "target": "http://127.0.0.1:8700", "operator_id": "R07",
    "key_id": "k1", "run_seed": 11, "id_salt": "s4lt", "profile": "sandbox", "strict": False,
    "only": [], "fixtures": {"seed": 7, "subjects": 200},
    "waivers": [{"requirement": "OIF-AUTH-1", "check": None, "reason": "release 3",
                 "approver": "onboarding", "expires": "2099-12-31"}],
    "today": "2026-12-01", "started_at": "2026-12-01T08:00:00Z",
    "finished_at": "2026-12-01T08:00:05Z", "verdict": "fail", "exchanges": 3,
    "members": {name: {"size": 1, "sha256": "a" * 64} for name in FILES},
}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(m: dict[str, Any]) -> Any:
        *parents, last = path.split("/")
        at: Any = m
        for p in parents:
            at = at[int(p)] if isinstance(at, list) else at[p]
        if value is _DELETE:
            del at[last]
        else:
            at[last] = value
        return m
    return change


_DELETE = object()
MALFORMED: list[tuple[str, Callable[[dict[str, Any]], Any] | bytes, str]] = [
    ("missing operator_id", _set("operator_id", _DELETE), "'operator_id' is a required property"),
    ("run_seed text", _set("run_seed", "abc"), "at run_seed: 'abc' is not of type 'integer'"),
    ("waivers text", _set("waivers", "x"), "at waivers: 'x' is not of type 'array'"),
    ("a list manifest", lambda m: [m], "at (root):"),
    ("null manifest", lambda m: None, "at (root): None is not of type 'object'"),
    ("members missing", _set("members", _DELETE), "'members' is a required property"),
    ("members empty", _set("members", {}), "at members: 'results.json' is a required property"),
    ("old empty files_sha256", lambda m: {**{k: v for k, v in m.items() if k != "members"},
                                          "files_sha256": {}},
     "'files_sha256' was unexpected"),
    ("a hash that is not hex", _set("members/results.json/sha256", "zz"),
     "at members.results.json.sha256: 'zz' does not match"),
    ("a negative size", _set("members/junit.xml/size", -1),
     "at members.junit.xml.size: -1 is less than the minimum of 0"),
    ("a size as text", _set("members/junit.xml/size", "12"),
     "at members.junit.xml.size: '12' is not of type 'integer'"),
    ("a size over the cap", _set("members/exchanges.har/size", 5 * GIB),
     "at members.exchanges.har.size: 5368709120 is greater than the maximum of 67108864"),
    ("an unknown member", _set("members/run.sh", {"size": 1, "sha256": "a" * 64}),
     "at members: 'run.sh' is not one of"),
    ("unknown profile", _set("profile", "staging"), "at profile: 'staging' is not one of"),
    ("strict as text", _set("strict", "yes"), "at strict: 'yes' is not of type 'boolean'"),
    ("an impossible run date", _set("today", "2026-02-30"), "at today: '2026-02-30' is not a real date"),
    ("finished before it started", _set("finished_at", "2026-11-30T08:00:00Z"),
     "at finished_at: before started_at"),
    ("a target that is a number", _set("target", 5), "at target: 5 is not of type 'string'"),
    ("fixtures empty", _set("fixtures", {}), "at fixtures: {} is not valid under any of the given"),
    ("an unknown verdict", _set("verdict", "great"), "at verdict: 'great' is not one of"),
    ("only as text", _set("only", "OIF-AUTH"), "at only: 'OIF-AUTH' is not of type 'array'"),
    ("an extra field", _set("certified", True), "'certified' was unexpected"),
    ("another kind", _set("kind", "results"), "at kind: 'yzt-evidence-manifest' was expected"),
    ("format 1", _set("format", 1), "at format: 2 was expected"),
    ("a waiver without approver", _set("waivers/0/approver", _DELETE),
     "at waivers[0]: 'approver' is a required property"),
    ("a waiver expiring on no day", _set("waivers/0/expires", "2026-13-01"),
     "at waivers[0].expires: '2026-13-01' is not a real date"),
    ("negative exchanges", _set("exchanges", -1), "at exchanges: -1 is less than the minimum of 0"),
    ("an unreal start time", _set("started_at", "2026-12-01T99:00:00Z"),
     "at started_at: '2026-12-01T99:00:00Z' is not a real time"),
    ("an operator that does not exist", _set("operator_id", "XX"), "at operator_id: 'XX' does not match"),
    ("not JSON", b"{\"kind\": ", "not JSON"),
    ("nested 100 deep", b"[" * 100 + b"]" * 100, "nested too deep"),
    ("not UTF-8", b"\xff\xfe{}", "manifest.json"),
]


def test_the_base_manifest_is_valid():
    """Each malformed case below differs from this valid manifest by the one change it names."""
    assert check_manifest("manifest.json", json.dumps(BASE).encode()) == BASE


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_malformed_manifest_is_exit_2_naming_the_field(key: Path, tmp_path: Path, capsys,
                                                      change: Any, expected: str):
    data = change if isinstance(change, bytes) else json.dumps(change(copy.deepcopy(BASE))).encode()
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr(MANIFEST, data)
        z.writestr(SIGNATURE, _signed(key, data))
    assert main(["validate", str(bundle), "--trust", str(_pub(key))]) == 2
    err = capsys.readouterr().err
    assert f"{bundle}:manifest.json" in err, err
    assert expected in err, err


def test_malformed_table_is_long_enough():
    assert len(MALFORMED) >= 17


# -- zip bombs ------------------------------------------------------------------------------------
def _deflated_zeros(mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``mib`` MiB of zeros (about 1 KiB a MiB) and its CRC-32, built from
    one fully flushed segment repeated (no back-reference crosses a segment)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc, zeros = 0, bytes(MIB)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return segment * mib + final, crc


def _raw_zip(path: Path, entries: list[tuple[str, int, int, bytes, int]]) -> Path:
    """A zip written field by field: (name, method, crc, stored bytes, size it claims), so a test can
    hold members larger than it could compress in time, and headers that lie."""
    out, central = bytearray(), bytearray()
    for name, method, crc, data, size in entries:
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data),
                           size, len(raw), 0) + raw + data
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                               len(data), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    start = len(out)
    out += central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                                 len(central), start, 0)
    path.write_bytes(bytes(out))
    return path


def _stored(name: str, data: bytes) -> tuple[str, int, int, bytes, int]:
    return name, 0, zlib.crc32(data), data, len(data)


@pytest.fixture(scope="module")
def bomb() -> tuple[bytes, int]:
    return _deflated_zeros(2560)  # 2.5 GiB


def _manifest_for(members: dict[str, int]) -> bytes:
    m = copy.deepcopy(BASE)
    m["members"] = {name: {"size": size, "sha256": "a" * 64} for name, size in members.items()}
    return (dumps(m) + "\n").encode()


def _validate_measured(bundle: Path, key: Path) -> tuple[int, int, float, str]:
    """``yzt validate`` in a fresh child of a fresh process: its exit status, peak RSS (bytes),
    wall time and stderr (``RUSAGE_CHILDREN`` of the middle process sees only that child)."""
    probe = ("import resource, subprocess, sys, time\n"
             "t = time.monotonic()\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
             " time.monotonic() - t)\n"
             "sys.stderr.write(r.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "yzt", "validate",
                           str(bundle), "--trust", str(_pub(key))],
                          capture_output=True, text=True, timeout=300)
    code, rss_kib, seconds = done.stdout.split()
    return int(code), int(rss_kib) * 1024, float(seconds), done.stderr


def _assert_refused_cheaply(bundle: Path, key: Path, expected: str) -> None:
    assert bundle.stat().st_size < 3_000_000  # the 2.6 MB zip of the issue
    code, rss, seconds, err = _validate_measured(bundle, key)
    assert code == 2, err
    assert expected in err, err
    # inflating the member would take 2.5 GiB; yzt validate itself needs about 100 MiB
    assert rss < 400 * MIB, f"peak RSS {rss / MIB:.0f} MiB"
    assert seconds < 60, f"{seconds:.1f} s"


def test_a_declared_huge_member_is_refused_unread(key: Path, tmp_path: Path, bomb):
    stream, crc = bomb
    sizes = dict.fromkeys(FILES, 10) | {"exchanges.har": 2560 * MIB}
    manifest = _manifest_for(sizes)
    entries = [_stored(MANIFEST, manifest), _stored(SIGNATURE, _signed(key, manifest))]
    entries += [_stored(name, b"x" * 10) for name in FILES if name != "exchanges.har"]
    entries.append(("exchanges.har", 8, crc, stream, 2560 * MIB))
    bundle = _raw_zip(tmp_path / "bomb.zip", entries)
    _assert_refused_cheaply(bundle, key, "exchanges.har: 2684354560 bytes uncompressed, more than "
                            f"the {MAX_MEMBER_BYTES} a member of this kind may hold (not read)")


def test_a_huge_manifest_is_refused_unread(key: Path, tmp_path: Path, bomb):
    stream, crc = bomb
    bundle = _raw_zip(tmp_path / "bomb.zip", [(MANIFEST, 8, crc, stream, 2560 * MIB)])
    _assert_refused_cheaply(bundle, key, "manifest.json: 2684354560 bytes uncompressed")


def test_a_zip_that_lies_about_a_members_size_is_not_inflated_past_it(key: Path, tmp_path: Path,
                                                                       bomb):
    """The zip's directory claims 1,000 bytes, the manifest agrees, the stream holds 2.5 GiB."""
    stream, crc = bomb
    sizes = dict.fromkeys(FILES, 1000)
    manifest = _manifest_for(sizes)
    entries = [_stored(MANIFEST, manifest), _stored(SIGNATURE, _signed(key, manifest))]
    entries += [_stored(name, b"x" * 1000) for name in FILES if name != "exchanges.har"]
    entries.append(("exchanges.har", 8, crc, stream, 1000))
    bundle = _raw_zip(tmp_path / "liar.zip", entries)
    _assert_refused_cheaply(bundle, key, "exchanges.har: cannot be read as the manifest describes it")


def test_members_over_the_total_cap_are_refused_unread(key: Path, tmp_path: Path):
    stream, crc = _deflated_zeros(60)
    names = [*FILES, "waivers.yaml"]
    manifest = _manifest_for(dict.fromkeys(names, 60 * MIB))
    entries = [_stored(MANIFEST, manifest), _stored(SIGNATURE, _signed(key, manifest))]
    entries += [(name, 8, crc, stream, 60 * MIB) for name in names]
    bundle = _raw_zip(tmp_path / "wide.zip", entries)
    code, rss, _, err = _validate_measured(bundle, key)
    assert code == 2 and "MiB a bundle may hold (not read)" in err, err
    assert rss < 400 * MIB


def test_not_a_zip_and_a_missing_file(tmp_path: Path, key: Path, capsys):
    (tmp_path / "text.zip").write_text("not a zip\n", "utf-8")
    assert main(["validate", str(tmp_path / "text.zip")]) == 2
    assert "not a readable zip file" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "absent.zip"), "--trust", str(_pub(key))]) == 2
    assert "file not found" in capsys.readouterr().err


# -- keys and flags -------------------------------------------------------------------------------
def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path, capsys):
    assert main(["keygen", "--out", str(tmp_path / "k")]) == 0
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert b"BEGIN PUBLIC KEY" in (tmp_path / "k.pub").read_bytes()
    assert "fingerprint ed25519:" in capsys.readouterr().out
    assert main(["keygen", "--out", str(tmp_path / "k")]) == 2
    assert "a key is never overwritten" in capsys.readouterr().err


def test_bad_keys_are_named(tmp_path: Path, key: Path, capsys):
    loose = tmp_path / "loose.key"
    loose.write_bytes(key.read_bytes())
    loose.chmod(0o644)
    assert main(["waiver", "sign", str(tmp_path / "w.yaml"), "--key", str(loose)]) == 2
    assert "readable by others (mode 644); run chmod 600" in capsys.readouterr().err
    bundle = tmp_path / "b.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr(MANIFEST, b"{}")
    assert main(["validate", str(bundle), "--trust", str(key)]) == 2
    assert "this is a private key; give its public key (KEY.pub)" in capsys.readouterr().err
    assert main(["validate", str(bundle), "--trust", str(tmp_path / "none.pub")]) == 2
    assert "--trust" in capsys.readouterr().err


def test_a_waiver_file_changed_after_signing_is_refused_at_conform(tmp_path: Path, key: Path, capsys,
                                                                   monkeypatch: pytest.MonkeyPatch):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - requirement: OIF-AUTH-1\n    reason: r\n    approver: a\n"
                       "    expires: 2099-12-31\n", "utf-8")
    assert main(["waiver", "sign", str(waivers), "--key", str(key)]) == 0
    assert "1 waiver(s) approved by ed25519:" in capsys.readouterr().out
    waivers.write_text(waivers.read_text("utf-8").replace("2099", "2199"), "utf-8")
    monkeypatch.setenv("YZT_SECRET", "x")
    code = main(["conform", "http://127.0.0.1:9", "--operator", "R07", "--key-id", "k1", "--seed",
                 "7", "--waivers", str(waivers)])
    assert code == 2
    assert "w.yaml.sig: the signature does not match" in capsys.readouterr().err


# -- personal data in members ---------------------------------------------------------------------
FIXTURES = generate_fixtures(load_topology().get("R07"), 7, 200)


@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory: pytest.TempPathFactory, key: Path) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("pii")
    env = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())
    with running_server(extra_args=("--no-access-log",)) as url:
        done = subprocess.run([sys.executable, "-m", "yzt", "conform", url, "--operator", "R07",
                               "--key-id", "k1", "--seed", "7", "--run-seed", "3", "--only",
                               "OIF-CNT,OIF-PII", "--evidence", str(folder / "b.zip"), "--sign",
                               str(key)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    yield folder / "b.zip"


@pytest.mark.integration
def test_personal_data_in_any_member_is_a_named_failure(small_bundle: Path, key: Path,
                                                        tmp_path: Path, capsys):
    assert main(["validate", str(small_bundle), "--trust", str(_pub(key))]) == 0
    assert "personal data" not in capsys.readouterr().out
    card = FIXTURES.cards[0]
    with zipfile.ZipFile(small_bundle) as z:
        members = {name: z.read(name) for name in z.namelist()}
    har = json.loads(members["exchanges.har"])
    har["log"]["comment"] = f"subject {card.id_number}"
    members["exchanges.har"] = json.dumps(har, ensure_ascii=False).encode()
    members["report.html"] = members["report.html"].replace(b"</body>", f"<p>{card.msisdn}</p></body>"
                                                            .encode())
    members["junit.xml"] = members["junit.xml"].replace(b"</testsuites>", f"<!-- {card.name} -->"
                                                        "</testsuites>".encode())
    manifest = json.loads(members[MANIFEST])
    manifest["members"] = {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                           for n, d in members.items() if n not in (MANIFEST, SIGNATURE)}
    members[MANIFEST] = (dumps(manifest) + "\n").encode()
    members[SIGNATURE] = _signed(key, members[MANIFEST])
    leaky = tmp_path / "leaky.zip"
    with zipfile.ZipFile(leaky, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    assert main(["validate", str(leaky), "--trust", str(_pub(key))]) == 1
    out = capsys.readouterr()
    assert "OIF-PII-1 exchanges.har holds personal data in full: an 18-character ID number" in out.out
    assert "OIF-PII-1 report.html holds personal data in full: an 11-digit MSISDN" in out.out
    assert "OIF-PII-1 junit.xml holds personal data in full: a subject's name from the fixtures" \
        in out.out
    assert "verdict fail" in out.out
    for value in (card.id_number, card.msisdn, card.name):
        assert value not in out.out + out.err


def test_trust_on_a_recording_is_refused(tmp_path: Path, key: Path, capsys):
    recording = tmp_path / "rec.jsonl"
    recording.write_text('{"request": {"method": "GET", "path": "/v1/health"}, '
                         '"response": {"status": 200}}\n', "utf-8")
    assert main(["validate", str(recording), "--trust", str(_pub(key))]) == 2
    assert "a recording (rec.jsonl) is not signed" in capsys.readouterr().err
