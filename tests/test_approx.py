import numpy as np
import pytest
from _nets import random_config, random_network

from bespoke_mlp.approx import (
    ApproxConfig,
    LayerApprox,
    apply_config,
    digit_projection,
    input_bit_counts,
    nearest_csd,
    nearest_csd_table,
    retrain,
)
from bespoke_mlp.approx._csd_round import CSD_LIMIT
from bespoke_mlp.errors import ModelFileError
from bespoke_mlp.ir import (
    Layer,
    Network,
    Window,
    csd_digits,
    csd_weight,
    forward,
    predict_codes,
)
from bespoke_mlp.parallel import ProcessExecutor


@pytest.mark.parametrize("digits", range(5))
def test_nearest_csd_is_nearest_within_budget(digits):
    for w in range(-300, 301):
        v = nearest_csd(w, digits)
        assert csd_weight(v) <= digits
        best = min(abs(w - u) for u in range(-600, 601) if csd_weight(u) <= digits)
        assert abs(w - v) == best


def test_nearest_csd_table_matches_function():
    for d in range(4):
        table = nearest_csd_table(d)
        for w in [*range(-400, 400, 3), CSD_LIMIT, -CSD_LIMIT, 5000, -7777]:
            assert table[w + CSD_LIMIT] == nearest_csd(w, d)


def test_power_of_two_examples():
    assert [nearest_csd(w, 1) for w in (0, 3, 5, 6, 7, -12, 100)] == [0, 2, 4, 4, 8, -8, 128]
    assert nearest_csd(77, 0) == 0


def test_exact_config_is_identity():
    rng = np.random.default_rng(0)
    for approximate in (False, True):
        net = random_network(rng, approximate=approximate)
        assert apply_config(net, ApproxConfig()) == net


def test_config_json_round_trip():
    rng = np.random.default_rng(1)
    net = random_network(rng)
    config = random_config(rng, net)
    assert ApproxConfig.from_json(config.to_json()) == config
    with pytest.raises(ModelFileError):
        ApproxConfig.from_json('{"format": "other"}')


def test_operators_shrink_the_network():
    rng = np.random.default_rng(2)
    net = random_network(rng, n_features=6, hidden=4)
    codes = rng.integers(0, 16, (100, 6))
    l0, l1 = net.layers
    po2 = ApproxConfig(layers=(LayerApprox(digits=np.ones((4, 6), int)),
                               LayerApprox(digits=np.ones((3, 4), int))))
    assert apply_config(net, po2).n_csd_terms < net.n_csd_terms
    pruned = apply_config(net, ApproxConfig(input_precision=(0, 4, 4, 4, 4, 2)))
    assert pruned.feature_resolution == (0, 4, 4, 4, 4, 2)
    removed = apply_config(net, ApproxConfig(removed_neurons=((1, 3),)))
    assert removed.topology == (6, 2, 3)
    narrow = apply_config(net, ApproxConfig(layers=(
        LayerApprox(windows=[(w.msb, w.msb - 1) for w in l0.activation]), LayerApprox())))
    assert all(w.bits == 2 for w in narrow.layers[0].activation)
    pred = predict_codes(narrow, codes)
    assert pred.shape == (100,) and pred.dtype == np.int64
    assert ((pred >= 0) & (pred < narrow.n_classes)).all()
    # The narrowed windows are what the golden model applies: each hidden activation is the
    # neuron's sum (computed here by hand), shifted to the window's low bit, clipped to 2 bits.
    acc = codes @ np.array(l0.weights).T + np.array(l0.biases)
    lsb = np.array([w.lsb for w in narrow.layers[0].activation])
    assert np.array_equal(forward(narrow, codes)[0], np.clip(acc >> lsb, 0, 3))


