"""Post-training quantization of a fitted ``MLPClassifier`` into the integer :class:`Network`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neural_network import MLPClassifier

from ..data import Split, label_indices
from ..errors import UsageError
from ..ir import Layer, Network, Window, quantize_codes
from ._checks import check_bits, check_bool
from ._finetune import DEFAULT_EPOCHS, finetune

__all__ = ["quantize", "network_from_mlp", "network_from_layers", "json_label", "check_mlp"]

DEFAULT_PERCENTILE = 99.9
#: Weights of at most this many bits get the scale of least squared error (clipping outliers)
#: instead of the finest one at which every weight fits (:func:`_layer_exponent`).
LOW_BITS = 3


def json_label(value: Any) -> int | float | str:
    """A class label as a JSON scalar (numpy scalars unwrapped; bools become ints)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | str):
        return value
    raise UsageError(f"class labels must be integers, floats or strings, got {value!r}")


def check_mlp(mlp: object) -> MLPClassifier:
    """Check that ``mlp`` is a fitted single-output ReLU ``MLPClassifier``."""
    if not isinstance(mlp, MLPClassifier):
        raise UsageError(f"expected a fitted sklearn MLPClassifier, got {type(mlp).__name__!r}")
    if not hasattr(mlp, "coefs_"):
        raise UsageError("the MLPClassifier is not fitted; call fit() first")
    if mlp.activation != "relu":
        raise UsageError(
            f"only ReLU hidden layers can be quantized, the MLP uses {mlp.activation!r}"
        )
    if mlp.n_layers_ < 3:
        raise UsageError("the MLP has no hidden layer")
    if mlp.out_activation_ not in ("softmax", "logistic") or (
        mlp.out_activation_ == "logistic" and mlp.n_outputs_ != 1
    ):
        raise UsageError(
            f"only single-label classifiers can be quantized (output {mlp.out_activation_!r} "
            f"with {mlp.n_outputs_} outputs)"
        )
    return mlp


def _largest_exponent(v: np.ndarray, lo: int, hi: int) -> int | None:
    """Largest ``e`` with every ``round(v * 2**e)`` in ``lo..hi`` (``None``: no limit)."""
    peak = float(np.max(np.abs(v))) if v.size else 0.0
    if peak == 0.0:
        return None

    def fits(e: int) -> bool:
        q = np.rint(np.ldexp(v, e))
        return bool(q.min() >= lo and q.max() <= hi)

    e = int(np.floor(np.log2(hi / peak)))
    while fits(e + 1):
        e += 1
    while not fits(e):
        e -= 1
    return e


def _low_bit_exponent(v: np.ndarray, lo: int, hi: int, fit: int) -> int:
    """The exponent from ``fit`` (where every weight fits) up to ``fit + 3`` with the least
    squared error of the clipped, rounded weights ``clip(round(v * 2**e), lo, hi) / 2**e``."""
    def error(e: int) -> float:
        return float(np.sum((np.ldexp(np.clip(np.rint(np.ldexp(v, e)), lo, hi), -e) - v) ** 2))

    return min(range(fit, fit + 4), key=lambda e: (error(e), e))


def _layer_exponent(v: np.ndarray, bias: np.ndarray, weight_bits: int, in_width: int) -> int:
    """The layer's scale exponent: the finest at which the weights fit ``weight_bits``, or
    at most :data:`LOW_BITS` bits the one of least squared error, clipping the largest.

    At 2 bits (-2..1) the largest weight alone set the step: on Pendigits 16-20-10 it rounded
    most weights to zero. Biases may exceed the weights' range but not 4x the largest possible
    ``sum(w * a)``: that only binds for degenerate layers whose weights all but vanished (dead
    inputs), where the weight-only exponent would blow the biases up to absurd widths.
    """
    lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    w_exp = _largest_exponent(v, lo, hi)
    if w_exp is not None and weight_bits <= LOW_BITS:
        w_exp = _low_bit_exponent(v, lo, hi, w_exp)
    bias_bound = 1 << (weight_bits + in_width + v.shape[1].bit_length() + 1)
    b_exp = _largest_exponent(bias, -bias_bound, bias_bound)
    candidates = [e for e in (w_exp, b_exp) if e is not None]
    return min(candidates) if candidates else 0


def network_from_mlp(
    mlp: MLPClassifier,
    codes_train: np.ndarray,
    *,
    input_bits: int,
    weight_bits: int,
    activation_bits: int,
    feature_min: np.ndarray,
    feature_max: np.ndarray,
    activation_percentile: float = DEFAULT_PERCENTILE,
) -> Network:
    """Quantize a fitted MLP (trained on ``codes / (2**input_bits - 1)``) without fine-tuning:
    :func:`network_from_layers` of its coefficients, intercepts and classes."""
    return network_from_layers(
        mlp.coefs_, mlp.intercepts_, mlp.classes_, codes_train, input_bits=input_bits,
        weight_bits=weight_bits, activation_bits=activation_bits, feature_min=feature_min,
        feature_max=feature_max, activation_percentile=activation_percentile)


