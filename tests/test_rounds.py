"""The search rounds' bookkeeping: which retrained design the next round starts from."""

import numpy as np
from _nets import random_network

from bespoke_mlp.approx import ApproxConfig, apply_config
from bespoke_mlp.flow._rounds import Retrained, aimed_spread
from bespoke_mlp.flow._selection import PairedLoss


def _one_round(net, rng, tmp_path, executor=None, **kwargs):
    """One small search round over 60 random input codes scored against ``net`` itself (on
    ``executor``, default in-process): what it found, and those codes."""
    from bespoke_mlp.approx import input_bit_counts
    from bespoke_mlp.flow import SearchSettings
    from bespoke_mlp.flow._log import quiet
    from bespoke_mlp.flow._rounds import search_rounds
    from bespoke_mlp.ir import predict_codes
    from bespoke_mlp.parallel import SerialExecutor
    from bespoke_mlp.search import CostModel

    codes = rng.integers(0, 16, (60, net.n_features))
    part = (codes, predict_codes(net, codes))
    settings = SearchSettings(pop_size=8, generations=1, rounds=1, n_retrain=2,
                              retrain_epochs=1)
    found = search_rounds(net, {"train": part, "val": part}, part, part,
                          input_bit_counts(codes, 4), CostModel.default(), settings,
                          search_min=0.0, seed=0, checkpoints=lambda r: tmp_path / f"c{r}",
                          resume=False, progress=lambda label: (lambda p: None),
                          executor=executor or SerialExecutor(), log=quiet(), **kwargs)
    return found, codes


def test_next_round_starts_from_the_smallest_design_within_the_budget_on_validation():
    net, found = random_network(np.random.default_rng(0)), Retrained()
    # (worse, better) on 400 validation samples: losses 0, 1.25, 0, 0 points.
    for (worse, better), area in (((0, 0), 3.0), ((5, 0), 1.0), ((2, 2), 2.0), ((2, 2), 2.0)):
        found.add(net, ApproxConfig(), PairedLoss(400, worse, better, 0.9), area, 1)
    assert found.estimates == [0.0, 1.25, 0.0, 0.0]
    assert found.smallest_within(1.0) == 2  # equal candidates: the earlier one
    assert found.smallest_within(1.25) == 1
    assert found.smallest_within(-0.1) is None
    # A tiny design is never a round's base.
    found.add(net, ApproxConfig(), PairedLoss(400, 0, 0, 0.9), 0.01, 1, tiny=True)
    assert found.smallest_within(1.0) == 2 and found.tiny == [False] * 4 + [True]


def test_power_first_round_starts_from_the_most_accurate_design_within_reach():
    net, found = random_network(np.random.default_rng(0)), Retrained()
    # Losses 0, 1.25, 0.5, 0.5 points on 400 validation samples, estimates 13, 5, 9, 8 mW.
    for (worse, better), cost in (((0, 0), 13.0), ((5, 0), 5.0), ((2, 0), 9.0),
                                  ((2, 0), 8.0)):
        found.add(net, ApproxConfig(), PairedLoss(400, worse, better, 0.9), cost, 1)
    assert found.most_accurate_within(12.0) == 3  # equally accurate: the cheaper
    assert found.most_accurate_within(13.0) == 0
    assert found.most_accurate_within(6.0) == 1
    assert found.most_accurate_within(4.0) is None
    found.add(net, ApproxConfig(), PairedLoss(400, 0, 0, 0.9), 0.01, 1, tiny=True)
    assert found.most_accurate_within(4.0) is None  # never a tiny one
    # A second search's rounds (here from round 2) start from their own designs only.
    found.add(net, ApproxConfig(), PairedLoss(400, 4, 0, 0.9), 7.0, 2)
    assert found.most_accurate_within(12.0, since=2) == 5
    assert found.smallest_within(0.5) == 3 and found.smallest_within(0.5, since=2) is None


def test_power_first_retraining_spreads_over_the_front_under_the_budget():
    costs = np.array([1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 20.0])
    assert aimed_spread(costs, 4, None) == [0, 2, 5, 7]
    # Enough points under the limit: all picks among them.
    assert aimed_spread(costs, 3, 4.5) == [0, 2, 3]
    # Fewer: each of them, the rest spread over the others.
    assert aimed_spread(costs, 4, 2.5) == [0, 1, 2, 7]
    # None, or all, under the limit: the plain spread.
    assert aimed_spread(costs, 4, 0.5) == aimed_spread(costs, 4, 50.0) == [0, 2, 5, 7]


def test_estimate_limit_applies_to_power_first_under_the_system_power_objective():
    from bespoke_mlp.flow import SearchSettings

    settings = SearchSettings(budget_mw=6.0, power_first=True)
    assert settings.estimate_limit() == 7.5 and settings.estimate_limit(2.0) == 12.0
    assert SearchSettings(budget_mw=6.0).estimate_limit() is None
    assert SearchSettings(budget_mw=6.0, power_first=True,
                          objective="area").estimate_limit() is None


def test_a_wide_base_gets_narrow_retrained_candidates_in_round_one(tmp_path):
    from bespoke_mlp.flow._rounds import NARROW_MIN_FEATURES
    from bespoke_mlp.search import top_k_sizes

    rng = np.random.default_rng(1)
    net = random_network(rng, n_features=NARROW_MIN_FEATURES, hidden=2)
    found, _ = _one_round(net, rng, tmp_path)
    assert len(found.importance) == 1 and found.importance[0].shape == (net.n_features,)
    narrow = [c for c in found.configs if c.layers == () and c.input_precision is not None]
    assert [sum(1 for p in c.input_precision if p) for c in narrow] == \
        list(top_k_sizes(net.n_used_features))


