"""The search flow's stages that choose: what is verified, judged and selected."""

import numpy as np
from _nets import random_network

from bespoke_mlp.approx import ApproxConfig
from bespoke_mlp.flow import SearchSettings
from bespoke_mlp.flow._log import Log
from bespoke_mlp.flow._paired import PairedLoss
from bespoke_mlp.flow._rounds import Retrained
from bespoke_mlp.flow._selection import certify
from bespoke_mlp.flow._stages import (
    Judged,
    Reference,
    judge,
    verification_picks,
)


def _found(costs, val_worse):
    found = Retrained()
    for c, w in zip(costs, val_worse):
        found.add(None, ApproxConfig(), PairedLoss(200, w, 0, 0.95), c, 1)
    return found


def test_power_first_verifies_the_designs_under_the_budget():
    # Estimated system power 1..12 mW; validation loss falls as the power grows.
    costs = [float(c) for c in range(1, 13)]
    found = _found(costs, [12 - k for k in range(12)])
    settings = SearchSettings(budget_mw=6.0, power_first=True, n_verify=4)
    picks = verification_picks(found, Judged([], None, None), settings, costs)
    # All four within 1.25 x 6 mW: the most accurate (7.0, 6.0) and a spread down to 1 mW.
    assert len(picks) == 4 and all(costs[i] <= 7.5 for i in picks)
    assert {6, 5, 0} <= set(picks)


def test_loss_first_verifies_the_smallest_certified_designs():
    costs = [float(c) for c in range(1, 9)]
    found = _found(costs, [0] * 8)
    losses = [PairedLoss(2000, 100 if k < 3 else 0, 0, 0.95) for k in range(8)]
    cert = certify(losses, list(range(7, -1, -1)), 1.0, 0.95)
    assert cert.certified == (7, 6, 5, 4, 3)
    picks = verification_picks(found, Judged(losses, cert, None),
                               SearchSettings(n_verify=4), costs)
    # Half the picks; the rest spread over the front (bound vs area), here only design 0.
    assert picks == [0, 3, 4]


def test_judge_falls_back_to_the_network_it_is_given():
    rng = np.random.default_rng(0)
    net, other = random_network(rng), random_network(rng)
    codes = rng.integers(0, 16, (40, 5))
    parts = {"select": (codes, np.zeros(40, dtype=np.int64))}
    found = Retrained()
    # A design whose validation estimate is within the budget but that the 40 selection
    # samples cannot certify within 1 point.
    found.add(net, ApproxConfig(), PairedLoss(200, 0, 0, 0.95), 1.0, 1)
    judged = judge(found, Reference(None, net, None, parts), SearchSettings(), 2.0, Log(),
                   fallback_net=lambda: other)
    assert judged.fallback.startswith("exact network, as run --exact trains it (no design "
                                      "certified within 1 point")
    assert found.nets[-1] is other and found.rounds[-1] == 0
    assert judged.certified.certified == (1,) and judged.losses[1].exact