def network_from_layers(
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
    classes: Any,
    codes_train: np.ndarray,
    *,
    input_bits: int,
    weight_bits: int,
    activation_bits: int,
    feature_min: np.ndarray,
    feature_max: np.ndarray,
    activation_percentile: float = DEFAULT_PERCENTILE,
) -> Network:
    """Quantize a float ReLU MLP without fine-tuning.

    ``coefs[k]`` (``(n_in, n_out)``) and ``intercepts[k]`` are layer ``k``'s weights and
    biases as scikit-learn stores them, for inputs ``codes / (2**input_bits - 1)``; hidden
    layers apply ReLU, the last layer's argmax (a single output: its sign) is the class among
    ``classes``.

    Every quantity carries a float scale (real value per integer unit), starting at
    ``1 / (2**input_bits - 1)`` per input code:

    * Layer weights in input units ``V = W * scale_in`` become signed ``weight_bits``-bit
      integers ``round(V * 2**e)`` with the largest ``e`` (finest power-of-two step) at which all
      fit (at most :data:`LOW_BITS` bits: the ``e`` of least squared error, the largest
      weights clipped); the accumulator scale is then ``2**-e``.
    * Biases are rounded in accumulator units and not range-limited (they are constants of the
      adder tree).
    * Hidden neurons get a ``Window(lsb, activation_bits)``: ``lsb`` is the smallest shift that
      lets the ``activation_percentile`` percentile of the neuron's integer accumulator on the
      training codes fit (larger values saturate). The activation scale is
      ``acc_scale * 2**lsb``. The window's shift truncates; adding ``2**(lsb - 1)`` to the bias
      (free: it is folded into the adder tree) turns that into rounding to nearest.
    * Binary problems: sklearn's single logistic output ``z`` becomes output 1, preceded by a
      constant-zero output 0 (zero weights, masks and bias); the golden model's argmax with the
      lowest index winning ties then gives class 1 iff ``z > 0``, sklearn's rule.

    Masks are all ones (but 0 on an input whose float weights are all exactly zero: the
    input is not read), truncations 0 and ``argmax_shift`` 0.
    """
    codes = np.asarray(codes_train, dtype=np.int64)
    scale_in = np.full(codes.shape[1], 1.0 / ((1 << input_bits) - 1))
    a = codes
    width = input_bits
    layers = []
    n_layers = len(coefs)
    for k, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
        v = coef.T * scale_in  # (n_out, n_in), real value per input unit
        e = _layer_exponent(v, intercept, weight_bits, width)
        # Only a low-bit scale clips (see _layer_exponent); the others fit.
        w = np.clip(np.rint(np.ldexp(v, e)), -(1 << (weight_bits - 1)),
                    (1 << (weight_bits - 1)) - 1).astype(np.int64)
        b = np.rint(np.ldexp(intercept, e)).astype(np.int64)
        masks = np.full(w.shape, (1 << width) - 1, dtype=np.int64)
        if k == 0:
            # An input whose float weights are all exactly zero was left out by training (or
            # pruned): it is not read, and fine-tuning must not bring it back (no ADC for it).
            masks[:, ~np.any(coef != 0, axis=1)] = 0
        acc = a @ w.T + b
        if k < n_layers - 1:
            peak = np.ceil(np.percentile(acc, activation_percentile, axis=0)).astype(np.int64)
            lsb = [max(0, int(p).bit_length() - activation_bits) if p > 0 else 0 for p in peak]
            windows = tuple(Window(lsb_j, activation_bits) for lsb_j in lsb)
            shifts = np.array(lsb, dtype=np.int64)
            half = np.where(shifts > 0, np.left_shift(1, np.maximum(shifts - 1, 0)), 0)
            b = b + half
            a = np.clip((acc + half) >> shifts, 0, (1 << activation_bits) - 1)
            scale_in = np.ldexp(1.0, shifts - e)
            width = activation_bits
        else:
            windows = None
            if w.shape[0] == 1:
                w = np.vstack([np.zeros_like(w), w])
                b = np.concatenate([[0], b])
                masks = np.vstack([np.zeros_like(masks), masks])
        layers.append(Layer(
            weights=w.tolist(),
            biases=b.tolist(),
            masks=masks.tolist(),
            truncation=[0] * w.shape[0],
            activation=windows,
        ))
    return Network(
        input_bits=input_bits,
        layers=tuple(layers),
        classes=tuple(json_label(c) for c in classes),
        argmax_shift=0,
        feature_min=tuple(np.asarray(feature_min, dtype=np.float64).tolist()),
        feature_max=tuple(np.asarray(feature_max, dtype=np.float64).tolist()),
    )


def _raw_array(name: str, x: object, n_features: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name} must be a numeric array: {exc}") from None
    if arr.ndim != 2 or (n_features is not None and arr.shape[1] != n_features):
        want = "(n, n_features)" if n_features is None else f"(n, {n_features})"
        raise UsageError(f"{name} must have shape {want}, got {arr.shape!r}")
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"{name} contains NaN or infinite values")
    return arr


