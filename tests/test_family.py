"""Tests of bespoke_mlp.train._family: the family of exact networks a search chooses from, and
the low-bit weight scale of the quantizer its narrow member needs."""

from __future__ import annotations

import numpy as np
import pytest

from bespoke_mlp.data import label_indices
from bespoke_mlp.errors import UsageError
from bespoke_mlp.ir import predict_codes
from bespoke_mlp.parallel import ProcessExecutor
from bespoke_mlp.train import Candidate, train_family, train_model
from bespoke_mlp.train._family import family_shapes, front, partial_products, pick_reference
from bespoke_mlp.train._quantize import network_from_layers


def test_family_shapes_are_the_published_widths_wider_ones_and_a_low_bit_one():
    assert family_shapes((5,), 8, wide=False) == (((5,), 8), ((10,), 8), ((20,), 8), ((20,), 3))
    assert family_shapes((2, 3), 8, wide=False)[1] == ((4, 6), 8)
    # No low-bit member when the weights are that narrow already; a wide dataset keeps one.
    assert family_shapes((3,), 3, wide=False) == (((3,), 3), ((6,), 3), ((12,), 3))
    assert family_shapes((5,), 8, wide=True) == (((5,), 8),)


def test_reference_is_the_cheapest_member_the_most_accurate_does_not_clearly_beat():
    right = np.ones(100, bool)
    ten_wrong, one_wrong = right.copy(), right.copy()
    ten_wrong[:10], one_wrong[:1] = False, False
    # Ten samples more (none fewer) is beyond 1.645 standard errors; one is not.
    assert pick_reference(np.array([ten_wrong, right]), [1.0, 1.0], [1, 9]) == 1
    assert pick_reference(np.array([one_wrong, right]), [1.0, 1.0], [1, 9]) == 0
    # Among the members it does not clearly beat, the cheapest; ties by accuracy.
    assert pick_reference(np.array([ten_wrong, right, one_wrong, right]), [1.0] * 4,
                          [1, 9, 3, 3]) == 3
    # Never below the first member (the published widths) on validation, however cheap.
    assert pick_reference(np.array([right, one_wrong]), [1.0, 1.0], [9, 1]) == 0
    # The most accurate breaks ties by train accuracy: here it is also the cheapest.
    assert pick_reference(np.array([right, right]), [0.8, 0.9], [5, 5]) == 1
    assert pick_reference(np.zeros((2, 0), bool), [0.8, 0.9], [5, 1]) == 1


def test_front_keeps_members_no_other_beats_in_cost_and_accuracy():
    assert front([0.90, 0.95, 0.93, 0.95], [1, 9, 3, 12]) == [True, True, True, False]
    assert front([0.9, 0.9], [2, 2]) == [True, True]


def test_low_bit_scale_keeps_weights_the_largest_would_round_away():
    # Fitting the largest of normal weights in 2 bits (-2..1) zeroes 78 % of these.
    rng = np.random.default_rng(0)
    coef = rng.normal(0, 0.1, (16, 4)) * 15
    codes = rng.integers(0, 16, (50, 16))
    kw = dict(input_bits=4, activation_bits=8, feature_min=np.zeros(16),
              feature_max=np.ones(16))
    layers = [coef, rng.normal(0, 1, (4, 3))], [np.zeros(4), np.zeros(3)]
    low = network_from_layers(*layers, [0, 1, 2], codes, weight_bits=2, **kw)
    w = np.array(low.layers[0].weights)
    assert w.min() == -2 and w.max() == 1
    assert np.mean(w == 0) < 0.5
    # Eight bits keep the finest scale at which every weight fits: nothing clips.
    wide = network_from_layers(*layers, [0, 1, 2], codes, weight_bits=8, **kw)
    w8 = np.array(wide.layers[0].weights)
    assert w8.min() >= -128 and w8.max() <= 127 and np.abs(w8).max() >= 64


@pytest.fixture(scope="module")
def iris_family():
    return train_family("iris", select_size=0.3)


def test_train_family_marks_one_reference_and_records_every_member(iris_family):
    family = iris_family
    assert [(c.hidden, c.weight_bits) for c in family.candidates] == \
        [((3,), 8), ((6,), 8), ((12,), 8), ((12,), 3)]
    assert sum(c.reference for c in family.candidates) == 1
    ref = next(i for i, c in enumerate(family.candidates) if c.reference)
    assert family.reference is family.results[ref]
    assert family.candidates[ref].front
    for c, r in zip(family.candidates, family.results, strict=True):
        assert r.network.topology[1:-1] == c.hidden
        assert np.abs(np.array(r.network.layers[0].weights)).max() <= 2 ** (c.weight_bits - 1)
        y = label_indices(r.mlp.classes_, r.split.y_val)
        assert c.val_accuracy == np.mean(predict_codes(r.network, r.split.codes("val", 4)) == y)
        assert c.cost == partial_products(r.network) > 0
    # The selection part is held out of every member alike.
    assert len({len(r.split.y_train) for r in family.results}) == 1
    entries = family.to_list()
    assert [e["searched"] for e in entries] == [c.reference for c in family.candidates]
    assert set(entries[0]) == {"hidden", "weight_bits", "val_accuracy", "train_accuracy", "cost",
                               "front", "reference", "searched"}


def test_train_family_on_workers_trains_the_same_members(iris_family):
    with ProcessExecutor(2) as executor:
        family = train_family("iris", select_size=0.3, executor=executor)
    assert family.candidates == iris_family.candidates
    assert [r.network for r in family.results] == [r.network for r in iris_family.results]


def test_members_are_what_train_model_gives(iris_family):
    # The float restarts are fitted one by one, and the 12-hidden 8-bit and 3-bit members
    # share one float fit.
    for c, r in zip(iris_family.candidates, iris_family.results, strict=True):
        alone = train_model("iris", hidden=c.hidden, weight_bits=c.weight_bits,
                            select_size=0.3)
        assert alone.network == r.network and alone.accuracy == r.accuracy
    assert iris_family.results[2].mlp is iris_family.results[3].mlp


def test_train_family_with_hidden_is_that_one_network(iris_family):
    family = train_family("iris", hidden=3, select_size=0.3)
    assert family.candidates == (Candidate((3,), 8, *_figures(iris_family.candidates[0]),
                                           front=True, reference=True),)
    assert family.reference.network == iris_family.results[0].network
    with pytest.raises(UsageError, match="hidden layer sizes must be"):
        train_family("iris", hidden="3")


def _figures(c: Candidate) -> tuple[float, float, float]:
    return c.val_accuracy, c.train_accuracy, c.cost
