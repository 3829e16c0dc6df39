"""Coefficient approximation: the nearest value with a bounded number of CSD digits."""

from __future__ import annotations

from bisect import bisect_left
from functools import cache

import numpy as np

from ..ir import CSD_LIMIT, csd_weight

__all__ = ["nearest_csd", "nearest_csd_table", "MAX_DIGITS", "CSD_LIMIT"]

#: A digit budget at or above this keeps every 8-bit-and-wider coefficient exact in practice.
MAX_DIGITS = 8


@cache
def _values(k: int) -> tuple[int, ...]:
    return tuple(v for v in range(-CSD_LIMIT, CSD_LIMIT + 1) if csd_weight(v) <= k)


def nearest_csd(value: int, digits: int) -> int:
    """The integer nearest to ``value`` with at most ``digits`` nonzero CSD digits.

    ``digits = 0`` prunes the coefficient (returns 0); ``digits = 1`` gives the nearest signed
    power of two. Ties go to the smaller magnitude (the cheaper, safer choice).
    """
    if digits < 0:
        raise ValueError(f"digit budget must be >= 0, not {digits!r}")
    if digits == 0 or value == 0:
        return 0
    if csd_weight(value) <= digits:
        return value
    if abs(value) >= CSD_LIMIT:
        raise ValueError(f"coefficient {value!r} is outside ±{CSD_LIMIT}")
    vals = _values(digits)
    i = bisect_left(vals, value)
    below, above = vals[i - 1], vals[i]
    db, da = value - below, above - value
    if db != da:
        return below if db < da else above
    return below if abs(below) < abs(above) else above


@cache
def nearest_csd_table(digits: int) -> np.ndarray:
    """``table[w + CSD_LIMIT] == nearest_csd(w, digits)`` for every ``|w| <= CSD_LIMIT``."""
    w = np.arange(-CSD_LIMIT, CSD_LIMIT + 1, dtype=np.int64)
    if digits == 0:
        return np.zeros_like(w)
    vals = np.array(_values(digits), dtype=np.int64)
    i = np.clip(np.searchsorted(vals, w), 1, len(vals) - 1)
    below, above = vals[i - 1], vals[i]
    exact = vals[np.clip(np.searchsorted(vals, w), 0, len(vals) - 1)] == w
    db, da = w - below, above - w
    pick_below = (db < da) | ((db == da) & (np.abs(below) < np.abs(above)))
    out = np.where(pick_below, below, above)
    out = np.where(exact, w, out)
    out[w == 0] = 0
    return out
