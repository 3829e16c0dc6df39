import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.errors import ModelFileError
from bespoke_mlp.ir import (
    MIN_MAX,
    InputRange,
    Layer,
    Network,
    Window,
    accumulator_range,
    csd_digits,
    encode_inputs,
    forward,
    layer_linear_form,
    network_codes,
    neuron_sum,
    predict_codes,
    predict_with,
    quantize_codes,
    resolution_codes,
)


def reference_predict(net: Network, codes: np.ndarray) -> np.ndarray:
    """Independent straightforward integer model, valid without truncation."""
    a = codes.astype(np.int64)
    for layer in net.layers:
        w = np.array(layer.weights, dtype=np.int64)
        m = np.array(layer.masks, dtype=np.int64)
        acc = np.stack([((a & m[j]) * w[j]).sum(axis=1) for j in range(layer.n_out)], axis=1)
        acc = acc + np.array(layer.biases)
        if layer.activation is not None:
            for j, win in enumerate(layer.activation):
                acc[:, j] = np.clip(acc[:, j] >> win.lsb, 0, (1 << win.bits) - 1)
        a = acc
    best = a >> net.argmax_shift
    out = np.zeros(len(best), dtype=np.int64)
    for j in range(1, best.shape[1]):
        out = np.where(best[:, j] > best[np.arange(len(best)), out], j, out)
    return out


@pytest.mark.parametrize("value", [*range(-300, 301), 2**12 - 1, -(2**12) + 3])
def test_csd_is_exact_and_non_adjacent(value):
    digits = csd_digits(value)
    assert sum(s << e for s, e in digits) == value
    exps = [e for _, e in digits]
    assert all(b - a >= 2 for a, b in zip(exps, exps[1:]))


def test_csd_rejects_non_int():
    with pytest.raises(TypeError, match="1.5"):
        csd_digits(1.5)


def test_golden_model_matches_reference_on_random_networks():
    rng = np.random.default_rng(0)
    for _ in range(50):
        net = random_network(rng, n_features=int(rng.integers(1, 9)),
                             hidden=int(rng.integers(1, 6)), n_classes=int(rng.integers(2, 6)))
        codes = rng.integers(0, 16, (200, net.n_features))
        assert np.array_equal(predict_codes(net, codes), reference_predict(net, codes))


def test_predict_with_replaced_parameters_is_the_replaced_networks_golden_model():
    rng = np.random.default_rng(7)
    for k in range(20):
        net = random_network(rng, approximate=bool(k % 2))
        other = random_network(rng, approximate=bool(k % 2))
        weights = [np.array(la.weights, dtype=np.float64) for la in other.layers]
        biases = [np.array(la.biases, dtype=np.float64) for la in other.layers]
        replaced = dataclasses.replace(net, layers=tuple(
            dataclasses.replace(la, weights=o.weights, biases=o.biases)
            for la, o in zip(net.layers, other.layers)))
        codes = rng.integers(0, 16, (100, net.n_features))
        assert np.array_equal(predict_with(net, weights, biases, codes),
                              predict_codes(replaced, codes))


def test_masks_and_argmax_shift_match_reference():
    rng = np.random.default_rng(1)
    for _ in range(30):
        net = random_network(rng, approximate=True)
        net = Network(net.input_bits, tuple(
            Layer(la.weights, la.biases, la.masks, (0,) * la.n_out, la.activation)
            for la in net.layers), net.classes, argmax_shift=net.argmax_shift)
        codes = rng.integers(0, 16, (200, net.n_features))
        assert np.array_equal(predict_codes(net, codes), reference_predict(net, codes))


def test_linear_form_equals_partial_product_list():
    rng = np.random.default_rng(2)
    for _ in range(200):
        n_out, n_in = rng.integers(1, 6, 2)
        width = int(rng.integers(1, 9))
        layer = Layer(rng.integers(-300, 300, (n_out, n_in)), rng.integers(-999, 999, n_out),
                      rng.integers(0, 1 << width, (n_out, n_in)), rng.integers(0, 14, n_out))
        coef, const = layer_linear_form(layer, width)
        for j in range(n_out):
            s = neuron_sum(layer, j)
            ref = np.zeros(n_in * width, dtype=np.int64)
            c = s.constant
            for p in s.bits:
                sign = -1 if p.inverted else 1
                ref[p.source * width + p.bit] += sign << p.column
                c += (1 << p.column) if p.inverted else 0
            assert np.array_equal(coef[:, j], ref) and const[j] == c


