"""Sparse power-of-two training: the projection, the trained network and its configuration."""

import math
from dataclasses import replace

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.approx import (
    apply_config,
    retrain,
    sparse_po2,
    sparse_po2_family,
    sparse_po2_projection,
)
from bespoke_mlp.approx._sparse import SPARSE_KEEP
from bespoke_mlp.errors import UsageError
from bespoke_mlp.ir import predict_codes


def _is_po2_or_zero(w: np.ndarray) -> bool:
    a = np.abs(np.asarray(w, dtype=np.int64))
    return bool(np.all((a == 0) | ((a & (a - 1)) == 0)))


def _data(net, seed=0, n=120):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 16, (n, net.n_features))
    return codes, predict_codes(net, codes)


def test_the_projection_keeps_the_largest_coefficients_as_powers_of_two():
    net = random_network(np.random.default_rng(0), n_features=6, hidden=4)
    project = sparse_po2_projection(net, 0.25)
    w = np.array([[100.0, -3.2, 0.4, 7.0, -60.0, 1.0],
                  [2.0, -90.0, 5.6, 0.0, 12.0, -0.6],
                  [0.2, 0.3, 0.1, -0.2, 30.0, 3.0],
                  [1.0, 1.0, -1.0, 1.0, 1.0, 1.0]])
    q = project(0, w)
    assert _is_po2_or_zero(q)
    # ceil(0.25 * 24) = 6 kept: the six largest magnitudes, each at its nearest power of two.
    assert np.count_nonzero(q) == 6
    assert q[0, 0] == 128 and q[0, 4] == -64 and q[1, 1] == -64 and q[2, 4] == 32
    assert q[1, 4] == 8 and q[0, 3] == 8  # a tie (12) goes to the smaller power
    # The fraction is of the layer's nonzero coefficients: with 12 of 24 pruned, 3 are kept.
    w0 = np.array(net.layers[0].weights)
    w0[:2] = 0
    pruned = replace(net, layers=(replace(net.layers[0], weights=w0.tolist()), net.layers[1]))
    assert np.count_nonzero(sparse_po2_projection(pruned, 0.25)(0, w)) == 3
    # A layer keeps at least one coefficient however small the fraction.
    assert np.count_nonzero(sparse_po2_projection(net, 0.01)(1, np.ones((3, 4)))) == 1


@pytest.mark.parametrize("keep", [0, -0.5, 1.5, True, "half"])
def test_a_bad_kept_fraction_is_refused(keep):
    net = random_network(np.random.default_rng(0))
    with pytest.raises(UsageError, match="kept fraction.*" + repr(keep).replace("'", ".")):
        sparse_po2_projection(net, keep)


def test_the_trained_network_matches_its_configuration_and_retraining_keeps_it():
    net = random_network(np.random.default_rng(1), n_features=6, hidden=4)
    codes, y = _data(net)
    config, tuned = sparse_po2(net, codes[:80], y[:80], codes[80:], y[80:], keep=0.5,
                               epochs=5, lr=0.5)
    for layer, approx in zip(tuned.layers, config.layers, strict=True):
        w = np.array(layer.weights)
        assert _is_po2_or_zero(w)
        assert np.count_nonzero(w) <= math.ceil(0.5 * w.size)
        assert np.array_equal(np.array(approx.digits), (w != 0).astype(int))
    # The configuration applied to the original network is sparse po2 too, and retraining
    # (digit budgets) neither adds coefficients nor leaves powers of two.
    applied = apply_config(net, config)
    again = retrain(tuned, codes[:80], y[:80], codes[80:], y[80:], epochs=2)
    for a, b, c in zip(applied.layers, again.layers, tuned.layers, strict=True):
        assert _is_po2_or_zero(a.weights) and _is_po2_or_zero(b.weights)
        assert np.all((np.array(b.weights) == 0) | (np.array(c.weights) != 0))
    assert "keep 0.5" in config.name


def test_the_family_is_deterministic_and_one_per_kept_fraction():
    net = random_network(np.random.default_rng(2))
    codes, y = _data(net, seed=2, n=60)
    first = sparse_po2_family(net, codes[:40], y[:40], codes[40:], y[40:], seed=3)
    second = sparse_po2_family(net, codes[:40], y[:40], codes[40:], y[40:], seed=3)
    assert len(first) == len(SPARSE_KEEP)
    assert [n.to_json() for _, n in first] == [n.to_json() for _, n in second]
    assert [c.to_json() for c, _ in first] == [c.to_json() for c, _ in second]
    # A member trained alone (a parallel work unit) is the family's.
    [alone] = sparse_po2_family(net, codes[:40], y[:40], codes[40:], y[40:], seed=3,
                                keeps=(SPARSE_KEEP[1],))
    assert alone[0].to_json() == first[1][0].to_json()
    assert alone[1].to_json() == first[1][1].to_json()
