"""Hardware cost features of decoded candidates: the inputs of the calibrated cost model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ir import (
    SEQUENTIAL_COST_FEATURES,
    linear_form_arrays,
    partial_product_counts,
    trailing_zeros,
)
from ._decoded import Decoded, signed_widths
from ._evaluate import input_resolution

__all__ = ["COST_FEATURES", "SEQUENTIAL_COST_FEATURES", "adc_comparator_counts",
           "cost_features", "sequential_cost_features"]

#: Names of the columns of :func:`cost_features`. Adder, activation and argmax bits were fitted
#: beside them and got zero weight at every calibration (they grow with the partial products).
COST_FEATURES = ("partial_product_bits",)


def cost_features(d: Decoded) -> np.ndarray:
    """Hardware features of each candidate, ``(P, len(COST_FEATURES))``.

    Partial-product bits (the compressor trees' inputs). Only live logic counts: removed
    neurons, and hidden neurons whose window never opens (or is always saturated), are
    constants; so are the connections they feed, which synthesis removes.
    """
    n = len(d.argmax_shift)
    pp = np.zeros(n)
    constant_inputs = np.zeros((n, d.weights[0].shape[2]), dtype=bool)
    for k in range(len(d.weights)):
        live = d.alive[k]
        masks = np.where(constant_inputs[:, None, :], 0, d.masks[k])
        if k < len(d.lsb):
            coef, const = linear_form_arrays(d.weights[k], masks, d.truncation[k],
                                             d.biases[k], d.widths[k])
            lo = const + np.minimum(coef, 0).sum(axis=1)
            hi = const + np.maximum(coef, 0).sum(axis=1)
            top = (1 << d.bits[k]) - 1
            live = live & ((hi >> d.lsb[k]) > 0) & ((lo >> d.lsb[k]) < top)
            constant_inputs = ~live
        counts = partial_product_counts(d.weights[k], masks, d.truncation[k], d.widths[k])
        pp += (counts * live).sum(axis=1)
    return pp[:, None]


def adc_comparator_counts(d: Decoded) -> np.ndarray:
    """Flash-ADC comparators of each candidate ``(P,)``: ``2**bits - 1`` per feature read."""
    return ((1 << input_resolution(d)) - 1).sum(axis=1)


def _bits(v: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of non-negative integers, elementwise."""
    return signed_widths(np.zeros_like(v), v) - 1


def normalized(d: Decoded) -> Decoded:
    """:func:`bespoke_mlp.ir.normalize` of each decoded candidate (what the folded datapath
    executes): every hidden neuron's common power-of-two factor (up to its window's ``lsb``)
    and the output layer's (of its remaining neurons) divided out."""
    weights, biases, trunc, lsb = list(d.weights), list(d.biases), list(d.truncation), \
        list(d.lsb)
    shift = d.argmax_shift
    for k in range(len(weights)):
        w, b = weights[k], biases[k]
        if k < len(lsb):
            g = np.minimum(trailing_zeros(w, axis=2), lsb[k])
            lsb[k] = lsb[k] - g
        else:
            alive = d.alive[k]
            live_w = np.where(alive[:, :, None], w, 0).reshape(len(w), -1)
            tz = trailing_zeros(live_w)
            g_out = np.maximum(np.minimum(tz, shift), trailing_zeros(
                np.concatenate([live_w, np.where(alive, b, 0)], axis=1)))
            g_out = np.where(live_w.any(axis=1), g_out, 0)
            shift = np.maximum(0, shift - g_out)
            g = np.repeat(g_out[:, None], w.shape[1], axis=1)
        weights[k] = w >> g[:, :, None]
        biases[k] = b >> g
        trunc[k] = np.maximum(0, trunc[k] - g)
    return replace(d, weights=tuple(weights), biases=tuple(biases), truncation=tuple(trunc),
                   lsb=tuple(lsb), argmax_shift=shift)


def sequential_cost_features(d: Decoded, lanes: int) -> np.ndarray:
    """The features of :meth:`bespoke_mlp.ir.Schedule.cost_features` of each candidate folded
    onto ``lanes`` lanes, ``(P, len(SEQUENTIAL_COST_FEATURES))``, from the arrays.

    As the schedule: a connection is live when its linear form has a nonzero coefficient (of
    a neuron not removed); a neuron takes ``ceil(live inputs / lanes)`` steps (at least one);
    input ``i`` goes to lane ``i % lanes``, whose row of operand bit ``b`` is as wide as the
    largest coefficient of that bit there and whose multiplexer sees the sources read there.
    Exact for one lane; with more, a neuron's inputs that spill to other lanes (the
    schedule balances the lanes) are not seen. The candidates are :func:`normalized` first,
    as the schedule normalizes its network.
    """
    d = normalized(d)
    n = len(d.argmax_shift)
    acc = np.ones(n, dtype=np.int64)
    steps = np.zeros(n, dtype=np.int64)
    operand = np.zeros(n, dtype=np.int64)
    latches = np.zeros(n, dtype=np.int64)
    top = np.zeros((n, lanes, max(d.widths)), dtype=np.int64)
    sources = np.zeros((n, lanes), dtype=np.int64)
    weight = np.zeros((n, lanes), dtype=np.int64)
    out_bits = np.ones(n, dtype=np.int64)
    for k in range(len(d.weights)):
        width = d.widths[k]
        coef, const = linear_form_arrays(d.weights[k], d.masks[k], d.truncation[k],
                                         d.biases[k], width)
        alive = d.alive[k]
        n_in = d.weights[k].shape[2]
        per_bit = np.abs(coef).reshape(n, n_in, width, -1) * alive[:, None, None, :]
        live = per_bit.any(axis=2)  # (P, n_in, n_out)
        count = live.sum(axis=1)
        steps += np.where(alive, np.maximum(1, -(-count // lanes)), 0).sum(axis=1)
        # A step without connections (a neuron without any, or the idle first step) reads
        # source 0 (the first input, or the previous layer's first neuron).
        rows = np.arange(n)
        idle = (alive & (count == 0)).any(axis=1)
        zero = np.zeros(n, dtype=np.int64)
        if k:
            # The layer's first step waits a cycle when it would read the activation the
            # previous layer's last neuron writes in it.
            first = alive.argmax(axis=1)
            last = n_in - 1 - d.alive[k - 1][:, ::-1].argmax(axis=1)
            wait = live[rows, last, first] & (count[rows, first] <= lanes)
            steps += wait
            idle |= wait
            zero = d.alive[k - 1].argmax(axis=1)
        idle &= ~live[rows, zero].any(axis=1)
        tops = (per_bit >> np.arange(width)[:, None]).max(axis=3)  # (P, n_in, width)
        weights = np.where(live, np.abs(d.weights[k]).swapaxes(1, 2), 0).max(axis=2)
        lane = np.arange(n_in) % lanes
        for m in range(min(lanes, n_in)):
            on = lane == m
            top[:, m, :width] = np.maximum(top[:, m, :width], tops[:, on].max(axis=1))
            sources[:, m] += live[:, on].any(axis=2).sum(axis=1) + (idle if m == 0 else 0)
            weight[:, m] = np.maximum(weight[:, m], weights[:, on].max(axis=1))
        # The operand is as wide as the widest input of any layer (removed neurons are gone).
        operand = np.maximum(operand, width if not k else
                             np.where(d.alive[k - 1], d.bits[k - 1], 0).max(axis=1))
        ranges = signed_widths(const + np.minimum(coef, 0).sum(axis=1),
                               const + np.maximum(coef, 0).sum(axis=1))
        acc = np.maximum(acc, np.where(alive, ranges, 1).max(axis=1))
        if k < len(d.lsb):
            latches += np.where(alive, d.bits[k], 0).sum(axis=1)
        else:
            out_bits = ranges.max(axis=1)
    cycles = steps + 1
    loop = np.maximum(1, _bits(cycles - 1)) + acc
    n_classes = d.weights[-1].shape[1]
    latches += (np.maximum(1, out_bits - d.argmax_shift)
                + max(1, (n_classes - 1).bit_length()) + 1)
    tree = acc + (_bits(top) + (top > 0)).sum(axis=(1, 2))
    # Every lane reads at least one source (an idle lane's).
    sources = np.maximum(sources, 1)
    mux = ((sources - 1) * operand[:, None]).sum(axis=1)
    control = ((np.maximum(1, _bits(sources - 1)) + _bits(weight) + 1).sum(axis=1)
               + acc) * cycles
    return np.stack([loop, latches, tree, mux, control], axis=1).astype(np.float64)
