"""Training of wide datasets (many features, few samples): feature selection inside training.

Arrhythmia (261 features, 177 train samples in a search's split) showed what plain training
does there: the float MLP fits the train part perfectly and scored 49 % on test, below the
majority class (54 %), with an ADC on every feature. Here the network first learns on all
features under a strong L2 penalty; its first-layer weight norm per feature (a group-lasso-like
ranking) orders the features, and networks on the top 4, 8, 16, ... of them compete on the
validation part. Unselected features get all-zero first-layer weights, so the quantized network
reads no bit of them (no ADC, no wiring).
"""

from __future__ import annotations

import numpy as np
from sklearn.neural_network import MLPClassifier

from .._choices import WIDE_MIN_FEATURES
from ._float import fit_float_mlp

__all__ = ["WIDE_MIN_FEATURES", "feature_counts", "fit_wide_mlp", "is_wide", "selects_features"]

#: L2 penalty of the all-feature network that ranks the features, and of the candidates.
#: Five-fold cross-validation on Arrhythmia's train + validation parts (221 samples, 5 hidden):
#: sklearn's default 1e-4 gave 51 %, 0.1 60 %, 0.3 64 %, 1.0 60 %, 3.0 the majority class.
RANK_ALPHA = 0.3
#: With 16 or 32 ranked features, 0.1 and 0.3 were within one fold sample of each other (66 %).
SUBSET_ALPHA = 0.1
_SMALLEST = 4


def is_wide(n_features: int) -> bool:
    """Whether a dataset with ``n_features`` features trains with feature selection."""
    return n_features >= WIDE_MIN_FEATURES


def selects_features(setting: bool | None, n_features: int) -> bool:
    """Whether training selects features: ``setting`` if given, else (``None``, automatic)
    whether the dataset is wide (:func:`is_wide`)."""
    return is_wide(n_features) if setting is None else setting


def feature_counts(n_features: int) -> tuple[int, ...]:
    """Feature counts that compete, increasing: powers of two from 4 up to half of
    ``n_features``, then ``n_features`` itself (e.g. 261 → 4, 8, ..., 128, 261)."""
    counts, k = [], _SMALLEST
    while 2 * k <= n_features:
        counts.append(k)
        k *= 2
    return (*counts, n_features)


def fit_wide_mlp(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                 y_val: np.ndarray, *, hidden: tuple[int, ...], seed: int) -> MLPClassifier:
    """Fit a float MLP that reads a selected subset of the features.

    The all-feature network (L2 penalty :data:`RANK_ALPHA`) ranks the features by the L2 norm
    of their first-layer weights; for each count of :func:`feature_counts` below all, a network
    is fitted on the top features (:data:`SUBSET_ALPHA`), each the best of
    :func:`fit_float_mlp`'s restarts. The kept network has the highest validation accuracy,
    ties broken by fewer features (then training accuracy); without validation samples the
    all-feature network is kept. Nothing here sees any other part than train and validation.

    Returns
    -------
    MLPClassifier
        The network, on all ``n_features`` inputs (the unselected ones with all-zero
        first-layer weights).
    """
    n = x_train.shape[1]
    full = fit_float_mlp(x_train, y_train, x_val, y_val, hidden=hidden, seed=seed,
                         alpha=RANK_ALPHA)
    norm = np.linalg.norm(full.coefs_[0], axis=1)
    ranking = np.argsort(-norm, kind="stable")
    if not len(x_val):
        return full
    best, best_key = full, _key(full, x_train, y_train, x_val, y_val, n)
    for k in feature_counts(n)[:-1]:
        cols = np.sort(ranking[:k])
        mlp = fit_float_mlp(x_train[:, cols], y_train, x_val[:, cols], y_val, hidden=hidden,
                            seed=seed, alpha=SUBSET_ALPHA)
        mlp = _embed(mlp, cols, n)
        key = _key(mlp, x_train, y_train, x_val, y_val, k)
        if key > best_key:
            best, best_key = mlp, key
    return best


def _key(mlp: MLPClassifier, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
         y_val: np.ndarray, k: int) -> tuple[float, int, float]:
    """Validation accuracy, then fewer features, then training accuracy (larger is better)."""
    val = float(np.mean(mlp.predict(x_val) == y_val))
    train = float(np.mean(mlp.predict(x_train) == y_train))
    return (val, -k, train)


def _embed(mlp: MLPClassifier, cols: np.ndarray, n_features: int) -> MLPClassifier:
    """``mlp`` (fitted on columns ``cols``) as a network on all ``n_features`` inputs: the
    other inputs get all-zero first-layer weights."""
    first = np.zeros((n_features, mlp.coefs_[0].shape[1]))
    first[cols] = mlp.coefs_[0]
    mlp.coefs_ = [first, *mlp.coefs_[1:]]
    mlp.n_features_in_ = n_features
    return mlp
