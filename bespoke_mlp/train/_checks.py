"""Validation of user-supplied training parameters (every failure is a UsageError)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ..errors import UsageError

__all__ = ["BIT_RANGES", "check_bits", "check_int", "check_hidden", "check_fraction", "check_bool",
           "check_feature_selection"]

#: Allowed widths: inputs (the IR's limit), signed weights (14 bits: the IR's coefficient limit
#: ±8192), hidden activation windows.
BIT_RANGES = {"input_bits": (1, 8), "weight_bits": (2, 14), "activation_bits": (1, 16)}


def check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    """``value`` as an ``int`` in ``lo..hi`` (``hi=None``: no upper bound)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < lo
        or (hi is not None and value > hi)
    ):
        bound = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise UsageError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def check_bits(kind: str, value: object, name: str | None = None) -> int:
    """A width of ``kind`` (a key of :data:`BIT_RANGES`), reported as ``name`` if given."""
    lo, hi = BIT_RANGES[kind]
    return check_int(name or kind, value, lo, hi)


def check_hidden(value: object) -> tuple[int, ...]:
    """Hidden layer sizes: a positive int or a non-empty sequence of positive ints."""
    sizes: Sequence[object]
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        sizes = (value,)
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0:
        sizes = value
    else:
        raise UsageError(
            f"hidden layer sizes must be a positive integer or a non-empty sequence of them, "
            f"got {value!r}"
        )
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise UsageError(f"hidden layer sizes must be positive integers, got {value!r}")
    return tuple(int(s) for s in sizes)


def check_fraction(name: str, value: object, *, allow_zero: bool) -> float:
    """A fraction in ``(0, 1)`` (or ``[0, 1)`` with ``allow_zero``)."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and (value >= 0 if allow_zero else value > 0)
        and value < 1
    )
    if not ok:
        bound = "[0, 1)" if allow_zero else "(0, 1)"
        raise UsageError(f"{name} must be a fraction in {bound}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def check_bool(name: str, value: object) -> bool:
    """A ``bool`` (numpy bools included)."""
    if not isinstance(value, bool | numbers.Integral) or value not in (0, 1):
        raise UsageError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_feature_selection(value: object) -> bool | None:
    """Feature selection during training: ``True``, ``False``, or ``None`` / ``"auto"``
    (automatic: wide datasets, see :func:`bespoke_mlp.train._wide.is_wide`)."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise UsageError(f"feature_selection must be 'auto', True or False, got {value!r}")
