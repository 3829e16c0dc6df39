"""Learned input quantizers: per feature and reduced resolution, the flash-ADC thresholds under
which the exact network keeps its predictions best (fitted on the train part only)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from ..errors import UsageError
from ..ir import Network, bit_planes, layer_linear_form, threshold_codes
from ..parallel import Executor, SerialExecutor

__all__ = ["learn_thresholds"]

logger = logging.getLogger(__name__)

#: Candidate cut points per feature (quantiles of the midpoints between train values).
_CANDIDATES = 48
#: Coordinate-search sweeps over each quantizer's thresholds.
_SWEEPS = 2


def learn_thresholds(net: Network, x_train: np.ndarray, codes_train: np.ndarray,
                     targets: np.ndarray, *, executor: Executor | None = None) -> Network:
    """``net`` with learned thresholds for every feature at 1..input_bits-1 bits.

    For each resolution ``r``, with every feature read at ``r`` bits, the features' thresholds
    are fitted one feature after another: coordinate search moves each of the ``2**r - 1``
    thresholds, starting from the uniform quantizer's, among cut points between the feature's
    train values, keeping the position under which ``net`` agrees most often with ``targets``
    (its own predictions, or labels) on ``x_train`` (ties keep the earlier position).
    ``x_train`` are raw train features, ``codes_train`` their codes; never the selection or
    test part. The resolutions are independent: they are fitted on ``executor`` (default:
    here, one after another), with the same result.
    A feature that is constant after quantization on the train part gets a warning.
    """
    x = np.asarray(x_train, dtype=np.float64)
    codes = np.asarray(codes_train, dtype=np.int64)
    if x.shape != codes.shape or x.shape[1] != net.n_features or not len(x):
        raise UsageError(f"learn_thresholds needs raw features and codes of shape (n, "
                         f"{net.n_features}), got {x.shape!r} and {codes.shape!r}")
    if not net.feature_min:
        raise UsageError("learning thresholds needs the network's feature range "
                         "(feature_min/feature_max)")
    for i in range(net.n_features):
        if len(np.unique(codes[:, i])) < 2:
            name = net.feature_names[i] if net.feature_names else f"x{i}"
            logger.warning("feature %r is constant after quantization on the train part "
                           "(every code %d): its ADC carries no information", name,
                           int(codes[0, i]))
    # The finest resolution first: it takes longest, the others fill the other workers.
    resolutions = list(range(net.input_bits - 1, 0, -1))
    fitted = (executor or SerialExecutor()).map(_resolution, resolutions,
                                                shared=(net, x, codes, np.asarray(targets)))
    by_bits = dict(zip(resolutions, fitted))
    out = tuple(tuple(by_bits[r][i] for r in sorted(by_bits)) for i in range(net.n_features))
    return dataclasses.replace(net, thresholds=out)


def _resolution(shared: tuple[Network, np.ndarray, np.ndarray, np.ndarray],
                r: int) -> list[tuple[float, ...]]:
    """Work unit: every feature's thresholds at ``r`` bits (see :func:`learn_thresholds`;
    ``shared`` is the network, raw features, codes and targets)."""
    net, x, codes, targets = shared
    bits = net.input_bits
    coef, const = layer_linear_form(net.layers[0], bits)
    values = bit_planes(np.arange(1 << bits)[:, None], bits)
    # tables[i][c]: feature i's contribution to the first layer at code c.
    tables = [values @ coef[i * bits:(i + 1) * bits] for i in range(net.n_features)]
    cuts = [_cut_points(x[:, i], net.feature_min[i], net.feature_max[i])
            for i in range(net.n_features)]
    # Every feature at r bits (as in a design that reads its inputs at r bits), starting from
    # the uniform quantizer; each feature's thresholds are fitted in turn.
    t = [np.sort(np.clip(_uniform_thresholds(net.feature_min[i], net.feature_max[i], r, bits),
                         cuts[i].min(), cuts[i].max()))
         for i in range(net.n_features)]
    current = np.stack([threshold_codes(x[:, i], t[i], bits) for i in range(net.n_features)],
                       axis=1)
    acc = bit_planes(current, bits) @ coef + const
    for i in range(net.n_features):
        rest = acc - tables[i][current[:, i]]
        t[i] = _fit(net, x[:, i], rest, tables[i], targets, cuts[i], t[i], r)
        current[:, i] = threshold_codes(x[:, i], t[i], bits)
        acc = rest + tables[i][current[:, i]]
    return [tuple(float(c) for c in ti) for ti in t]


def _cut_points(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    # The ADC spans [lo, hi]: values beyond it are clipped (they read as the end codes), so
    # a threshold never leaves the range.
    u = np.unique(np.clip(v, lo, hi))
    mids = (u[1:] + u[:-1]) / 2 if len(u) > 1 else np.array([(lo + hi) / 2])
    if len(mids) > _CANDIDATES:
        mids = np.unique(mids[np.rint(np.linspace(0, len(mids) - 1, _CANDIDATES)).astype(int)])
    return mids


def _uniform_thresholds(lo: float, hi: float, r: int, bits: int) -> np.ndarray:
    """The raw values where the top ``r`` bits of the uniform code step up."""
    top = (1 << bits) - 1
    steps = np.arange(1, 1 << r) << (bits - r)
    return lo + (hi - lo) * (steps - 0.5) / top


def _fit(net: Network, v: np.ndarray, rest: np.ndarray, table: np.ndarray,
         targets: np.ndarray, cuts: np.ndarray, t: np.ndarray, r: int) -> np.ndarray:
    """Coordinate search over one feature's thresholds ``t`` at ``r`` bits."""
    t = t.copy()
    for _ in range(_SWEEPS):
        for j in range(len(t)):
            low = t[j - 1] if j else -np.inf
            high = t[j + 1] if j + 1 < len(t) else np.inf
            options = np.concatenate([[t[j]], cuts[(cuts >= low) & (cuts <= high)]])
            trials = np.repeat(t[None], len(options), axis=0)
            trials[:, j] = options
            score = _agreement(net, v, rest, table, targets, trials, r)
            t = trials[int(np.argmax(score))]
    return t


def _agreement(net: Network, v: np.ndarray, rest: np.ndarray, table: np.ndarray,
               targets: np.ndarray, trials: np.ndarray, r: int) -> np.ndarray:
    """Agreement with ``targets`` of the network with one feature coded through each row of
    ``trials`` (thresholds at ``r`` bits)."""
    codes = np.stack([threshold_codes(v, t, net.input_bits) for t in trials])  # (C, n)
    acc = rest[None] + table[codes]
    pred = _tail(net, acc.reshape(-1, acc.shape[-1])).reshape(len(trials), -1)
    return (pred == targets[None]).mean(axis=1)


def _tail(net: Network, acc: np.ndarray) -> np.ndarray:
    """Classes from the first layer's accumulators (the golden model's remaining layers)."""
    for k, layer in enumerate(net.layers):
        if k:
            coef, const = layer_linear_form(layer, max(net.input_widths(k)))
            acc = bit_planes(acc, max(net.input_widths(k))) @ coef + const
        if layer.activation is not None:
            lsb = np.array([w.lsb for w in layer.activation], dtype=np.int64)
            hi = np.array([(1 << w.bits) - 1 for w in layer.activation], dtype=np.int64)
            acc = np.clip(acc >> lsb, 0, hi)
    return np.argmax(acc >> net.argmax_shift, axis=1)
