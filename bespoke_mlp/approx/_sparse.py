"""Sparse power-of-two networks: quantization-aware training of a network whose coefficients
are each 0 or a signed power of two (one CSD digit: a shifted input, no adders of its own),
with only a fraction of each layer's coefficients nonzero."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import UsageError
from ..ir import Network
from ._config import ApproxConfig, LayerApprox
from ._csd_round import CSD_LIMIT, nearest_csd_table

__all__ = ["SPARSE_EPOCHS", "SPARSE_KEEP", "SPARSE_LR", "sparse_po2", "sparse_po2_family",
           "sparse_po2_projection"]

#: Fractions of each layer's coefficients the sparse power-of-two candidates keep nonzero.
SPARSE_KEEP = (0.35, 0.5, 0.7, 0.85, 1.0)

#: Training epochs and step size (weight LSBs) of the sparse power-of-two candidates.
SPARSE_EPOCHS = 150
SPARSE_LR = 0.2


def sparse_po2_projection(net: Network,
                          keep: float) -> Callable[[int, np.ndarray], np.ndarray]:
    """A projection for :func:`bespoke_mlp.train.finetune`: each layer's coefficients rounded
    to the nearest signed power of two (or 0), of which only the ``ceil(keep * n)`` largest
    in magnitude (``n`` the layer's nonzero coefficients in ``net``, ties to the earlier)
    stay nonzero: relative to the nonzero ones, so that a network of few features (a wide
    dataset's feature selection) gets sparser too. The kept set follows the shadow weights,
    so training may move it.

    Raises
    ------
    UsageError
        If ``keep`` is not within (0, 1].
    """
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
        raise UsageError(f"the kept fraction of coefficients must be within (0, 1], "
                         f"got {keep!r}")
    counts = [max(1, math.ceil(keep * np.count_nonzero(layer.weights))) for layer in net.layers]
    po2 = nearest_csd_table(1)

    def project(k: int, w: np.ndarray) -> np.ndarray:
        rounded = np.clip(np.rint(w), -CSD_LIMIT, CSD_LIMIT).astype(np.int64)
        q = po2[rounded + CSD_LIMIT]
        # Rank by the shadow magnitude: the po2 rounding ties many coefficients.
        order = np.argsort(-np.abs(w), axis=None, kind="stable")
        out = np.zeros(w.size, dtype=np.int64)
        top = order[:counts[k]]
        out[top] = q.ravel()[top]
        return out.reshape(w.shape)

    return project


def sparse_po2(net: Network, codes_train: np.ndarray, y_train: np.ndarray,
               codes_val: np.ndarray, y_val: np.ndarray, *, keep: float, epochs: int,
               seed: int = 0, lr: float | None = None) -> tuple[ApproxConfig, Network]:
    """Train ``net`` into a sparse power-of-two network (:func:`sparse_po2_projection`;
    fitting ``codes_train``, epochs chosen on ``codes_val`` as in
    :func:`bespoke_mlp.train.finetune`).

    Returns
    -------
    tuple[ApproxConfig, Network]
        The approximation (each coefficient's digit budget: 1 where nonzero, else 0 — the
        budgets later retraining keeps) and the trained network.
    """
    from ..train import finetune

    step = {} if lr is None else {"lr": lr}
    tuned = finetune(net, codes_train, y_train, codes_val, y_val, epochs=epochs, seed=seed,
                     project=sparse_po2_projection(net, keep), **step)
    digits = tuple(LayerApprox(digits=(np.array(layer.weights) != 0).astype(int).tolist())
                   for layer in tuned.layers)
    return ApproxConfig(layers=digits, name=f"sparse-po2 keep {keep:g}"), tuned


def sparse_po2_family(net: Network, codes_train: np.ndarray, y_train: np.ndarray,
                      codes_val: np.ndarray, y_val: np.ndarray, *, seed: int = 0,
                      keeps: Sequence[float] = SPARSE_KEEP) -> list[tuple[ApproxConfig, Network]]:
    """:func:`sparse_po2` of ``net`` at each kept fraction of ``keeps``
    (:data:`SPARSE_EPOCHS` epochs at step size :data:`SPARSE_LR`). Each is independent of the
    others: a member trained alone (``keeps=(keep,)``, e.g. as a parallel work unit) equals
    the same member of the whole family."""
    return [sparse_po2(net, codes_train, y_train, codes_val, y_val, keep=keep,
                       epochs=SPARSE_EPOCHS, seed=seed, lr=SPARSE_LR) for keep in keeps]
