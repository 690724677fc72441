"""Forged certification bundles: each way of turning a FAIL into a pass is refused by
``yzt validate --trust``, and the genuine signed bundle is certified with the run's own verdicts.

The run is a real ``yzt conform --evidence --sign`` against the reference operator with the defect
accept-bad-signature (7 failures on OIF-AUTH-1/-4), served on loopback by ``running_servers``.
Every forgery is made as a careful reseller would: with yzt's own functions, recomputed hashes,
and re-signed with whatever key the reseller holds.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from yzt.conformance.bundle import (
    MANIFEST,
    SIGNATURE,
    WAIVERS_FILE,
    WAIVERS_SIG,
    read_bundle,
    rejudge,
    verdicts_by_requirement,
)
from yzt.conformance.runner import dumps, results_document
from yzt.conformance.signatures import (
    MANIFEST_CONTEXT,
    WAIVERS_CONTEXT,
    load_private_key,
    load_public_key,
    sign,
)
from yzt.conformance.waivers import Waiver
from yzt.server.testing import DEFAULT_SECRET, running_servers
from yzt.verdict import Verdict

pytestmark = pytest.mark.integration

RATE_LIMIT = ("--rate-limit", "150", "--no-access-log")
COMMON = ("--operator", "R07", "--key-id", "k1", "--seed", "7", "--run-seed", "11")
AUTH_WAIVERS = ("waivers:\n"
                "  - requirement: OIF-AUTH-1\n    reason: signature checks ship in release 3\n"
                "    approver: platform onboarding\n    expires: 2099-12-31\n"
                "  - requirement: OIF-AUTH-4\n    reason: signature checks ship in release 3\n"
                "    approver: platform onboarding\n    expires: 2099-12-31\n")


def _process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``yzt ARGS`` as a process of its own, as a user runs it."""
    env = dict(os.environ, YZT_SECRET=DEFAULT_SECRET.decode())
    return subprocess.run([sys.executable, "-m", "yzt", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)


def _yzt(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``yzt ARGS``; ``yzt validate`` through the CLI's entry point in this process (what these
    tests judge is the bundle, not the process: one Python start and its imports saved per
    forgery; the genuine bundle's test runs it as a process of its own)."""
    if args[0] != "validate":
        return _process(*args)
    from yzt.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors
            status = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(["yzt", *map(str, args)], status, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class Evidence:
    folder: Path
    failed: Path          # the FAIL run's signed bundle
    failed_results: Path  # that run's results.json (--out)
    waived: Path          # a run whose waivers the approver signed
    waived_exit: int
    run_key: Path         # the key the runs are signed with (trusted)
    approver_key: Path    # the approver's key (trusted, for waivers)
    reseller_key: Path    # a key the reseller made itself (not trusted)

    def pub(self, key: Path) -> Path:
        return key.with_name(key.name + ".pub")


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evidence]:
    folder = tmp_path_factory.mktemp("evidence")
    keys = {}
    for name in ("run", "approver", "reseller"):
        keys[name] = folder / f"{name}.key"
        done = _yzt("keygen", "--out", keys[name])
        assert done.returncode == 0, done.stderr
    waivers = folder / "waivers.yaml"
    waivers.write_text(AUTH_WAIVERS, "utf-8")
    signed = _yzt("waiver", "sign", waivers, "--key", keys["approver"])
    assert signed.returncode == 0, signed.stderr
    # two fresh servers with the defect, from one process
    with running_servers([(("accept-bad-signature",), RATE_LIMIT)] * 2) as (url, fresh):
        run = _yzt("conform", url, *COMMON, "--evidence", folder / "failed.zip", "--sign",
                   keys["run"], "--out", folder / "out")
        assert run.returncode == 1, run.stdout + run.stderr
        waived = _yzt("conform", fresh, *COMMON, "--evidence", folder / "waived.zip", "--sign",
                      keys["run"], "--waivers", waivers)
    # 0 (waived), or 3 when a busy machine's burst does not reach the rate limit (OIF-ERR-2)
    assert waived.returncode in (0, 3), waived.stdout + waived.stderr
    yield Evidence(folder, folder / "failed.zip", folder / "out" / "results.json",
                   folder / "waived.zip", waived.returncode, keys["run"], keys["approver"],
                   keys["reseller"])


# -- building forgeries ------------------------------------------------------------------------
def _members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as z:
        return {name: z.read(name) for name in z.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _rehash(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
    """What a forger does after changing members: recompute every size and SHA-256."""
    import hashlib

    manifest["members"] = {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                           for name, data in members.items()
                           if name not in (MANIFEST, SIGNATURE)}


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (dumps(manifest) + "\n").encode("utf-8")


def _sign_manifest(members: dict[str, bytes], key: Path | None) -> None:
    members.pop(SIGNATURE, None)
    if key is not None:
        members[SIGNATURE] = sign(load_private_key(key), MANIFEST_CONTEXT, MANIFEST,
                                  members[MANIFEST])


def _self_approved(ev: Evidence, tmp: Path, *, sign_with: Path | None,
                   waivers_signed_by: Path | str | None = "none") -> Path:
    """The issue's forgery: waivers for the 7 failures added to the manifest, results.json
    rebuilt with yzt's own functions under those waivers, every hash recomputed, and the manifest
    re-signed with ``sign_with`` (None: the old signature left in place)."""
    members = _members(ev.failed)
    manifest = json.loads(members[MANIFEST])
    forged = [{"requirement": r, "check": None, "reason": "fixed soon", "approver": "reseller QA",
               "expires": "2099-12-31"} for r in ("OIF-AUTH-1", "OIF-AUTH-4")]
    manifest["waivers"] = forged
    bundle = read_bundle(ev.failed)
    waivers = [Waiver(w["requirement"], w["reason"], w["approver"], date(2099, 12, 31))
               for w in forged]
    rebuilt, _ = rejudge(bundle, waivers=waivers)
    assert rebuilt.verdict in (Verdict.WAIVED, Verdict.INCOMPLETE)  # the forgery "works" offline
    members["results.json"] = (dumps(results_document(rebuilt)) + "\n").encode("utf-8")
    manifest["verdict"] = rebuilt.verdict.value
    if waivers_signed_by != "none":
        text = "waivers:\n" + "".join(
            f"  - requirement: {w['requirement']}\n    reason: {w['reason']}\n"
            f"    approver: {w['approver']}\n    expires: {w['expires']}\n" for w in forged)
        members[WAIVERS_FILE] = text.encode("utf-8")
        assert isinstance(waivers_signed_by, Path)
        members[WAIVERS_SIG] = sign(load_private_key(waivers_signed_by), WAIVERS_CONTEXT,
                                    "waivers.yaml", members[WAIVERS_FILE])
    _rehash(manifest, members)
    members[MANIFEST] = _manifest_bytes(manifest)
    if sign_with is not None:  # else the run's signature stays beside the changed manifest
        _sign_manifest(members, sign_with)
    return _write(tmp / "forged.zip", members)


def _edit_manifest(ev: Evidence, tmp: Path, change: Callable[[dict[str, Any]], None],
                   sign_with: Path | None = None) -> Path:
    members = _members(ev.failed)
    manifest = json.loads(members[MANIFEST])
    change(manifest)
    members[MANIFEST] = _manifest_bytes(manifest)
    if sign_with is not None:
        _sign_manifest(members, sign_with)
    return _write(tmp / "edited.zip", members)


def _swap(ev: Evidence, tmp: Path, name: str, source: Path) -> Path:
    members = _members(ev.failed)
    members[name] = _members(source)[name]
    return _write(tmp / "swapped.zip", members)


def _stays_fail(done: subprocess.CompletedProcess[str]) -> None:
    """Whatever the forgery, nothing says the FAIL run passed."""
    assert done.returncode in (1, 2), done.stdout + done.stderr
    for word in ("verdict pass", "verdict waived", "verdict warning", "certified"):
        assert word not in done.stdout, done.stdout


# -- the genuine bundle --------------------------------------------------------------------------
def test_genuine_signed_bundle_is_certified_with_the_runs_verdicts(evidence: Evidence):
    done = _process("validate", evidence.failed, "--trust", evidence.pub(evidence.run_key))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "verdict fail (the bundle says fail)" in done.stdout
    assert "certified: signed by trusted key ed25519:" in done.stdout
    assert "personal data" not in done.stdout
    run = json.loads(evidence.failed_results.read_text("utf-8"))
    by_requirement: dict[str, Verdict] = {}
    for c in run["checks"]:
        v = Verdict(c["verdict"])
        seen = by_requirement.get(c["requirement"])
        by_requirement[c["requirement"]] = v if seen is None or v.rank > seen.rank else seen
    key = load_public_key(evidence.pub(evidence.run_key))
    again, left_over = rejudge(read_bundle(evidence.failed, [key]))
    assert verdicts_by_requirement(again.results) == by_requirement
    assert {r for r, v in by_requirement.items() if v is Verdict.FAIL} == {"OIF-AUTH-1", "OIF-AUTH-4"}
    assert left_over == 0


def test_without_trust_the_verdict_says_self_consistent_only(evidence: Evidence, tmp_path: Path):
    signed = _yzt("validate", evidence.failed)
    assert signed.returncode == 1
    assert "not checked against any trusted key" in signed.stdout
    assert "shows only that the bundle is self-consistent" in signed.stdout
    unsigned = _edit_manifest(evidence, tmp_path, lambda m: None)
    members = _members(unsigned)
    del members[SIGNATURE]
    done = _yzt("validate", _write(tmp_path / "unsigned.zip", members))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "unsigned: shows only that the bundle is self-consistent" in done.stdout
    assert "certified" not in done.stdout
    refused = _yzt("validate", tmp_path / "unsigned.zip", "--trust", evidence.pub(evidence.run_key))
    assert refused.returncode == 2
    assert "the bundle is not signed (manifest.sig is missing)" in refused.stderr


def test_approved_waivers_count_and_are_certified(evidence: Evidence):
    trust = ("--trust", evidence.pub(evidence.run_key), "--trust", evidence.pub(evidence.approver_key))
    done = _yzt("validate", evidence.waived, *trust)
    assert done.returncode == evidence.waived_exit, done.stdout + done.stderr
    assert "certified" in done.stdout and "does not count" not in done.stdout
    bundle = read_bundle(evidence.waived)
    assert {c.verdict for c in bundle.results.checks if c.requirement == "OIF-AUTH-1"} == {Verdict.WAIVED}


def test_waivers_approved_by_an_untrusted_key_do_not_count(evidence: Evidence):
    done = _yzt("validate", evidence.waived, "--trust", evidence.pub(evidence.run_key))
    _stays_fail(done)
    assert done.returncode == 2
    assert "2 waiver(s) of the manifest do not count" in done.stdout
    assert "a key not in the trust list" in done.stdout
    assert "verdict fail (the bundle says" in done.stdout


# -- the forgeries --------------------------------------------------------------------------------
def test_self_approved_waivers_with_rebuilt_results_and_hashes(evidence: Evidence, tmp_path: Path):
    trust = ("--trust", evidence.pub(evidence.run_key), "--trust", evidence.pub(evidence.approver_key))
    # left with the run's signature: the manifest no longer matches it
    forged = _self_approved(evidence, tmp_path, sign_with=None)
    done = _yzt("validate", forged, *trust)
    _stays_fail(done)
    assert "manifest.sig: the signature does not match" in done.stderr
    # re-signed by the reseller's own key: not trusted, named by its fingerprint
    forged = _self_approved(evidence, tmp_path, sign_with=evidence.reseller_key)
    done = _yzt("validate", forged, *trust)
    _stays_fail(done)
    reseller = load_public_key(evidence.pub(evidence.reseller_key)).fingerprint
    assert f"signed by {reseller}, a key not in the trust list" in done.stderr


def test_self_approved_waivers_under_a_trusted_run_key_do_not_count(evidence: Evidence,
                                                                      tmp_path: Path):
    """Even a reseller whose run key the platform trusts cannot approve its own waivers: the manifest's
    waivers count only from a waiver file signed by another trusted key."""
    trust = ("--trust", evidence.pub(evidence.run_key), "--trust", evidence.pub(evidence.approver_key))
    for signer, reason in ((None, "has no waivers.yaml signed by an approver"),
                           (evidence.run_key, "the key that signed the run (self-approved)"),
                           (evidence.reseller_key, "a key not in the trust list")):
        forged = _self_approved(evidence, tmp_path, sign_with=evidence.run_key,
                                waivers_signed_by=signer if signer else "none")
        done = _yzt("validate", forged, *trust)
        _stays_fail(done)
        assert done.returncode == 2
        assert reason in done.stdout, done.stdout
        assert "verdict fail (the bundle says" in done.stdout
        assert "the replay does not reproduce the bundle's verdicts" in done.stderr


def test_target_changed_without_rehashing(evidence: Evidence, tmp_path: Path):
    def retarget(m: dict[str, Any]) -> None:
        m["target"] = "https://op.example/yzt"
    edited = _edit_manifest(evidence, tmp_path, retarget)
    for trust in (("--trust", evidence.pub(evidence.run_key)), ()):
        done = _yzt("validate", edited, *trust)
        _stays_fail(done)
        assert done.returncode == 2
        assert "manifest.sig: the signature does not match (the signed file was changed" in done.stderr


@pytest.mark.parametrize("members", [{}, None])
def test_empty_hash_list_is_a_failure_never_check_off(evidence: Evidence, tmp_path: Path,
                                                      members: dict[str, Any] | None):
    def empty(m: dict[str, Any]) -> None:
        if members is None:  # the old manifest's empty files_sha256 instead of members
            del m["members"]
            m["files_sha256"] = {}
        else:
            m["members"] = members
    # re-signed by the trusted key itself: the schema still refuses it
    edited = _edit_manifest(evidence, tmp_path, empty, sign_with=evidence.run_key)
    done = _yzt("validate", edited, "--trust", evidence.pub(evidence.run_key))
    _stays_fail(done)
    assert done.returncode == 2
    assert "manifest.json" in done.stderr
    assert ("at members: 'results.json' is a required property" in done.stderr
            or "at (root): 'members' is a required property" in done.stderr), done.stderr


def test_a_member_swapped(evidence: Evidence, tmp_path: Path):
    for name in ("results.json", "exchanges.har", "report.html"):
        swapped = _swap(evidence, tmp_path, name, evidence.waived)
        done = _yzt("validate", swapped, "--trust", evidence.pub(evidence.run_key))
        _stays_fail(done)
        assert done.returncode == 2
        assert (f"{name}: SHA-256 differs from the manifest" in done.stderr
                or (f"{name}: " in done.stderr and "bytes in the zip, the manifest says" in done.stderr)), \
            done.stderr


def test_extra_missing_and_duplicate_members(evidence: Evidence, tmp_path: Path):
    members = _members(evidence.failed)
    extra = _write(tmp_path / "extra.zip", {**members, "waivers.yaml": AUTH_WAIVERS.encode()})
    done = _yzt("validate", extra, "--trust", evidence.pub(evidence.run_key))
    assert done.returncode == 2 and "waivers.yaml: in the zip but not in the manifest" in done.stderr
    missing = _write(tmp_path / "missing.zip", {k: v for k, v in members.items() if k != "junit.xml"})
    done = _yzt("validate", missing, "--trust", evidence.pub(evidence.run_key))
    assert done.returncode == 2 and "junit.xml: in the manifest but not in the zip" in done.stderr
    twice = tmp_path / "twice.zip"
    _write(twice, members)
    with zipfile.ZipFile(twice, "a") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("results.json", b'{"verdict": "pass"}')
    done = _yzt("validate", twice, "--trust", evidence.pub(evidence.run_key))
    assert done.returncode == 2 and "results.json: appears twice in the zip" in done.stderr


def test_resigned_with_an_untrusted_key(evidence: Evidence, tmp_path: Path):
    edited = _edit_manifest(evidence, tmp_path, lambda m: None, sign_with=evidence.reseller_key)
    done = _yzt("validate", edited, "--trust", evidence.pub(evidence.run_key),
                "--trust", evidence.pub(evidence.approver_key))
    _stays_fail(done)
    assert done.returncode == 2
    reseller = load_public_key(evidence.pub(evidence.reseller_key)).fingerprint
    assert f"signed by {reseller}, a key not in the trust list" in done.stderr


def test_waiver_expiry_is_judged_on_the_signed_run_date(evidence: Evidence, tmp_path: Path):
    """A waiver that expired before today's wall clock still counts for a run signed on an earlier
    date, and one that expired before the signed run date does not (the keys are the test's)."""
    def bundle_on(day: str, expires: str) -> Path:
        members = _members(evidence.waived)
        manifest = json.loads(members[MANIFEST])
        manifest.update(today=day, started_at=f"{day}T08:00:00Z", finished_at=f"{day}T08:00:05Z")
        for w in manifest["waivers"]:
            w["expires"] = expires
        members[WAIVERS_FILE] = members[WAIVERS_FILE].replace(b"2099-12-31", expires.encode())
        members[WAIVERS_SIG] = sign(load_private_key(evidence.approver_key), WAIVERS_CONTEXT,
                                    "waivers.yaml", members[WAIVERS_FILE])
        _rehash(manifest, members)
        members[MANIFEST] = _manifest_bytes(manifest)
        _sign_manifest(members, evidence.run_key)
        return _write(tmp_path / f"{day}.zip", members)
    trust = ("--trust", evidence.pub(evidence.run_key), "--trust", evidence.pub(evidence.approver_key))
    done = _yzt("validate", bundle_on("2026-01-10", "2026-01-11"), *trust)
    assert done.returncode == evidence.waived_exit, done.stdout + done.stderr
    assert "certified" in done.stdout
    done = _yzt("validate", bundle_on("2026-01-12", "2026-01-11"), *trust)
    _stays_fail(done)
    assert "OIF-AUTH-1: the bundle says waived, the replay fail" in done.stdout
