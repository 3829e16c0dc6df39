"""Tests of bespoke_mlp.train: quantization, fine-tuning, train_model and the train CLI."""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from bespoke_mlp.data import Dataset, load_dataset, split_dataset
from bespoke_mlp.errors import UsageError
from bespoke_mlp.flow import SearchSettings, split_parts
from bespoke_mlp.ir import (
    DEFAULT_INPUT_RANGE,
    MIN_MAX,
    Layer,
    Network,
    csd_weight,
    encode_inputs,
    forward,
    predict_codes,
)
from bespoke_mlp.train import (
    DEFAULT_HIDDEN,
    TrainResult,
    default_hidden,
    finetune,
    quantize,
    train_model,
)
from bespoke_mlp.train import _cli as train_cli
from bespoke_mlp.train._wide import feature_counts, fit_wide_mlp, is_wide


def reference_predict(net: Network, codes: np.ndarray) -> np.ndarray:
    """Straightforward integer inference (no truncation): relu-window(W . (a & m) + b), argmax."""
    a = np.asarray(codes, dtype=np.int64)
    for layer in net.layers:
        w = np.array(layer.weights, dtype=np.int64)
        m = np.array(layer.masks, dtype=np.int64)
        b = np.array(layer.biases, dtype=np.int64)
        acc = np.einsum("nji,ji->nj", a[:, None, :] & m[None], w) + b
        if layer.activation is not None:
            lsb = np.array([win.lsb for win in layer.activation])
            top = np.array([(1 << win.bits) - 1 for win in layer.activation])
            acc = np.clip(acc >> lsb, 0, top)
        a = acc
    return np.argmax(a >> net.argmax_shift, axis=1)


