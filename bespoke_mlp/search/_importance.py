"""Feature importance of a trained network, measured on training samples: which inputs (and so
which ADCs) a narrow design should keep first."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from ..ir import Network, network_codes, predict_codes

__all__ = ["IMPORTANCE_METHODS", "feature_importance", "top_k_sizes"]

#: ``permutation``: accuracy lost when one feature's column is shuffled (the network's own use
#: of the feature, interactions included); ``weight``: the feature's first-layer coefficient
#: mass times its spread of codes (no evaluation, blind to what later layers do).
IMPORTANCE_METHODS = ("permutation", "weight")
_REPEATS = 3


def feature_importance(net: Network, codes: np.ndarray, y: np.ndarray, *,
                       method: str = "permutation", seed: int = 0) -> np.ndarray:
    """Importance of each of ``net``'s features, ``(n_features,)``, larger is more important.

    ``codes`` (input codes, or resolution codes: see :func:`~bespoke_mlp.ir.network_codes`)
    and ``y`` must be training samples (codes and target classes): the importance
    steers the search, so it must not see the parts that judge it. A feature the network
    does not read (all its first-layer masks or weights zero) has importance 0 and every
    other feature more than 0, so sorting keeps read features ahead of unread ones.
    """
    if method not in IMPORTANCE_METHODS:
        raise UsageError(f"importance method must be one of {IMPORTANCE_METHODS!r}, "
                         f"got {method!r}")
    codes = network_codes(net, np.asarray(codes, dtype=np.int64))
    y = np.asarray(y)
    w = np.abs(np.array(net.layers[0].weights, dtype=np.float64))
    w = w * (np.array(net.layers[0].masks) != 0)
    read = np.array(net.feature_resolution) > 0
    spread = codes.std(axis=0) if len(codes) else np.zeros(net.n_features)
    # Ties (a permutation that changes no prediction) are broken by the weight mass.
    by_weight = w.sum(axis=0) * spread
    if method == "weight":
        score = by_weight
    else:
        score = _permutation(net, codes, y, seed)
        score = score + 1e-6 * by_weight / max(float(by_weight.max(initial=0.0)), 1e-12)
    # Unread features last; read ones strictly above them.
    return np.where(read, np.maximum(score, 0.0) + 1e-9, 0.0)


def _permutation(net: Network, codes: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Mean accuracy lost over ``_REPEATS`` shuffles of each feature's column."""
    n, f = codes.shape
    if n < 2:
        return np.zeros(f)
    rng = np.random.default_rng([seed, 7])
    base = float(np.mean(predict_codes(net, codes) == y))
    loss = np.zeros(f)
    for _ in range(_REPEATS):
        order = rng.permuted(np.tile(np.arange(n), (f, 1)), axis=1)
        for i in range(f):
            shuffled = codes.copy()
            shuffled[:, i] = codes[order[i], i]
            loss[i] += base - float(np.mean(predict_codes(net, shuffled) == y))
    return loss / _REPEATS


def top_k_sizes(n_used: int, smallest: int = 2) -> tuple[int, ...]:
    """Feature counts a narrow start keeps: halves of ``n_used`` down to ``smallest``
    (e.g. 261 → 130, 65, 32, 16, 8, 4, 2; 21 → 10, 5, 2)."""
    sizes, k = [], n_used // 2
    while k >= smallest:
        sizes.append(k)
        k //= 2
    return tuple(sizes)
