"""Float training: a scikit-learn ``MLPClassifier`` on the quantized inputs the hardware sees."""

from __future__ import annotations

import warnings
from types import MappingProxyType

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

__all__ = ["DEFAULT_HIDDEN", "default_hidden", "codes_to_unit", "fit_float_mlp"]

#: Hidden layer sizes of the published bespoke printed MLPs (e.g. cardio 21-3-3,
#: pendigits 16-5-10, redwine 11-2-6, whitewine 11-4-7, breast_cancer 9-3-2).
DEFAULT_HIDDEN: MappingProxyType[str, tuple[int, ...]] = MappingProxyType({
    "arrhythmia": (5,),
    "balance": (3,),
    "breast_cancer": (3,),
    "breast_cancer_wdbc": (3,),
    "cardio": (3,),
    "digits": (5,),
    "iris": (3,),
    "pendigits": (5,),
    "redwine": (2,),
    "seeds": (3,),
    "vertebral_3c": (3,),
    "whitewine": (4,),
    "wine": (3,),
})

_RESTARTS = 3
_MAX_EPOCHS = 1000
_PATIENCE = 30
_LEARNING_RATE = 0.01


def default_hidden(name: str, n_classes: int) -> tuple[int, ...]:
    """Hidden layer sizes for a dataset: the table :data:`DEFAULT_HIDDEN`, else one hidden
    layer of ``n_classes`` neurons bounded to 3..5 (the size range of the published designs)."""
    if name in DEFAULT_HIDDEN:
        return DEFAULT_HIDDEN[name]
    return (min(5, max(3, n_classes)),)


def codes_to_unit(codes: np.ndarray, bits: int) -> np.ndarray:
    """Input codes scaled back to [0, 1]: ``codes / (2**bits - 1)``, the float model's input."""
    return np.asarray(codes, dtype=np.float64) / ((1 << bits) - 1)


def fit_float_mlp(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    hidden: tuple[int, ...],
    seed: int,
    restarts: int = _RESTARTS,
) -> MLPClassifier:
    """Fit a ReLU ``MLPClassifier`` with Adam, keeping the best of ``restarts`` initializations.

    Each restart trains up to 1000 epochs (stopping after 30 epochs without training-loss
    improvement) from a seed derived from ``seed``; the kept model has the highest validation
    accuracy, ties broken by training accuracy, then by the earlier restart. With an empty
    validation set only training accuracy counts. Tiny hidden layers make the result depend
    strongly on the initialization, which is why several are tried. A restart whose hidden
    layer died (all its ReLUs zero on every training sample: a constant classifier, about one
    run in seven with 3 hidden neurons) does not count; up to ``3 * restarts`` are made.

    Parameters
    ----------
    x_train, x_val : float inputs in [0, 1] (see :func:`codes_to_unit`).
    y_train, y_val : class labels.
    hidden : hidden layer sizes.
    seed : base random seed; the result is deterministic for a seed.
    restarts : number of initializations tried.
    """
    n = len(x_train)
    # Larger batches for larger sets: sklearn's per-step overhead dominates these tiny networks.
    batch = int(np.clip(n // 10, 32, 512))
    best: MLPClassifier | None = None
    best_key = (-1.0, -1.0)
    fallback: MLPClassifier | None = None
    kept = 0
    for state in np.random.SeedSequence(seed).generate_state(3 * restarts):
        mlp = MLPClassifier(
            hidden_layer_sizes=hidden,
            activation="relu",
            solver="adam",
            learning_rate_init=_LEARNING_RATE,
            batch_size=min(batch, n),
            max_iter=_MAX_EPOCHS,
            n_iter_no_change=_PATIENCE,
            random_state=int(state),
        )
        with warnings.catch_warnings():
            # Hitting the epoch cap is a deliberate budget, not a problem to report.
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(x_train, y_train)
        if _collapsed(mlp, x_train):
            fallback = fallback or mlp
            continue
        kept += 1
        train_acc = float(np.mean(mlp.predict(x_train) == y_train))
        val_acc = float(np.mean(mlp.predict(x_val) == y_val)) if len(x_val) else 0.0
        if (val_acc, train_acc) > best_key:
            best, best_key = mlp, (val_acc, train_acc)
        if kept == restarts:
            break
    return best or fallback  # type: ignore[return-value]


def _collapsed(mlp: MLPClassifier, x: np.ndarray) -> bool:
    """Whether some hidden layer of ``mlp`` outputs only zeros on ``x``."""
    a = x
    for coef, intercept in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1], strict=True):
        a = np.maximum(a @ coef + intercept, 0.0)
        if not np.any(a):
            return True
    return False
