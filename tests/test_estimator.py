"""Tests of the scikit-learn estimator BespokeMLPClassifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import check_estimator

from bespoke_mlp.errors import UsageError
from bespoke_mlp.ir import Network, encode_inputs, predict_codes
from bespoke_mlp.train import BespokeMLPClassifier


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=240, centers=3, n_features=4, random_state=0)
    labels = np.array(["alpha", "beta", "gamma"])[y]
    return X, labels


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y = blobs
    return BespokeMLPClassifier(random_state=0).fit(X, y)


def test_init_only_stores_parameters():
    clf = BespokeMLPClassifier(hidden_layer_sizes=-1, input_bits=99)
    assert clf.get_params()["hidden_layer_sizes"] == -1
    assert clf.get_params()["input_bits"] == 99
    assert clone(clf).get_params() == clf.get_params()


def test_fit_learns_attributes_and_predicts_like_the_golden_model(blobs, fitted):
    X, y = blobs
    assert isinstance(fitted.network_, Network)
    assert fitted.n_features_in_ == 4
    np.testing.assert_array_equal(fitted.classes_, ["alpha", "beta", "gamma"])
    assert fitted.network_.classes == ("alpha", "beta", "gamma")
    assert fitted.network_.topology == (4, 3, 3)
    assert hasattr(fitted.mlp_, "coefs_")
    pred = fitted.predict(X)
    np.testing.assert_array_equal(
        pred, fitted.classes_[predict_codes(fitted.network_, encode_inputs(fitted.network_, X))]
    )
    assert fitted.score(X, y) == pytest.approx(np.mean(pred == y))
    assert fitted.score(X, y) > 0.95


def test_fit_is_deterministic_and_respects_parameters(blobs):
    X, y = blobs
    clf = BespokeMLPClassifier(hidden_layer_sizes=(4, 2), input_bits=3, weight_bits=6,
                               activation_bits=5, qat=False, random_state=4)
    a = clf.fit(X, y).network_
    assert clf.fit(X, y).network_ == a
    assert a.topology == (4, 4, 2, 3) and a.input_bits == 3
    assert all(win.bits == 5 for layer in a.layers[:-1] for win in layer.activation)
    assert max(abs(w) for layer in a.layers for row in layer.weights for w in row) <= 32


def test_binary_and_no_validation_split():
    X, y = make_blobs(n_samples=80, centers=2, n_features=3, random_state=2)
    clf = BespokeMLPClassifier(val_size=0.0, qat_epochs=5).fit(X, y + 10)
    np.testing.assert_array_equal(clf.classes_, [10, 11])
    assert clf.network_.layers[-1].n_out == 2
    assert clf.score(X, y + 10) > 0.9


def test_works_with_model_selection():
    X, y = load_iris(return_X_y=True)
    scores = cross_val_score(BespokeMLPClassifier(qat_epochs=5), X, y, cv=3)
    assert scores.mean() > 0.8


def test_unfitted_and_mismatched_inputs(fitted):
    with pytest.raises(NotFittedError):
        BespokeMLPClassifier().predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="4 features"):
        fitted.predict(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"hidden_layer_sizes": (3, 0)}, "(3, 0)"),
        ({"input_bits": 0}, "0"),
        ({"weight_bits": 40}, "40"),
        ({"activation_bits": 2.5}, "2.5"),
        ({"val_size": 1.0}, "1.0"),
        ({"qat": None}, "None"),
        ({"qat_epochs": -1}, "-1"),
        ({"feature_selection": "yes"}, "'yes'"),
        ({"input_range": "q1-99"}, "'q1-99'"),
    ],
)
def test_invalid_parameters_raise_usage_error_at_fit(blobs, params, shown):
    X, y = blobs
    with pytest.raises(UsageError) as info:
        BespokeMLPClassifier(**params).fit(X, y)
    assert shown in str(info.value)


@pytest.mark.parametrize(("setting", "selects"), [("auto", True), (True, True), (False, False)])
def test_feature_selection_reads_only_the_selected_features(setting, selects):
    # 40 features (wide: "auto" selects), the class decided by features 3 and 17 only.
    X = np.random.default_rng(0).integers(0, 16, (300, 40)).astype(float)
    y = (X[:, 3] + X[:, 17] > 15).astype(int)
    clf = BespokeMLPClassifier(feature_selection=setting, qat_epochs=5).fit(X, y)
    read = [i for i, r in enumerate(clf.network_.feature_resolution) if r]
    assert {3, 17} <= set(read)
    assert (len(read) < 40) == selects
    assert clf.score(X, y) > 0.9


def test_single_class_is_rejected():
    with pytest.raises(ValueError, match="class"):
        BespokeMLPClassifier().fit(np.random.default_rng(0).random((10, 2)), np.ones(10))


@pytest.mark.slow
def test_sklearn_estimator_checks():
    # About 80 s: every check fits the estimator (3 float restarts plus fine-tuning).
    results = check_estimator(BespokeMLPClassifier(), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert not failed


def test_input_range_is_fitted_on_x_and_recorded(blobs):
    from bespoke_mlp.ir import MIN_MAX, InputRange

    X, y = blobs
    X = X.copy()
    X[0, 0] = 1e3  # an outlier: clipped by a percentile range, spanned by min-max
    rule = InputRange(1, 99)
    net = BespokeMLPClassifier(input_range=rule, qat=False).fit(X, y).network_
    assert net.input_range == rule and net.input_clipped[0]
    assert net.feature_max[0] == pytest.approx(np.percentile(X[:, 0], 99))
    plain = BespokeMLPClassifier(input_range=MIN_MAX, qat=False).fit(X, y).network_
    assert plain.feature_max[0] == 1e3 and not any(plain.input_clipped)
