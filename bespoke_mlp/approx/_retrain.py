"""Approximation-aware retraining: fine-tune an approximated network without undoing it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir import Network, csd_weight
from ._csd_round import CSD_LIMIT, nearest_csd, nearest_csd_table

__all__ = ["digit_projection", "retrain"]


def digit_projection(net: Network) -> Callable[[int, np.ndarray], np.ndarray]:
    """A projection for :func:`bespoke_mlp.train.finetune` that keeps ``net``'s approximation:
    no coefficient gains CSD digits (so no adders are added) and pruned ones stay 0."""
    budgets = [np.vectorize(csd_weight)(np.array(layer.weights, dtype=np.int64))
               for layer in net.layers]

    def project(k: int, w: np.ndarray) -> np.ndarray:
        rounded = np.rint(w).astype(np.int64)
        budget = budgets[k]
        out = np.empty_like(rounded)
        # Table look-ups per digit budget (the tables equal nearest_csd within ±CSD_LIMIT);
        # a coefficient beyond goes through nearest_csd itself, which may refuse it.
        inside = np.abs(rounded) <= CSD_LIMIT
        for d in np.unique(budget[inside]):
            sel = inside & (budget == d)
            out[sel] = nearest_csd_table(int(d))[rounded[sel] + CSD_LIMIT]
        for i, j in zip(*np.nonzero(~inside)):
            out[i, j] = nearest_csd(int(rounded[i, j]), int(budget[i, j]))
        return out

    return project


def retrain(net: Network, codes_train: np.ndarray, y_train: np.ndarray,
            codes_val: np.ndarray, y_val: np.ndarray, *, epochs: int = 60,
            seed: int = 0, lr: float | None = None) -> Network:
    """Fine-tune weights and biases of an approximated network (straight-through estimator),
    keeping every coefficient within its digit budget; returns the network with the best
    validation accuracy (which may be ``net`` itself). ``lr``: the step size in weight LSBs
    (default: :func:`bespoke_mlp.train.finetune`'s)."""
    from ..train import finetune

    step = {} if lr is None else {"lr": lr}
    return finetune(net, codes_train, y_train, codes_val, y_val, epochs=epochs, seed=seed,
                    project=digit_projection(net), **step)