def fit_quietly(mlp: MLPClassifier, x: np.ndarray, y: np.ndarray) -> MLPClassifier:
    """Fit with a deliberately small iteration budget, without the ConvergenceWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return mlp.fit(x, y)


def random_mlp(rng: np.random.Generator, n_in: int, hidden: tuple[int, ...], n_classes: int,
               scale: float = 1.0) -> MLPClassifier:
    """An MLPClassifier with the given shape and random (normal * scale) parameters."""
    x = rng.random((4 * n_classes, n_in))
    y = np.arange(4 * n_classes) % n_classes
    mlp = fit_quietly(MLPClassifier(hidden_layer_sizes=hidden, max_iter=1, random_state=0), x, y)
    mlp.coefs_ = [rng.normal(0, scale, c.shape) for c in mlp.coefs_]
    mlp.intercepts_ = [rng.normal(0, scale, b.shape) for b in mlp.intercepts_]
    return mlp


def float_logits(mlp: MLPClassifier, x: np.ndarray) -> np.ndarray:
    a = x
    for coef, bias in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1], strict=True):
        a = np.maximum(a @ coef + bias, 0)
    return a @ mlp.coefs_[-1] + mlp.intercepts_[-1]


@pytest.fixture(scope="module")
def iris_split():
    return split_dataset(load_dataset("iris"))


# -- quantization -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", range(12))
def test_quantized_network_matches_reference_integer_model(case):
    rng = np.random.default_rng(case)
    n_in = int(rng.integers(1, 8))
    hidden = tuple(int(h) for h in rng.integers(1, 6, int(rng.integers(1, 3))))
    n_classes = int(rng.integers(2, 6))
    input_bits = int(rng.integers(1, 9))
    weight_bits = int(rng.integers(2, 11))
    activation_bits = int(rng.integers(1, 10))
    mlp = random_mlp(rng, n_in, hidden, n_classes, scale=float(10.0 ** rng.uniform(-2, 2)))
    x = rng.normal(0, 1, (300, n_in))
    net = quantize(mlp, x, mlp.classes_[rng.integers(0, n_classes, 300)], input_bits=input_bits,
                   weight_bits=weight_bits, activation_bits=activation_bits, qat=False)

    assert net.topology == (n_in, *hidden, max(2, n_classes))
    lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    for k, layer in enumerate(net.layers):
        w = np.array(layer.weights)
        assert lo <= w.min() and w.max() <= hi
        assert layer.truncation == (0,) * layer.n_out
        full = (1 << max(net.input_widths(k))) - 1
        assert set(np.unique(layer.masks)) <= {0, full}
        if layer.activation is not None:
            assert all(win.bits == activation_bits for win in layer.activation)
    assert net.argmax_shift == 0
    codes = rng.integers(0, 1 << input_bits, (500, n_in))
    np.testing.assert_array_equal(predict_codes(net, codes), reference_predict(net, codes))
    # Round trip through JSON keeps the behaviour.
    np.testing.assert_array_equal(predict_codes(Network.from_json(net.to_json()), codes),
                                  predict_codes(net, codes))


def test_quantization_follows_the_float_model():
    rng = np.random.default_rng(7)
    mlp = random_mlp(rng, 6, (5,), 4)
    codes = rng.integers(0, 16, (2000, 6))
    x = codes / 15.0
    net = quantize(mlp, x, mlp.classes_[np.zeros(2000, dtype=int)], qat=False,
                   feature_min=np.zeros(6), feature_max=np.ones(6))
    agree = np.mean(predict_codes(net, codes) == np.argmax(float_logits(mlp, x), axis=1))
    assert agree > 0.98


def test_binary_uses_constant_zero_output_and_sklearns_rule():
    rng = np.random.default_rng(3)
    mlp = random_mlp(rng, 4, (3,), 2)
    x = rng.random((3000, 4))
    net = quantize(mlp, x, mlp.classes_[rng.integers(0, 2, 3000)], qat=False,
                   feature_min=np.zeros(4), feature_max=np.ones(4))
    out = net.layers[-1]
    assert out.n_out == 2
    assert out.weights[0] == (0,) * 3 and out.masks[0] == (0,) * 3 and out.biases[0] == 0
    codes = np.rint(x * 15).astype(np.int64)
    x_q = codes / 15.0
    z = float_logits(mlp, x_q)[:, 0]
    acc = forward(net, codes)[-1]
    assert not acc[:, 0].any()
    clear = np.abs(z) > 0.05 * np.abs(z).max()
    assert clear.sum() > 1000
    np.testing.assert_array_equal(np.sign(acc[clear, 1]), np.sign(z[clear]))
    np.testing.assert_array_equal(
        mlp.classes_[predict_codes(net, codes)][clear], mlp.predict(x_q)[clear]
    )


def test_binary_exact_decision_including_ties():
    """Dyadic weights and 1-bit inputs make quantization exact: the network must reproduce
    sklearn's predictions on every input, including z == 0 (class 0: logistic(0) is not > 0.5)."""
    mlp = random_mlp(np.random.default_rng(0), 3, (2,), 2)
    mlp.coefs_ = [np.array([[100.0, -37], [-64, 90], [25, 70]]) / 32,
                  np.array([[100.0], [-90]]) / 2]
    mlp.intercepts_ = [np.array([-20.0, 3]) / 32, np.array([-7260.0]) / 64]
    codes = np.array([[(i >> b) & 1 for b in range(3)] for i in range(8)])
    net = quantize(mlp, codes.astype(float), mlp.classes_[codes[:, 0]], input_bits=1,
                   qat=False, feature_min=np.zeros(3), feature_max=np.ones(3))
    assert net.layers[0].weights == ((100, -64, 25), (-37, 90, 70))
    assert net.layers[1].weights == ((0, 0), (100, -90))
    assert net.layers[1].biases == (0, -7260)
    z = float_logits(mlp, codes.astype(float))[:, 0]
    assert np.any(z == 0) and np.any(z > 0) and np.any(z < 0)
    assert net.classes == (0, 1)
    np.testing.assert_array_equal(predict_codes(net, codes), mlp.predict(codes.astype(float)))


def test_quantize_accepts_a_split(iris_split):
    mlp = random_mlp(np.random.default_rng(1), 4, (3,), 3)
    net = quantize(mlp, iris_split, qat=False)
    assert net.feature_min == tuple(iris_split.feature_min)
    assert net.feature_max == tuple(iris_split.feature_max)
    assert net.classes == (0, 1, 2) and all(type(c) is int for c in net.classes)
    with pytest.raises(UsageError, match="Split"):
        quantize(mlp, iris_split, iris_split.y_train)