def quantize(
    mlp: MLPClassifier,
    data: Split | np.ndarray,
    y_train: np.ndarray | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    *,
    feature_min: np.ndarray | None = None,
    feature_max: np.ndarray | None = None,
    input_bits: int = 4,
    weight_bits: int = 8,
    activation_bits: int = 8,
    qat: bool = True,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    activation_percentile: float = DEFAULT_PERCENTILE,
) -> Network:
    """Convert a fitted ``MLPClassifier`` into an integer :class:`~bespoke_mlp.ir.Network`.

    The MLP must use ReLU hidden layers and must have been trained on min-max scaled inputs in
    [0, 1] — ideally on the quantized inputs ``codes / (2**input_bits - 1)`` the hardware sees
    (as :func:`train_model` does). See :func:`network_from_mlp` for the quantization scheme;
    with ``qat`` the result is then fine-tuned by :func:`finetune`.

    Parameters
    ----------
    mlp : the fitted classifier.
    data : a :class:`~bespoke_mlp.data.Split` (its training and validation parts and min-max
        range are used), or the raw training features ``X_train`` of shape (n, n_features).
    y_train, X_val, y_val : with raw ``X_train``: training labels and optional validation data
        (raw features and labels) for fine-tuning; without validation data the fine-tuned
        network is selected on the training data. Must be omitted with a ``Split``.
    feature_min, feature_max : with raw ``X_train``: the min-max range the MLP's inputs were
        scaled with; default: the range of ``X_train``.
    input_bits : input code width, 1..8.
    weight_bits : signed weight width, 2..14 (the golden model's coefficient limit ±8192).
    activation_bits : hidden activation width, 1..16.
    qat : fine-tune the quantized network (quantization-aware, straight-through estimator).
    epochs : fine-tuning epochs.
    seed : fine-tuning seed.
    activation_percentile : percentile of the training accumulators the activation windows
        must hold, in (0, 100].

    Returns
    -------
    Network
        The integer network; ``classes`` are the MLP's class labels as JSON scalars.

    Raises
    ------
    UsageError
        For an unsuitable MLP, mismatched data or out-of-range parameters.
    """
    mlp = check_mlp(mlp)
    input_bits = check_bits("input_bits", input_bits)
    weight_bits = check_bits("weight_bits", weight_bits)
    activation_bits = check_bits("activation_bits", activation_bits)
    qat = check_bool("qat", qat)
    if not (isinstance(activation_percentile, int | float) and 0 < activation_percentile <= 100):
        raise UsageError(
            f"activation_percentile must be in (0, 100], got {activation_percentile!r}"
        )
    n_features = mlp.coefs_[0].shape[0]
    if isinstance(data, Split):
        if any(v is not None for v in (y_train, X_val, y_val, feature_min, feature_max)):
            raise UsageError("with a Split, pass no separate labels, validation data or range")
        x_train, y_train = _raw_array("X_train", data.X_train, n_features), data.y_train
        x_val, y_val = _raw_array("X_val", data.X_val, n_features), data.y_val
        lo, hi = data.feature_min, data.feature_max
    else:
        x_train = _raw_array("X_train", data, n_features)
        if y_train is None:
            raise UsageError("y_train is required with raw training features")
        if (X_val is None) != (y_val is None):
            raise UsageError("pass both X_val and y_val, or neither")
        x_val = x_train[:0] if X_val is None else _raw_array("X_val", X_val, n_features)
        y_val = np.asarray(y_train)[:0] if y_val is None else y_val
        lo = x_train.min(axis=0) if feature_min is None else feature_min
        hi = x_train.max(axis=0) if feature_max is None else feature_max
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    if lo.shape != (n_features,) or hi.shape != (n_features,):
        raise UsageError(
            f"feature_min/feature_max must have {n_features} entries, got shapes "
            f"{lo.shape!r} and {hi.shape!r}"
        )
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    for name, x, y in (("training", x_train, y_train), ("validation", x_val, y_val)):
        if y.shape != (len(x),):
            raise UsageError(f"{name} labels must have shape ({len(x)},), got {y.shape!r}")
    if len(x_train) == 0:
        raise UsageError("quantization needs at least one training sample")
    codes_train = quantize_codes(x_train, lo, hi, input_bits)
    net = network_from_mlp(
        mlp, codes_train, input_bits=input_bits, weight_bits=weight_bits,
        activation_bits=activation_bits, feature_min=lo, feature_max=hi,
        activation_percentile=float(activation_percentile),
    )
    if not qat:
        return net
    idx_train = label_indices(mlp.classes_, y_train)
    idx_val = label_indices(mlp.classes_, y_val)
    # Samples of classes the MLP never saw cannot be learned; they do not steer the tuning.
    keep_train, keep_val = idx_train >= 0, idx_val >= 0
    codes_val = quantize_codes(x_val, lo, hi, input_bits)
    return finetune(
        net, codes_train[keep_train], idx_train[keep_train], codes_val[keep_val],
        idx_val[keep_val], epochs=epochs, seed=seed, weight_bits=weight_bits,
    )
