"""A scikit-learn classifier whose predictions are the bespoke circuit's (the golden model)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..data import stratified_holdout
from ..errors import DataError, UsageError
from ..ir import DEFAULT_INPUT_RANGE, InputRange, encode_inputs, predict_codes, quantize_codes
from ._checks import (
    check_bits,
    check_bool,
    check_feature_selection,
    check_fraction,
    check_hidden,
    check_int,
)
from ._finetune import DEFAULT_EPOCHS, finetune
from ._float import codes_to_unit, fit_float_mlp
from ._quantize import network_from_mlp
from ._wide import fit_wide_mlp, selects_features

__all__ = ["BespokeMLPClassifier"]


def _validation_split(
    y: np.ndarray, val_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted training and validation indices (see :func:`stratified_holdout`); an empty
    validation part if no split is possible."""
    index = np.arange(len(y))
    try:
        train, val = stratified_holdout(index, y, val_size, seed)
    except DataError:
        return index, index[:0]
    return np.sort(train), np.sort(val)


class BespokeMLPClassifier(ClassifierMixin, BaseEstimator):
    """MLP classifier quantized to a bespoke integer circuit, predicting like the hardware.

    ``fit`` fits each feature's input range on ``X`` (``input_range``), quantizes the
    features to ``input_bits``-bit codes, holds out a stratified ``val_size`` fraction for
    validation, trains a float ReLU MLP on the codes scaled to [0, 1], quantizes it to an
    integer
    :class:`~bespoke_mlp.ir.Network` and (with ``qat``) fine-tunes it quantization-aware.
    ``predict`` runs the network's bit-exact golden model on the encoded inputs.

    Parameters
    ----------
    hidden_layer_sizes : hidden layer sizes.
    input_bits : input code width (ADC bits), 1..8.
    weight_bits : signed weight width, 2..14 (the golden model's coefficient limit ±8192).
    activation_bits : hidden activation width, 1..16.
    qat : run quantization-aware fine-tuning.
    val_size : fraction of the training data held out for model selection, in [0, 1); 0
        selects on the training data.
    random_state : seed (int), ``RandomState`` or ``None``.
    qat_epochs : fine-tuning epochs.
    feature_selection : ``"auto"`` (select the features the network reads on datasets of at
        least :data:`~bespoke_mlp.train.WIDE_MIN_FEATURES` features), ``True`` or ``False``.
        Unselected features get all-zero first-layer weights: no ADC reads them.
    input_range : the :class:`~bespoke_mlp.ir.InputRange` rule fitting each feature's range
        (values beyond it read as the end codes).

    Attributes
    ----------
    network_ : the integer network (``Network.to_json()`` exports it).
    classes_ : class labels.
    n_features_in_ : number of features.
    mlp_ : the float ``MLPClassifier`` the network was quantized from.
    """

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (3,),
        input_bits: int = 4,
        weight_bits: int = 8,
        activation_bits: int = 8,
        qat: bool = True,
        val_size: float = 0.2,
        random_state: int | np.random.RandomState | None = 0,
        qat_epochs: int = DEFAULT_EPOCHS,
        feature_selection: bool | str = "auto",
        input_range: InputRange = DEFAULT_INPUT_RANGE,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.input_bits = input_bits
        self.weight_bits = weight_bits
        self.activation_bits = activation_bits
        self.qat = qat
        self.val_size = val_size
        self.random_state = random_state
        self.qat_epochs = qat_epochs
        self.feature_selection = feature_selection
        self.input_range = input_range

    def fit(self, X: np.ndarray, y: np.ndarray) -> BespokeMLPClassifier:
        """Train, quantize and fine-tune on ``X`` (n_samples, n_features) and labels ``y``.

        Raises
        ------
        UsageError
            For an invalid parameter (a ``ValueError``).
        ValueError
            For invalid data, or fewer than 2 classes.
        """
        hidden = check_hidden(self.hidden_layer_sizes)
        input_bits = check_bits("input_bits", self.input_bits)
        weight_bits = check_bits("weight_bits", self.weight_bits)
        activation_bits = check_bits("activation_bits", self.activation_bits)
        qat = check_bool("qat", self.qat)
        val_size = check_fraction("val_size", self.val_size, allow_zero=True)
        epochs = check_int("qat_epochs", self.qat_epochs, 0)
        selection = check_feature_selection(self.feature_selection)
        if not isinstance(self.input_range, InputRange):
            raise UsageError(f"input_range must be an InputRange, got {self.input_range!r}")
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise UsageError(
                f"a classifier needs at least 2 classes, got 1 class ({classes[0]!r})"
            )
        rng = check_random_state(self.random_state)
        split_seed, mlp_seed, qat_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=3))
        fitted = self.input_range.fit(X)
        lo, hi = fitted.lo, fitted.hi
        codes = quantize_codes(X, lo, hi, input_bits)
        train, val = _validation_split(y_idx, val_size, split_seed)
        fit = fit_wide_mlp if selects_features(selection, X.shape[1]) else fit_float_mlp
        mlp = fit(
            codes_to_unit(codes[train], input_bits), y[train],
            codes_to_unit(codes[val], input_bits), y[val],
            hidden=hidden, seed=mlp_seed,
        )
        net = network_from_mlp(
            mlp, codes[train], input_bits=input_bits, weight_bits=weight_bits,
            activation_bits=activation_bits, feature_min=lo, feature_max=hi,
        )
        # Every class is in the training part, so the MLP's classes are ``classes``.
        if qat:
            net = finetune(
                net, codes[train], y_idx[train], codes[val], y_idx[val], epochs=epochs,
                seed=qat_seed, weight_bits=weight_bits,
            )
        self.classes_ = classes
        self.mlp_ = mlp
        self.network_ = replace(net, input_range=self.input_range,
                                input_clipped=tuple(bool(c) for c in fitted.clipped))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels predicted by the integer network's golden model."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.classes_[predict_codes(self.network_, encode_inputs(self.network_, X))]