def test_quantize_raw_arrays_with_fine_tuning(iris_split):
    x, y = iris_split.X_train, iris_split.y_train
    lo, hi = x.min(axis=0), x.max(axis=0)
    mlp = fit_quietly(MLPClassifier((3,), max_iter=300, random_state=0), (x - lo) / (hi - lo), y)
    plain = quantize(mlp, x, y, qat=False)
    # Validation labels the MLP never saw are ignored rather than rejected.
    x_val = np.vstack([iris_split.X_val, x[:1]])
    y_val = np.concatenate([iris_split.y_val, [7]])
    tuned = quantize(mlp, x, y, x_val, y_val, epochs=5)
    assert tuned.feature_min == tuple(lo) and tuned.topology == plain.topology == (4, 3, 3)
    codes = encode_inputs(plain, iris_split.X_val)
    assert np.mean(predict_codes(tuned, codes) == iris_split.y_val) >= np.mean(
        predict_codes(plain, codes) == iris_split.y_val
    )
    with pytest.raises(UsageError, match="X_val and y_val"):
        quantize(mlp, x, y, x_val)


def test_quantize_rejects_unsuitable_models():
    rng = np.random.default_rng(0)
    mlp = random_mlp(rng, 3, (2,), 3)
    x, y = rng.random((10, 3)), np.zeros(10, dtype=int)
    with pytest.raises(UsageError, match="not fitted"):
        quantize(MLPClassifier(), x, y)
    mlp.activation = "tanh"
    with pytest.raises(UsageError, match="'tanh'"):
        quantize(mlp, x, y)
    mlp.activation = "relu"
    with pytest.raises(UsageError, match=r"\(2, 10\)"):
        quantize(mlp, x[:, :2].T, y)
    with pytest.raises(UsageError, match="17"):
        quantize(mlp, x, y, weight_bits=17)


# -- fine-tuning --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coarse_iris(iris_split):
    """A deliberately coarse (3-bit weights, 2-bit activations) iris network and its data."""
    codes = {p: iris_split.codes(p, 4) for p in ("train", "val")}
    mlp = MLPClassifier((4,), max_iter=2000, random_state=1, learning_rate_init=0.01)
    fit_quietly(mlp, codes["train"] / 15, iris_split.y_train)
    net = quantize(mlp, iris_split, weight_bits=3, activation_bits=2, qat=False)
    return net, codes["train"], iris_split.y_train, codes["val"], iris_split.y_val


def _accuracy(net, codes, y):
    return float(np.mean(predict_codes(net, codes) == y))


def test_finetune_keeps_or_improves_validation_accuracy_and_is_deterministic(coarse_iris):
    net, ct, yt, cv, yv = coarse_iris
    tuned = finetune(net, ct, yt, cv, yv, epochs=15, seed=3)
    assert _accuracy(tuned, cv, yv) >= _accuracy(net, cv, yv)
    assert _accuracy(tuned, ct, yt) > _accuracy(net, ct, yt)  # 2-bit activations lose a lot
    assert finetune(net, ct, yt, cv, yv, epochs=15, seed=3) == tuned
    # Structure is kept; only weights and biases change.
    for a, b in zip(tuned.layers, net.layers, strict=True):
        assert (a.masks, a.truncation, a.activation) == (b.masks, b.truncation, b.activation)
    assert np.abs(np.array(tuned.layers[0].weights)).max() <= 4


def test_finetune_improves_a_damaged_network(coarse_iris):
    net, ct, yt, cv, yv = coarse_iris
    layers = list(net.layers)
    layers[1] = Layer(layers[1].weights, [0] * layers[1].n_out, layers[1].masks,
                      layers[1].truncation)
    damaged = Network(net.input_bits, layers, net.classes)
    before = _accuracy(damaged, ct, yt) + _accuracy(damaged, cv, yv)
    tuned = finetune(damaged, ct, yt, cv, yv, epochs=20)
    assert _accuracy(tuned, ct, yt) + _accuracy(tuned, cv, yv) > before


