"""Keyed random numbers: every draw is a pure function of (seed, purpose, entity, index).

Keying draws by what they are for, not by the order they are made in, gives three properties the
engine relies on: a run rebuilt from a snapshot draws exactly what a straight run draws; serial
and parallel replications agree; and changing one unit's orders leaves every other unit's draws
untouched (common random numbers across the COAs being compared).

A draw's key is a stream (seed, purpose, entity...) and an index within it (scan, leg, wave).
The stream's 64-bit key is hashed once (BLAKE2b) and cached; the index-th draw is SplitMix64's
output for that index (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
OOPSLA 2014), a counter-based generator, so any draw is computed directly without its neighbours.
"""

from __future__ import annotations

import functools
import hashlib
import random
import struct
from typing import SupportsFloat

__all__ = ["key_seed", "keyed_rng", "keyed_uniform", "keyed_word", "splitmix64", "stream_key"]

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64 increment: 2^64 / golden ratio, odd


def key_seed(seed: int, *key: object) -> int:
    """A 64-bit integer derived from a seed and a key of strings and numbers."""
    digest = hashlib.blake2b(repr((seed, key)).encode(), digest_size=8).digest()
    return struct.unpack("<Q", digest)[0]


@functools.lru_cache(maxsize=1 << 16)
def _stream_key(seed: int, stream: tuple) -> int:
    return key_seed(seed, *stream)


def stream_key(seed: int, *stream: object) -> int:
    """The key of a stream of draws: `keyed_word(seed, *stream, i)` is
    `splitmix64(stream_key(seed, *stream), i)` for an integer index i >= 0."""
    return _stream_key(seed, stream)


def _index_word(index: object) -> int:
    """A draw's index as a 64-bit word: integers as they are, floats by their bits."""
    if isinstance(index, int):
        return index & _MASK64
    if not isinstance(index, SupportsFloat):
        raise TypeError(f"a draw's index must be a number, not {index!r}")
    return struct.unpack("<Q", struct.pack("<d", float(index)))[0]


def splitmix64(state: int, index: int) -> int:
    """Output `index` (0-based) of SplitMix64 started from `state`, computed directly."""
    z = (state + (index + 1) * _GOLDEN) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def keyed_word(seed: int, *key: object) -> int:
    """A 64-bit draw: the last element of `key` indexes a draw within the stream the rest
    names."""
    *stream, index = key
    return splitmix64(_stream_key(seed, tuple(stream)), _index_word(index))


def keyed_uniform(seed: int, *key: object) -> float:
    """One uniform draw in (0, 1) for this key (see `keyed_word`)."""
    return (keyed_word(seed, *key) + 0.5) / (_MASK64 + 1)


def keyed_rng(seed: int, *key: object) -> random.Random:
    """A Python random stream for this key (fast scalar draws)."""
    return random.Random(keyed_word(seed, *key))
