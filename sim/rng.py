"""Common random numbers: one independent stream per owner (operator, gateway) and purpose.

A stream's seed is ``SeedSequence(seed, spawn_key=(replication, crc32("owner/purpose")))``, keyed
by name rather than by position, so that adding, removing or changing one operator leaves the draws
of every other owner untouched. Draws are buffered in numpy blocks: one Python call per draw, one
numpy call per 1024.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

_BLOCK = 1024


class Stream:
    """A buffered stream of uniform, standard-normal and standard-exponential variates."""

    __slots__ = ("_exp", "_ie", "_in", "_iu", "_norm", "_unif", "gen")

    def __init__(self, gen: np.random.Generator) -> None:
        self.gen = gen
        self._unif: list[float] = []
        self._norm: list[float] = []
        self._exp: list[float] = []
        self._iu = self._in = self._ie = 0

    def uniform(self) -> float:
        """U(0, 1)."""
        if self._iu >= len(self._unif):
            self._unif = self.gen.random(_BLOCK).tolist()
            self._iu = 0
        self._iu += 1
        return self._unif[self._iu - 1]

    def normal(self) -> float:
        """N(0, 1)."""
        if self._in >= len(self._norm):
            self._norm = self.gen.standard_normal(_BLOCK).tolist()
            self._in = 0
        self._in += 1
        return self._norm[self._in - 1]

    def exponential(self, mean: float) -> float:
        """Exponential with the given mean (``inf`` mean gives ``inf``)."""
        if math.isinf(mean):
            return math.inf
        if self._ie >= len(self._exp):
            self._exp = self.gen.standard_exponential(_BLOCK).tolist()
            self._ie = 0
        self._ie += 1
        return mean * self._exp[self._ie - 1]

    def lognormal(self, median: float, sigma: float) -> float:
        """Lognormal with the given median and log-standard deviation."""
        return median * math.exp(sigma * self.normal())


def stream_key(owner: str, purpose: str) -> int:
    """The stable integer naming a stream (CRC-32 of ``owner/purpose``)."""
    return zlib.crc32(f"{owner}/{purpose}".encode())


class Streams:
    """Factory of named streams for one replication of one seed."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._made: dict[tuple[str, str], Stream] = {}

    def generator(self, owner: str, purpose: str) -> np.random.Generator:
        """A fresh numpy Generator for ``owner``/``purpose`` (for vectorised draws)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stream_key(owner, purpose)))
        return np.random.Generator(np.random.PCG64(ss))

    def get(self, owner: str, purpose: str) -> Stream:
        """The buffered stream for ``owner``/``purpose`` (one per pair and replication)."""
        key = (owner, purpose)
        if key not in self._made:
            self._made[key] = Stream(self.generator(owner, purpose))
        return self._made[key]
