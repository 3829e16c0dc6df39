"""Approximation-aware retraining: fine-tune an approximated network without undoing it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir import Network, csd_weight
from ._csd_round import nearest_csd

__all__ = ["digit_projection", "retrain"]


def digit_projection(net: Network) -> Callable[[int, np.ndarray], np.ndarray]:
    """A projection for :func:`bespoke_mlp.train.finetune` that keeps ``net``'s approximation:
    no coefficient gains CSD digits (so no adders are added) and pruned ones stay 0."""
    budgets = [np.vectorize(csd_weight)(np.array(layer.weights, dtype=np.int64))
               for layer in net.layers]

    def project(k: int, w: np.ndarray) -> np.ndarray:
        rounded = np.rint(w).astype(np.int64)
        return np.array(
            [[nearest_csd(int(v), int(d)) for v, d in zip(row, brow)]
             for row, brow in zip(rounded, budgets[k])],
            dtype=np.int64,
        )

    return project


def retrain(net: Network, codes_train: np.ndarray, y_train: np.ndarray,
            codes_val: np.ndarray, y_val: np.ndarray, *, epochs: int = 60,
            seed: int = 0) -> Network:
    """Fine-tune weights and biases of an approximated network (straight-through estimator),
    keeping every coefficient within its digit budget; returns the network with the best
    validation accuracy (which may be ``net`` itself)."""
    from ..train import finetune

    return finetune(net, codes_train, y_train, codes_val, y_val, epochs=epochs, seed=seed,
                    project=digit_projection(net))
