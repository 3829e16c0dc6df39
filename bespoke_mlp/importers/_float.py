"""Float MLPs (ONNX or scikit-learn) to the integer network, with the training stage's
post-training quantization and optional quantization-aware fine-tuning."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UsageError
from ..ir import Network, quantize_codes
from ..train import finetune
from ..train._quantize import network_from_layers
from ._graph import Chain

__all__ = ["float_layers", "quantize_float"]


def float_layers(chain: Chain) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The chain's layers as scikit-learn stores them: ``coefs[k]`` ``(n_in, n_out)`` and
    ``intercepts[k]``, a ReLU after every layer but the last.

    Consecutive affine steps (preprocessing, ``MatMul``, ``Add``, scaling) compose into one
    layer, so per-feature scalers before the first layer fold into it.
    """
    width = chain.n_features
    a, c = np.eye(width), np.zeros(width)
    linear = False
    coefs, intercepts = [], []
    for step in chain.steps:
        if step.kind == "linear":
            a, c, linear = a @ step.value, c @ step.value, True
        elif step.kind == "bias":
            c = c + step.value
        elif step.kind == "scale":
            a, c = a * step.value, c * step.value
        elif step.kind == "relu":
            if not linear:
                raise UsageError(f"unsupported operator 'Relu' at node {step.node!r}: no linear "
                                 "layer before it")
            coefs.append(a)
            intercepts.append(c)
            a, c, linear = np.eye(a.shape[1]), np.zeros(a.shape[1]), False
        else:
            raise UsageError(f"unsupported operator {step.op!r} at node {step.node!r} in a "
                             "float model")
    if not linear:
        raise UsageError("the model has no output layer after its last Relu")
    coefs.append(a)
    intercepts.append(c)
    if len(coefs) < 2:
        raise UsageError("the model has no hidden layer (no Relu between linear layers)")
    return coefs, intercepts


def quantize_float(
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
    classes: tuple[Any, ...],
    x_reference: np.ndarray,
    *,
    feature_min: np.ndarray,
    feature_max: np.ndarray,
    input_bits: int,
    weight_bits: int,
    activation_bits: int,
    tune: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
) -> Network:
    """Quantize a float ReLU MLP on raw features into the integer network.

    The ADC codes ``c`` stand for ``x = min + c / (2**input_bits - 1) * (max - min)``; that
    affine map folds into the first layer, which then takes the training stage's inputs
    ``c / (2**input_bits - 1)``, and :func:`bespoke_mlp.train._quantize.network_from_layers`
    quantizes (activation windows from ``x_reference``). With ``tune``, ``(X_train, y_train,
    X_val, y_val)`` raw features and class indices, :func:`bespoke_mlp.train.finetune` then
    tunes the network quantization-aware.
    """
    lo = np.asarray(feature_min, dtype=np.float64)
    hi = np.asarray(feature_max, dtype=np.float64)
    first = coefs[0]
    span = np.where(hi > lo, hi - lo, 0.0)
    layers = [span[:, None] * first, *coefs[1:]]
    biases = [intercepts[0] + lo @ first, *intercepts[1:]]
    codes = quantize_codes(x_reference, lo, hi, input_bits)
    net = network_from_layers(layers, biases, classes, codes, input_bits=input_bits,
                              weight_bits=weight_bits, activation_bits=activation_bits,
                              feature_min=lo, feature_max=hi)
    if tune is None:
        return net
    x_train, y_train, x_val, y_val = tune
    return finetune(net, quantize_codes(x_train, lo, hi, input_bits), y_train,
                    quantize_codes(x_val, lo, hi, input_bits), y_val, seed=seed,
                    weight_bits=weight_bits)
