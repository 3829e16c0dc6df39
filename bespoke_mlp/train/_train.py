"""End-to-end training of a dataset: split, float MLP, quantization, fine-tuning, test scores."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

import numpy as np
from sklearn.neural_network import MLPClassifier

from .._choices import DEFAULT_SPLIT_SEED
from ..data import Dataset, Split, label_indices, load_dataset, split_dataset
from ..errors import UsageError
from ..ir import DEFAULT_INPUT_RANGE, InputRange, Network, predict_codes
from ._checks import check_bits, check_bool, check_feature_selection, check_hidden, check_int
from ._float import codes_to_unit, default_hidden, fit_float_mlp
from ._quantize import quantize
from ._wide import fit_wide_mlp, selects_features

__all__ = ["TrainResult", "train_model", "DEFAULT_SPLIT_SEED"]


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Outcome of :func:`train_model`.

    Attributes
    ----------
    network : the quantized (and fine-tuned) integer network.
    mlp : the float model it was quantized from.
    split : the data split used.
    dataset : the dataset's name.
    accuracy : test-split accuracy (fraction in [0, 1]) of the float model (``"float"``, on
        the quantized inputs scaled back to [0, 1]) and of the network's golden model
        (``"quantized"``).
    runtime_s : wall-clock time of the whole training.
    """

    network: Network
    mlp: MLPClassifier
    split: Split
    dataset: str
    accuracy: dict[str, float]
    runtime_s: float


def train_model(
    dataset: str | os.PathLike[str] | Dataset,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    hidden: int | tuple[int, ...] | None = None,
    seed: int = 0,
    input_bits: int = 4,
    weight_bits: int = 8,
    activation_bits: int = 8,
    qat: bool = True,
    split_seed: int = DEFAULT_SPLIT_SEED,
    select_size: float = 0.0,
    feature_selection: bool | str | None = None,
    input_range: InputRange = DEFAULT_INPUT_RANGE,
) -> TrainResult:
    """Train a bespoke MLP classifier for a dataset and quantize it to an integer network.

    Steps: :func:`~bespoke_mlp.data.split_dataset` (30 % stratified test part with
    ``split_seed``; of the rest, ``select_size`` held out for selection, a fifth of what
    remains for validation, the others train; each feature's input range fitted by
    ``input_range`` on all non-test samples); inputs quantized to ``input_bits``-bit codes;
    a float ReLU ``MLPClassifier`` trained on ``codes / (2**bits - 1)`` (best of a few
    seeded restarts by validation accuracy; with ``feature_selection`` also selecting
    its features on the validation part, see
    :func:`~bespoke_mlp.train._wide.fit_wide_mlp`); :func:`quantize` to
    ``weight_bits``-bit weights and ``activation_bits``-bit hidden activations; with ``qat``,
    quantization-aware fine-tuning selected on the validation part.

    Parameters
    ----------
    dataset : a dataset name, a CSV path (see :func:`~bespoke_mlp.data.load_dataset`), or a
        loaded :class:`~bespoke_mlp.data.Dataset`.
    data_dir : directory of the printed-ML suite CSVs (for suite names).
    hidden : hidden layer sizes; default: the published topology of the dataset
        (:data:`DEFAULT_HIDDEN`), else 3..5 neurons.
    seed : seed of the float training and fine-tuning.
    input_bits : input code width (ADC bits), 1..8.
    weight_bits : signed weight width, 2..14 (the golden model's coefficient limit ±8192).
    activation_bits : hidden activation width, 1..16.
    qat : run quantization-aware fine-tuning.
    split_seed : seed of the train/validation/test split (42: the papers' test set).
    select_size : fraction of the non-test samples held out as the selection part, which
        training never sees (see :func:`~bespoke_mlp.data.split_dataset`).
    feature_selection : select the features the network reads (``True``), read all
        (``False``), or ``None`` / ``"auto"``: select on datasets of at least
        :data:`~bespoke_mlp.train.WIDE_MIN_FEATURES` features.
    input_range : the rule fitting each feature's input range (values outside it are clipped
        to the end codes), recorded in the network with the features it clips.

    Raises
    ------
    UsageError
        For an out-of-range parameter.
    DataError
        If the dataset cannot be loaded or split.
    """
    start = time.perf_counter()
    hidden_sizes = None if hidden is None else check_hidden(hidden)
    seed = check_int("seed", seed, 0)
    split_seed = check_int("split_seed", split_seed, 0)
    input_bits = check_bits("input_bits", input_bits)
    weight_bits = check_bits("weight_bits", weight_bits)
    activation_bits = check_bits("activation_bits", activation_bits)
    qat = check_bool("qat", qat)
    feature_selection = check_feature_selection(feature_selection)
    if isinstance(dataset, Dataset):
        ds = dataset
    elif isinstance(dataset, str | os.PathLike):
        ds = load_dataset(dataset, data_dir=data_dir)
    else:
        raise UsageError(
            f"dataset must be a name, a CSV path or a Dataset, got {type(dataset).__name__!r}"
        )
    if hidden_sizes is None:
        hidden_sizes = default_hidden(ds.name, len(ds.classes))
    split = split_dataset(ds, seed=split_seed, select_size=select_size,
                          input_range=input_range)
    codes = {part: split.codes(part, input_bits) for part in ("train", "val")}
    fit = fit_wide_mlp if selects_features(feature_selection, ds.X.shape[1]) else fit_float_mlp
    mlp = fit(
        codes_to_unit(codes["train"], input_bits), split.y_train,
        codes_to_unit(codes["val"], input_bits), split.y_val,
        hidden=hidden_sizes, seed=seed,
    )
    return quantized(ds, split, mlp, input_bits=input_bits, weight_bits=weight_bits,
                     activation_bits=activation_bits, qat=qat, seed=seed, start=start)


def quantized(ds: Dataset, split: Split, mlp: MLPClassifier, *, input_bits: int,
              weight_bits: int, activation_bits: int, qat: bool, seed: int,
              start: float | None = None) -> TrainResult:
    """:func:`train_model`'s result from its float model ``mlp`` fitted on ``split``:
    several weight widths can quantize the same float model (as checked parameters);
    ``start``: when the training began (``runtime_s``; default: now)."""
    start = time.perf_counter() if start is None else start
    net = replace(quantize(
        mlp, split, input_bits=input_bits, weight_bits=weight_bits,
        activation_bits=activation_bits, qat=qat, seed=seed,
    ), feature_names=ds.feature_names, dropped_features=ds.dropped_features,
        input_range=split.input_range, input_clipped=split.input_clipped)
    test = split.codes("test", input_bits)
    y_test = label_indices(mlp.classes_, split.y_test)
    accuracy = {
        "float": float(np.mean(mlp.predict(codes_to_unit(test, input_bits)) == split.y_test)),
        "quantized": float(np.mean(predict_codes(net, test) == y_test)),
    }
    return TrainResult(
        network=net,
        mlp=mlp,
        split=split,
        dataset=ds.name,
        accuracy=accuracy,
        runtime_s=time.perf_counter() - start,
    )
