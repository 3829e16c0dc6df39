"""The importers' entry points: ONNX/QONNX files and scikit-learn objects to the integer
network, and the imported model's own predictions."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Dataset, Split, split_dataset
from ..errors import ModelFileError, UsageError
from ..ir import MIN_MAX, InputRange, Network, encode_inputs, predict_codes
from ..train._checks import check_bits, check_bool
from ..train._quantize import check_mlp, json_label
from ._float import float_layers, quantize_float
from ._graph import Chain, json_list, read_chain

__all__ = ["IMPORT_SUFFIXES", "ImportResult", "from_onnx", "from_sklearn", "import_model",
           "load_onnx", "predict_onnx"]

_PICKLES = (".pkl", ".pickle", ".joblib", ".sav", ".dill")
#: File suffixes ``generate`` hands to the importer (which refuses the pickles).
IMPORT_SUFFIXES = (".onnx", *_PICKLES)


@dataclass(frozen=True, eq=False)
class ImportResult:
    """An imported model ready for the flows (the fields the flows read of a training result).

    Attributes
    ----------
    network : the integer network.
    split : the dataset's split; its range is the network's input range.
    dataset : the dataset's name.
    accuracy : test-split accuracy of the source model (``"imported"``, run by onnxruntime or
        qonnx) and of the network's golden model (``"quantized"``).
    exact : whether the network was imported without re-quantization (QONNX).
    runtime_s : wall-clock time of the import.
    """

    network: Network
    split: Split
    dataset: str
    accuracy: dict[str, float]
    exact: bool
    runtime_s: float


def _onnx():
    try:
        import onnx
    except ImportError:
        raise UsageError("importing ONNX models needs the onnx extra: "
                         "pip install 'bespoke-mlp[onnx]'") from None
    return onnx


def load_onnx(path: str | os.PathLike[str]) -> Any:
    """Read an ONNX file (never a pickle: the Python API takes live scikit-learn objects)."""
    onnx = _onnx()
    from google.protobuf.message import DecodeError

    path = Path(path)
    if path.suffix.lower() in _PICKLES:
        raise UsageError(f"{str(path)!r} looks like a pickle; bespoke-mlp never loads pickles "
                         "(convert the model with skl2onnx, or use from_sklearn)")
    try:
        return onnx.load(str(path))
    except OSError as exc:
        raise UsageError(f"cannot read model file {str(path)!r}: {exc.strerror}") from None
    except DecodeError as exc:
        raise ModelFileError(f"{str(path)!r} is not an ONNX model: {exc}") from None


def _n_outputs(chain: Chain) -> int:
    last = [s for s in chain.steps if s.kind == "linear"][-1]
    return 2 if chain.binary else last.value.shape[1]


def _classes(chain: Chain, labels: np.ndarray | None) -> tuple[Any, ...]:
    """Class labels: those the model names, else the sorted labels of the data when their
    number matches the outputs (scikit-learn's order), else output indices."""
    n = _n_outputs(chain)
    if chain.classes is not None:
        if len(chain.classes) != n:
            raise UsageError(f"the model names {len(chain.classes)} classes for {n} outputs")
        return tuple(json_label(c) for c in chain.classes)
    if labels is not None:
        seen = np.unique(np.asarray(labels))
        if len(seen) == n:
            return tuple(json_label(c) for c in seen)
    return tuple(range(n))


def _indices(classes: tuple[Any, ...], labels: np.ndarray) -> np.ndarray:
    """Index of each label in ``classes``; -1 for a label the model does not know."""
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index.get(json_label(v), -1) for v in np.asarray(labels)], dtype=np.int64)


def _features(name: str, x: Any, n_features: int) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name} must be a numeric array: {exc}") from None
    if arr.ndim != 2 or arr.shape[1] != n_features or not len(arr):
        raise UsageError(f"the model has {n_features} inputs but {name} has shape "
                         f"{arr.shape!r}")
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"{name} contains NaN or infinite values")
    return arr


