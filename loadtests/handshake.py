"""How a load master and its workers prove to each other that they hold the run's secret.

Locust's master–worker channel (ZeroMQ) has no authentication of its own: anything that speaks its
protocol on the master's port is a worker, and anything a worker connects to is its master. A worker
trusting a false master would send signed requests about real subjects to a target of that master's
choosing; a master trusting a false worker would hand it the run's configuration and fixtures. So
both sides prove that they hold ``YZT_SECRET`` over nonces chosen by *both* sides, and the
configuration a worker accepts is bound to that exchange:

1. worker → master ``yzt_hello``: versions and a fresh worker nonce ``wn``;
2. master → worker ``yzt_challenge``: a fresh master nonce ``mn`` and ``mac("master", wn, mn)``;
3. the worker checks it (a false master cannot compute it for a nonce it never saw) and only then
   answers ``yzt_proof``: ``mac("worker", mn, wn)``;
4. the master checks it (a replayed proof was made for another ``mn``) and only then sends
   ``yzt_config``: the configuration, the fixture text and ``mac("config", wn, mn, config, fixtures)``.

The MAC key is derived from the secret with its own label, so no handshake value is ever a request
signature; comparisons are constant-time. The channel stays unencrypted (see docs/load.md).
Everything here is pure (no Locust), so it is unit-tested in the ordinary test process.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

#: Label of the handshake key: ``HMAC-SHA256(secret, LABEL)``; never the request-signing key itself.
KEY_LABEL = b"yzt load master-worker handshake v1"
#: A nonce: 32 lowercase hex digits (128 random bits).
_NONCE = re.compile(r"[0-9a-f]{32}")


def handshake_key(secret: bytes) -> bytes:
    """The key the handshake MACs use, derived from the run's secret under its own label."""
    return hmac.new(secret, KEY_LABEL, hashlib.sha256).digest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def is_nonce(value: object) -> bool:
    return isinstance(value, str) and _NONCE.fullmatch(value) is not None


def _mac(key: bytes, role: str, *parts: str | None) -> str:
    """HMAC-SHA256 over the role and the parts, each length-prefixed (no two inputs share bytes)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in (role, *parts):
        data = b"\xff" if part is None else part.encode("utf-8")  # None: no such part, not ""
        mac.update(len(data).to_bytes(8, "big") + data)
    return mac.hexdigest()


def master_proof(key: bytes, worker_nonce: str, master_nonce: str) -> str:
    return _mac(key, "master", worker_nonce, master_nonce)


def worker_proof(key: bytes, master_nonce: str, worker_nonce: str) -> str:
    return _mac(key, "worker", master_nonce, worker_nonce)


def config_mac(key: bytes, worker_nonce: str, master_nonce: str, config_text: str,
               fixtures_text: str | None) -> str:
    """Binds the configuration (and fixture text) a master sends to one exchange's two nonces."""
    return _mac(key, "config", worker_nonce, master_nonce,
                hashlib.sha256(config_text.encode("utf-8")).hexdigest(),
                None if fixtures_text is None else hashlib.sha256(fixtures_text.encode("utf-8")).hexdigest())


def matches(expected: str, given: object) -> bool:
    """Constant-time check of a MAC received from the other side (anything not a string fails)."""
    return isinstance(given, str) and hmac.compare_digest(expected.encode("ascii"),
                                                          given.encode("utf-8", "replace"))


def same_target(a: str, b: str) -> bool:
    """Whether two base URLs name the same endpoint (scheme and host compared case-insensitively, a
    trailing slash ignored)."""
    def norm(url: str) -> tuple[str, str, str]:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")

    return norm(a) == norm(b)
