"""The batched evaluator: the golden model's arithmetic over a whole batch of decoded
candidates at once (equal to :func:`bespoke_mlp.ir.predict_codes` of each, bit for bit)."""

from __future__ import annotations

from functools import cache

import numpy as np

from ..ir import linear_form_arrays
from ._decoded import Decoded

__all__ = ["input_resolution", "predict_batch"]


def input_resolution(d: Decoded) -> np.ndarray:
    """Bits each candidate reads of each feature ``(P, n_features)``, 0 when unused: down to
    the lowest bit a live neuron's mask reads (:attr:`bespoke_mlp.ir.Network.feature_resolution`
    of the network the candidate stands for, whose removed neurons are gone)."""
    masks = np.where(d.alive[0][:, :, None] & (d.weights[0] != 0), d.masks[0], 0)
    union = np.bitwise_or.reduce(masks, axis=1)
    low = union & -union
    trailing = np.log2(np.maximum(low, 1)).astype(np.int64)
    return np.where(union == 0, 0, d.widths[0] - trailing)


def predict_batch(d: Decoded, codes: np.ndarray) -> np.ndarray:
    """Class indices ``(P, n_samples)`` of decoded candidates (the golden model's
    arithmetic, batched; removed outputs never win). ``codes`` are input codes
    ``(n, n_features)`` or resolution codes ``(n, input_bits, n_features)`` (see
    :func:`bespoke_mlp.ir.network_codes`): then each candidate reads every feature at its own
    resolution."""
    a, first = np.asarray(codes, dtype=np.int64), 0
    if a.ndim == 3:
        a, first = _first_layer(d, a), 1
    else:
        a = a[None]
    for k in range(first, len(d.weights)):
        width = d.widths[k]
        coef, const = linear_form_arrays(d.weights[k], d.masks[k], d.truncation[k],
                                         d.biases[k], width)
        bits = _bit_table(width)[a].reshape(*a.shape[:2], -1)
        acc = _exact_matmul(bits, coef) + const[:, None, :]
        if k < len(d.lsb):
            acc = np.clip(acc >> d.lsb[k][:, None, :], 0, (1 << d.bits[k][:, None, :]) - 1)
        a = acc
    v = a >> d.argmax_shift[:, None, None]
    # A removed output takes no part: below every value a live one can take.
    v = np.where(d.alive[-1][:, None, :], v, v.min(initial=0) - 1)
    return d.output_classes[np.argmax(v, axis=2)]


def _first_layer(d: Decoded, codes: np.ndarray) -> np.ndarray:
    """The first layer's output ``(P, n, n_out)`` on resolution codes: every resolution's code
    bits side by side, each candidate's coefficients in the block of its resolution."""
    width = d.widths[0]
    n, levels, n_features = codes.shape
    coef, const = linear_form_arrays(d.weights[0], d.masks[0], d.truncation[0], d.biases[0],
                                     width)
    res = input_resolution(d)
    res = np.where(res == 0, levels, res)
    pick = res[:, None, :] == np.arange(1, levels + 1)[None, :, None]  # (P, levels, F)
    coef = coef.reshape(len(coef), 1, n_features, width, -1) * pick[:, :, :, None, None]
    bits = _bit_table(width)[codes].reshape(n, -1)
    acc = _exact_matmul(bits[None], coef.reshape(len(coef), levels * n_features * width, -1))
    acc = acc + const[:, None, :]
    if len(d.lsb):
        acc = np.clip(acc >> d.lsb[0][:, None, :], 0, (1 << d.bits[0][:, None, :]) - 1)
    return acc


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
