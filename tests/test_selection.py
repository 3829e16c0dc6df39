"""The selection rule: paired loss, its upper confidence bound, what is verified and selected."""

from statistics import NormalDist

import numpy as np
import pytest

from bespoke_mlp.flow._selection import (
    PairedLoss,
    loss_upper_bound,
    none_fits,
    paired_loss,
    pick_for_verification,
    select_design,
    spread,
)


@pytest.mark.parametrize("n,confidence", [(100, 0.95), (447, 0.9), (45, 0.8)])
def test_bound_without_discordant_pairs_has_the_closed_form(n, confidence):
    # With no discordant pair the score test solves to z² / (n + z²).
    z = NormalDist().inv_cdf(confidence)
    assert loss_upper_bound(0, 0, n, confidence) == pytest.approx(z * z / (n + z * z), abs=1e-12)


def test_bound_at_half_confidence_is_the_estimate():
    assert loss_upper_bound(7, 3, 200, 0.5) == pytest.approx(4 / 200, abs=1e-12)


def test_bound_grows_with_confidence_and_worse_pairs_and_shrinks_with_better_pairs():
    b = [loss_upper_bound(5, 2, 300, c) for c in (0.6, 0.8, 0.9, 0.95, 0.99)]
    assert b == sorted(b) and len(set(b)) == 5
    assert loss_upper_bound(6, 2, 300, 0.9) > loss_upper_bound(5, 2, 300, 0.9) > \
        loss_upper_bound(5, 3, 300, 0.9)
    # Equal estimates, more discordant pairs: a wider bound.
    assert loss_upper_bound(10, 10, 300, 0.9) > loss_upper_bound(0, 0, 300, 0.9)


def test_bound_known_values():
    # Hand-checked: 2 worse, 1 better of 446 at 90 % (0.88 points), none of 0 samples.
    assert 100 * loss_upper_bound(2, 1, 446, 0.9) == pytest.approx(0.876, abs=0.005)
    assert loss_upper_bound(0, 0, 0, 0.9) == 1.0
    assert loss_upper_bound(50, 0, 50, 0.9) == 1.0


def test_paired_loss_counts_discordant_pairs():
    labels = np.array([0, 1, 1, 0, 2, 2])
    exact = np.array([0, 1, 0, 0, 2, 1])
    design = np.array([0, 0, 1, 1, 2, 0])
    loss = paired_loss(exact, design, labels, 0.9)
    assert (loss.n, loss.worse, loss.better) == (6, 2, 1)
    assert loss.estimate == pytest.approx(100 / 6)
    assert loss.to_dict()["loss_upper_bound"] == round(loss.upper_bound, 4)
    # The exact network itself loses nothing, whatever the sample size.
    assert PairedLoss(6, 0, 0, 0.9, exact=True).upper_bound == 0.0
    assert PairedLoss(6, 0, 0, 0.9).upper_bound > 10


def test_select_takes_the_lowest_power_within_the_bound():
    bound = [0.5, 1.2, 0.9, 0.0]
    power = [3.0, 1.0, 2.0, 9.0]
    area = [1.0, 0.3, 0.6, 3.0]
    assert select_design(bound, power, area, max_loss=1.0) == 2
    assert select_design(bound, power, area, max_loss=1.2) == 1
    assert select_design(bound, power, area, max_loss=1.0, budget_mw=2.5) == 2
    assert select_design(bound, power, area, max_loss=1.0, budget_mw=1.5) is None
    assert select_design(bound, power, area, max_loss=-1.0) is None


def test_select_breaks_ties_by_bound_then_area_then_order():
    assert select_design([0.8, 0.4, 0.6], [2.0, 2.0, 2.0], [1.0, 1.0, 0.5], 1.0) == 1
    assert select_design([0.4, 0.4, 0.6], [2.0, 2.0, 2.0], [1.0, 0.5, 0.1], 1.0) == 1
    assert select_design([0.4, 0.4], [2.0, 2.0], [1.0, 1.0], 1.0) == 0


def test_fallback_exact_network_is_selected_when_nothing_else_fits():
    exact = PairedLoss(120, 0, 0, 0.9, exact=True)
    designs = [PairedLoss(120, 2, 0, 0.9), PairedLoss(120, 1, 1, 0.9)]
    bounds = [d.upper_bound for d in designs] + [exact.upper_bound]
    assert min(bounds[:2]) > 1.0
    assert select_design(bounds, [1.0, 2.0, 30.0], [0.3, 0.6, 9.0], 1.0) == 2


def test_latency_limit_excludes_slow_designs():
    bound, power, area = [0.5, 0.5, 0.5], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]
    latency = [12.0, 9.0, 4.0]
    assert select_design(bound, power, area, 1.0, latency_s=latency, max_latency_s=10) == 1
    assert select_design(bound, power, area, 1.0, latency_s=latency, max_latency_s=3) is None
    assert none_fits(bound, power, 1.0, None, 0.95, latency_s=latency, max_latency_s=3) == (
        "no verified design within 1 point of accuracy loss takes at most 3 s per "
        "inference; the shortest takes 4 s")


def test_none_fits_explains_power_and_loss():
    text = none_fits([0.5, 2.0], [3.0, 1.0], 1.0, 2.0, 0.9)
    assert text == ("no verified design fits 2 mW within 1 point of accuracy loss (bound at "
                    "90 % confidence); the lowest is 3.000 mW")
    assert none_fits([2.0], [1.0], 1.0, None, 0.95) == \
        "no verified design's accuracy loss is within 1 point at 95 % confidence"


def test_verification_includes_the_smallest_designs_within_the_budget():
    # Designs 0..9: estimated area grows with the index, the bound falls.
    area = np.arange(10, dtype=float) + 1
    bound = np.array([5.0, 4.0, 3.0, 2.0, 1.5, 0.9, 0.8, 0.5, 0.2, 0.0])
    picks = pick_for_verification(bound, area, 1.0, 6)
    assert len(picks) == 6 and picks == sorted(picks, key=lambda i: area[i])
    assert {5, 6, 7} <= set(picks)  # half of the slots: the smallest within the budget
    assert 0 in picks  # the front's smallest design shows the front's far end
    assert pick_for_verification(bound, area, 1.0, 20) == list(range(10))
    # A dominated design (larger and looser than another) is only picked as near-budget.
    assert 1 not in pick_for_verification([0.5, 0.9, 3.0], [1.0, 2.0, 0.5], 0.1, 2)


def test_spread_keeps_the_smallest():
    assert spread(3, 5) == [0, 1, 2]
    assert spread(10, 4) == [0, 3, 6, 9]
    assert spread(10, 1) == [0]
