"""The search flow's stages that choose: what is verified, judged and selected."""

from bespoke_mlp.approx import ApproxConfig
from bespoke_mlp.flow import SearchSettings
from bespoke_mlp.flow._paired import PairedLoss
from bespoke_mlp.flow._rounds import Retrained
from bespoke_mlp.flow._selection import certify
from bespoke_mlp.flow._stages import Judged, verification_picks


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
