"""The selection rule: the paired test and its bound, the run-level procedures, what is
verified and selected."""

import numpy as np
import pytest

from bespoke_mlp.flow._paired import _score, loss_p_value, round_up
from bespoke_mlp.flow._selection import (
    PairedLoss,
    certify,
    judging_order,
    loss_upper_bound,
    min_certifiable_loss,
    none_fits,
    paired_loss,
    pick_for_verification,
    power_first,
    select_design,
    spread,
    uncertifiable_advice,
)


@pytest.mark.parametrize("n,confidence", [(100, 0.95), (447, 0.9), (45, 0.8)])
def test_bound_without_discordant_pairs_is_near_clopper_pearson(n, confidence):
    # With no discordant pair the loss is at most p(worse), whose exact bound is
    # 1 - alpha^(1/n); the unconditional test pays a little for not knowing p(better).
    cp = 1 - (1 - confidence) ** (1 / n)
    assert cp <= loss_upper_bound(0, 0, n, confidence) <= 1.05 * cp


def test_bound_grows_with_confidence_and_worse_pairs_and_shrinks_with_better_pairs():
    b = [loss_upper_bound(5, 2, 300, c) for c in (0.6, 0.8, 0.9, 0.95, 0.99)]
    assert b == sorted(b) and len(set(b)) == 5
    assert loss_upper_bound(6, 2, 300, 0.9) > loss_upper_bound(5, 2, 300, 0.9) > \
        loss_upper_bound(5, 3, 300, 0.9)
    # Equal estimates, more discordant pairs: a wider bound.
    assert loss_upper_bound(10, 10, 300, 0.9) > loss_upper_bound(0, 0, 300, 0.9)


def test_bound_known_values():
    # 2 worse, 1 better of 446 at 90 %: 0.93 points (Tango's asymptotic bound said 0.88).
    assert 100 * loss_upper_bound(2, 1, 446, 0.9) == pytest.approx(0.926, abs=0.005)
    assert loss_upper_bound(0, 0, 0, 0.9) == 1.0
    assert loss_upper_bound(50, 0, 50, 0.9) == pytest.approx(1.0, abs=1e-5)


def test_score_rises_with_worse_pairs():
    # The p-value's extreme region at k discordant pairs is "at most w* worse ones".
    for n, d in ((60, 0.05), (400, 0.01), (400, -0.02)):
        for k in (0, 1, 7, 40):
            w = np.arange(k + 1, dtype=float)
            t = _score(w, k - w, n, d)
            assert np.all(np.diff(t) > 0)


@pytest.mark.parametrize("n,p_better,d", [(60, 0.0, 0.05), (60, 0.1, 0.05), (200, 0.02, 0.01),
                                          (200, 0.2, 0.02)])
def test_p_value_is_valid_on_the_boundary(n, p_better, d):
    # Under H0 (loss exactly d), the test rejects at 5 % at most 5 % of the time.
    rng = np.random.default_rng(0)
    draws = rng.multinomial(n, [p_better + d, p_better, 1 - 2 * p_better - d], size=2000)
    rejected = np.mean([loss_p_value(int(w), int(b), n, d, 0.05) <= 0.05
                        for w, b, _ in draws])
    assert rejected <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 2000)


def test_paired_loss_counts_discordant_pairs():
    labels = np.array([0, 1, 1, 0, 2, 2])
    exact = np.array([0, 1, 0, 0, 2, 1])
    design = np.array([0, 0, 1, 1, 2, 0])
    loss = paired_loss(exact, design, labels, 0.9)
    assert (loss.n, loss.worse, loss.better) == (6, 2, 1)
    assert loss.estimate == pytest.approx(100 / 6)
    assert loss.to_dict()["loss_upper_bound"] == round_up(loss.upper_bound, 4)
    # The exact network itself loses nothing, whatever the sample size.
    assert PairedLoss(6, 0, 0, 0.9, exact=True).upper_bound == 0.0
    assert PairedLoss(6, 0, 0, 0.9, exact=True).p_value(0.0) == 0.0
    assert PairedLoss(6, 0, 0, 0.9).upper_bound > 10


def test_bounds_round_up():
    assert round_up(1.0023) == 1.01 and round_up(0.7) == 0.7 and round_up(2.0, 4) == 2.0


