"""Bring your own model: ONNX, QONNX and scikit-learn MLPs to the integer network."""

from __future__ import annotations

import json
import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bespoke_mlp.cli import main
from bespoke_mlp.data import load_dataset
from bespoke_mlp.errors import UsageError
from bespoke_mlp.flow._log import quiet, train_stage
from bespoke_mlp.importers import (
    from_onnx,
    from_sklearn,
    import_model,
    load_onnx,
    predict_onnx,
)
from bespoke_mlp.ir import MIN_MAX, encode_inputs, predict_codes

X, Y = load_iris(return_X_y=True)
QONNX_DOMAIN = "qonnx.custom_op.general"


def _fit(hidden, y=Y, scaler=True):
    mlp = MLPClassifier(hidden, max_iter=800, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return (make_pipeline(StandardScaler(), mlp) if scaler else mlp).fit(X, y)


@pytest.fixture(scope="module")
def iris_pipeline():
    return _fit((5,))


@pytest.fixture(scope="module")
def iris_onnx(iris_pipeline, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "iris.onnx"
    onnx.save(to_onnx(iris_pipeline, X[:1].astype(np.float32)), str(path))
    return path


def _golden(net, x):
    return predict_codes(net, encode_inputs(net, x))


def _save(tmp_path, nodes, inits, n_in=4, name="m.onnx", shape=None, outputs=None):
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                                     shape or [None, n_in])],
        outputs or [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT,
                                                  None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(QONNX_DOMAIN, 1)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _const(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


# -- float models -----------------------------------------------------------------------------


def test_skl2onnx_pipeline_matches_from_sklearn(iris_pipeline, iris_onnx):
    net = from_onnx(iris_onnx, X)
    assert net.topology == (4, 5, 3) and net.classes == (0, 1, 2)
    assert net.to_json() == from_sklearn(iris_pipeline, X).to_json()
    # onnxruntime runs the source model: sklearn's own predictions.
    assert np.array_equal(predict_onnx(load_onnx(iris_onnx), X), iris_pipeline.predict(X))
    assert np.mean(_golden(net, X) == Y) >= iris_pipeline.score(X, Y) - 0.02


def test_binary_sigmoid_head_and_qat(tmp_path):
    pipe = _fit((4,), y=np.where(Y == 1, "versicolor", "other"))
    path = tmp_path / "binary.onnx"
    onnx.save(to_onnx(pipe, X[:1].astype(np.float32), options={"zipmap": False}), str(path))
    y = pipe.predict(X)
    net = from_onnx(path, X, y, qat=True)
    assert net.classes == ("other", "versicolor") and net.topology == (4, 4, 2)
    assert np.mean(np.array(net.classes)[_golden(net, X)] == y) >= 0.9
    assert np.array_equal(predict_onnx(load_onnx(path), X), (y == "versicolor").astype(int))


def test_helper_graph_gemm_and_metadata_range(tmp_path):
    mlp = _fit((3,), scaler=False)
    nodes = [helper.make_node("Gemm", ["X", "W0", "b0"], ["z0"], transB=1),
             helper.make_node("Relu", ["z0"], ["r0"]),
             helper.make_node("MatMul", ["r0", "W1"], ["m1"]),
             helper.make_node("Add", ["m1", "b1"], ["z1"]),
             helper.make_node("Softmax", ["z1"], ["p"], axis=1)]
    inits = [_const("W0", mlp.coefs_[0].T), _const("b0", mlp.intercepts_[0]),
             _const("W1", mlp.coefs_[1]), _const("b1", mlp.intercepts_[1])]
    path = _save(tmp_path, nodes, inits)
    labels = np.array(["setosa", "versicolor", "virginica"])[Y]
    net = from_onnx(path, X, labels)
    assert net.classes == ("setosa", "versicolor", "virginica")
    assert net.feature_min == tuple(X.min(axis=0))
    model = load_onnx(path)
    helper.set_model_props(model, {"feature_min": json.dumps([0.0] * 4),
                                   "feature_max": json.dumps([8.0] * 4)})
    onnx.save(model, str(path))
    net = from_onnx(path, X)
    assert net.classes == (0, 1, 2)
    assert net.feature_min == (0.0,) * 4 and net.feature_max == (8.0,) * 4


@pytest.mark.parametrize("nodes, inits, message", [
    ([helper.make_node("MatMul", ["X", "W"], ["z"], name="mm"),
      helper.make_node("Tanh", ["z"], ["t"], name="act")],
     [_const("W", np.ones((4, 3)))], "unsupported operator 'Tanh' at node 'act'"),
    ([helper.make_node("MatMul", ["X", "W"], ["z"], name="mm")],
     [_const("W", np.ones((5, 3)))], "operator 'MatMul' at node 'mm': weights of shape (5, 3)"),
    ([helper.make_node("MatMul", ["X", "W"], ["z"], name="mm")],
     [_const("W", np.ones((4, 3)))], "no hidden layer"),
    ([helper.make_node("Relu", ["X"], ["r"], name="first")], [],
     "'Relu' at node 'first'"),
])
def test_unsupported_graphs(tmp_path, nodes, inits, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_onnx(_save(tmp_path, nodes, inits), X)


def test_bad_input_shape_and_width(tmp_path, iris_onnx):
    nodes = [helper.make_node("MatMul", ["X", "W"], ["z"])]
    path = _save(tmp_path, nodes, [_const("W", np.ones((4, 3)))], shape=[None, 2, 2])
    with pytest.raises(UsageError, match=r"input 'X' has shape \[None, 2, 2\]"):
        from_onnx(path, X)
    with pytest.raises(UsageError, match="the model has 4 inputs but X_reference has shape"):
        from_onnx(iris_onnx, X[:, :3])
    with pytest.raises(UsageError, match="needs reference data"):
        from_onnx(iris_onnx)
    with pytest.raises(UsageError, match=r"'iris.onnx' has 4 inputs but 'wine' has 13 features"):
        import_model(iris_onnx, load_dataset("wine"))


def test_imported_model_keeps_its_own_scaling(iris_onnx, tmp_path):
    iris = load_dataset("iris")
    # Without a range of its own, a float model is taken as trained on the min-max range.
    result = import_model(iris_onnx, iris)
    seen = np.vstack([result.split.X_train, result.split.X_val])
    net = result.network
    assert net.feature_min == tuple(seen.min(axis=0)) and net.input_range == MIN_MAX
    assert net.input_clipped == (False,) * 4 and result.split.input_range == MIN_MAX
    # Its own range stays as given; the features it clips on the non-test samples are recorded.
    model = load_onnx(iris_onnx)
    helper.set_model_props(model, {"feature_min": json.dumps([0.0] * 4),
                                   "feature_max": json.dumps([8.0, 8.0, 8.0, 1.0])})
    onnx.save(model, str(tmp_path / "ranged.onnx"))
    ranged = import_model(tmp_path / "ranged.onnx", iris)
    net = ranged.network
    assert net.feature_max == (8.0, 8.0, 8.0, 1.0) and net.input_range is None
    assert net.input_clipped == (False, False, False, True)
    np.testing.assert_array_equal(ranged.split.feature_max, net.feature_max)
    np.testing.assert_array_equal(ranged.split.codes("test", 4),
                                  encode_inputs(net, ranged.split.X_test))


def test_import_model_and_train_stage(iris_onnx):
    result = train_stage("iris", quiet(), from_model=iris_onnx, hidden=None, seed=0,
                         split_seed=42, input_bits=4, weight_bits=8, activation_bits=8)
    assert set(result.accuracy) == {"imported", "quantized"} and not result.exact
    assert abs(result.accuracy["quantized"] - result.accuracy["imported"]) <= 0.05
    with pytest.raises(UsageError, match="--hidden does not apply"):
        train_stage("iris", quiet(), from_model=iris_onnx, hidden=(3,))
    with pytest.raises(UsageError, match="--feature-selection does not apply"):
        train_stage("iris", quiet(), from_model=iris_onnx, feature_selection=True)


# -- QONNX -------------------------------------------------------------------------------------


def _quant(name, x, scale, bits, signed, rounding="ROUND", narrow=0):
    node = helper.make_node("Quant", [x, f"{name}_s", f"{name}_z", f"{name}_b"], [name],
                            domain=QONNX_DOMAIN, name=name, signed=signed, narrow=narrow,
                            rounding_mode=rounding)
    return node, [_const(f"{name}_s", scale), _const(f"{name}_z", 0.0),
                  _const(f"{name}_b", bits)]


def _qonnx_mlp(tmp_path, mlp, *, input_bits=4, act_bits=6, act_scale=0.25, rounding="ROUND",
               grid_bias=False, head=True, signed_input=False, per_channel=False):
    """A QONNX MLP as Brevitas exports it: input, weight and ReLU-output Quant nodes with
    power-of-two scales (8-bit narrow weights, per tensor or per output channel) and float
    biases."""
    in_scale = 8.0 / (1 << (input_bits - signed_input))
    nodes, inits = [], []
    node, params = _quant("xq", "X", in_scale, input_bits, int(signed_input))
    nodes.append(node)
    inits += params
    prev, last = "xq", len(mlp.coefs_) - 1
    for k, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        peak = np.abs(w).max(axis=0, keepdims=True) if per_channel else np.abs(w).max()
        w_scale = 2.0 ** np.ceil(np.log2(peak / 127))
        node, params = _quant(f"w{k}", f"W{k}", w_scale, 8, 1, narrow=1)
        nodes.append(node)
        inits += [_const(f"W{k}", w), *params]
        if grid_bias:
            b = np.round(b / (in_scale * w_scale)) * in_scale * w_scale
        inits.append(_const(f"b{k}", b))
        nodes += [helper.make_node("MatMul", [prev, f"w{k}"], [f"m{k}"]),
                  helper.make_node("Add", [f"m{k}", f"b{k}"], [f"z{k}"])]
        if k < last:
            node, params = _quant(f"a{k}", f"r{k}", act_scale, act_bits, 0, rounding)
            nodes += [helper.make_node("Relu", [f"z{k}"], [f"r{k}"]), node]
            inits += params
            prev, in_scale = f"a{k}", act_scale
    outputs = None
    if head:
        nodes.append(helper.make_node("ArgMax", [f"z{last}"], ["label"], axis=1, keepdims=0))
        outputs = [helper.make_tensor_value_info("label", TensorProto.INT64, [None])]
    return _save(tmp_path, nodes, inits, outputs=outputs, name="q.onnx")


@pytest.fixture(scope="module")
def small_mlp():
    return _fit((6,), scaler=False)


def _qonnx_labels(path, x):
    """The model's own label output, executed by qonnx."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = load_onnx(path)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = len(x)
    wrapper = ModelWrapper(model).transform(InferShapes())
    return execute_onnx(wrapper, {"X": x.astype(np.float32)})["label"]


def _test_vectors():
    rng = np.random.default_rng(1)
    return np.vstack([X, rng.uniform(-1.0, 9.0, (600, 4))])


def test_qonnx_exact_4bit_inputs_8bit_weights(tmp_path, small_mlp):
    path = _qonnx_mlp(tmp_path, small_mlp)
    net = from_onnx(path)
    assert net.input_bits == 4 and net.topology == (4, 6, 3)
    assert max(abs(w) for row in net.layers[0].weights for w in row) <= 127
    assert all(w.bits == 6 for w in net.layers[0].activation)
    x = _test_vectors()
    assert np.array_equal(_golden(net, x), _qonnx_labels(path, x))
    assert np.mean(_golden(net, X) == Y) >= 0.9


@pytest.mark.parametrize("options", [dict(signed_input=True), dict(per_channel=True)])
def test_qonnx_exact_signed_inputs_and_channel_scales(tmp_path, small_mlp, options):
    path = _qonnx_mlp(tmp_path, small_mlp, head=False, **options)
    x = _test_vectors()
    assert np.array_equal(_golden(from_onnx(path), x), predict_onnx(load_onnx(path), x))


@pytest.mark.parametrize("rounding", ["FLOOR", "HALF_UP", "CEIL", "HALF_DOWN"])
def test_qonnx_rounding_modes_on_grid(tmp_path, small_mlp, rounding):
    # Biases on the accumulator grid make every rounding tie reachable.
    path = _qonnx_mlp(tmp_path, small_mlp, rounding=rounding, grid_bias=True, head=False,
                      act_scale=0.5)
    x = _test_vectors()
    assert np.array_equal(_golden(from_onnx(path), x), predict_onnx(load_onnx(path), x))


@pytest.mark.parametrize("options, message", [
    (dict(rounding="ROUND", grid_bias=True), "node 'a0' does not fit .* round-half-even ties"),
    (dict(input_bits=10), "node 'xq' does not fit .* 10-bit inputs; the IR takes at most 8"),
    (dict(act_scale=0.3), "node 'a0' does not fit .* is not an integer times a power of two"),
    (dict(act_bits=20), "node 'a0' does not fit .* 20-bit activations"),
])
def test_qonnx_misfits(tmp_path, small_mlp, options, message):
    with pytest.raises(UsageError, match=message):
        from_onnx(_qonnx_mlp(tmp_path, small_mlp, **options))


# -- command line ------------------------------------------------------------------------------


def test_cli_refuses_pickles_and_needs_data_for_float(tmp_path, capsys, iris_onnx):
    pickle = tmp_path / "model.joblib"
    pickle.write_bytes(b"\x80\x04not really")
    assert main(["generate", str(pickle), "--out", str(tmp_path / "a")]) == 2
    assert "never loads pickles" in capsys.readouterr().err
    assert main(["generate", str(iris_onnx), "--out", str(tmp_path / "b")]) == 2
    assert "--data" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_generate_qonnx_verilog(tmp_path, small_mlp):
    path = _qonnx_mlp(tmp_path, small_mlp)
    assert main(["generate", str(path), "--out", str(tmp_path / "rtl")]) == 0
    assert (tmp_path / "rtl" / "design" / "top.v").read_text().startswith("/*")


def test_cli_generate_qonnx_verified_design(tmp_path, small_mlp):
    # The float ONNX path end to end is examples/own_model.py (tests/test_examples.py).
    out = tmp_path / "design"
    path = _qonnx_mlp(tmp_path, small_mlp)
    assert main(["generate", str(path), "--data", "iris", "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["verification"]["gate_agreement"] == 1.0
    assert report["settings"]["exact_import"] is True
    acc = report["accuracy"]
    # Exact import: the golden model is the QONNX model.
    assert acc["imported"] == acc["quantized"] == acc["design"] >= 0.9