def test_finetune_respects_projection_and_pruning(coarse_iris):
    net, ct, yt, cv, yv = coarse_iris
    first = net.layers[0]
    w = np.array(first.weights)
    m = np.array(first.masks)
    w[:, 0] = 0
    m[:, 0] = 0  # feature 0 pruned everywhere
    m[0, 1] = 0b1100  # a partial mask stays as it is
    pruned = Network(net.input_bits, (Layer(w, first.biases, m, first.truncation,
                                            first.activation), net.layers[1]), net.classes)
    calls = []

    def powers_of_two(k, shadow):
        calls.append(k)
        mag = np.abs(shadow)
        exp = np.clip(np.rint(np.log2(np.maximum(mag, 0.5))), 0, 3)
        return np.where(mag < 0.5, 0, np.sign(shadow) * 2**exp)

    tuned = finetune(pruned, ct, yt, cv, yv, epochs=5, project=powers_of_two)
    assert set(calls) == {0, 1}
    for layer in tuned.layers:
        assert all(csd_weight(v) <= 1 and abs(v) <= 8 for row in layer.weights for v in row)
    assert all(row[0] == 0 for row in tuned.layers[0].weights)
    assert tuned.layers[0].masks == pruned.layers[0].masks
    np.testing.assert_array_equal(predict_codes(tuned, ct), reference_predict(tuned, ct))


def test_finetune_keeps_the_constant_zero_binary_output():
    ds = load_dataset("breast_cancer_wdbc")
    split = split_dataset(ds)
    mlp = fit_quietly(MLPClassifier((3,), max_iter=30, random_state=0),
                      split.codes("train", 4) / 15, split.y_train)
    net = quantize(mlp, split, epochs=3)
    out = net.layers[-1]
    assert out.weights[0] == (0,) * 3 and out.biases[0] == 0 and out.masks[0] == (0,) * 3


def test_finetune_with_truncation_and_argmax_shift(coarse_iris):
    net, ct, yt, cv, yv = coarse_iris
    layers = [
        Layer(layer.weights, layer.biases, layer.masks, [2] * layer.n_out, layer.activation)
        for layer in net.layers
    ]
    shifted = Network(net.input_bits, layers, net.classes, argmax_shift=1)
    tuned = finetune(shifted, ct, yt, cv, yv, epochs=5)
    assert tuned.argmax_shift == 1
    assert all(layer.truncation == (2,) * layer.n_out for layer in tuned.layers)
    assert _accuracy(tuned, cv, yv) >= _accuracy(shifted, cv, yv)


def test_finetune_rejects_bad_input(coarse_iris):
    net, ct, yt, cv, yv = coarse_iris
    with pytest.raises(UsageError, match="16"):
        finetune(net, ct + 1, yt, cv, yv)
    with pytest.raises(UsageError, match="class indices"):
        finetune(net, ct, yt + 3, cv, yv)
    with pytest.raises(UsageError, match="-0.5"):
        finetune(net, ct, yt, cv, yv, lr=-0.5)
    with pytest.raises(UsageError, match=r"shape \(2,\)"):
        finetune(net, ct, yt, cv, yv, epochs=1, project=lambda k, w: np.zeros(2))
    with pytest.raises(UsageError, match="non-integer"):
        finetune(net, ct, yt, cv, yv, epochs=1, project=lambda k, w: w + 0.25)


# -- train_model and the CLI --------------------------------------------------------------------


