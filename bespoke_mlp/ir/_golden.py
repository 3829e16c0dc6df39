"""The golden model: bit-exact integer inference of a :class:`Network`, vectorized in numpy.

Every later stage (RTL simulation, gate-level simulation) must agree with :func:`predict_codes`
bit for bit. Only integer arithmetic is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._csd import CSD_LIMIT, csd_digits
from ._network import Layer, Network
from ._quantizer import network_codes, resolution_codes

__all__ = [
    "bit_planes",
    "PartialProduct",
    "NeuronSum",
    "neuron_sum",
    "layer_linear_form",
    "partial_product_counts",
    "truncation_compensation",
    "linear_form_arrays",
    "accumulator_range",
    "accumulator_width",
    "signed_width",
    "encode_inputs",
    "quantize_codes",
    "forward",
    "predict_codes",
    "predict_with",
]


@dataclass(frozen=True)
class PartialProduct:
    """One bit entering a neuron's compressor tree: input ``source`` bit ``bit``, at
    accumulator column ``column``, inverted for a negative CSD digit."""

    source: int
    bit: int
    column: int
    inverted: bool


@dataclass(frozen=True)
class NeuronSum:
    """A neuron's accumulator as hardware builds it: ``sum(pp << column) + constant``."""

    bits: tuple[PartialProduct, ...]
    constant: int


def neuron_sum(layer: Layer, j: int) -> NeuronSum:
    """Partial-product bits and folded constant of neuron ``j`` of ``layer``.

    A negative digit ``-2^e`` applied to bit ``a_b`` is written ``(~a_b) << (b+e)`` minus the
    constant ``1 << (b+e)``; the constants of all negative digits join the bias. Bits whose
    column is below the neuron's truncation are dropped (their constants stay).
    """
    t = layer.truncation[j]
    constant = layer.biases[j]
    bits = []
    for i, (w, mask) in enumerate(zip(layer.weights[j], layer.masks[j])):
        if not mask or not w:
            continue
        for sign, exp in csd_digits(w):
            b = 0
            m = mask
            while m:
                if m & 1:
                    col = b + exp
                    if sign < 0:
                        constant -= 1 << col
                    if col >= t:
                        bits.append(PartialProduct(i, b, col, sign < 0))
                m >>= 1
                b += 1
    bits.sort(key=lambda p: (p.column, p.source, p.bit, p.inverted))
    return NeuronSum(tuple(bits), constant)


_TABLE_COLS = 24


@lru_cache(maxsize=1)
def _csd_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per coefficient ``w`` (offset by the table limit) and exponent bound ``m``:
    ``low[w, m]``, the sum of the CSD digits of ``w`` with exponent below ``m``;
    ``neglow[w, m]``, the sum of ``2**e`` over its negative digits below ``m``;
    ``high[w, m]``, the number of its digits at or above ``m``."""
    values = np.arange(-CSD_LIMIT, CSD_LIMIT + 1, dtype=np.int64)
    low = np.zeros((values.size, _TABLE_COLS + 1), dtype=np.int64)
    neglow = np.zeros_like(low)
    high = np.zeros_like(low)
    for n, w in enumerate(values.tolist()):
        for sign, exp in csd_digits(w):
            low[n, exp + 1:] += sign << exp
            high[n, :exp + 1] += 1
            if sign < 0:
                neglow[n, exp + 1:] += 1 << exp
    return low, neglow, high


def _layer_index(weights: np.ndarray, masks: np.ndarray, truncation: np.ndarray, width: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Table indices shared by the array-level functions: ``(w, idx, m, on)`` where ``on`` marks
    the mask bits, all shaped ``(..., n_out, n_in, width)`` (``w`` broadcastable). Leading
    dimensions batch several candidate layers."""
    w = np.asarray(weights, dtype=np.int64)
    if w.size and np.abs(w).max() > CSD_LIMIT:
        raise ValueError(f"coefficients must lie within ±{CSD_LIMIT}")
    b = np.arange(width, dtype=np.int64)
    m = np.clip(np.asarray(truncation, dtype=np.int64)[..., None, None] - b, 0, _TABLE_COLS)
    on = (np.asarray(masks, dtype=np.int64)[..., None] >> b) & 1
    return w[..., None], w[..., None] + CSD_LIMIT, m, on


