"""Per-feature quantizers: the raw-feature -> input-code mapping of a network.

Every feature has a uniform ``input_bits``-bit quantizer over its input range. A network may also
carry learned thresholds per feature and per reduced resolution ``r`` (1 .. input_bits - 1):
``2**r - 1`` sorted raw values, one comparator of a flash ADC each. A feature the circuit reads
at ``r`` bits (:attr:`Network.feature_resolution`) then gets the code ``level << (input_bits -
r)``, ``level`` being the number of thresholds at or below the raw value: the circuit still
reads the top ``r`` bits of an ``input_bits``-bit code, so RTL and gates see codes as before.
At full resolution, and without thresholds, the code is the uniform one.

*Resolution codes* hold, per sample, the code of every feature at every resolution
``(n, input_bits, n_features)`` (index ``r - 1``); :func:`network_codes` picks each feature's
column for a network, so searched candidates of different resolutions share one array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ._network import Network

__all__ = ["check_thresholds", "network_codes", "resolution_codes", "threshold_codes"]

Thresholds = tuple[tuple[tuple[float, ...], ...], ...]


def check_thresholds(thresholds: Thresholds, n_features: int, input_bits: int,
                     lo: tuple[float, ...], hi: tuple[float, ...]) -> None:
    """Raise ValueError unless ``thresholds`` holds, per feature, ``2**r - 1`` sorted finite
    values for ``r`` in 1..input_bits-1, within the feature's range when it is known."""
    if len(thresholds) != n_features:
        raise ValueError(f"thresholds has {len(thresholds)} entries for {n_features} features")
    for i, per_bits in enumerate(thresholds):
        if len(per_bits) != input_bits - 1:
            raise ValueError(f"feature {i}: thresholds for {len(per_bits)} resolutions, "
                             f"expected {input_bits - 1} (1..{input_bits - 1} bits)")
        for r, t in enumerate(per_bits, start=1):
            v = np.asarray(t, dtype=np.float64)
            if len(v) != (1 << r) - 1 or not np.isfinite(v).all() or (np.diff(v) < 0).any():
                raise ValueError(f"feature {i}, {r} bits: expected {(1 << r) - 1} sorted finite "
                                 f"thresholds, got {list(t)!r}")
            if lo and len(v) and (v[0] < lo[i] or v[-1] > hi[i]):
                raise ValueError(f"feature {i}, {r} bits: threshold outside the feature's "
                                 f"range [{lo[i]!r}, {hi[i]!r}]: {list(t)!r}")


def threshold_codes(x: np.ndarray, thresholds: tuple[float, ...], input_bits: int) -> np.ndarray:
    """Codes of raw values ``x`` through one feature's thresholds at ``r`` bits
    (``len(thresholds) == 2**r - 1``): the level in the top ``r`` bits."""
    r = (len(thresholds) + 1).bit_length() - 1
    level = np.searchsorted(np.asarray(thresholds, dtype=np.float64), x, side="right")
    return level.astype(np.int64) << (input_bits - r)


def resolution_codes(net: Network, x: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """``(n, input_bits, n_features)`` codes of raw features ``x`` at every resolution
    (``uniform``: their uniform codes, used at full resolution and without thresholds)."""
    out = np.repeat(np.asarray(uniform, dtype=np.int64)[:, None, :], net.input_bits, axis=1)
    x = np.asarray(x, dtype=np.float64)
    for i, per_bits in enumerate(net.thresholds):
        for r, t in enumerate(per_bits, start=1):
            out[:, r - 1, i] = threshold_codes(x[:, i], t, net.input_bits)
    return out


def network_codes(net: Network, codes: np.ndarray) -> np.ndarray:
    """``net``'s input codes: ``codes`` itself when 2-D, else each feature's column of
    resolution codes at the resolution ``net`` reads it (unused features, and every feature of
    a network without thresholds: full resolution, the uniform codes)."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim != 3:
        return codes
    if not net.thresholds:
        return codes[:, -1]
    res = np.array(net.feature_resolution, dtype=np.int64)
    res = np.where(res == 0, net.input_bits, res)
    return codes[:, res - 1, np.arange(codes.shape[2])]
