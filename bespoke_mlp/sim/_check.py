"""Comparing simulated predictions with the golden model."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError, VerificationError

__all__ = ["check_agreement"]


def _as_integer_vector(values: np.ndarray, what: str, role: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise UsageError(f"{what}: {role} must be one-dimensional, got shape {arr.shape!r}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise UsageError(f"{what}: {role} must be integers, got dtype {arr.dtype!r}")
    return arr.astype(np.int64)


def check_agreement(
    predictions: np.ndarray,
    golden: np.ndarray,
    *,
    what: str,
    codes: np.ndarray | None = None,
    strict: bool = True,
) -> float:
    """Fraction of vectors whose prediction equals the golden class (exact integer equality).

    Parameters
    ----------
    predictions, golden:
        ``(n_vectors,)`` integer classes.
    what:
        What was checked, for the message (e.g. ``"gate netlist of cardio"``).
    codes:
        The ``(n_vectors, n_features)`` input codes, quoted for the first mismatch.
    strict:
        Raise on any disagreement (the default); with False just return the fraction.

    Raises
    ------
    VerificationError
        If ``strict`` and any vector disagrees: names ``what``, the number of mismatches, and
        the first mismatching vector's index, input codes, expected and simulated class.
    UsageError
        If the arrays are not integer vectors of equal length.
    """
    pred = _as_integer_vector(predictions, what, "predictions")
    gold = _as_integer_vector(golden, what, "golden")
    if pred.shape != gold.shape:
        raise UsageError(
            f"{what}: {pred.size} predictions but {gold.size} golden classes"
        )
    if codes is not None and len(codes) != pred.size:
        raise UsageError(f"{what}: {len(codes)} input vectors but {pred.size} predictions")
    mismatches = np.flatnonzero(pred != gold)
    agreement = 1.0 - mismatches.size / pred.size if pred.size else 1.0
    if strict and mismatches.size:
        first = int(mismatches[0])
        inputs = "" if codes is None else f", inputs {np.asarray(codes)[first].tolist()!r}"
        raise VerificationError(
            f"{what}: {mismatches.size} of {pred.size} vectors disagree with the golden model "
            f"(agreement {agreement:.4%}); first mismatch at vector {first}{inputs}: "
            f"expected {int(gold[first])!r}, got {int(pred[first])!r}"
        )
    return agreement