def test_accumulator_range_is_tight_and_covers_all_inputs():
    rng = np.random.default_rng(3)
    for _ in range(20):
        net = random_network(rng, approximate=True)
        layer = net.layers[0]
        coef, const = layer_linear_form(layer, net.input_bits)
        bits = rng.integers(0, 2, (4000, layer.n_in * net.input_bits))
        acc = bits @ coef + const
        for j in range(layer.n_out):
            lo, hi = accumulator_range(layer, j)
            assert lo <= acc[:, j].min() and acc[:, j].max() <= hi
            # Tight: the extremes are reached by setting exactly the bits of one sign.
            assert lo == const[j] + np.minimum(coef[:, j], 0).sum()
            assert hi == const[j] + np.maximum(coef[:, j], 0).sum()


def test_forward_rejects_bad_codes():
    net = random_network(np.random.default_rng(4))
    with pytest.raises(ValueError, match="0..15"):
        forward(net, np.full((2, net.n_features), 16))
    with pytest.raises(ValueError, match="shape"):
        forward(net, np.zeros((2, net.n_features + 1), dtype=np.int64))


def test_json_round_trip_is_lossless():
    rng = np.random.default_rng(5)
    for approximate in (False, True):
        net = random_network(rng, approximate=approximate)
        net = Network(net.input_bits, net.layers, ("a", 2, 3.5), net.argmax_shift,
                      tuple(rng.random(net.n_features)), tuple(1 + rng.random(net.n_features)))
        again = Network.from_json(net.to_json())
        assert again == net
        assert again.to_json() == net.to_json()


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ("[1, 2]", "not a bespoke-mlp network"),
    ('{"format": "hls4ml"}', "not a bespoke-mlp network"),
    ('{"format": "bespoke-mlp/network", "version": 99}', "unsupported network version"),
    ('{"format": "bespoke-mlp/network", "version": 1, "layers": []}', "corrupted"),
])
def test_foreign_or_corrupted_json_is_refused(text, message):
    with pytest.raises(ModelFileError, match=message):
        Network.from_json(text)


def test_validation_names_the_bad_value():
    with pytest.raises(ValueError, match="17"):
        Window(0, 17)
    with pytest.raises(ValueError, match="exceeds"):
        Network(4, (Layer([[1]], [0], [[16]], [0]),), ("a",))
    with pytest.raises(ValueError, match="output layer"):
        Network(4, (Layer([[1]], [0], [[15]], [0], (Window(0, 4),)),), ("a",))


def test_quantize_codes_clips_and_rounds():
    x = np.array([[-1.0, 0.5, 2.0, 7.0]])
    codes = quantize_codes(x, np.zeros(4), np.array([1.0, 1.0, 1.0, 0.0]), 4)
    assert codes.tolist() == [[0, 8, 15, 0]]


def test_cost_properties():
    layer0 = Layer([[3, 0], [1, -1]], [0, 0], [[15, 15], [12, 0]], [0, 0], (Window(0, 2),) * 2)
    layer1 = Layer([[1, 1]], [0], [[3, 3]], [0])
    net = Network(4, (layer0, layer1), ("only",))
    assert net.topology == (2, 2, 1)
    assert net.feature_resolution == (4, 0)
    assert net.n_used_features == 1
    assert net.adc_power_mw(0.33) == pytest.approx(0.33)
    assert json.loads(net.to_json())["format"] == "bespoke-mlp/network"


def _thresholded(input_bits: int = 3):
    layer0 = Layer([[3, -2], [1, 1]], [0, 0], [[7, 4], [6, 0]], [0, 0], (Window(0, 4),) * 2)
    layer1 = Layer([[1, -1], [-1, 1]], [0, 0], [[15, 15], [15, 15]], [0, 0])
    thresholds = (((0.5,), (0.2, 0.5, 0.8)), ((3.0,), (1.0, 3.0, 3.5)))
    return Network(input_bits, (layer0, layer1), ("a", "b"), feature_min=(0.0, 0.0),
                   feature_max=(1.0, 4.0), thresholds=thresholds)


def test_flash_adc_cost_counts_comparators():
    net = _thresholded()
    assert net.feature_resolution == (3, 1)
    assert net.adc_comparators == 7 + 1
    # --adc-mw is the power of a 4-bit flash ADC: 15 comparators.
    assert net.adc_power_mw(0.33) == pytest.approx(0.33 * 8 / 15)
    assert net.adc_area_cm2(0.33) == pytest.approx(net.adc_power_mw(0.33) / 3.3432539813939273)


