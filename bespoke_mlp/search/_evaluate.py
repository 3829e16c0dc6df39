"""The batched evaluator: the golden model's arithmetic over a whole batch of decoded
candidates at once (equal to :func:`bespoke_mlp.ir.predict_codes` of each, bit for bit)."""

from __future__ import annotations

from functools import cache

import numpy as np
from threadpoolctl import ThreadpoolController

from ..ir import linear_form_arrays
from ._decoded import Decoded

__all__ = ["input_resolution", "predict_batch"]

#: Widest hidden activation evaluated by table look-up (a table has ``2**width`` rows per
#: candidate and input); wider ones go through bit planes.
_LOOKUP_MAX_WIDTH = 10


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
        if len(a) == 1:  # the input codes, shared by every candidate
            acc = _shared_matmul(_bit_table(width)[a[0]].reshape(len(a[0]), -1), coef)
        elif width <= _LOOKUP_MAX_WIDTH:
            acc = _lookup_sum(a, coef, width)
        else:
            acc = _exact_matmul(_bit_table(width)[a].reshape(*a.shape[:2], -1), coef)
        acc = acc + const[:, None, :]
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
    acc = _shared_matmul(bits, coef.reshape(len(coef), levels * n_features * width, -1))
    acc = acc + const[:, None, :]
    if len(d.lsb):
        acc = np.clip(acc >> d.lsb[0][:, None, :], 0, (1 << d.bits[0][:, None, :]) - 1)
    return acc


@cache
def _bit_table(width: int) -> np.ndarray:
    """``table[v, b]``: bit ``b`` of ``v`` as float64, for every ``v < 2**width``."""
    v = np.arange(1 << width)
    return ((v[:, None] >> np.arange(width)) & 1).astype(np.float64)


def _shared_matmul(bits: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``bits @ coef[p]`` for every candidate ``p``, ``(P, n, n_out)``, as one matrix product
    of the shared ``(n, m)`` bits with every candidate's ``(m, n_out)`` coefficients side by
    side (one large BLAS call instead of ``P`` thin ones; the same integers)."""
    n_cand, m, n_out = coef.shape
    side_by_side = np.moveaxis(coef, 0, 1).reshape(m, n_cand * n_out)
    # One BLAS thread: a product this size gains less from threads than they cost in CPU
    # (measured: 6200 instead of 8000 candidates per CPU-second on 2 threads).
    with _blas().limit(limits=1, user_api="blas"):
        acc = _exact_matmul(bits, side_by_side).reshape(len(bits), n_cand, n_out)
    return np.moveaxis(acc, 1, 0)


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _lookup_sum(a: np.ndarray, coef: np.ndarray, width: int) -> np.ndarray:
    """``bits(a[p]) @ coef[p]`` for per-candidate inputs ``a`` ``(P, n, n_in)`` (a hidden
    layer's activations): each input's share of the accumulators tabulated over its
    ``2**width`` values, then one look-up per input and sample. The same integers as the bit
    planes, without their ``(P, n, n_in * width)`` array (measured on Pendigits' hidden
    layer: 2.6 times less CPU).
    """
    n_cand, _, n_in = a.shape
    table = _exact_matmul(_bit_table(width), coef.reshape(n_cand, n_in, width, -1))
    rows = table.reshape(-1, table.shape[-1])  # row (p * n_in + i) * 2**width + v
    base = (np.arange(n_cand * n_in) << width).reshape(n_cand, n_in)
    acc = rows[a[:, :, 0] + base[:, :1]]
    for i in range(1, n_in):
        acc += rows[a[:, :, i] + base[:, i:i + 1]]
    return acc


def _exact_matmul(bits: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``bits @ coef`` for 0/1 float ``bits`` and integer ``coef``, through float64 BLAS.

    Exact: every partial sum is an integer of magnitude at most ``sum |coef|``, checked below
    2**53 (where float64 represents all integers); integer matmul has no BLAS and is many
    times slower.
    """
    if np.abs(coef).sum(axis=-2).max(initial=0) >= 2**53:
        return np.matmul(bits.astype(np.int64), coef)
    return np.rint(np.matmul(bits, coef.astype(np.float64))).astype(np.int64)
