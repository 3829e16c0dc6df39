import math

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.approx import apply_config, input_bit_counts
from bespoke_mlp.errors import UsageError
from bespoke_mlp.ir import predict_codes, schedule, sequential_area_cm2
from bespoke_mlp.search import COST_FEATURES, CostModel, SearchSpace, run_search
from bespoke_mlp.search import _evaluate as search_evaluate


def _space(seed: int, datapath: bool = False, **kw):
    rng = np.random.default_rng(seed)
    net = random_network(rng, **kw)
    codes = rng.integers(0, 16, (150, net.n_features))
    return net, codes, SearchSpace(net, input_bit_counts(codes, net.input_bits),
                                   datapath=datapath), rng


@pytest.mark.parametrize("lookup", [True, False], ids=["lookup", "bit-planes"])
@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "approximated"])
@pytest.mark.parametrize("seed", range(12))
def test_fast_evaluation_equals_golden_model_of_applied_config(seed, approximate, lookup,
                                                               monkeypatch):
    # An approximated base (a retrained design searched again) has masks, truncation and
    # windows of its own: the space refines them. Every third seed adds the datapath genes.
    # Hidden layers go through table look-ups, or (wide activations) bit planes.
    if not lookup:
        monkeypatch.setattr(search_evaluate, "_LOOKUP_MAX_WIDTH", 0)
    net, codes, space, rng = _space(seed, n_features=int(1 + seed % 7),
                                    hidden=int(1 + seed % 4), n_classes=int(2 + seed % 3),
                                    approximate=approximate, datapath=seed % 3 == 0)
    x = np.concatenate([space.seeds(), rng.integers(space.lower, space.upper + 1,
                                                     (12, space.n_genes))])
    fast = space.predict(space.decode(x), codes)
    for g, row in zip(x, fast):
        slow = predict_codes(apply_config(net, space.config(g), space.input_stats), codes)
        assert np.array_equal(row, slow)


@pytest.mark.parametrize("datapath", [False, True], ids=["plain", "datapath"])
@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "approximated"])
def test_exact_genome_is_the_base_network(approximate, datapath):
    net, codes, space, _ = _space(20, approximate=approximate, datapath=datapath)
    assert apply_config(net, space.config(space.exact), space.input_stats) == net


def test_cost_features_shrink_with_approximation():
    _, _, space, _ = _space(21, n_features=8, hidden=4)
    f = space.cost_features(space.decode(space.seeds()))
    assert f.shape == (4, len(COST_FEATURES))
    assert f[1, 0] < f[0, 0]  # power-of-two has fewer partial products than exact
    assert f[3, 0] <= f[2, 0] <= f[1, 0]


@pytest.mark.parametrize("seed", range(6))
def test_sequential_features_are_the_schedules(seed):
    # One lane: exactly the schedule's features; more lanes: the area within 0.6 cm² (the
    # estimate does not see the schedule's balancing of a neuron's inputs over the lanes).
    net, _, space, rng = _space(30 + seed, n_features=int(2 + seed), hidden=int(1 + seed % 4),
                                approximate=bool(seed % 2), datapath=seed % 3 != 2)
    x = np.concatenate([space.exact[None], space.seeds(),
                        rng.integers(space.lower, space.upper + 1, (6, space.n_genes))])
    for lanes in (1, 2, 3):
        cost = CostModel.sequential(lanes)
        est = cost.area_cm2(cost.features(space.decode(x)))
        for g, area, f in zip(x, est, cost.features(space.decode(x))):
            sched = schedule(apply_config(net, space.config(g), space.input_stats), lanes)
            if lanes == 1:
                assert tuple(f) == sched.cost_features()
            assert abs(area - sequential_area_cm2(sched)) < 0.6


def test_sequential_cost_model_needs_lanes():
    assert CostModel.default().lanes == 0
    with pytest.raises(ValueError, match="lanes must be an int >= 1, not 0"):
        CostModel.sequential(0)


