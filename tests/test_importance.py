"""Feature importance on training samples: what the narrow starts of the search keep."""

from dataclasses import replace

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.errors import UsageError
from bespoke_mlp.ir import predict_codes
from bespoke_mlp.search import IMPORTANCE_METHODS, feature_importance, top_k_sizes


def _net_reading_all_but(unread: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    net = random_network(rng, n_features=6, hidden=4)
    first = net.layers[0]
    w = np.array(first.weights)
    w[:, unread] = 0
    net = replace(net, layers=(replace(first, weights=w.tolist()),) + net.layers[1:])
    codes = rng.integers(0, 16, (300, net.n_features))
    return net, codes, predict_codes(net, codes)


@pytest.mark.parametrize("method", IMPORTANCE_METHODS)
def test_unread_features_rank_last_and_read_ones_above_them(method):
    net, codes, y = _net_reading_all_but(2)
    imp = feature_importance(net, codes, y, method=method)
    assert imp.shape == (6,) and imp[2] == 0.0
    assert (np.delete(imp, 2) > 0).all()
    assert np.argsort(-imp, kind="stable")[-1] == 2


def test_permutation_importance_is_the_accuracy_a_shuffle_loses():
    net, codes, y = _net_reading_all_but(2)
    imp = feature_importance(net, codes, y, seed=5)
    # The network's own predictions: a shuffle of a read feature changes some of them.
    assert 0 < imp.max() <= 1
    assert np.array_equal(imp, feature_importance(net, codes, y, seed=5))  # deterministic


def test_unknown_method_is_a_usage_error():
    net, codes, y = _net_reading_all_but(0)
    with pytest.raises(UsageError, match=r"one of \('permutation', 'weight'\), got 'lasso'"):
        feature_importance(net, codes, y, method="lasso")


def test_top_k_sizes_halve_down_to_two():
    assert top_k_sizes(261) == (130, 65, 32, 16, 8, 4, 2)
    assert top_k_sizes(21) == (10, 5, 2)
    assert top_k_sizes(4) == (2,)
    assert top_k_sizes(3) == ()
