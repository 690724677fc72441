"""The fast engine's kernel interface: the codes its kernels exchange with their callers and the
records they take, each named once.

:mod:`yzt.sim.fastqueue` holds the numba kernels, :mod:`yzt.sim.fast` calls them. Both read the
names below; neither writes a bare outcome code, flag bit or status. The codes are plain ``int``
constants (numba reads a module-level int as a compile-time constant; an ``IntEnum`` member does
not unify with ``int64`` inside the kernels' heap tuples). The records are ``NamedTuple`` classes,
which numba passes to a kernel as one typed argument (arrays inside are shared, not copied); the
callers build them by field name.

numba freezes these values into the compiled kernels, and its on-disk cache is keyed on
``sim/fastqueue.py`` alone: :func:`yzt.sim.fastqueue.check_cache` (run before the first kernel)
checks that the cached kernels were compiled with the codes below and recompiles them otherwise.
A record's fields are read by position in compiled code: add fields, rename them with their uses,
but do not reorder fields of the same type without touching ``sim/fastqueue.py``.

This module imports no numba, so the SimPy model reads the shared model constant from here too.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import NamedTuple

import numpy as np


def lazy_kernels() -> ModuleType:
    """:mod:`yzt.sim.fastqueue`, loaded on its first attribute access.

    Importing numba costs about 0.3 CPU-seconds; every process that reads the stage registry (each
    ``yzt check``/``conform``/``load`` that writes a report, for the stages' words) would pay it
    without running a kernel. Callers bind it under ``if not TYPE_CHECKING`` so that type checkers
    still see the real module.
    """
    name = "yzt.sim.fastqueue"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:  # pragma: no cover - the package is installed whole
        raise ImportError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


# -- model constants shared by both engines --------------------------------------------------------
CALLBACK_AFTER_OPENING_MEAN_S = 600.0
"""A caller who finds the hotline closed calls when it opens, plus an exponential delay of this
mean (10 minutes): callers do not all dial at the opening second."""

# -- the outcome of one operator call (fan-out node) ---------------------------------------------
OUTCOME_OK = 0
OUTCOME_ERROR = 1
"""An error answer after the latency (probability ``failure_ratio``)."""
OUTCOME_TIMEOUT = 2
"""The latency passed ``timeout_s``; the connection was held for the whole timeout."""
OUTCOME_OUTAGE = 3
"""The call started during an outage (refused, or hung until the timeout)."""

# -- an outage's mode (``NodeParams.outage_mode``) -------------------------------------------------
OUTAGE_TIMES_OUT = 0
"""Calls hang until ``timeout_s``."""
OUTAGE_REFUSES = 1
"""Calls are refused after ``refuse_s``."""

# -- flag bits of a hotline call (``StationJobs.flags`` in, ``StationOutputs.job_flags`` out) ----
FLAG_REPEAT = 1
"""A repeat call by a caller who was served before."""
FLAG_FROM_PLATFORM = 2
"""A caller sent by the platform's reply (not background traffic)."""
FLAG_ABANDONED = 4
"""Set by the kernel: the caller hung up before a server came (out only)."""

# -- a kernel's status (``F_STATUS``/``S_STATUS`` of its output vector) -------------------------
# A kernel that runs out of random draws (or of output room) stops and says which; the caller draws
# a longer prefix of that stream (the prefix it read is unchanged) and runs it again.
DONE = 0
"""Every job was processed."""

NODE_SHORT_LATENCY = 1
"""Fan-out node: out of latency draws (or of room for durations, sized like them)."""
NODE_SHORT_FAILURE = 2
"""Fan-out node: out of failure draws."""
NODE_SHORT_BACKOFF = 3
"""Fan-out node: out of back-off jitter draws."""
NODE_SHORT: dict[int, str] = {
    NODE_SHORT_LATENCY: "latency",
    NODE_SHORT_FAILURE: "failure",
    NODE_SHORT_BACKOFF: "backoff",
}
"""Fan-out status → the :class:`NodeDraws` field that ran short."""

GATEWAY_SHORT_FAILURE = 1
"""SMS gateway: out of submit-failure draws."""
GATEWAY_SHORT_DELIVERY = 2
"""SMS gateway: out of delivery-delay draws."""

STATION_SHORT_PATIENCE = 1
STATION_SHORT_JOBS = 2
"""Staffed station: the per-job output arrays are full (repeat calls added jobs)."""
STATION_SHORT_SERVICE = 3
STATION_SHORT_REPEAT_U = 4
STATION_SHORT_REPEAT_E = 5
STATION_SHORT_OFFSET = 6
STATION_SHORT: dict[int, str] = {
    STATION_SHORT_PATIENCE: "patience",
    STATION_SHORT_SERVICE: "service",
    STATION_SHORT_REPEAT_U: "repeat_u",
    STATION_SHORT_REPEAT_E: "repeat_e",
    STATION_SHORT_OFFSET: "offset",
}
"""Station status → the :class:`StationDraws` field that ran short (``STATION_SHORT_JOBS`` is
not a draw: the caller gives more room for jobs)."""


# -- records ----------------------------------------------------------------------------------------
class Clock(NamedTuple):
    """The run's end and the time series' sample step, shared by every kernel."""

    end_s: float
    """Nothing starts at or after this time; work in progress counts up to it."""
    step_s: float
    """Time-series sample interval."""


class NodeParams(NamedTuple):
    """One fan-out node (an operator or one provincial node of a carrier)."""

    deadline_s: float
    """A query's reply deadline after its verification: no retry starts after it."""
    servers: int
    """Connections (FCFS); <= 0: no limit."""
    latency_median_s: float
    latency_sigma: float
    timeout_s: float
    failure_ratio: float
    refuse_s: float
    """How long a call refused during an outage takes."""
    outage_start_s: np.ndarray
    outage_end_s: np.ndarray
    outage_mode: np.ndarray
    """Per outage: ``OUTAGE_REFUSES`` or ``OUTAGE_TIMES_OUT`` (int64)."""
    backoff_initial_s: float
    backoff_factor: float
    backoff_max_s: float
    jitter: float
    max_attempts: int
    """0: no limit."""


class NodeDraws(NamedTuple):
    """A node's random draws, prefixes of its keyed streams, consumed in the SimPy order."""

    latency: np.ndarray
    """Standard normal, one per call not in an outage."""
    failure: np.ndarray
    """Uniform, one per call within the timeout."""
    backoff: np.ndarray
    """Uniform jitter, one per failed call (when ``jitter`` is not 0)."""


class NodeOutputs(NamedTuple):
    """Where a node writes: time-series increments and per-query answers (filled by the kernel)."""

    inc_queue: np.ndarray
    inc_busy: np.ndarray
    done_max: np.ndarray
    """Per query: the latest final answer time (start at -inf)."""
    done_fail: np.ndarray
    """Per query: the node gave up (bool)."""
    done_nd: np.ndarray
    """Per query: an answer (or try) fell after the end of the run (bool)."""
    durations: np.ndarray
    """Successful calls' latencies, when ``keep_durations``."""
    keep_durations: bool


class GatewayParams(NamedTuple):
    """The SMS gateway."""

    channels: int
    submit_s: float
    """One submit's duration on a channel."""
    failure_ratio: float
    retry_s: float
    """A failed submit re-enters after this long."""
    delivery_median_s: float
    delivery_sigma: float


class GatewayDraws(NamedTuple):
    failure: np.ndarray
    """Uniform, one per submit."""
    delivery: np.ndarray
    """Standard normal, one per delivered message."""


class GatewayOutputs(NamedTuple):
    inc_backlog: np.ndarray
    delivered: np.ndarray
    """Per query: delivery time (NaN: not delivered)."""
    order_query: np.ndarray
    """Delivered queries in submit-finish order."""
    order_finish: np.ndarray
    """Their submit finish times."""


class StationJobs(NamedTuple):
    """A staffed station's arrivals, sorted by time."""

    arrival: np.ndarray
    flags: np.ndarray
    """``FLAG_*`` bits (int64)."""
    scale: np.ndarray
    """Service of the job is its service draw times this."""


class StationParams(NamedTuple):
    """A staffed station (hotline or back office)."""

    shift_start_s: np.ndarray
    """Servers as a step function: breakpoints ..."""
    shift_servers: np.ndarray
    """... and the count from each one on."""
    patience_mean_s: float
    """Exponential patience (inf: none)."""
    repeat_share: float
    """Share of served callers who call again."""
    repeat_delay_mean_s: float
    callback_mean_s: float
    """A repeat caller who finds the station closed calls after the opening plus an exponential
    delay of this mean (:data:`CALLBACK_AFTER_OPENING_MEAN_S` for hotlines)."""


class StationDraws(NamedTuple):
    """A station's random draws (the field names are :data:`STATION_SHORT`'s values)."""

    patience: np.ndarray
    service: np.ndarray
    repeat_u: np.ndarray
    repeat_e: np.ndarray
    offset: np.ndarray


class StationOutputs(NamedTuple):
    """Time-series increments and, per processed job in arrival order, its fate."""

    inc_queue: np.ndarray
    inc_busy: np.ndarray
    job_id: np.ndarray
    """Input index (-1: a repeat call)."""
    job_arrival: np.ndarray
    job_start: np.ndarray
    """inf: not started."""
    job_leave: np.ndarray
    """Finish, abandonment time, or inf."""
    job_flags: np.ndarray
    """``FLAG_*`` bits, ``FLAG_ABANDONED`` added by the kernel."""