def test_search_finds_smaller_feasible_designs_deterministically():
    net, codes, space, _ = _space(22, n_features=8, hidden=4)
    y = predict_codes(net, codes)
    cost = CostModel.default()
    kw = dict(min_accuracy=0.9, pop_size=24, generations=6, seed=3)
    a = run_search(space, cost, codes, y, **kw)
    b = run_search(space, cost, codes, y, **kw)
    assert np.array_equal(a.genomes, b.genomes)
    assert (a.val_accuracy >= 0.9).all()
    exact_area = cost.area_cm2(space.cost_features(space.decode(space.exact)))[0]
    assert a.area_cm2.min() < exact_area
    assert np.all(np.diff(a.area_cm2) >= 0)


def test_search_resumes_from_checkpoint(tmp_path):
    net, codes, space, _ = _space(23, n_features=6, hidden=3)
    y = predict_codes(net, codes)
    cost = CostModel.default()
    ck = tmp_path / "search.json"
    full = run_search(space, cost, codes, y, min_accuracy=0.8, pop_size=16, generations=5,
                      seed=1)
    run_search(space, cost, codes, y, min_accuracy=0.8, pop_size=16, generations=2, seed=1,
               checkpoint=ck)
    resumed = run_search(space, cost, codes, y, min_accuracy=0.8, pop_size=16, generations=5,
                         seed=1, checkpoint=ck, resume=True)
    assert np.array_equal(full.genomes, resumed.genomes)
    assert full.evaluations == resumed.evaluations
    with pytest.raises(UsageError, match="another search"):
        run_search(space, cost, codes, y, min_accuracy=0.8, pop_size=16, generations=5,
                   seed=2, checkpoint=ck, resume=True)


def test_cost_model_fit_recovers_a_linear_model():
    rng = np.random.default_rng(0)
    f = rng.random((50, len(COST_FEATURES))) * 100
    truth = np.array([0.02, 0.05, 0.01, 0.03])[:len(COST_FEATURES)]
    area = f @ truth + 0.1
    model = CostModel.fit(f, area, 3 * area)
    assert np.allclose(model.coefficients, truth, atol=1e-6)
    assert model.mw_per_cm2 == pytest.approx(3.0)


def test_windows_narrow_only_as_far_as_the_next_layer_coefficients_allow():
    from dataclasses import replace

    rng = np.random.default_rng(5)
    net = random_network(rng, n_features=3, hidden=3, approximate=True)
    out = net.layers[1]
    # A base whose output coefficients were already scaled up by an earlier narrowing.
    weights = np.array(out.weights)
    weights[:, 0] = [3000, -5000, 100][:len(weights)]
    weights[:, 1] = 0
    net = replace(net, layers=(net.layers[0], replace(out, weights=weights.tolist())))
    codes = rng.integers(0, 16, (50, 3))
    space = SearchSpace(net, input_bit_counts(codes, 4))
    bits = [space.names.index(f"l0.n{j}.bits") for j in range(3)]
    windows = net.layers[0].activation
    assert space.lower[bits[0]] == max(1, windows[0].bits - 0)  # 5000 << 1 > 8192
    assert space.lower[bits[1]] == max(1, windows[1].bits - 6)  # no fan-out: the usual 6
    x = space.lower.copy()[None]
    slow = predict_codes(apply_config(net, space.config(x[0]), space.input_stats), codes)
    assert np.array_equal(space.predict(space.decode(x), codes)[0], slow)


def test_narrow_seeds_keep_the_top_k_features_and_decode_like_the_golden_model():
    rng = np.random.default_rng(4)
    net = random_network(rng, n_features=9, hidden=3)
    codes = rng.integers(0, 16, (120, net.n_features))
    order = np.array([4, 0, 8, 1, 2, 3, 5, 6, 7])
    space = SearchSpace(net, input_bit_counts(codes, 4), feature_order=order)
    assert space.narrow_sizes() == (4, 2)
    seeds = space.seeds()
    assert len(seeds) == 4 + 2 * 2
    for seed, k in zip(seeds[4::2], (4, 2)):
        used = apply_config(net, space.config(seed), space.input_stats).feature_resolution
        assert [i for i, r in enumerate(used) if r] == sorted(order[:k].tolist())
    fast = space.predict(space.decode(seeds), codes)
    for g, row in zip(seeds, fast):
        slow = predict_codes(apply_config(net, space.config(g), space.input_stats), codes)
        assert np.array_equal(row, slow)


