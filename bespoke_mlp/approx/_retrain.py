"""Approximation-aware retraining: fine-tune an approximated network without undoing it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir import Network, csd_weight, trailing_zeros
from ._csd_round import CSD_LIMIT, nearest_csd, nearest_csd_table

__all__ = ["digit_projection", "retrain", "weight_steps"]


def weight_steps(net: Network) -> list[np.ndarray]:
    """Per layer and neuron, the power of two its weights are multiples of, as
    :func:`bespoke_mlp.ir.normalize` divides it out: a hidden neuron's own, the output
    layer's common one (``(n_out, 1)`` arrays)."""
    steps = []
    for layer in net.layers:
        w = np.array(layer.weights, dtype=np.int64)
        tz = trailing_zeros(w, axis=1) if layer.activation is not None else np.full(
            len(w), trailing_zeros(w.ravel()), dtype=np.int64)
        steps.append(tz[:, None])
    return steps


def digit_projection(net: Network, keep_steps: bool = False
                     ) -> Callable[[int, np.ndarray], np.ndarray]:
    """A projection for :func:`bespoke_mlp.train.finetune` that keeps ``net``'s approximation:
    no coefficient gains CSD digits (so no adders are added) and pruned ones stay 0. With
    ``keep_steps`` the weights also stay multiples of :func:`weight_steps` (the folded
    datapath's coefficient word does not widen)."""
    budgets = [np.vectorize(csd_weight)(np.array(layer.weights, dtype=np.int64))
               for layer in net.layers]
    units = [1 << s if keep_steps else np.ones_like(s) for s in weight_steps(net)]
    # Per layer, the table of each digit budget it uses (the tables equal nearest_csd within
    # ±CSD_LIMIT) and each coefficient's row: one look-up per projection, which runs at
    # every training step.
    levels = [np.unique(budget) for budget in budgets]
    tables = [np.stack([nearest_csd_table(int(d)) for d in ds]) for ds in levels]
    rows = [np.searchsorted(ds, budget) for ds, budget in zip(levels, budgets, strict=True)]

    def project(k: int, w: np.ndarray) -> np.ndarray:
        rounded = np.rint(w / units[k]).astype(np.int64)
        out = tables[k][rows[k], np.clip(rounded, -CSD_LIMIT, CSD_LIMIT) + CSD_LIMIT]
        # A coefficient beyond the tables goes through nearest_csd itself, which may refuse it.
        for i, j in zip(*np.nonzero(np.abs(rounded) > CSD_LIMIT)):
            out[i, j] = nearest_csd(int(rounded[i, j]), int(budgets[k][i, j]))
        return out * units[k]

    return project


def retrain(net: Network, codes_train: np.ndarray, y_train: np.ndarray,
            codes_val: np.ndarray, y_val: np.ndarray, *, epochs: int = 60,
            seed: int = 0, lr: float | None = None, keep_steps: bool = False) -> Network:
    """Fine-tune weights and biases of an approximated network (straight-through estimator),
    keeping every coefficient within its digit budget; returns the network with the best
    validation accuracy (which may be ``net`` itself). ``lr``: the step size in weight LSBs
    (default: :func:`bespoke_mlp.train.finetune`'s). ``keep_steps``: the weights stay
    multiples of :func:`weight_steps`, and the output biases of the output layer's step when
    they are now (so the folded datapath's widths do not grow back)."""
    from ..train import finetune

    step = {} if lr is None else {"lr": lr}
    if keep_steps:
        out = net.layers[-1]
        common = int(trailing_zeros(np.append(np.ravel(out.weights), out.biases)))
        bias_steps = [0] * (len(net.layers) - 1) + [common if np.any(out.weights) else 0]
        step["bias_steps"] = bias_steps
    return finetune(net, codes_train, y_train, codes_val, y_val, epochs=epochs, seed=seed,
                    project=digit_projection(net, keep_steps), **step)