def test_default_hidden_table():
    assert DEFAULT_HIDDEN["cardio"] == (3,) and DEFAULT_HIDDEN["pendigits"] == (5,)
    assert DEFAULT_HIDDEN["redwine"] == (2,) and DEFAULT_HIDDEN["whitewine"] == (4,)
    assert default_hidden("my_data", 2) == (3,) and default_hidden("my_data", 12) == (5,)


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"hidden": 0}, "0"),
        ({"hidden": (3, -1)}, "-1"),
        ({"hidden": "3"}, "'3'"),
        ({"input_bits": 9}, "9"),
        ({"weight_bits": 1}, "1"),
        ({"activation_bits": 17}, "17"),
        ({"seed": -2}, "-2"),
        ({"qat": "yes"}, "'yes'"),
        ({"split_seed": 1.5}, "1.5"),
    ],
)
def test_train_model_validates_parameters(kwargs, shown):
    with pytest.raises(UsageError) as info:
        train_model("iris", **kwargs)
    assert shown in str(info.value)


def test_train_model_on_iris():
    result = train_model("iris", seed=1)
    assert isinstance(result, TrainResult)
    assert result.dataset == "iris"
    assert result.network.topology == (4, 3, 3)
    assert set(result.accuracy) == {"float", "quantized"}
    assert result.accuracy["quantized"] >= 0.85
    assert result.accuracy["quantized"] >= result.accuracy["float"] - 0.05
    codes = result.split.codes("test", 4)
    assert result.accuracy["quantized"] == pytest.approx(
        np.mean(predict_codes(result.network, codes) == result.split.y_test)
    )
    assert result.runtime_s > 0


# -- wide datasets -------------------------------------------------------------------------------


def test_feature_counts_and_the_wide_threshold():
    assert feature_counts(261) == (4, 8, 16, 32, 64, 128, 261)
    assert feature_counts(32) == (4, 8, 16, 32)
    assert feature_counts(4) == (4,)
    assert is_wide(32) and not is_wide(31)


def _wide_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """40 features in [0, 1], the class decided by features 3 and 17 only."""
    x = np.random.default_rng(seed).integers(0, 16, (n, 40)) / 15.0
    return x, (x[:, 3] + x[:, 17] > 1.0).astype(int)


def test_wide_training_selects_few_features_and_quantizes_without_their_adcs():
    x, y = _wide_data(200, 0)
    xv, yv = _wide_data(60, 1)
    mlp = fit_wide_mlp(x, y, xv, yv, hidden=(3,), seed=0)
    read = np.flatnonzero(np.any(mlp.coefs_[0] != 0, axis=1))
    assert mlp.coefs_[0].shape == (40, 3) and {3, 17} <= set(read) and len(read) < 40
    assert np.mean(mlp.predict(xv) == yv) >= 0.9
    net = quantize(mlp, x * 15, y, xv * 15, yv, feature_min=np.zeros(40),
                   feature_max=np.full(40, 15.0))
    # Unselected features have mask 0, which fine-tuning keeps: no ADC, no wiring.
    assert [i for i, r in enumerate(net.feature_resolution) if r] == list(read)


def test_feature_selection_setting(tmp_path):
    with pytest.raises(UsageError, match="'sometimes'"):
        train_model("iris", feature_selection="sometimes")
    out = tmp_path / "run"
    assert _run_cli(["train", "iris", "--hidden", "2", "--no-qat", "--feature-selection", "on",
                     "--out", str(out)]) == 0
    assert json.loads((out / "train.json").read_text())["feature_selection"] is True


def test_wide_training_without_validation_keeps_all_features():
    x, y = _wide_data(100, 0)
    mlp = fit_wide_mlp(x, y, x[:0], y[:0], hidden=(3,), seed=0)
    assert np.all(np.any(mlp.coefs_[0] != 0, axis=1))


