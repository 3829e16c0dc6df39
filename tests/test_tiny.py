"""Greedy growth of tiny designs and which grown designs are verified."""

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.approx import ApproxConfig, apply_config, input_bit_counts
from bespoke_mlp.flow._tiny import Backfill, grow_tiny, worth_verifying
from bespoke_mlp.ir import predict_codes


def _growth(seed, **kwargs):
    """A growth over a random network (seed 5: two classes, near even) whose "retraining"
    only applies the precision (no fitting), scored against the network's own predictions:
    the network, the path, the precisions fitted (per step) and the scored part."""
    rng = np.random.default_rng(seed)
    net = random_network(rng, n_features=4, hidden=4)
    codes = rng.integers(0, 16, (200, net.n_features))
    stats, fitted = input_bit_counts(codes, 4), []

    def fit(precisions):
        fitted.append(list(precisions))
        return [apply_config(net, ApproxConfig(input_precision=p), stats) for p in precisions]

    importance = np.array([0.1, 0.4, 0.3, 0.2])
    val = (codes, predict_codes(net, codes))
    return net, grow_tiny(net, importance, fit, val, **kwargs), fitted, val


def test_growth_adds_one_bit_a_step_from_the_most_important_feature():
    net, path, fitted, _ = _growth(5, max_bits=6)
    # Step 1: only the most important feature, at one bit; step 2: it at two bits, or the
    # next most important at one.
    assert fitted[0] == [(0, 1, 0, 0)]
    assert fitted[1] == [(0, 2, 0, 0), (0, 1, 1, 0)]
    assert len(fitted) <= 6 and all(sum(p) == step + 1 for step, batch in enumerate(fitted)
                                    for p in batch)
    # Every kept step is one of the fitted candidates, retrained at its own precision.
    assert path
    for precision, tuned in path:
        assert any(precision in batch for batch in fitted)
        assert tuned.feature_resolution == precision and max(precision) <= net.input_bits


def test_growth_agreement_rises_along_the_path_up_to_full_agreement():
    net, path, fitted, (codes, targets) = _growth(5, max_bits=16)
    agree = [float(np.mean(predict_codes(tuned, codes) == targets)) for _, tuned in path]
    assert agree == sorted(set(agree))
    # At most every feature at full resolution, the exact network: full agreement ends it.
    assert agree[-1] == 1.0 and len(fitted) == sum(path[-1][0]) <= 16


def test_growth_needs_a_positive_bit_budget():
    with pytest.raises(ValueError, match="max_bits must be >= 1, got 0"):
        _growth(0, max_bits=0)


def test_grown_designs_are_verified_up_to_the_first_within_the_budget():
    # White Wine's grown path (bounds in points, default run): 2..12 input bits.
    bounds = [7.97, 6.43, 6.29, 1.62, 1.43, 1.10, 0.11, 1.46, 1.18]
    assert worth_verifying(bounds, 1.0, 3.0) == [3, 4, 5, 6]
    assert worth_verifying(bounds, 5.0, 3.0) == [0, 1, 2, 3]
    # None within the budget: each one below every earlier kept one's bound, within slack.
    assert worth_verifying([9.0, 5.0, 6.0, 4.5, 4.5], 1.0, 4.0) == [1, 3]
    assert worth_verifying([9.0, 5.0, 6.0, 4.5, 4.5], 1.0, 3.0) == []
    assert worth_verifying([], 1.0, 3.0) == []


def test_backfill_fills_idle_workers_from_its_backlog_and_fits_each_precision_once():
    batches = []

    def fit(precisions):
        batches.append(list(precisions))
        return [f"net{p}" for p in precisions]

    a, b, c, d, e = (1, 0), (0, 1), (1, 1), (2, 0), (0, 2)
    backfill = Backfill(fit, 2, [a, b, c])
    # One candidate on two workers: one backlog precision along.
    assert backfill([d]) == ["net(2, 0)"] and batches == [[d, a]]
    # Two candidates fill both workers; a retrained one is not retrained again.
    assert backfill([a, e, b]) == ["net(1, 0)", "net(0, 2)", "net(0, 1)"]
    assert batches[1] == [e, b] and backfill.pending == [c]
    assert backfill([a]) == ["net(1, 0)"] and len(batches) == 2
    backfill.add([c], ["elsewhere"])
    assert backfill.pending == [] and backfill[c] == "elsewhere"
    # Growth through a backfill gives the same path as through the plain fit.
    net, path, _, val = _growth(5, max_bits=6)
    stats = input_bit_counts(val[0], 4)
    plain = Backfill(lambda ps: [apply_config(net, ApproxConfig(input_precision=p), stats)
                                 for p in ps], 3, [(1, 0, 0, 0), (0, 1, 0, 0)])
    again = grow_tiny(net, np.array([0.1, 0.4, 0.3, 0.2]), plain, val, max_bits=6)
    assert [(q, n.to_json()) for q, n in again] == [(q, n.to_json()) for q, n in path]
