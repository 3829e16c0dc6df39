"""Float training: a scikit-learn ``MLPClassifier`` on the quantized inputs the hardware sees."""

from __future__ import annotations

import warnings
from types import MappingProxyType

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from .._signals import raise_if_interrupted

__all__ = ["DEFAULT_ALPHA", "DEFAULT_HIDDEN", "best_restart", "codes_to_unit", "default_hidden",
           "fit_float_mlp", "fit_restart", "restart_states"]

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
_REVIVALS = 2
#: scikit-learn's default L2 penalty, kept for datasets that are not wide.
DEFAULT_ALPHA = 1e-4


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
    alpha: float = DEFAULT_ALPHA,
) -> MLPClassifier:
    """Fit a ReLU ``MLPClassifier`` with Adam, keeping the best of ``restarts`` initializations.

    Each restart, from a seed derived from ``seed``, trains up to 1000 epochs (stopping after
    30 epochs without training-loss improvement). Tiny ReLU layers on non-negative inputs
    lose neurons easily (dead: zero on every training sample; with sklearn's initialization
    about half of the runs ended with at least one here), so after the first epoch every
    hidden bias is set to minus the median of the neuron's weighted input (each neuron starts
    active on half the samples), and neurons still dead after training get the same
    treatment and training resumes, up to twice.

    The kept model has the highest validation accuracy, ties broken by training accuracy,
    then by the earlier restart; with an empty validation set only training accuracy counts.

    Parameters
    ----------
    x_train, x_val : float inputs in [0, 1] (see :func:`codes_to_unit`).
    y_train, y_val : class labels.
    hidden : hidden layer sizes.
    seed : base random seed; the result is deterministic for a seed.
    restarts : number of initializations tried (>= 1).
    alpha : L2 weight penalty (scikit-learn's ``alpha``).
    """
    models = [fit_restart(x_train, y_train, hidden, state, alpha)
              for state in restart_states(seed, restarts)]
    return best_restart(models, x_train, y_train, x_val, y_val)


def restart_states(seed: int, restarts: int = _RESTARTS) -> list[int]:
    """The random states of :func:`fit_float_mlp`'s restarts for ``seed``, in order."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(restarts)]


def best_restart(models: list[MLPClassifier], x_train: np.ndarray, y_train: np.ndarray,
                 x_val: np.ndarray, y_val: np.ndarray) -> MLPClassifier:
    """The restart :func:`fit_float_mlp` keeps of ``models`` (in restart order): the highest
    validation accuracy, then training accuracy, then the earlier restart."""
    best, best_key = None, (-1.0, -1.0)
    for mlp in models:
        train_acc = float(np.mean(mlp.predict(x_train) == y_train))
        val_acc = float(np.mean(mlp.predict(x_val) == y_val)) if len(x_val) else 0.0
        if best is None or (val_acc, train_acc) > best_key:
            best, best_key = mlp, (val_acc, train_acc)
    return best


def fit_restart(x: np.ndarray, y: np.ndarray, hidden: tuple[int, ...], state: int,
                alpha: float = DEFAULT_ALPHA) -> MLPClassifier:
    """One restart of :func:`fit_float_mlp` (from random ``state``): one epoch, biases
    centered, training, up to two dead-neuron revivals."""
    mlp = _warm_fit(x, y, hidden, state, None, alpha)
    for _ in range(_REVIVALS):
        if not _center_biases(mlp, x, only_dead=True):
            break
        mlp = _warm_fit(x, y, hidden, state, mlp, alpha)
    return mlp


def _warm_fit(x: np.ndarray, y: np.ndarray, hidden: tuple[int, ...], state: int,
              start: MLPClassifier | None, alpha: float) -> MLPClassifier:
    """Train a fresh ``MLPClassifier`` from ``start``'s parameters (or, without ``start``, from
    its own first epoch with centered biases).

    A one-epoch fit sets up the estimator; the parameters are then replaced and training
    continues with ``warm_start``, which (unlike continuing ``start`` itself) begins with
    fresh Adam moments and early-stopping counters.
    """
    n = len(x)
    # Larger batches for larger sets: sklearn's per-step overhead dominates these tiny networks.
    batch = int(np.clip(n // 10, 32, 512))
    mlp = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation="relu",
        solver="adam",
        alpha=alpha,
        learning_rate_init=_LEARNING_RATE,
        batch_size=min(batch, n),
        max_iter=1,
        n_iter_no_change=_PATIENCE,
        random_state=state,
        warm_start=True,
    )
    with warnings.catch_warnings():
        # Hitting the epoch cap is a deliberate budget, not a problem to report.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Training interrupted by user")
        mlp.fit(x, y)
        if start is None:
            _center_biases(mlp, x, only_dead=False)
        else:
            mlp.coefs_ = [c.copy() for c in start.coefs_]
            mlp.intercepts_ = [b.copy() for b in start.intercepts_]
        mlp.set_params(max_iter=_MAX_EPOCHS)
        mlp.fit(x, y)
    raise_if_interrupted()  # scikit-learn ends training early on Ctrl-C and carries on
    mlp.set_params(warm_start=False)
    return mlp


def _center_biases(mlp: MLPClassifier, x: np.ndarray, *, only_dead: bool) -> bool:
    """Set hidden biases (of all neurons, or only of the dead ones) to minus the median of
    the neuron's weighted input on ``x``; return whether any bias was changed."""
    changed = False
    a = x
    for coef, bias in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1], strict=True):
        z = a @ coef
        target = np.all(z + bias <= 0, axis=0) if only_dead else np.ones(len(bias), bool)
        if target.any():
            bias[target] = -np.median(z[:, target], axis=0)
            changed = True
        a = np.maximum(z + bias, 0.0)
    return changed
