"""Distinct values by construction: a keyed permutation of record indexes.

Record i of a unique field gets permute(i) (a pseudorandom bijection of [0, domain)), so
`count` records get `count` distinct values, each a pure function of (seed, field, i): the same
whatever the chunking, the worker count or the retries. An 8-round Feistel network permutes
[0, 2**bits); cycle-walking (permuting again while the result is outside the domain) restricts
it to any domain, and takes fewer than 4 rounds on average since 2**bits < 4 * domain.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

_ROUNDS: Final = 8
_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_MIX1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX2: Final = np.uint64(0x94D049BB133111EB)


def _round_keys(key: tuple[int, ...]) -> NDArray[np.uint64]:
    state = np.random.SeedSequence(list(key)).generate_state(_ROUNDS, dtype=np.uint64)
    return state.astype(np.uint64)


def mix64(x: NDArray[np.uint64], key: np.uint64) -> NDArray[np.uint64]:
    """A keyed hash of each word: splitmix64's finaliser, every output bit depending on every
    input bit."""
    z = (x + key) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _feistel(x: NDArray[np.uint64], half: int, keys: NDArray[np.uint64]) -> NDArray[np.uint64]:
    mask = np.uint64((1 << half) - 1)
    shift = np.uint64(half)
    left, right = x >> shift, x & mask
    for k in keys:
        left, right = right, left ^ (mix64(right, k) & mask)
    return (left << shift) | right


def permute(index: NDArray[np.int64], domain: int, key: tuple[int, ...]) -> NDArray[np.uint64]:
    """The images of index (each in [0, domain)) under the permutation of [0, domain) named by
    key. Indexes at or past the domain wrap around (they are the padding of a last block)."""
    if not 1 <= domain <= 2**64:
        raise ValueError(f"domain must be in [1, 2**64], got {domain}")
    bits = max(2, (domain - 1).bit_length())
    bits += bits & 1
    keys = _round_keys(key)
    x = index.astype(np.uint64)
    if domain < 2**64:
        x %= np.uint64(domain)
    with np.errstate(over="ignore"):
        x = _feistel(x, bits // 2, keys)
        if domain < 2**64:
            limit = np.uint64(domain)
            outside = x >= limit
            while outside.any():
                x[outside] = _feistel(x[outside], bits // 2, keys)
                outside = x >= limit
    return x


def digit_count(domain: int, base: int) -> int:
    """Digits in base `base` that write every number below domain (none for a domain of one)."""
    if domain <= 1:
        return 0
    digits, reach = 1, base
    while reach < domain:
        digits, reach = digits + 1, reach * base
    return digits


def digits(values: NDArray[np.uint64], base: int, width: int) -> NDArray[np.int64]:
    """values written in base `base` with `width` digits, most significant first: (n, width)."""
    out = np.empty((len(values), width), dtype=np.int64)
    rest = values.copy()
    b = np.uint64(base)
    for column in range(width - 1, -1, -1):
        out[:, column] = (rest % b).astype(np.int64)
        rest //= b
    return out