def test_tiny_precisions_keep_the_most_important_read_features_at_few_bits():
    from bespoke_mlp.flow._rounds import TINY_SHAPES, tiny_precisions

    net = random_network(np.random.default_rng(2), n_features=3)
    importance = np.array([0.1, 0.5, 0.3])
    out = tiny_precisions(net, importance)
    assert len(out) == sum(k <= 3 for k, _ in TINY_SHAPES)
    assert out[0] == (0, 1, 0) and out[1] == (0, 1, 1) and (1, 1, 1) in out
    assert (0, 2, 2) in out and (0, 3, 3) in out and all(max(p) <= 3 for p in out)


def test_round_one_retrains_tiny_designs_and_estimates_them_small(tmp_path):
    from bespoke_mlp.approx import input_bit_counts
    from bespoke_mlp.approx._sparse import SPARSE_KEEP
    from bespoke_mlp.flow._rounds import estimated_cost, tiny_precisions
    from bespoke_mlp.flow._tiny import GROW_MAX_BITS
    from bespoke_mlp.search import AREA, CostModel, few_input_area_cm2

    rng = np.random.default_rng(3)
    net = random_network(rng, n_features=6)
    found, codes = _one_round(net, rng, tmp_path, tiny_base=net)
    tiny = [i for i, t in enumerate(found.tiny) if t]
    shapes = tiny_precisions(net, found.importance[0])
    # The fixed shapes first, then the grown designs kept for verification (none of them a
    # fixed shape again).
    assert [found.configs[i].input_precision for i in tiny[:len(shapes)]] == shapes
    assert not {found.configs[i].input_precision for i in tiny[len(shapes):]} & set(shapes)
    for k, i in enumerate(tiny):
        bits = sum(found.nets[i].feature_resolution)
        assert bits <= (6 if k < len(shapes) else GROW_MAX_BITS)
        assert found.area[i] <= few_input_area_cm2(bits, 3) + 1e-12
    stats = input_bit_counts(codes, 4)
    assert estimated_cost(net, stats, CostModel.default(), AREA) > few_input_area_cm2(6, 3)
    # Round 1 also trains the sparse power-of-two networks, which may be a later base.
    sparse = [i for i, c in enumerate(found.configs) if c.name.startswith("sparse-po2")]
    assert len(sparse) == len(SPARSE_KEEP) and not any(found.tiny[i] for i in sparse)
    for i in sparse:
        w = np.concatenate([np.abs(layer.weights).ravel() for layer in found.nets[i].layers])
        assert np.all((w & (w - 1)) == 0)


def test_worker_processes_give_the_in_process_round(tmp_path):
    from bespoke_mlp.parallel import ProcessExecutor

    # Front points, sparse networks, tiny designs and their growth, all on two workers.
    net = random_network(np.random.default_rng(5), n_features=5)
    (tmp_path / "serial").mkdir()
    (tmp_path / "workers").mkdir()
    serial, _ = _one_round(net, np.random.default_rng(6), tmp_path / "serial", tiny_base=net)
    with ProcessExecutor(2) as executor:
        workers, _ = _one_round(net, np.random.default_rng(6), tmp_path / "workers",
                                executor=executor, tiny_base=net)
    assert any(c.name.startswith("sparse-po2") for c in serial.configs) and any(serial.tiny)
    assert [n.to_json() for n in workers.nets] == [n.to_json() for n in serial.nets]
    assert [c.to_json() for c in workers.configs] == [c.to_json() for c in serial.configs]
    assert (workers.tiny, workers.screen, workers.area) == \
        (serial.tiny, serial.screen, serial.area)


def test_tiny_designs_retrain_at_their_own_step_size():
    from bespoke_mlp.approx import input_bit_counts, retrain
    from bespoke_mlp.flow._rounds import TINY_LR, _retrain_unit, tiny_precisions
    from bespoke_mlp.ir import predict_codes

    rng = np.random.default_rng(4)
    net = random_network(rng, n_features=4)
    codes = rng.integers(0, 16, (40, net.n_features))
    part = (codes, predict_codes(net, codes))
    stats = input_bit_counts(codes, 4)
    config = ApproxConfig(input_precision=tiny_precisions(net, np.arange(4.0))[2])
    shared = (net, {"train": part, "val": part}, stats, 3, 0)
    tuned = {lr: _retrain_unit((*shared, lr, False), config.to_json())
             for lr in (None, TINY_LR)}
    approx = apply_config(net, config, stats)
    # None keeps retraining's default step; the tiny step is passed on to finetune.
    for lr, out in tuned.items():
        assert out.to_json() == retrain(approx, codes, part[1], codes, part[1], epochs=3,
                                        seed=0, lr=lr).to_json()
    assert tuned[None].to_json() == retrain(approx, codes, part[1], codes, part[1], epochs=3,
                                            seed=0).to_json()


def test_class_counts_follow_the_output_neurons():
    from bespoke_mlp.approx import apply_config
    from bespoke_mlp.flow._rounds import class_counts
    from bespoke_mlp.ir import predict_codes

    rng = np.random.default_rng(9)
    net = apply_config(random_network(rng, n_classes=4), ApproxConfig(removed_classes=(1,)))
    codes = rng.integers(0, 16, (100, net.n_features))
    pred = predict_codes(net, codes)
    assert class_counts(net, codes).tolist() == [int(np.sum(pred == c)) for c in (0, 2, 3)]