def test_truncation_compensation_uses_input_statistics():
    rng = np.random.default_rng(3)
    net = random_network(rng)
    trunc = ApproxConfig(layers=(LayerApprox(truncation=(3, 3, 3)), LayerApprox()))
    codes = np.full((10, net.n_features), 15)  # every bit is 1
    stats = input_bit_counts(codes, 4)
    with_stats = apply_config(net, trunc, stats)
    without = apply_config(net, trunc)
    assert with_stats.layers[0].truncation == (3, 3, 3)
    # Dropped digit s * 2**e on input bit b (columns b + e < 3), counted by hand: with every
    # bit 1, a positive digit's bit is always 1 and a negative digit's inverted bit always 0;
    # without statistics every bit is 1 half of the time.
    positive, every = [], []
    for row in net.layers[0].weights:
        dropped = [(s, b + e) for w in row for b in range(4) for s, e in csd_digits(int(w))
                   if b + e < 3]
        positive.append(sum(1 << c for s, c in dropped if s > 0))
        every.append(sum(1 << c for _, c in dropped))
    assert any(positive) and positive != [(t + 1) // 2 for t in every]
    biases = net.layers[0].biases
    assert with_stats.layers[0].biases == tuple(b + p for b, p in zip(biases, positive))
    assert without.layers[0].biases == tuple(b + (t + 1) // 2 for b, t in zip(biases, every))


def test_shape_errors_name_the_value():
    net = random_network(np.random.default_rng(4))
    with pytest.raises(ValueError, match="digits"):
        apply_config(net, ApproxConfig(layers=(LayerApprox(digits=[[1]]), LayerApprox())))
    with pytest.raises(ValueError, match="precision 9"):
        apply_config(net, ApproxConfig(input_precision=(9,) * net.n_features))
    with pytest.raises(ValueError, match="every neuron"):
        apply_config(net, ApproxConfig(removed_neurons=((0, 1, 2),)))
    with pytest.raises(ValueError, match="msb >= lsb"):
        LayerApprox(windows=[(1, 3)])


def test_digit_projection_keeps_budgets():
    rng = np.random.default_rng(5)
    net = random_network(rng)
    po2 = apply_config(net, ApproxConfig(layers=(
        LayerApprox(digits=np.ones((3, 5), int)), LayerApprox())))
    project = digit_projection(po2)
    noisy = np.array(po2.layers[0].weights) + rng.normal(0, 20, (3, 5))
    out = project(0, noisy)
    for w0, w in zip(np.ravel(po2.layers[0].weights), np.ravel(out)):
        assert csd_weight(int(w)) <= csd_weight(int(w0))
        if w0 == 0:
            assert w == 0


def test_digit_projection_equals_nearest_csd_per_coefficient():
    import dataclasses

    rng = np.random.default_rng(11)
    net = random_network(rng, n_features=40, hidden=50)
    # Coefficients of every CSD weight 0-7 give every digit budget.
    w0 = rng.integers(-CSD_LIMIT, CSD_LIMIT, (50, 40)) >> rng.integers(0, 14, (50, 40))
    w0[0, 0] = 64
    net = dataclasses.replace(net, layers=(dataclasses.replace(
        net.layers[0], weights=tuple(map(tuple, w0.tolist()))), net.layers[1]))
    budgets = np.vectorize(csd_weight)(w0)
    assert set(np.unique(budgets)) == set(range(8))
    noisy = rng.uniform(-CSD_LIMIT - 0.5, CSD_LIMIT + 0.5, w0.shape)
    out = digit_projection(net)(0, noisy)
    expected = [[nearest_csd(int(v), int(d)) for v, d in zip(row, brow)]
                for row, brow in zip(np.rint(noisy).astype(np.int64), budgets)]
    assert out.dtype == np.int64 and out.tolist() == expected
    # Beyond ±CSD_LIMIT: what nearest_csd does (kept if exact, refused otherwise).
    far = np.zeros(w0.shape)
    far[0, 0] = 4 * CSD_LIMIT
    assert digit_projection(net)(0, far)[0, 0] == 4 * CSD_LIMIT
    far[0, 0] = 4 * CSD_LIMIT + 3
    with pytest.raises(ValueError, match="outside"):
        digit_projection(net)(0, far)


def _raw_network(seed: int):
    """A random network over raw features in [0, 10] and its train part's raw values and
    codes."""
    import dataclasses

    from bespoke_mlp.ir import quantize_codes

    rng = np.random.default_rng(seed)
    net = random_network(rng, n_features=4, hidden=3)
    net = dataclasses.replace(net, feature_min=(0.0,) * 4, feature_max=(10.0,) * 4)
    x = rng.uniform(0, 10, (300, 4)) ** 2 / 10  # skewed: uniform cut points are poor
    return net, x, quantize_codes(x, np.zeros(4), np.full(4, 10.0), 4)


def test_learned_thresholds_keep_predictions_at_least_as_well_as_uniform_ones():
    from bespoke_mlp.approx import learn_thresholds
    from bespoke_mlp.approx._thresholds import _uniform_thresholds
    from bespoke_mlp.ir import threshold_codes

    net, x, codes = _raw_network(5)
    target = predict_codes(net, codes)
    learned = learn_thresholds(net, x, codes, target)
    assert learned.layers == net.layers
    for r in range(1, 4):
        def agreement(per_feature, r=r):
            c = np.stack([threshold_codes(x[:, i], per_feature[i], 4) for i in range(4)], axis=1)
            return (predict_codes(net, c) == target).mean()

        fitted = [learned.thresholds[i][r - 1] for i in range(4)]
        assert all(len(t) == (1 << r) - 1 and 0 <= min(t) and max(t) <= 10 for t in fitted)
        # Every input at r bits: at least as faithful as the uniform quantizer's thresholds.
        assert agreement(fitted) >= agreement([_uniform_thresholds(0.0, 10.0, r, 4)] * 4)
    again = learn_thresholds(net, x, codes, target)
    assert again == learned  # deterministic
    # The resolutions are independent: fitted on workers, the same thresholds.
    with ProcessExecutor(2) as executor:
        assert learn_thresholds(net, x, codes, target, executor=executor) == learned


def test_learned_thresholds_stay_inside_a_clipping_input_range():
    from bespoke_mlp.approx import learn_thresholds
    from bespoke_mlp.approx._thresholds import _cut_points
    from bespoke_mlp.ir import quantize_codes

    net, x, _ = _raw_network(7)
    # Train values beyond the range [0, 10] (clipped by the ADC to the end codes): no
    # threshold may leave the range, or the network would not validate.
    x[:40] = np.where(np.arange(40)[:, None] % 2, 25.0, -5.0)
    codes = quantize_codes(x, np.zeros(4), np.full(4, 10.0), 4)
    learned = learn_thresholds(net, x, codes, predict_codes(net, codes))
    assert all(0 <= min(t) and max(t) <= 10 for per in learned.thresholds for t in per)
    cuts = _cut_points(np.array([-5.0, 1.0, 2.0, 25.0]), 0.0, 10.0)
    assert cuts.tolist() == [0.5, 1.5, 6.0]


def test_learning_thresholds_warns_about_a_constant_feature(caplog):
    from bespoke_mlp.approx import learn_thresholds

    net, x, codes = _raw_network(6)
    x[:, 2], codes[:, 2] = 3.0, 5
    with caplog.at_level("WARNING"):
        learn_thresholds(net, x, codes, predict_codes(net, codes))
    assert "constant after quantization" in caplog.text and "'x2'" in caplog.text


def test_learning_thresholds_refuses_mismatched_data():
    from bespoke_mlp.approx import learn_thresholds
    from bespoke_mlp.errors import UsageError

    net, x, codes = _raw_network(7)
    with pytest.raises(UsageError, match=r"\(300, 3\)"):
        learn_thresholds(net, x[:, :3], codes, predict_codes(net, codes))


def test_class_removal_drops_output_neurons_and_keeps_labels():
    rng = np.random.default_rng(70)
    net = random_network(rng, n_classes=5)
    codes = rng.integers(0, 16, (300, net.n_features))
    small = apply_config(net, ApproxConfig(removed_classes=(3, 1)))
    assert small.outputs == (0, 2, 4) and small.layers[-1].n_out == 3
    assert small.topology[-1] == 3 and small.n_classes == 5
    # Only samples the exact network gave a removed class change, to a kept class.
    exact, pred = predict_codes(net, codes), predict_codes(small, codes)
    kept = ~np.isin(exact, [1, 3])
    assert np.array_equal(pred[kept], exact[kept]) and not np.isin(pred, [1, 3]).any()
    # Indices name classes, so a second removal from the smaller network composes.
    smaller = apply_config(small, ApproxConfig(removed_classes=(4,)))
    assert smaller.outputs == (0, 2)
    assert type(small).from_json(small.to_json()) == small


def test_class_removal_json_round_trip_and_errors():
    config = ApproxConfig(removed_classes=(2, 0, 2))
    assert config.removed_classes == (0, 2)
    assert ApproxConfig.from_json(config.to_json()) == config
    assert "removed_classes" not in ApproxConfig().to_dict()  # old files unchanged
    with pytest.raises(ValueError, match=r"\(-1,\)"):
        ApproxConfig(removed_classes=(-1,))
    net = random_network(np.random.default_rng(71), n_classes=3)
    with pytest.raises(ValueError, match=r"\[5\]"):
        apply_config(net, ApproxConfig(removed_classes=(5,)))
    with pytest.raises(ValueError, match="every output"):
        apply_config(net, ApproxConfig(removed_classes=(0, 1, 2)))
    with pytest.raises(ModelFileError):
        ApproxConfig.from_json(config.to_json().replace("[0, 2]", '["x"]'))


def test_argmax_bits_count_from_the_remaining_outputs():
    from bespoke_mlp.ir import accumulator_width

    net = random_network(np.random.default_rng(72), n_classes=4)
    small = apply_config(net, ApproxConfig(removed_classes=(1,), argmax_bits=3))
    last = small.layers[-1]
    top = max(accumulator_width(last, j) for j in range(last.n_out))
    assert small.argmax_shift == max(0, top - 3)


def test_retraining_a_network_without_some_classes():
    rng = np.random.default_rng(73)
    net = random_network(rng, n_classes=4)
    codes = rng.integers(0, 16, (200, net.n_features))
    y = predict_codes(net, codes)
    small = apply_config(net, ApproxConfig(removed_classes=(int(y[0]),)))
    tuned = retrain(small, codes[:150], y[:150], codes[150:], y[150:], epochs=3)
    assert tuned.outputs == small.outputs
    assert np.mean(predict_codes(tuned, codes[150:]) == y[150:]) >= np.mean(
        predict_codes(small, codes[150:]) == y[150:])


def test_weight_bits_round_to_a_shared_step():
    net = random_network(np.random.default_rng(12))
    config = ApproxConfig(layers=(LayerApprox(weight_bits=2), LayerApprox(weight_bits=3)))
    out = apply_config(net, config)
    for layer, bits in zip(out.layers, (2, 3)):
        w = np.abs(np.array(layer.weights))
        step = 1 << max(0, int(w.max()).bit_length() - 1 - bits)
        assert not (w % step).any()
    # The output layer's biases share the step (so the datapath can divide it out).
    assert all(b % (1 << (int(np.abs(np.array(out.layers[1].weights)).max()).bit_length()
                          - 1 - 3)) == 0 for b in out.layers[1].biases)
    # Half away from zero, relative to the largest magnitude.
    one = Network(4, (Layer([[7, -3, 1, -1]], [3], [[15] * 4], (0,), (Window(0, 4),)),
                      Layer([[5], [-6]], [1, 2], [[15]] * 2, (0, 0))), (0, 1))
    out = apply_config(one, ApproxConfig(layers=(LayerApprox(weight_bits=2),
                                                 LayerApprox(weight_bits=2))))
    assert out.layers[0].weights == ((8, -4, 2, -2),) and out.layers[0].biases == (3,)
    assert out.layers[1].weights == ((6,), (-6,)) and out.layers[1].biases == (2, 2)
    assert ApproxConfig.from_json(ApproxConfig(layers=(LayerApprox(weight_bits=5),)).to_json()
                                  ).layers[0].weight_bits == 5
    assert "weight_bits" not in ApproxConfig(layers=(LayerApprox(),)).to_json()
    with pytest.raises(ValueError, match="weight_bits must be an int >= 1 or None, not 0"):
        LayerApprox(weight_bits=0)


def test_retraining_keeps_the_weight_steps():
    from bespoke_mlp.approx import weight_steps

    rng = np.random.default_rng(13)
    net = random_network(rng)
    approx = apply_config(net, ApproxConfig(layers=(LayerApprox(weight_bits=3),
                                                    LayerApprox(weight_bits=3))))
    codes = rng.integers(0, 16, (120, net.n_features))
    labels = rng.integers(0, 3, 120)
    tuned = retrain(approx, codes[:80], labels[:80], codes[80:], labels[80:], epochs=4,
                    keep_steps=True, lr=2.0)
    assert tuned != approx
    for before, after in zip(weight_steps(approx), weight_steps(tuned)):
        assert (after >= before).all()
    step = 1 << int(weight_steps(approx)[-1].min())
    assert step > 1 and all(b % step == 0 for b in tuned.layers[-1].biases)
