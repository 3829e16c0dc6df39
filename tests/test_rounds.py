"""The search rounds' bookkeeping: which retrained design the next round starts from."""

import numpy as np
from _nets import random_network

from bespoke_mlp.approx import ApproxConfig
from bespoke_mlp.flow._rounds import Retrained
from bespoke_mlp.flow._selection import PairedLoss


def test_next_round_starts_from_the_smallest_design_within_the_bound():
    net, found = random_network(np.random.default_rng(0)), Retrained()
    # (worse, better) on 400 selection samples at 90 %: bounds 0.41, 2.19, 0.76, 0.76 points.
    for (worse, better), area in (((0, 0), 3.0), ((5, 0), 1.0), ((2, 2), 2.0), ((2, 2), 2.0)):
        found.add(net, ApproxConfig(), PairedLoss(400, worse, better, 0.9), area, 1)
    assert [round(b, 2) for b in found.bounds] == [0.41, 2.19, 0.76, 0.76]
    assert found.smallest_within(1.0) == 2  # equal candidates: the earlier one
    assert found.smallest_within(2.2) == 1
    assert found.smallest_within(0.1) is None