def test_min_certifiable_loss_and_advice():
    assert min_certifiable_loss(300, 0.95) == pytest.approx(100 * loss_upper_bound(0, 0, 300,
                                                                                   0.95))
    assert uncertifiable_advice(2309, 1.0, 0.95) is None
    text = uncertifiable_advice(45, 1.0, 0.95)
    assert text.startswith("45 selection samples cannot certify 1 point of loss at 95 % "
                           "confidence (a design that changes no prediction is bounded at 6.49)"
                           ": use --max-loss 6.5;")
    # Where a lower confidence would do, the line says which.
    assert "--confidence 0.9" in uncertifiable_advice(250, 1.0, 0.95)


def test_judging_order_reads_the_validation_part_only():
    screen = [PairedLoss(100, w, b, 0.95) for w, b in ((0, 0), (3, 0), (1, 1), (0, 1))]
    cost = [1.0, 0.5, 2.0, 0.2]
    # Within 1 point on validation: 3 (-1.0), then 2 and 0 (0.0, costlier first); not 1.
    assert judging_order(screen, cost, 1.0) == [3, 2, 0]
    assert judging_order(screen, cost, 1.0, limit=2) == [3, 2]


def test_fixed_sequence_stops_at_the_first_failure():
    losses = [PairedLoss(2000, 0, 0, 0.95), PairedLoss(2000, 60, 0, 0.95),
              PairedLoss(2000, 1, 0, 0.95)]
    cert = certify(losses, [0, 1, 2], 1.0, 0.95)
    assert cert.certified == (0,) and cert.n_judged == 3
    assert certify(losses, [2, 0, 1], 1.0, 0.95).certified == (2, 0)
    assert "fixed-sequence" in cert.procedure


def test_power_first_takes_the_least_bonferroni_bound_within_the_budget():
    losses = [PairedLoss(500, w, 0, 0.95) for w in (0, 2, 1, 9)]
    screen = [PairedLoss(100, 0, 0, 0.95)] * 4
    power = [9.0, 5.0, 4.0, 1.0]
    cert = power_first(losses, power, screen, 6.0, 0.95)
    assert cert.judged == (3, 2, 1) and cert.certified == (2,)
    # Each judged design is bounded at 1 - 0.05 / 3: wider than at 95 %.
    assert cert.bounds[2] > losses[2].upper_bound
    assert power_first(losses, power, screen, 0.5, 0.95).certified == ()


def _simulate(rng, rule, m=30, n=150, budget=2.0, true_loss=2.5, confidence=0.9):
    """One run: ``m`` designs of true loss ``true_loss`` (points, above the ``budget``),
    judged in index order; whether a design is selected (every one misses the budget)."""
    d = true_loss / 100
    draws = rng.multinomial(n, [d, 0.0, 1 - d], size=m)
    losses = [PairedLoss(n, int(w), int(b), confidence) for w, b, _ in draws]
    if rule == "per-design":
        ok = [i for i in range(m) if losses[i].upper_bound <= budget]
    else:
        ok = list(certify(losses, list(range(m)), budget, confidence).certified)
    return bool(ok)


def test_run_level_miss_rate_is_within_one_minus_confidence():
    # Many designs just above the budget, each judged on a small selection part: the
    # per-design rule finds one that passes by luck far more often than 10 %; fixed-sequence
    # testing at 90 % selects one (a miss) at most 10 % of the time.
    rng = np.random.default_rng(1)
    runs = 300
    per_design = np.mean([_simulate(rng, "per-design") for _ in range(runs)])
    run_level = np.mean([_simulate(rng, "run-level") for _ in range(runs)])
    assert per_design > 0.3, per_design
    assert run_level <= 0.1 + 3 * np.sqrt(0.1 * 0.9 / runs)


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


def test_verification_includes_the_preferred_designs():
    # Designs 0..9: estimated area grows with the index, the bound falls.
    area = np.arange(10, dtype=float) + 1
    bound = np.array([5.0, 4.0, 3.0, 2.0, 1.5, 0.9, 0.8, 0.5, 0.2, 0.0])
    picks = pick_for_verification(bound, area, [5, 6, 7, 8, 9], 6)
    assert len(picks) == 6 and picks == sorted(picks, key=lambda i: area[i])
    assert {5, 6, 7} <= set(picks)  # half of the slots: the first preferred
    assert 0 in picks  # the front's smallest design shows the front's far end
    assert pick_for_verification(bound, area, [], 20) == list(range(10))
    # A dominated design (larger and looser than another) is only picked as preferred.
    assert 1 not in pick_for_verification([0.5, 0.9, 3.0], [1.0, 2.0, 0.5], [], 2)


def test_spread_keeps_the_smallest():
    assert spread(3, 5) == [0, 1, 2]
    assert spread(10, 4) == [0, 3, 6, 9]
    assert spread(10, 1) == [0]