def _input_range(chain: Chain, lo: Any, hi: Any, x: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The inputs' min-max range: the model's metadata ``feature_min``/``feature_max`` when it
    carries them, else ``lo``/``hi``, else the range of ``x``."""
    if "feature_min" in chain.metadata and "feature_max" in chain.metadata:
        lo = json_list(chain.metadata, "feature_min")
        hi = json_list(chain.metadata, "feature_max")
    lo = x.min(axis=0) if lo is None else np.asarray(lo, dtype=np.float64)
    hi = x.max(axis=0) if hi is None else np.asarray(hi, dtype=np.float64)
    if lo.shape != (chain.n_features,) or hi.shape != (chain.n_features,):
        raise UsageError(f"the input range must have {chain.n_features} entries, got "
                         f"{lo.shape!r} and {hi.shape!r}")
    return lo, hi


def _owns_range(chain: Chain) -> bool:
    """Whether the imported network's input range comes from the split (not the model)."""
    return not chain.quantized and not (
        "feature_min" in chain.metadata and "feature_max" in chain.metadata)


def _record_range(net: Network, split: Split, rule: InputRange | None
                  ) -> tuple[Network, Split]:
    """``net`` recording its input range's rule (None: the model's own) and the features it
    clips on the non-test samples, and ``split`` coding with that range."""
    lo, hi = np.asarray(net.feature_min), np.asarray(net.feature_max)
    seen = np.concatenate([split.X_train, split.X_val, split.X_select])
    clipped = tuple(bool(c) for c in ((seen < lo) | (seen > hi)).any(axis=0))
    net = dataclasses.replace(net, input_range=rule, input_clipped=clipped)
    return net, dataclasses.replace(split, feature_min=lo, feature_max=hi,
                                    input_range=rule, input_clipped=clipped)


def _check_bits(input_bits: int, weight_bits: int, activation_bits: int) -> None:
    for name, value in (("input_bits", input_bits), ("weight_bits", weight_bits),
                        ("activation_bits", activation_bits)):
        check_bits(name, value)


def from_onnx(
    path: str | os.PathLike[str],
    X_reference: Any = None,
    y_reference: Any = None,
    *,
    input_bits: int = 4,
    weight_bits: int = 8,
    activation_bits: int = 8,
    feature_min: Any = None,
    feature_max: Any = None,
    qat: bool = False,
    seed: int = 0,
) -> Network:
    """The integer :class:`~bespoke_mlp.ir.Network` of an ONNX or QONNX MLP classifier.

    A QONNX model (``Quant``/``BipolarQuant`` nodes on its input, weights and activations) is
    imported exactly, keeping its bit widths (the ``*_bits`` arguments are ignored); a part
    that does not fit the network raises a one-line error. A float model is quantized like the
    training stage's models: to ``input_bits``-bit input codes over the range of
    ``X_reference`` (or ``feature_min``/``feature_max``, or the model's metadata properties of
    those names, JSON lists), ``weight_bits``-bit weights and ``activation_bits``-bit
    activations, calibrated on ``X_reference``; with ``qat`` then fine-tuned on
    ``(X_reference, y_reference)``.

    Parameters
    ----------
    path : the ``.onnx`` file.
    X_reference : raw features, shape ``(n, n_features)``: required for a float model.
    y_reference : labels of ``X_reference``; they name the classes of a model that does not.
    input_bits, weight_bits, activation_bits : widths of a float model's quantization.
    feature_min, feature_max : the inputs' range (default: that of ``X_reference``).
    qat : quantization-aware fine-tuning (needs ``y_reference``).
    seed : fine-tuning seed.

    Raises
    ------
    UsageError
        For an unsupported operator or shape (naming the node), a QONNX model that does not
        fit, or mismatched data.
    """
    _check_bits(input_bits, weight_bits, activation_bits)
    qat = check_bool("qat", qat)
    chain = read_chain(load_onnx(path))
    x = None if X_reference is None else _features("X_reference", X_reference,
                                                   chain.n_features)
    labels = None if y_reference is None else np.asarray(y_reference)
    if labels is not None and (x is None or labels.shape != (len(x),)):
        raise UsageError("y_reference needs X_reference and one label per row")
    classes = _classes(chain, labels)
    if chain.quantized:
        from ._qonnx import exact_network

        return exact_network(chain, classes)
    if x is None:
        raise UsageError("a float model needs reference data to calibrate its quantization "
                         "(X_reference; --data on the command line)")
    if qat and labels is None:
        raise UsageError("qat needs y_reference")
    lo, hi = _input_range(chain, feature_min, feature_max, x)
    coefs, intercepts = float_layers(chain)
    tune = None
    if qat:
        idx = _indices(classes, labels)
        keep = idx >= 0
        tune = (x[keep], idx[keep], x[:0], idx[:0])
    return quantize_float(coefs, intercepts, classes, x, feature_min=lo, feature_max=hi,
                          input_bits=input_bits, weight_bits=weight_bits,
                          activation_bits=activation_bits, tune=tune, seed=seed)


def _affine_step(name: str, step: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature ``a, b`` with ``step.transform(x) == a * x + b`` (checked on ``x``)."""
    try:
        b = np.asarray(step.transform(np.zeros((1, x.shape[1]))), dtype=np.float64)[0]
        a = np.asarray(step.transform(np.ones((1, x.shape[1]))), dtype=np.float64)[0] - b
        ok = np.allclose(step.transform(x), a * x + b, rtol=1e-9, atol=1e-9)
    except (AttributeError, TypeError, ValueError):
        ok = False
    if not ok:
        raise UsageError(f"pipeline step {name!r} ({type(step).__name__}) is not a per-feature "
                         "affine scaler")
    return a, b


def from_sklearn(
    mlp: Any,
    X_reference: Any,
    y_reference: Any = None,
    *,
    input_bits: int = 4,
    weight_bits: int = 8,
    activation_bits: int = 8,
    feature_min: Any = None,
    feature_max: Any = None,
    qat: bool = False,
    seed: int = 0,
) -> Network:
    """The integer :class:`~bespoke_mlp.ir.Network` of a fitted scikit-learn ``MLPClassifier``
    (ReLU), or of a ``Pipeline`` of per-feature scalers (``StandardScaler``, ``MinMaxScaler``
    …) ending in one, trained on raw features.

    The model is quantized as :func:`from_onnx` quantizes a float model: input codes over the
    range of ``X_reference`` (or ``feature_min``/``feature_max``), activations calibrated on
    ``X_reference``, optional fine-tuning (``qat``) on ``(X_reference, y_reference)``.
    """
    _check_bits(input_bits, weight_bits, activation_bits)
    qat = check_bool("qat", qat)
    pre = []
    if hasattr(mlp, "steps") and isinstance(mlp.steps, list) and mlp.steps:
        pre, mlp = mlp.steps[:-1], mlp.steps[-1][1]
    mlp = check_mlp(mlp)
    n_features = mlp.coefs_[0].shape[0]
    x = _features("X_reference", X_reference, n_features)
    a, b, z = np.ones(n_features), np.zeros(n_features), x
    for name, step in pre:
        sa, sb = _affine_step(name, step, z)
        a, b, z = a * sa, b * sa + sb, sa * z + sb
    coefs = [a[:, None] * mlp.coefs_[0], *mlp.coefs_[1:]]
    intercepts = [mlp.intercepts_[0] + b @ mlp.coefs_[0], *mlp.intercepts_[1:]]
    lo = x.min(axis=0) if feature_min is None else np.asarray(feature_min, dtype=np.float64)
    hi = x.max(axis=0) if feature_max is None else np.asarray(feature_max, dtype=np.float64)
    classes = tuple(json_label(c) for c in mlp.classes_)
    tune = None
    if qat:
        if y_reference is None or np.shape(y_reference) != (len(x),):
            raise UsageError("qat needs y_reference, one label per row of X_reference")
        idx = _indices(classes, np.asarray(y_reference))
        keep = idx >= 0
        tune = (x[keep], idx[keep], x[:0], idx[:0])
    return quantize_float(coefs, intercepts, classes, x, feature_min=lo, feature_max=hi,
                          input_bits=input_bits, weight_bits=weight_bits,
                          activation_bits=activation_bits, tune=tune, seed=seed)


def predict_onnx(model: Any, x: np.ndarray, chain: Chain | None = None) -> np.ndarray:
    """Output index (argmax of the last layer) of the model for raw features ``x``, computed
    by onnxruntime (float models) or by qonnx's executor (QONNX models)."""
    onnx = _onnx()
    chain = chain or read_chain(model)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.append(onnx.helper.make_tensor_value_info(
        chain.logits, onnx.TensorProto.FLOAT, None))
    dtype = np.float64 if chain.input_type == onnx.TensorProto.DOUBLE else np.float32
    feed = {chain.input_name: np.asarray(x, dtype=dtype)}
    if chain.quantized:
        # qonnx's executor wants the declared input shape to match the batch.
        for inp in probe.graph.input:
            if inp.name == chain.input_name:
                inp.type.tensor_type.shape.dim[0].dim_value = len(x)
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.transformation.infer_shapes import InferShapes

        wrapper = ModelWrapper(probe).transform(InferShapes())
        logits = execute_onnx(wrapper, feed)[chain.logits]
    else:
        import onnxruntime

        session = onnxruntime.InferenceSession(probe.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        logits = session.run([chain.logits], feed)[0]
    logits = np.asarray(logits).reshape(len(x), -1)
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).astype(np.int64)
    return np.argmax(logits, axis=1).astype(np.int64)


def import_model(
    path: str | os.PathLike[str],
    dataset: Dataset,
    *,
    split_seed: int = 42,
    input_bits: int = 4,
    weight_bits: int = 8,
    activation_bits: int = 8,
    qat: bool = False,
    seed: int = 0,
    select_size: float = 0.0,
) -> ImportResult:
    """Import a model for the flows: split ``dataset`` (as training does), quantize a float
    model on its train part (inputs scaled by the min-max range of the non-test samples unless
    the model carries its own; ``qat``: fine-tuned on train, selected on validation) or import
    a QONNX model exactly, and score the source model and the network on the test part
    (``select_size``: the selection part a search holds out, see
    :func:`~bespoke_mlp.data.split_dataset`)."""
    start = time.perf_counter()
    _check_bits(input_bits, weight_bits, activation_bits)
    model = load_onnx(path)
    chain = read_chain(model)
    if chain.n_features != dataset.n_features:
        raise UsageError(f"the model {Path(path).name!r} has {chain.n_features} inputs but "
                         f"{dataset.name!r} has {dataset.n_features} features")
    # A float model without its own range was trained on min-max scaled inputs.
    split = split_dataset(dataset, seed=split_seed, select_size=select_size,
                          input_range=MIN_MAX)
    classes = _classes(chain, np.concatenate([split.y_train, split.y_val, split.y_select,
                                              split.y_test]))
    unknown = sorted(set(json_label(c) for c in dataset.classes) - set(classes), key=str)
    if unknown:
        raise UsageError(f"{dataset.name!r} has classes the model does not know: {unknown!r} "
                         f"(the model's: {list(classes)!r})")
    if chain.quantized:
        from ._qonnx import exact_network

        net = exact_network(chain, classes)
    else:
        lo, hi = _input_range(chain, split.feature_min, split.feature_max, split.X_train)
        tune = None
        if qat:
            tune = (split.X_train, _indices(classes, split.y_train), split.X_val,
                    _indices(classes, split.y_val))
        coefs, intercepts = float_layers(chain)
        net = quantize_float(coefs, intercepts, classes, split.X_train, feature_min=lo,
                             feature_max=hi, input_bits=input_bits, weight_bits=weight_bits,
                             activation_bits=activation_bits, tune=tune, seed=seed)
    net, split = _record_range(net, split, MIN_MAX if _owns_range(chain) else None)
    y_test = _indices(classes, split.y_test)
    accuracy = {
        "imported": float(np.mean(predict_onnx(model, split.X_test, chain) == y_test)),
        "quantized": float(np.mean(predict_codes(net, encode_inputs(net, split.X_test))
                                   == y_test)),
    }
    return ImportResult(network=net, split=split, dataset=dataset.name, accuracy=accuracy,
                        exact=chain.quantized, runtime_s=time.perf_counter() - start)