def test_learned_thresholds_code_reduced_features_and_round_trip():
    net = _thresholded()
    x = np.array([[0.1, 0.5], [0.9, 3.2], [0.6, 2.9]])
    codes = encode_inputs(net, x)
    # Feature 0 at full resolution: uniform; feature 1 read at 1 bit: x >= 3.0, in the top bit.
    assert codes[:, 0].tolist() == quantize_codes(x[:, :1], [0.0], [1.0], 3)[:, 0].tolist()
    assert codes[:, 1].tolist() == [0, 4, 0]
    res = resolution_codes(net, x, quantize_codes(x, [0.0, 0.0], [1.0, 4.0], 3))
    assert res.shape == (3, 3, 2)
    assert np.array_equal(network_codes(net, res), codes)
    assert np.array_equal(predict_codes(net, res), predict_codes(net, codes))
    # A network without thresholds reads the uniform codes whatever its resolutions.
    uniform = dataclasses.replace(net, thresholds=())
    assert np.array_equal(network_codes(uniform, res), res[:, -1])
    again = Network.from_json(net.to_json())
    assert again == net and again.thresholds == net.thresholds


def test_networks_without_thresholds_keep_their_json():
    net = _thresholded()
    old = dataclasses.replace(net, thresholds=())
    assert "thresholds" not in old.to_dict()
    assert Network.from_dict(old.to_dict()).thresholds == ()


@pytest.mark.parametrize("thresholds, match", [
    ((((0.5,), (0.2, 0.5, 0.8)), ((5.0,), (1.0, 3.0, 3.5))), r"outside the feature's range"),
    ((((0.5,), (0.8, 0.5, 0.2)), ((3.0,), (1.0, 3.0, 3.5))), "sorted"),
    ((((0.5,), (0.2, 0.5)), ((3.0,), (1.0, 3.0, 3.5))), "expected 3"),
    ((((0.5,),), ((3.0,),)), "for 1 resolutions, expected 2"),
])
def test_bad_thresholds_are_refused(thresholds, match):
    d = _thresholded().to_dict()
    d["thresholds"] = [[list(t) for t in per] for per in thresholds]
    with pytest.raises(ModelFileError, match=match):
        Network.from_dict(d)


def test_outputs_name_the_class_of_each_output_neuron():
    import re

    l0 = Layer([[2], [1]], [0, 8], [[15], [15]], [0, 0])
    net = Network(4, (l0,), ("a", "b", "c", "d"), outputs=(1, 3))
    assert net.output_classes == (1, 3) and net.topology == (1, 2)
    codes = np.arange(16)[:, None]
    assert set(predict_codes(net, codes).tolist()) == {1, 3}
    assert Network.from_json(net.to_json()) == net
    plain = dataclasses.replace(net, classes=("a", "b"), outputs=())
    assert "outputs" not in plain.to_dict() and plain.output_classes == (0, 1)
    for bad in [(3, 1), (1, 4), (0,), (-1, 2)]:
        with pytest.raises(ValueError, match=re.escape(repr(list(bad)))):
            dataclasses.replace(net, outputs=bad)


def test_normalize_divides_out_common_powers_of_two_exactly() -> None:
    from bespoke_mlp.approx import ApproxConfig, LayerApprox, apply_config
    from bespoke_mlp.ir import normalize

    rng = np.random.default_rng(8)
    narrowed = 0
    for k in range(30):
        base = random_network(rng, approximate=bool(k % 2))
        config = ApproxConfig(layers=tuple(LayerApprox(weight_bits=int(rng.integers(1, 5)))
                                           for _ in base.layers))
        net = apply_config(base, config)
        norm = normalize(net)
        codes = rng.integers(0, 1 << net.input_bits, (300, net.n_features))
        assert np.array_equal(predict_codes(norm, codes), predict_codes(net, codes))
        widest = [max(abs(w) for r in layer.weights for w in r) for layer in net.layers]
        narrowed += [max(abs(w) for r in layer.weights for w in r)
                     for layer in norm.layers] < widest
    assert narrowed > 10
    # Hidden: up to the window's lsb; output: beyond the argmax shift only with the biases.
    hidden = Layer([[4, 8, -12], [4, 8, 0]], [5, -7], [[15] * 3] * 2, (3, 0),
                   (Window(3, 4), Window(1, 4)))
    out = Layer([[8, 16], [24, -8]], [8, 3], [[15, 15]] * 2, (0, 0))
    norm = normalize(Network(4, (hidden, out), (0, 1), argmax_shift=1))
    assert norm.layers[0].weights == ((1, 2, -3), (2, 4, 0))
    assert norm.layers[0].biases == (1, -4) and norm.layers[0].truncation == (1, 0)
    assert norm.layers[0].activation == (Window(1, 4), Window(0, 4))
    assert norm.layers[1].weights == ((4, 8), (12, -4)) and norm.argmax_shift == 0
    even = dataclasses.replace(out, biases=(8, 24))
    norm = normalize(Network(4, (hidden, even), (0, 1), argmax_shift=1))
    assert norm.layers[1].weights == ((1, 2), (3, -1)) and norm.layers[1].biases == (1, 3)


