"""The operator's sandbox clock as the platform knows it: read from the operator, remembered,
never guessed from the HTTP ``Date`` header.

Protocol v1.3: the platform learns the sandbox clock only from a signed ``POST /v1/sandbox/clock``
``{"advance_seconds": 0}``, and after an advance it offsets everything it sends by the same amount.
That read is itself signed, so once someone moved the clock far ahead, a process that signs on
real time is refused (``401 timestamp_skew``) by the very endpoint that would tell it the time.
yzt closes the gap this way (docs/protocol-decisions.md, "The sandbox clock"):

* the offset is state of whoever moves the clock: a **clock memory** keeps, for each base URL and
  key id, the offset yzt last advanced to or read (:class:`ClockMemory`), so that the next command
  (a load test after a conformance run, a pasted reproduce command) finds the clock;
* :func:`discover_clock`, used by every command that signs, tries signed reads at candidate
  offsets in order: ``--clock-offset`` (or ``YZT_CLOCK_OFFSET``), the remembered offset, real time.
  A 200 fixes the offset exactly; a 404 means no sandbox clock (real time); skew at every candidate
  stops the run (exit 2) naming ``--clock-offset``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from yzt.errors import PreflightError, UserError

if TYPE_CHECKING:
    from yzt.client import Exchange, PlatformClient

#: Environment variables: the clock memory's folder, and an explicit offset (for CI jobs).
STATE_DIR_ENV = "YZT_STATE_DIR"
CLOCK_OFFSET_ENV = "YZT_CLOCK_OFFSET"
#: The path of the sandbox clock, and the signature window of OIF-AUTH-2 in seconds.
CLOCK_PATH = "/v1/sandbox/clock"
SKEW_WINDOW_S = 300
#: Largest offset accepted from a flag or the environment: 100 years, the sandbox's own horizon.
MAX_OFFSET_S = 100 * 365.25 * 86400
#: A 429/503 to a clock read is waited out (Retry-After, at most this long) and retried.
_RETRIES = 3
_MAX_WAIT_S = 2.0


class ClockSource(StrEnum):
    """Where the offset a run signs with came from."""

    #: a 200 from ``POST /v1/sandbox/clock {"advance_seconds": 0}``: exact
    READ = "read"
    #: a 404: the operator has no sandbox clock; signed on real time
    ABSENT = "absent"
    #: another answer (a 401 other than timestamp_skew, a 5xx, a 200 without ``now``)
    UNREADABLE = "unreadable"
    #: not asked (production profile, a replayed recording)
    NOT_READ = "not_read"


@dataclass(frozen=True)
class ClockReading:
    """The offset (operator's sandbox clock minus ours, in seconds) a run signs with, and how it
    was learnt; :meth:`note` is the line the run prints, with the offset to paste."""

    offset_s: float
    source: ClockSource
    #: what the endpoint answered (``404``, ``401 signature_invalid``) or why it was not asked
    detail: str = ""
    #: the ``now`` the clock endpoint gave (``READ`` only)
    sandbox_now: datetime | None = None
    exchanges: tuple[Exchange, ...] = ()

    def sandbox_time(self, ours: datetime) -> datetime | None:
        """The sandbox clock at our time ``ours``, as this reading places it (``READ`` only)."""
        if self.sandbox_now is None:
            return None
        return ours + timedelta(seconds=self.offset_s)

    def note(self) -> str:
        offset = f"{round(self.offset_s):+d} s"
        if self.source is ClockSource.READ:
            return f"sandbox clock: {offset} (read from POST {CLOCK_PATH})"
        if self.source is ClockSource.ABSENT:
            return f"no sandbox clock (POST {CLOCK_PATH} → {self.detail}): signed on real time"
        basis = "real time" if round(self.offset_s) == 0 else f"an offset of {offset}"
        if self.source is ClockSource.UNREADABLE:
            return f"sandbox clock not readable (POST {CLOCK_PATH} → {self.detail}): signed on {basis}"
        return f"sandbox clock not read ({self.detail}): signed on {basis}"


def not_read(reason: str, offset_s: float | None = None) -> ClockReading:
    """A reading for runs that must not ask (``reason`` says why); real time unless told."""
    return ClockReading(offset_s or 0.0, ClockSource.NOT_READ, reason)


# -- the clock memory ------------------------------------------------------------------------------
def state_dir() -> Path:
    """``$YZT_STATE_DIR``, else ``$XDG_STATE_HOME/yzt``, else ``~/.local/state/yzt``."""
    explicit = os.environ.get(STATE_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore a relative path
        return Path(xdg) / "yzt"
    return Path.home() / ".local" / "state" / "yzt"


def normal_url(base_url: str) -> str:
    """The base URL as remembered: no user info, lower-case host, no trailing slash."""
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class Remembered:
    offset_s: float
    #: when it was written (RFC 3339 UTC)
    at: str


class ClockMemory:
    """The offset of each (base URL, key id) yzt last advanced to or read, one small JSON file each.

    Files are mode 0600 in a 0700 folder and hold no personal data: the base URL, the key id, the
    offset in seconds and when it was written. A file that cannot be read or written is ignored
    (the run then relies on ``--clock-offset`` or real time; a failed write says so once on
    stderr); it never stops a run.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._warned = False

    @classmethod
    def default(cls) -> ClockMemory:
        return cls(state_dir())

    def path(self, base_url: str, key_id: str) -> Path:
        digest = hashlib.sha256(f"{normal_url(base_url)}\n{key_id}".encode()).hexdigest()[:20]
        return self.folder / f"clock-{digest}.json"

    def recall(self, base_url: str, key_id: str) -> Remembered | None:
        try:
            data = json.loads(self.path(base_url, key_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("base_url") != normal_url(base_url) \
                or data.get("key_id") != key_id:
            return None
        offset = data.get("offset_s")
        if isinstance(offset, bool) or not isinstance(offset, int | float) \
                or not math.isfinite(offset) or abs(offset) > MAX_OFFSET_S:
            return None
        return Remembered(float(offset), str(data.get("at", "")))

    def remember(self, base_url: str, key_id: str, offset_s: float) -> bool:
        """Write the offset atomically (a reader never sees half a file); False when it cannot."""
        record = {"base_url": normal_url(base_url), "key_id": key_id,
                  "offset_s": round(offset_s, 3),
                  "at": datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")}
        target = self.path(base_url, key_id)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".clock-", dir=self.folder)  # created 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(record, fh)
                    fh.write("\n")
                Path(tmp).replace(target)
            except BaseException:
                with contextlib.suppress(OSError):
                    Path(tmp).unlink()
                raise
        except OSError as exc:
            if not self._warned:  # once a process: the run goes on, but the next one may not find it
                self._warned = True
                print(f"yzt: cannot write the clock memory in {self.folder} ({exc.strerror or exc}); "
                      f"a later run may need --clock-offset {round(offset_s)}, or set "
                      f"{STATE_DIR_ENV} to a writable folder", file=sys.stderr)
            return False
        return True


# -- an explicit offset ----------------------------------------------------------------------------
def parse_offset(text: str, source: str) -> float:
    """Seconds from ``--clock-offset`` or ``YZT_CLOCK_OFFSET`` (``source`` names which)."""
    try:
        value = float(text.strip().removesuffix("s"))
    except ValueError:
        raise UserError(f"{source} {text!r} is not a number of seconds (e.g. 522000, the offset a "
                        "run printed as 'sandbox clock: +522000 s')") from None
    if not math.isfinite(value) or abs(value) > MAX_OFFSET_S:
        raise UserError(f"{source} must be a finite number of seconds within ±100 years, got {text!r}")
    return value


def explicit_offset(flag_value: float | None) -> float | None:
    """The offset given with ``--clock-offset``, else ``YZT_CLOCK_OFFSET``, else None."""
    if flag_value is not None:
        return flag_value
    env = os.environ.get(CLOCK_OFFSET_ENV, "").strip()
    return parse_offset(env, CLOCK_OFFSET_ENV) if env else None


# -- discovery -------------------------------------------------------------------------------------
def _sandbox_now(exchange: Exchange) -> datetime | None:
    from yzt.signing import parse_time

    body = exchange.json()
    now = body.get("now") if isinstance(body, dict) else None
    if exchange.status != 200 or not isinstance(now, str):
        return None
    try:
        return parse_time(now)
    except ValueError:
        return None


def _read(client: PlatformClient) -> Exchange:
    """One clock read; a 429/503 is waited out for its Retry-After and retried, like the platform."""
    exchange = client.advance_clock(0)
    for _ in range(_RETRIES):
        if exchange.status not in (429, 503):
            break
        try:
            wait = float(exchange.response_headers.get("retry-after", "1"))
        except ValueError:
            wait = 1.0
        time.sleep(min(max(wait, 0.05), _MAX_WAIT_S))
        exchange = client.advance_clock(0)
    return exchange


def _answer(exchange: Exchange) -> str:
    return " ".join(str(part) for part in (exchange.status, exchange.problem_code) if part)


def date_header_note(exchange: Exchange) -> str:
    """What the answer's Date header says against our clock: an explanation, never an offset."""
    value = exchange.response_headers.get("date")
    if not value:
        return "it sent no Date header"
    try:
        theirs = parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return f"its Date header {value!r} is not an HTTP date"
    apart = round((theirs - datetime.now(UTC)).total_seconds())
    return (f"its Date header says {theirs:%Y-%m-%d %H:%M:%S} UTC, {apart:+d} s from ours (the Date "
            "header carries no sandbox time, protocol v1.3; yzt never signs on it)")


def discover_clock(client: PlatformClient, *, explicit: float | None = None,
                   stop_unreachable: bool = True) -> ClockReading:
    """Find the offset to sign with and set ``client.clock_offset`` to it (see the module doc).

    Candidates, in order: ``explicit`` (``--clock-offset``/``YZT_CLOCK_OFFSET``), the offset the
    client's :class:`ClockMemory` remembers for its base URL and key id, then 0 (real time). A read
    that succeeds is remembered (by :meth:`PlatformClient.advance_clock`). Raises
    :class:`PreflightError` (exit 2) when the endpoint refuses every candidate for timestamp skew,
    or cannot be reached; with ``stop_unreachable=False`` (a load run, whose own requests judge the
    transport) a clock read without an answer signs on the first candidate instead.
    """
    memory: ClockMemory | None = getattr(client, "clock_memory", None)
    candidates: list[tuple[float, str]] = []
    if explicit is not None:
        candidates.append((explicit, f"--clock-offset {round(explicit):+d} s"))
    remembered = memory.recall(client.base_url, client.key_id) if memory else None
    if remembered is not None:
        candidates.append((remembered.offset_s, f"the remembered {round(remembered.offset_s):+d} s "
                                                f"(written {remembered.at})"))
    candidates.append((0.0, "real time"))
    unique: list[tuple[float, str]] = []
    for offset, label in candidates:
        if all(abs(offset - seen) >= 1.0 for seen, _ in unique):
            unique.append((offset, label))
    exchanges: list[Exchange] = []
    for offset, _label in unique:
        client.clock_offset = offset
        exchange = _read(client)
        exchanges.append(exchange)
        if exchange.error and stop_unreachable:
            raise PreflightError("clock", f"POST {CLOCK_PATH} to {client.base_url}: {exchange.error}")
        now = _sandbox_now(exchange)
        if now is not None:  # advance_clock has set the offset from ``now`` (and remembered it)
            return ClockReading(client.clock_offset, ClockSource.READ, "200", now, tuple(exchanges))
        if exchange.status == 404:
            client.clock_offset = 0.0
            return ClockReading(0.0, ClockSource.ABSENT, "404", None, tuple(exchanges))
        if exchange.status == 401 and exchange.problem_code == "timestamp_skew":
            continue
        client.clock_offset = unique[0][0]
        return ClockReading(unique[0][0], ClockSource.UNREADABLE,
                            _answer(exchange) or exchange.error or "no answer", None, tuple(exchanges))
    tried = ", ".join(label for _, label in unique)
    raise PreflightError("clock", (
        f"POST {CLOCK_PATH} answered 401 timestamp_skew to every offset tried ({tried}): the "
        "operator's sandbox clock was moved, and this machine does not know by how much (the clock "
        "read is itself signed). Pass --clock-offset SECONDS (or set YZT_CLOCK_OFFSET): the offset "
        "the run that moved the clock printed as 'sandbox clock: +N s'; or reset the sandbox's "
        f"clock. For the record, {date_header_note(exchanges[-1])}"))

