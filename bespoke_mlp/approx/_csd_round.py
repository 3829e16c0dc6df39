"""Coefficient approximation: the nearest value with a bounded number of CSD digits."""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache

from ..ir import csd_weight

__all__ = ["nearest_csd", "MAX_DIGITS"]

#: A digit budget at or above this keeps every 8-bit-and-wider coefficient exact in practice.
MAX_DIGITS = 8
_LIMIT = 1 << 13


@lru_cache(maxsize=None)
def _values(k: int) -> tuple[int, ...]:
    return tuple(v for v in range(-_LIMIT, _LIMIT + 1) if csd_weight(v) <= k)


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
    if abs(value) >= _LIMIT:
        raise ValueError(f"coefficient {value!r} is outside ±{_LIMIT}")
    vals = _values(digits)
    i = bisect_left(vals, value)
    below, above = vals[i - 1], vals[i]
    db, da = value - below, above - value
    if db != da:
        return below if db < da else above
    return below if abs(below) < abs(above) else above
