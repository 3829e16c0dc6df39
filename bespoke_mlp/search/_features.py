"""Hardware cost features of decoded candidates: the inputs of the calibrated cost model."""

from __future__ import annotations

import numpy as np

from ..ir import linear_form_arrays, partial_product_counts
from ._decoded import Decoded
from ._evaluate import input_resolution

__all__ = ["COST_FEATURES", "adc_comparator_counts", "cost_features"]

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
