"""The array form of a batch of candidates (what the genome decodes to), shared by the
batched evaluator and the cost features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Decoded", "signed_widths"]


@dataclass(frozen=True)
class Decoded:
    """Array form of a batch of ``P`` candidates: per layer, weights and masks
    ``(P, n_out, n_in)``, truncation and compensated biases ``(P, n_out)`` and the input width
    used for the bit layout; per hidden layer, window ``lsb`` and ``bits`` ``(P, n_out)``; per
    layer, which neurons are not removed ``(P, n_out)``; the argmax shift ``(P,)``; the class
    index of each output neuron ``(n_out,)`` (removed outputs never win the argmax)."""

    weights: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray, ...]
    truncation: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    widths: tuple[int, ...]
    lsb: tuple[np.ndarray, ...]
    bits: tuple[np.ndarray, ...]
    alive: tuple[np.ndarray, ...]
    argmax_shift: np.ndarray
    output_classes: np.ndarray


def _bit_length(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.int64)
    out = np.zeros(v.shape, dtype=np.int64)
    pos = v > 0
    out[pos] = np.floor(np.log2(v[pos].astype(np.float64))).astype(np.int64) + 1
    return out


def signed_widths(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Vectorized :func:`bespoke_mlp.ir.signed_width`."""
    return np.maximum(_bit_length(-lo - 1), _bit_length(hi)) + 1