def _run_cli(argv):
    parser = argparse.ArgumentParser(prog="bespoke-mlp")
    train_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_train_cli_writes_model_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert _run_cli(["train", "iris", "--hidden", "4", "--no-qat", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".bespoke-mlp-output.json", "model.json",
                                                     "train.json"]
    net = Network.from_json((out / "model.json").read_text())
    assert net.topology == (4, 4, 3)
    summary = json.loads((out / "train.json").read_text())
    assert summary["dataset"] == "iris"
    assert summary["topology"] == [4, 4, 3]
    assert set(summary["accuracy"]) == {"float", "quantized"}
    assert summary["qat"] is False and summary["runtime_s"] > 0
    assert summary["feature_selection"] is None
    assert summary["input_range"] == str(DEFAULT_INPUT_RANGE) == str(net.input_range)
    assert "iris 4-4-3" in capsys.readouterr().out
    # Refuses to overwrite without --force; the same run reproduces the model byte for byte.
    with pytest.raises(UsageError, match="--force"):
        _run_cli(["train", "iris", "--hidden", "4", "--no-qat", "--out", str(out)])
    first = (out / "model.json").read_bytes()
    _run_cli(["train", "iris", "--hidden", "4", "--no-qat", "--out", str(out), "--force"])
    assert (out / "model.json").read_bytes() == first


def test_train_cli_input_range(tmp_path):
    out = tmp_path / "mm"
    _run_cli(["train", "iris", "--hidden", "3", "--no-qat", "--input-range", "min-max",
              "--out", str(out)])
    net = Network.from_json((out / "model.json").read_text())
    assert net.input_range == MIN_MAX and net.input_clipped == (False,) * 4
    with pytest.raises(UsageError, match="--input-range: .*got 'q5'"):
        _run_cli(["train", "iris", "--input-range", "q5", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("hidden", ["0", "3,x", "", "-2"])
def test_train_cli_rejects_bad_hidden(tmp_path, hidden):
    with pytest.raises(UsageError, match=repr(hidden)):
        _run_cli(["train", "iris", "--hidden", hidden, "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("option", "value"), [("--input-bits", "0"), ("--weight-bits", "1"),
                                               ("--activation-bits", "17")])
def test_train_cli_rejects_bad_widths(tmp_path, option, value):
    with pytest.raises(UsageError, match=f"{option} must be an integer in .*got {value}"):
        _run_cli(["train", "iris", option, value, "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_finetune_refuses_malformed_bias_steps():
    from _nets import random_network

    net = random_network(np.random.default_rng(0))
    codes = np.zeros((4, net.n_features), dtype=np.int64)
    y = np.zeros(4, dtype=np.int64)
    with pytest.raises(UsageError, match=r"bias_steps must be 2 ints >= 0, got \[1\]"):
        finetune(net, codes, y, codes, y, epochs=1, bias_steps=[1])


def _outlier_dataset() -> Dataset:
    """Two gaussian classes of 3 features; one non-test sample of feature 0 far out."""
    rng = np.random.default_rng(3)
    # 280 non-test samples: the 99.5th percentile lies below the largest one.
    y = np.repeat([0, 1], 200)
    X = rng.normal(size=(400, 3)) + y[:, None]
    X[0, 0] = 400.0
    return Dataset("outlier", X, y, ("a", "b", "c"))


def test_exact_and_search_runs_code_each_test_sample_identically():
    ds = _outlier_dataset()
    exact = train_model(ds, hidden=(3,), qat=False)
    search = train_model(ds, hidden=(3,), qat=False,
                         select_size=SearchSettings().select_size)
    codes_exact = split_parts(exact.network, exact.split)["test"][0]
    codes_search = split_parts(search.network, search.split)["test"][0]
    np.testing.assert_array_equal(exact.split.X_test, search.split.X_test)
    np.testing.assert_array_equal(codes_exact, codes_search)
    np.testing.assert_array_equal(codes_exact, encode_inputs(search.network,
                                                             search.split.X_test))
    assert exact.network.feature_max == search.network.feature_max


def test_trained_network_records_its_input_range():
    ds = _outlier_dataset()
    net = train_model(ds, hidden=(3,), qat=False).network
    # Only the outlier's feature is clipped (at 400, not spanned); the gaussian ones keep
    # their min-max range under the default rule.
    assert net.input_range == DEFAULT_INPUT_RANGE
    assert net.input_clipped == (True, False, False) and net.feature_max[0] < 10
    plain = train_model(ds, hidden=(3,), qat=False, input_range=MIN_MAX).network
    assert plain.input_range == MIN_MAX and plain.input_clipped == (False,) * 3
    assert plain.feature_max[0] == 400.0
    again = Network.from_json(net.to_json())
    assert again.input_range == net.input_range and again.input_clipped == net.input_clipped
