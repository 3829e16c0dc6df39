"""Canonical signed-digit (CSD) recoding of integer coefficients."""

from __future__ import annotations

import operator

__all__ = ["CSD_LIMIT", "csd_digits", "csd_weight"]

#: Coefficients within ±CSD_LIMIT are what the CSD lookup tables (golden model, rounding)
#: cover; 8-bit weights narrowed by a few bits stay far inside.
CSD_LIMIT = 1 << 13


def csd_digits(value: int) -> tuple[tuple[int, int], ...]:
    """Recode ``value`` in canonical signed digits.

    Returns a tuple of ``(sign, exponent)`` pairs, lowest exponent first, with ``sign`` in
    {+1, -1} and no two adjacent exponents, such that ``sum(s << e) == value``. The
    representation has the minimum number of nonzero digits (non-adjacent form).

    Examples
    --------
    >>> csd_digits(7)
    ((-1, 0), (1, 3))
    >>> csd_digits(-3)
    ((1, 0), (-1, 2))
    """
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"CSD recoding needs an integer, not {value!r}") from None
    digits = []
    exponent = 0
    while value:
        if value & 1:
            sign = 1 if value & 3 == 1 else -1
            digits.append((sign, exponent))
            value -= sign
        value >>= 1
        exponent += 1
    return tuple(digits)


def csd_weight(value: int) -> int:
    """Number of nonzero CSD digits of ``value`` (the adders a bespoke multiplier needs)."""
    return len(csd_digits(value))