def partial_product_counts(weights: np.ndarray, masks: np.ndarray, truncation: np.ndarray,
                           width: int) -> np.ndarray:
    """Number of partial-product bits in each neuron's compressor tree (after truncation)."""
    _, idx, m, on = _layer_index(weights, masks, truncation, width)
    return (on * _csd_tables()[2][idx, m]).sum(axis=(-2, -1))


def truncation_compensation(weights: np.ndarray, masks: np.ndarray, truncation: np.ndarray,
                            width: int, ones: np.ndarray, total: int) -> np.ndarray:
    """Expected value of each neuron's truncated partial-product bits, rounded to an integer.

    Input bit ``b`` of input ``i`` is 1 in ``ones[i, b]`` of ``total`` samples (exact integer
    arithmetic, so every caller gets the same rounding). A dropped digit ``+2**e`` on that bit
    contributes ``P(1) * 2**(b+e)``; a dropped negative digit, whose bit enters inverted,
    ``P(0) * 2**(b+e)``.
    """
    _, idx, m, on = _layer_index(weights, masks, truncation, width)
    low, neglow, _ = _csd_tables()
    neg = neglow[idx, m]
    pos = low[idx, m] + neg
    ones = np.asarray(ones, dtype=np.int64)[:, :width]
    b = np.arange(width, dtype=np.int64)
    scaled = (on * ((pos * ones + neg * (total - ones)) << b)).sum(axis=(-2, -1))
    return (2 * scaled + total) // (2 * total)


def linear_form_arrays(weights: np.ndarray, masks: np.ndarray, truncation: np.ndarray,
                       biases: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized :func:`neuron_sum` of a whole layer, as an integer linear form over bits.

    ``weights``/``masks`` are ``(..., n_out, n_in)``, ``truncation``/``biases`` ``(..., n_out)``
    (leading dimensions batch candidates). Returns ``(coef, const)``, ``coef`` of shape
    ``(..., n_in * width, n_out)``, such that ``acc = bits @ coef + const`` with
    ``bits[:, i * width + b]`` bit ``b`` of input ``i``.

    A digit ``±2**e`` on bit ``b`` lands in column ``b + e``; dropping the columns below ``t``
    removes the digits with ``e < t - b``: their sum is the CSD "low part" of the weight. A
    dropped inverted bit leaves its two's-complement constant behind.
    """
    w, idx, m, on = _layer_index(weights, masks, truncation, width)
    low, neglow, _ = _csd_tables()
    b = np.arange(width, dtype=np.int64)
    coef = on * ((w - low[idx, m]) << b)
    const = np.asarray(biases, dtype=np.int64) - (on * (neglow[idx, m] << b)).sum(axis=(-2, -1))
    coef = coef.reshape(*coef.shape[:-2], -1)
    return np.ascontiguousarray(np.swapaxes(coef, -1, -2)), const


def layer_linear_form(layer: Layer, in_width: int) -> tuple[np.ndarray, np.ndarray]:
    """The layer's accumulators as an integer linear form over its input bits (see
    :func:`linear_form_arrays`)."""
    return linear_form_arrays(np.array(layer.weights), np.array(layer.masks),
                              np.array(layer.truncation), np.array(layer.biases), in_width)


def accumulator_range(layer: Layer, j: int) -> tuple[int, int]:
    """Smallest and largest value neuron ``j``'s accumulator takes over all input bit patterns.

    Taken from the linear form, where a bit's positive and inverted uses are merged, so the
    range (and the adder width) is tight.
    """
    width = max(1, max(m.bit_length() for m in layer.masks[j]))
    coef, const = linear_form_arrays(np.array(layer.weights[j:j + 1]),
                                     np.array(layer.masks[j:j + 1]),
                                     np.array(layer.truncation[j:j + 1]),
                                     np.array(layer.biases[j:j + 1]), width)
    return (int(const[0] + np.minimum(coef, 0).sum()), int(const[0] + np.maximum(coef, 0).sum()))


def quantize_codes(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, bits: int) -> np.ndarray:
    """Min-max scale raw features with ``lo``/``hi``, clip to [0, 1] and round to ``bits``-bit
    unsigned codes (what a ``bits``-bit ADC per feature delivers). Constant features map to 0."""
    x = np.asarray(x, dtype=np.float64)
    lo = np.asarray(lo, dtype=np.float64)
    span = np.asarray(hi, dtype=np.float64) - lo
    safe = np.where(span > 0, span, 1.0)
    top = (1 << bits) - 1
    scaled = np.where(span > 0, np.clip((x - lo) / safe, 0.0, 1.0), 0.0)
    return np.rint(scaled * top).astype(np.int64)


def signed_width(lo: int, hi: int) -> int:
    """Bits of the smallest two's-complement type holding every integer in ``[lo, hi]``."""
    neg = (-lo - 1).bit_length() if lo < 0 else 0
    return max(neg, hi.bit_length() if hi > 0 else 0) + 1


