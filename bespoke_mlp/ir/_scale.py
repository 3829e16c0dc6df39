"""Exact scale normalization: a neuron whose coefficients share a factor ``2**g`` computes
its sum ``2**g`` times too wide; dividing it out narrows the folded datapath's shared
coefficient word and accumulator without changing any prediction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._network import Layer, Network, Window

__all__ = ["normalize", "trailing_zeros"]


def trailing_zeros(v: np.ndarray, axis: int = -1) -> np.ndarray:
    """Common trailing zero bits of the integers of ``v`` along ``axis`` (0 where all are 0)."""
    v = np.abs(np.asarray(v, dtype=np.int64))
    common = np.bitwise_or.reduce(v, axis=axis)
    low = common & -common
    # The lowest set bit's index: frexp's exponent (exact) minus one.
    return np.where(common > 0, np.frexp(low.astype(np.float64))[1] - 1, 0).astype(np.int64)


def normalize(net: Network) -> Network:
    """``net`` with each neuron's common power-of-two factor divided out, same predictions.

    A hidden neuron whose weights are multiples of ``2**g`` (``g`` at most its window's
    ``lsb``) has ``acc = 2**g * A + bias``; ``floor(acc / 2**lsb)`` equals
    ``floor((A + floor(bias / 2**g)) / 2**(lsb - g))``, so its weights and bias shift right by
    ``g``, its window's ``lsb`` and its truncation drop by ``g``. The output layer shares one
    ``g`` (the argmax compares its neurons): the weights' common factor up to the argmax shift
    (which drops by ``g``), or beyond when the biases share it too.
    """
    layers = []
    shift = net.argmax_shift
    for layer in net.layers:
        w = np.array(layer.weights, dtype=np.int64)
        b = np.array(layer.biases, dtype=np.int64)
        if layer.activation is not None:
            lsb = np.array([a.lsb for a in layer.activation], dtype=np.int64)
            g = np.minimum(trailing_zeros(w, axis=1), lsb)
            activation = tuple(Window(int(a.lsb - s), a.bits)
                               for a, s in zip(layer.activation, g))
        else:
            tz = int(trailing_zeros(w.ravel()))
            g_out = max(min(tz, shift), int(trailing_zeros(np.append(w.ravel(), b))))
            g = np.full(len(b), g_out if w.any() else 0, dtype=np.int64)
            shift = max(0, shift - int(g[0]))
            activation = None
        if not g.any():
            layers.append(layer)
            continue
        layers.append(Layer(
            weights=(w >> g[:, None]).tolist(), biases=(b >> g).tolist(), masks=layer.masks,
            truncation=[max(0, t - int(s)) for t, s in zip(layer.truncation, g)],
            activation=activation))
    return replace(net, layers=tuple(layers), argmax_shift=shift)