# --- input ranges ------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def test_input_range_rules_name_and_parse():
    assert str(MIN_MAX) == "min-max" and MIN_MAX.is_min_max
    rule = InputRange(0.5, 99.5)
    assert str(rule) == "q0.5-99.5" and InputRange.parse("q0.5-99.5") == rule
    assert InputRange.parse("min-max") == MIN_MAX and InputRange.parse("q1-99") == InputRange(1, 99)
    assert str(InputRange(1, 99, 1.5)) == "q1-99x1.5"
    assert InputRange.parse("q1-99x1.5") == InputRange(1, 99, 1.5)
    assert InputRange(0, 100, 2) == MIN_MAX
    with pytest.raises(ValueError, match="outlier ratio must be a number >= 1, got 0.5"):
        InputRange(1, 99, 0.5)
    with pytest.raises(ValueError, match="'q1'"):
        InputRange.parse("q1")
    with pytest.raises(ValueError, match="upper percentile must be in .*, got 101"):
        InputRange(1, 101)
    with pytest.raises(ValueError, match="lower < 50 < upper, got 60.0 and 99.0"):
        InputRange(60, 99)
    with pytest.raises(ValueError, match="True"):
        InputRange(True, 99)


def test_quantile_range_clips_an_outlier_and_keeps_rare_flags():
    x = np.column_stack([np.append(np.arange(1000.0), 1e5),  # one outlier
                         np.append(np.zeros(1000), 1.0),      # a rare binary flag
                         np.arange(1001.0)])
    plain = MIN_MAX.fit(x)
    assert plain.lo.tolist() == [0, 0, 0] and plain.hi.tolist() == [1e5, 1, 1000]
    assert not plain.clipped.any()
    fitted = InputRange(1, 99).fit(x)
    assert (fitted.lo[0], fitted.hi[0]) == (10.0, 990.0)
    # The flag's 1..99 % range is empty: it keeps its min-max range, nothing clipped.
    assert (fitted.lo[1], fitted.hi[1]) == (0.0, 1.0)
    assert fitted.clipped.tolist() == [True, False, True]
    # The outlier reads as the top code, not as a range that wastes the codes below it.
    codes = quantize_codes(x, fitted.lo, fitted.hi, 4)
    assert codes[-1, 0] == 15 and len(np.unique(codes[:, 0])) == 16
    assert len(np.unique(quantize_codes(x, plain.lo, plain.hi, 4)[:, 0])) == 2
    # Where it pays: only the outlier's feature (min-max span 102 times its 1..99 % span)
    # is clipped; the uniform one (1.02 times) keeps its min-max range.
    where = InputRange(1, 99, 1.5).fit(x)
    assert where.hi.tolist() == [990.0, 1.0, 1000.0] and where.lo.tolist() == [10.0, 0, 0]
    assert where.clipped.tolist() == [True, False, False]


def test_network_records_its_input_range():
    net = _thresholded()
    ranged = dataclasses.replace(net, input_range=InputRange(1, 99),
                                 input_clipped=(True, False))
    d = ranged.to_dict()
    assert d["input_range"] == "q1-99" and d["input_clipped"] == [True, False]
    again = Network.from_json(ranged.to_json())
    assert again == ranged and again.to_json() == ranged.to_json()
    with pytest.raises(ValueError, match=r"input_clipped has 1 entries for 2 features"):
        dataclasses.replace(net, input_clipped=(True,))
    with pytest.raises(ValueError, match=r"booleans, got \[1, 0\]"):
        dataclasses.replace(net, input_clipped=(1, 0))
    with pytest.raises(ModelFileError, match="corrupted.*'q2'"):
        Network.from_dict({**d, "input_range": "q2"})


@pytest.mark.parametrize("name", ["cardio", "seeds"])
def test_model_files_without_ranges_load_unchanged(name):
    # Written before input ranges were recorded (netlists/ of 99229e7, kept as test data).
    text = (ROOT / "tests" / "data" / f"network_99229e7_{name}.json").read_text()
    net = Network.from_json(text)
    assert net.input_range is None and net.input_clipped == ()
    assert net.to_json() == text