def test_feature_order_must_be_a_permutation():
    net, codes, _, _ = _space(0, n_features=3)
    with pytest.raises(ValueError, match=r"permutation of 0..2, got \[0, 0, 1\]"):
        SearchSpace(net, input_bit_counts(codes, 4), feature_order=np.array([0, 0, 1]))


def _with_thresholds(net, rng):
    """``net`` with random learned thresholds over the range [0, 1] of every feature."""
    import dataclasses

    per_feature = tuple(tuple(tuple(np.sort(rng.uniform(0, 1, (1 << r) - 1)).tolist())
                              for r in range(1, net.input_bits))
                        for _ in range(net.n_features))
    return dataclasses.replace(net, feature_min=(0.0,) * net.n_features,
                               feature_max=(1.0,) * net.n_features, thresholds=per_feature)


@pytest.mark.parametrize("seed", range(6))
def test_fast_evaluation_reads_each_candidates_own_quantizers(seed):
    from bespoke_mlp.ir import encode_inputs, quantize_codes, resolution_codes

    rng = np.random.default_rng(100 + seed)
    net = _with_thresholds(random_network(rng, n_features=int(2 + seed % 5),
                                          approximate=bool(seed % 2)), rng)
    x = rng.uniform(-0.1, 1.1, (120, net.n_features))
    codes = resolution_codes(net, x, quantize_codes(x, np.zeros(net.n_features),
                                                    np.ones(net.n_features), net.input_bits))
    space = SearchSpace(net, input_bit_counts(codes, net.input_bits))
    genomes = np.concatenate([space.seeds(), rng.integers(space.lower, space.upper + 1,
                                                          (10, space.n_genes))])
    fast = space.predict(space.decode(genomes), codes)
    for g, row in zip(genomes, fast):
        applied = apply_config(net, space.config(g), space.input_stats)
        assert np.array_equal(row, predict_codes(applied, codes))
        # The raw-input path of the golden model codes the same way.
        assert np.array_equal(row, predict_codes(applied, encode_inputs(applied, x)))


def test_adc_comparators_of_candidates_match_their_networks():
    net, codes, space, rng = _space(30, n_features=6, hidden=3)
    genomes = rng.integers(space.lower, space.upper + 1, (15, space.n_genes))
    counts = space.adc_comparators(space.decode(genomes))
    for g, c in zip(genomes, counts):
        assert c == apply_config(net, space.config(g), space.input_stats).adc_comparators


def test_objectives():
    from bespoke_mlp.search import Objective

    cost = CostModel.default()
    f = np.array([[100.0]])
    area = Objective("area").values(cost, f, np.array([15]))
    power = Objective("power").values(cost, f, np.array([15]))
    system = Objective("system-power", adc_mw=0.33).values(cost, f, np.array([15]))
    assert power[0] == pytest.approx(area[0] * cost.mw_per_cm2)
    assert system[0] == pytest.approx(power[0] + 0.33)  # one full 4-bit ADC
    assert Objective("power").unit == "mW" and Objective("area").unit == "cm²"
    with pytest.raises(UsageError, match="'energy'"):
        Objective("energy")
    with pytest.raises(UsageError, match="-1"):
        Objective(adc_mw=-1)


def test_few_input_area_bounds_a_collapsed_function():
    from bespoke_mlp.search import few_input_area_cm2
    from bespoke_mlp.synth import COLLAPSE_MAX_INPUTS

    assert few_input_area_cm2(0, 3) == 0.0
    # Two output bits of 4 variables: 2 * 2**4 / 4 = 8 gates of 0.248 mm².
    assert few_input_area_cm2(4, 3) == pytest.approx(8 * 0.00248)
    assert few_input_area_cm2(2, 2) < few_input_area_cm2(2, 6) < few_input_area_cm2(3, 6)
    assert few_input_area_cm2(COLLAPSE_MAX_INPUTS + 1, 3) == math.inf