def accumulator_width(layer: Layer, j: int) -> int:
    """Width of neuron ``j``'s two's-complement accumulator in hardware."""
    return signed_width(*accumulator_range(layer, j))


def encode_inputs(net: Network, x: np.ndarray) -> np.ndarray:
    """Quantize raw features to the network's input codes: :func:`quantize_codes`, and each
    feature read at fewer bits through its learned thresholds, if any (``_quantizer.py``)."""
    codes = quantize_codes(x, np.asarray(net.feature_min), np.asarray(net.feature_max),
                           net.input_bits)
    if not net.thresholds:
        return codes
    return network_codes(net, resolution_codes(net, x, codes))


def bit_planes(values: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` low bits of every entry of ``(n, k)`` integers, as ``(n, k * width)``
    0/1 columns (entry ``i``'s bit ``b`` at column ``i * width + b``)."""
    shifts = np.arange(width, dtype=np.int64)
    return ((values[:, :, None] >> shifts) & 1).reshape(values.shape[0], -1)


def forward(net: Network, codes: np.ndarray) -> list[np.ndarray]:
    """Accumulators of every layer (hidden layers: after the ReLU window) for input codes
    (or resolution codes, see :func:`network_codes`)."""
    a = network_codes(net, codes)
    if a.ndim != 2 or a.shape[1] != net.n_features:
        raise ValueError(f"expected codes of shape (n, {net.n_features}), got {a.shape!r}")
    top = (1 << net.input_bits) - 1
    if a.size and (a.min() < 0 or a.max() > top):
        raise ValueError(f"input codes must lie in 0..{top}")
    return _layer_outputs(net, [layer.weights for layer in net.layers],
                          [layer.biases for layer in net.layers], a)


def _layer_outputs(net: Network, weights: list, biases: list, a: np.ndarray
                   ) -> list[np.ndarray]:
    """:func:`forward` on checked input codes ``a``, each layer's weights and biases taken from
    ``weights[k]``, ``biases[k]`` (integer values) and the rest from ``net``."""
    outs = []
    for k, (layer, w, b) in enumerate(zip(net.layers, weights, biases, strict=True)):
        width = max(net.input_widths(k))
        coef, const = linear_form_arrays(np.asarray(w), np.array(layer.masks),
                                         np.array(layer.truncation), np.asarray(b), width)
        acc = bit_planes(a, width) @ coef + const
        if layer.activation is not None:
            lsb = np.array([win.lsb for win in layer.activation], dtype=np.int64)
            hi = np.array([(1 << win.bits) - 1 for win in layer.activation], dtype=np.int64)
            acc = np.clip(acc >> lsb, 0, hi)
        outs.append(acc)
        a = acc
    return outs


def _classes(net: Network, acc: np.ndarray) -> np.ndarray:
    return np.asarray(net.output_classes, dtype=np.int64)[np.argmax(acc >> net.argmax_shift,
                                                                     axis=1)]


def predict_codes(net: Network, codes: np.ndarray) -> np.ndarray:
    """Class index per row of input codes: the class of the argmax of
    ``acc >> argmax_shift`` (:attr:`Network.output_classes`), lowest index winning ties."""
    return _classes(net, forward(net, codes)[-1])


def predict_with(net: Network, weights: list[np.ndarray], biases: list[np.ndarray],
                 codes: np.ndarray) -> np.ndarray:
    """:func:`predict_codes` of ``net`` with layer ``k``'s weights and biases replaced by the
    integer values of ``weights[k]`` ``(n_out, n_in)`` and ``biases[k]`` ``(n_out,)``, without
    building that network (fine-tuning scores a candidate every epoch). ``codes`` are input
    codes ``(n, n_features)`` in range (not checked)."""
    return _classes(net, _layer_outputs(net, weights, biases, np.asarray(codes))[-1])
