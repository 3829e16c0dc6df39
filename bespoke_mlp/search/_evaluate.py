"""The batched evaluator: the golden model's arithmetic over a whole batch of decoded
candidates at once (equal to :func:`bespoke_mlp.ir.predict_codes` of each, bit for bit)."""

from __future__ import annotations

from functools import cache

import numpy as np

from ..ir import linear_form_arrays
from ._decoded import Decoded

__all__ = ["predict_batch"]


def predict_batch(d: Decoded, codes: np.ndarray) -> np.ndarray:
    """Class indices ``(P, n_samples)`` of decoded candidates (the golden model's
    arithmetic, batched)."""
    a = np.asarray(codes, dtype=np.int64)[None]
    for k in range(len(d.weights)):
        width = d.widths[k]
        coef, const = linear_form_arrays(d.weights[k], d.masks[k], d.truncation[k],
                                         d.biases[k], width)
        bits = _bit_table(width)[a].reshape(*a.shape[:2], -1)
        acc = _exact_matmul(bits, coef) + const[:, None, :]
        if k < len(d.lsb):
            acc = np.clip(acc >> d.lsb[k][:, None, :], 0, (1 << d.bits[k][:, None, :]) - 1)
        a = acc
    return np.argmax(a >> d.argmax_shift[:, None, None], axis=2)


@cache
def _bit_table(width: int) -> np.ndarray:
    """``table[v, b]``: bit ``b`` of ``v`` as float64, for every ``v < 2**width``."""
    v = np.arange(1 << width)
    return ((v[:, None] >> np.arange(width)) & 1).astype(np.float64)


def _exact_matmul(bits: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``bits @ coef`` for 0/1 float ``bits`` and integer ``coef``, through float64 BLAS.

    Exact: every partial sum is an integer of magnitude at most ``sum |coef|``, checked below
    2**53 (where float64 represents all integers); integer matmul has no BLAS and is many
    times slower.
    """
    if np.abs(coef).sum(axis=-2).max(initial=0) >= 2**53:
        return np.matmul(bits.astype(np.int64), coef)
    return np.rint(np.matmul(bits, coef.astype(np.float64))).astype(np.int64)
