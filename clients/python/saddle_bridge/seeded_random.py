"""A port of the daemon's ``SeededRandom`` (Sources/SaddleMath/SeededRandom.swift): xoshiro256**
seeded through SplitMix64, so the bridge draws the same numbers as saddled for the same seed.

Only what the bridge needs: ``next`` (64-bit words), ``uniform`` and the Rademacher probes of
Hutchinson's trace estimator (a probe entry is -1 when the top bit of ``next()`` is 0, else +1;
Sources/SaddleCurvature/Hutchinson.swift draws each probe's n entries one after another). Pure
Python: about a microsecond per entry, so a probe of a million-parameter model takes about a second.
"""

from __future__ import annotations

from typing import List

__all__ = ["SeededRandom"]

_MASK = (1 << 64) - 1


class SeededRandom:
    """xoshiro256** with its state seeded by SplitMix64 from a 64-bit ``seed`` (reduced modulo 2⁶⁴)."""

    def __init__(self, seed: int):
        x = int(seed) & _MASK
        state = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & _MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
            state.append(z ^ (z >> 31))
        self._s = state

    def next(self) -> int:
        """The next 64-bit word, as an unsigned int."""
        s0, s1, s2, s3 = self._s
        m = (s1 * 5) & _MASK
        result = ((((m << 7) | (m >> 57)) & _MASK) * 9) & _MASK
        t = (s1 << 17) & _MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & _MASK
        self._s = [s0, s1, s2, s3]
        return result

    def uniform(self) -> float:
        """Uniform in [0, 1) with 53 random bits (the daemon's ``uniform()``)."""
        return (self.next() >> 11) * (1.0 / (1 << 53))

    def rademacher(self) -> float:
        """±1.0 with equal probability: -1 when the top bit of ``next()`` is 0."""
        return -1.0 if (self.next() >> 63) == 0 else 1.0

    def rademacher_vector(self, n: int) -> List[float]:
        """``n`` successive :meth:`rademacher` draws (one Hutchinson probe), with the loop inlined."""
        s0, s1, s2, s3 = self._s
        out = [0.0] * n
        mask = _MASK
        for i in range(n):
            # Only the top bit of the output is used: rotl(s1*5, 7)*9 mod 2^64, bit 63.
            m = (s1 * 5) & mask
            result = ((((m << 7) | (m >> 57)) & mask) * 9) & mask
            out[i] = 1.0 if result >> 63 else -1.0
            t = (s1 << 17) & mask
            s2 ^= s0
            s3 ^= s1
            s1 ^= s2
            s0 ^= s3
            s2 ^= t
            s3 = ((s3 << 45) | (s3 >> 19)) & mask
        self._s = [s0, s1, s2, s3]
        return out