def test_objective_of_an_area_matches_its_features():
    from bespoke_mlp.search import Objective

    cost, f, comparators = CostModel.default(), np.array([[40.0], [7.0]]), np.array([15, 3])
    for kind in ("area", "power", "system-power"):
        o = Objective(kind)
        assert o.of_area(cost, cost.area_cm2(f), comparators) == \
            pytest.approx(o.values(cost, f, comparators))


def test_search_of_system_power_drops_adcs():
    from bespoke_mlp.search import Objective

    net, codes, space, _ = _space(31, n_features=8, hidden=3)
    y = predict_codes(net, codes)
    kw = dict(min_accuracy=0.5, pop_size=24, generations=6, seed=3)
    system = run_search(space, CostModel.default(), codes, y,
                        objective=Objective("system-power", adc_mw=5.0), **kw)
    comparators = space.adc_comparators(space.decode(system.genomes))
    assert comparators.min() < net.adc_comparators


@pytest.mark.parametrize("seed", range(6))
def test_class_removal_gene_equals_golden_model(seed):
    rng = np.random.default_rng(300 + seed)
    net = random_network(rng, n_features=4, hidden=3, n_classes=4 + seed % 2,
                         approximate=seed % 2 == 1)
    codes = rng.integers(0, 16, (150, net.n_features))
    counts = np.bincount(predict_codes(net, codes), minlength=net.n_classes)
    space = SearchSpace(net, input_bit_counts(codes, 4), class_counts=counts,
                        max_class_share=1.0)
    assert len(space.class_order) == net.n_classes - 2  # two outputs stay
    x = np.concatenate([space.seeds(), rng.integers(space.lower, space.upper + 1,
                                                     (12, space.n_genes))])
    d = space.decode(x)
    fast = space.predict(d, codes)
    for g, row in zip(x, fast):
        applied = apply_config(net, space.config(g), space.input_stats)
        assert np.array_equal(row, predict_codes(applied, codes))
    # Removed outputs cost nothing: the most removed seed is cheaper than the exact design.
    f = space.cost_features(d)
    assert f[len(space.seeds()) - 2, 0] < f[0, 0]


def test_class_removal_ranks_by_predictions_and_respects_the_share():
    net, codes, _, _ = _space(23, n_classes=4)
    stats = input_bit_counts(codes, 4)
    counts = np.array([50, 3, 0, 47])
    assert SearchSpace(net, stats, class_counts=counts, max_class_share=0.05
                       ).class_order.tolist() == [2, 1]
    assert SearchSpace(net, stats, class_counts=counts, max_class_share=0.0
                       ).class_order.tolist() == [2]
    space = SearchSpace(net, stats, class_counts=np.array([50, 50, 50, 50]))
    assert space.class_order.tolist() == [] and "classes.removed" not in space.names
    with pytest.raises(ValueError, match=r"\[1, 2\]"):
        SearchSpace(net, stats, class_counts=np.array([1, 2]))


def test_datapath_ladder_narrows_the_folded_datapath_in_steps():
    from bespoke_mlp.search import DATAPATH_LADDER

    net, codes, space, _ = _space(40, n_features=6, hidden=4, datapath=True)
    ladder = space.datapath_ladder()
    assert len(ladder) == len(DATAPATH_LADDER) and len(space.seeds()) == 4 + len(ladder)
    exact = schedule(net, 2)
    operand = space.names.index("operand.bits")
    for x, (dw, da) in zip(ladder, DATAPATH_LADDER):
        assert x[operand] == space.upper[operand] - da
        config = space.config(x)
        assert all(la.weight_bits == 7 - dw for la in config.layers)  # ±127: 7 bits
        narrow = schedule(apply_config(net, config, space.input_stats), 2)
        assert narrow.operand_bits <= exact.operand_bits and narrow.acc_bits < exact.acc_bits
        # (The random windows' low lsb limits what the hidden layer divides out.)
        assert max(abs(w) for s in narrow.steps for w in s.weights) < max(
            abs(w) for s in exact.steps for w in s.weights)
    assert not len(_space(40, n_features=6, hidden=4)[2].datapath_ladder())
