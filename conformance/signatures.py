"""Ed25519 keys and detached signatures for evidence: who signed a run, and who approved its waivers.

A signature is a small JSON document stored beside what it signs (``manifest.sig`` beside
``manifest.json`` in a bundle, ``WAIVERS.yaml.sig`` beside a waiver file)::

    {"kind": "yzt-signature", "algorithm": "ed25519", "signs": "manifest.json",
     "key_fingerprint": "ed25519:3f0c…", "public_key": "<base64, 32 bytes>",
     "signature": "<base64, 64 bytes>"}

The signature covers a fixed context line followed by the exact bytes signed, so a signature made
for a waiver file can never pass for a manifest's (and the other way round). Keys come from the
``cryptography`` package: Ed25519 is deterministic, has no parameters to get wrong, and its keys
and signatures are small enough to read in one line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from yzt.errors import InputFileError, UserError

#: What each kind of signature covers: the context line, then the exact bytes signed.
MANIFEST_CONTEXT = b"yzt evidence manifest v1\n"
WAIVERS_CONTEXT = b"yzt waivers v1\n"
#: A signature document is about 300 bytes; anything far larger is not one.
MAX_SIGNATURE_BYTES = 4096
#: A PEM key file is under 200 bytes.
MAX_KEY_BYTES = 16384


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (32 raw bytes); compared by its bytes, shown by its fingerprint."""

    raw: bytes

    @property
    def fingerprint(self) -> str:
        """``ed25519:`` and the first 128 bits of the key's SHA-256, in hex (for naming keys only:
        trust is decided on the whole key)."""
        return "ed25519:" + hashlib.sha256(self.raw).hexdigest()[:32]

    def verify(self, signature: bytes, context: bytes, data: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, context + data)
        except InvalidSignature:
            return False
        return True


def public_of(key: Ed25519PrivateKey) -> PublicKey:
    return PublicKey(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw))


def generate_key(out: Path) -> PublicKey:
    """Write a new private key to ``out`` (PEM, PKCS#8, mode 0600, never over an existing file)
    and its public key to ``out.pub``; return the public key."""
    pub_path = out.with_name(out.name + ".pub")
    for path in (out, pub_path):
        if path.exists():
            raise UserError(f"--out {out}: {path} exists; a key is never overwritten (choose another "
                            "name, or remove the old key if you mean to replace it)")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(private)
        pub_path.write_bytes(public)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the key ({exc.strerror or exc})") from None
    return public_of(key)


def _read_key_file(path: Path, flag: str) -> bytes:
    try:
        if path.stat().st_size > MAX_KEY_BYTES:
            raise UserError(f"{flag} {path}: not a key file (larger than {MAX_KEY_BYTES} bytes)")
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: file not found (check the path)") from None
    except IsADirectoryError:
        raise UserError(f"{flag} {path}: is a directory (give a key file)") from None
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot read ({exc.strerror or exc})") from None


def load_private_key(path: Path, flag: str = "--sign") -> Ed25519PrivateKey:
    """A private key written by ``yzt keygen``; refused when others may read it (as ssh does)."""
    data = _read_key_file(path, flag)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise UserError(f"{flag} {path}: the private key is readable by others (mode "
                        f"{path.stat().st_mode & 0o777:o}); run chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UserError(f"{flag} {path}: the key is encrypted; yzt reads unencrypted keys written "
                        "by yzt keygen (keep them at mode 0600 on the signing machine)") from None
    except (ValueError, binascii.Error):
        raise UserError(f"{flag} {path}: not a PEM private key (make one with yzt keygen --out "
                        "KEY; give KEY, not KEY.pub)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{flag} {path}: not an Ed25519 key (make one with yzt keygen --out KEY)")
    return key


def load_public_key(path: Path, flag: str = "--trust") -> PublicKey:
    """A public key (``KEY.pub`` of ``yzt keygen``, PEM)."""
    data = _read_key_file(path, flag)
    if b"PRIVATE KEY" in data:
        raise UserError(f"{flag} {path}: this is a private key; give its public key (KEY.pub)")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, binascii.Error):
        raise UserError(f"{flag} {path}: not a PEM public key (the KEY.pub that yzt keygen "
                        "wrote)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UserError(f"{flag} {path}: not an Ed25519 public key (make one with yzt keygen)")
    return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def sign(key: Ed25519PrivateKey, context: bytes, signs: str, data: bytes) -> bytes:
    """The signature document over ``context + data`` (``signs`` names what it signs)."""
    public = public_of(key)
    document = {"kind": "yzt-signature", "algorithm": "ed25519", "signs": signs,
                "key_fingerprint": public.fingerprint,
                "public_key": base64.b64encode(public.raw).decode("ascii"),
                "signature": base64.b64encode(key.sign(context + data)).decode("ascii")}
    return (json.dumps(document, indent=1) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Signature:
    """A parsed signature document: the key it names and the signature bytes."""

    key: PublicKey
    signature: bytes
    signs: str


def parse_signature(where: str, data: bytes) -> Signature:
    """Parse a signature document; :class:`InputFileError` names the bad field."""
    if len(data) > MAX_SIGNATURE_BYTES:
        raise InputFileError(where, [f"{len(data)} bytes: not a yzt signature (at most "
                                     f"{MAX_SIGNATURE_BYTES})"])
    try:
        doc: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(where, [f"not a yzt signature: not JSON ({exc})"]) from None
    if not isinstance(doc, dict):
        raise InputFileError(where, ["not a yzt signature: expected a JSON object"])
    problems = []
    if doc.get("kind") != "yzt-signature":
        problems.append("at kind: expected 'yzt-signature'")
    if doc.get("algorithm") != "ed25519":
        problems.append(f"at algorithm: {doc.get('algorithm')!r} is not 'ed25519'")
    raw: dict[str, bytes] = {}
    for field, size in (("public_key", 32), ("signature", 64)):
        value = doc.get(field)
        try:
            raw[field] = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
        except (ValueError, binascii.Error):
            raw[field] = b""
        if len(raw[field]) != size:
            problems.append(f"at {field}: expected {size} bytes in base64")
    if problems:
        raise InputFileError(where, problems)
    return Signature(PublicKey(raw["public_key"]), raw["signature"], str(doc.get("signs", "")))


def verify(where: str, signature_data: bytes, context: bytes, data: bytes,
           trusted: Sequence[PublicKey] | None) -> PublicKey:
    """Check a signature document over ``data``; return the signer's key.

    With ``trusted`` the signer must be one of those keys (an untrusted signer is refused by its
    fingerprint, before the signature is even checked); without, the key the document names is used,
    which shows only that the signed bytes were not changed after signing by whoever holds it.
    """
    sig = parse_signature(where, signature_data)
    if trusted is not None and sig.key not in trusted:
        raise UserError(f"{where}: signed by {sig.key.fingerprint}, a key not in the trust list "
                        f"(--trust: {', '.join(k.fingerprint for k in trusted) or 'none'})")
    if not sig.key.verify(sig.signature, context, data):
        raise UserError(f"{where}: the signature does not match (the signed file was changed after "
                        f"it was signed by {sig.key.fingerprint})")
    return sig.key
