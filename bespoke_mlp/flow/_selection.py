"""The selection rule: which designs the selection part judges, in which order, which of them
it certifies within the loss budget for the whole run, and which verified design is selected
(pure functions, no I/O; the paired test itself is in :mod:`._paired`).

The run-level guarantee (Learn then Test; Angelopoulos, Bates, Candès, Jordan and Lei, 2021):
the designs judged and their order are fixed from the train and validation parts alone; the
selection part then tests "loss > max_loss" for each in that order at level
``1 - confidence`` and stops at the first it cannot reject (fixed-sequence testing). The
probability that any certified design's loss exceeds ``max_loss`` is at most
``1 - confidence``, so whichever certified design is selected keeps the budget at that
confidence. Power-first selection (a power budget without a loss budget) bounds each design
within the budget at ``1 - (1 - confidence) / m`` (Bonferroni over the ``m`` judged), so the
least bound, whichever design it belongs to, holds at ``confidence``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .._util import counted
from ._paired import PairedLoss, loss_upper_bound, paired_loss, round_up

__all__ = ["LOSS_FIRST", "METHOD", "POWER_FIRST", "Certified", "PairedLoss", "certify",
           "judging_order", "loss_upper_bound", "min_certifiable_loss", "none_fits",
           "paired_loss", "pick_for_verification", "power_first", "select_design", "spread",
           "uncertifiable_advice"]

#: What ``report.json``'s ``selection.method`` says.
METHOD = ("held-out selection part, exact unconditional test of the paired loss "
          "(Berger-Boos, Tango's score)")
#: The selection rules (``selection.rule``).
LOSS_FIRST, POWER_FIRST = "loss-first", "power-first"

#: Designs judged at most (fixed-sequence testing stops at the first failure anyway; a
#: longer sequence costs no confidence, only tests).
MAX_JUDGED = 24

#: Designs within a power budget that power-first selection judges at most: each one more
#: widens every bound (Bonferroni).
MAX_POWER_JUDGED = 4


@dataclass(frozen=True)
class Certified:
    """The result of a family-wise procedure: the designs judged (in test order), those
    certified within the budget, and each judged design's bound at the level it was tested."""

    procedure: str
    judged: tuple[int, ...]
    certified: tuple[int, ...]
    bounds: dict[int, float]

    @property
    def n_judged(self) -> int:
        return len(self.judged)


def min_certifiable_loss(n: int, confidence: float) -> float:
    """The smallest loss (points) the selection part of ``n`` samples can certify: the bound
    of a design that changes no prediction, tested first."""
    return 100.0 * loss_upper_bound(0, 0, n, confidence)


def uncertifiable_advice(n: int, max_loss: float, confidence: float) -> str | None:
    """One line when ``n`` selection samples cannot certify ``max_loss`` points at
    ``confidence``: the smallest budget they can certify, and the confidence that would
    certify ``max_loss`` (None when it can be certified)."""
    least = min_certifiable_loss(n, confidence)
    if least <= max_loss + 1e-9:
        return None
    p = PairedLoss(n, 0, 0, confidence).p_value(max_loss)
    lower = math.floor(100 * (1 - p) * 10) / 10  # rounded down: it must certify
    hint = (f" or --confidence {lower / 100:g}" if lower >= 50 else "")
    return (f"{n} selection samples cannot certify {counted(max_loss, 'point')} of loss at "
            f"{100 * confidence:g} % confidence (a design that changes no prediction is "
            f"bounded at {round_up(least):.2f}): use --max-loss {round_up(least, 1):g}{hint}; "
            "the search still runs for its front and its best uncertified design, and the "
            "exact network is selected")


def judging_order(screen: Sequence[PairedLoss], cost: Sequence[float], max_loss: float,
                  limit: int = MAX_JUDGED) -> list[int]:
    """The designs the selection part judges, in test order, from train and validation data
    only: those whose loss estimate on the validation part (``screen``) is within
    ``max_loss``, lowest estimate first, then the costliest, at most ``limit``.

    Measured on every candidate of a default Cardio run (split seed 42, 39 candidates, 447
    selection samples), at ``--max-loss 5``: this order certifies 31 of 32 judged and
    selects an 8.14 mW (est.) design, 0.78 points of test loss; costliest first certifies
    20 and selects 17.6 mW. At ``--max-loss 1`` neither certifies any (2 of the 39 are
    within 1 point by their own 95 % bound; Vertebral 3C's 65 samples certify none at 5).
    """
    ok = [i for i, s in enumerate(screen) if s.exact or s.estimate <= max_loss + 1e-9]
    return sorted(ok, key=lambda i: (screen[i].estimate, -cost[i], i))[:limit]


def certify(losses: Sequence[PairedLoss], order: Sequence[int], max_loss: float,
            confidence: float) -> Certified:
    """Fixed-sequence testing of "loss > ``max_loss``" along ``order`` at level
    ``1 - confidence``, stopping at the first design not rejected."""
    certified: list[int] = []
    for i in order:
        if losses[i].p_value(max_loss) > 1 - confidence:
            break
        certified.append(i)
    return Certified(procedure=f"fixed-sequence testing of {len(order)} designs ordered on the "
                               "validation part (Learn then Test)",
                     judged=tuple(order), certified=tuple(certified),
                     bounds={i: losses[i].upper_bound for i in order})


def power_first(losses: Sequence[PairedLoss], power_mw: Sequence[float],
                screen: Sequence[PairedLoss], budget_mw: float, confidence: float,
                limit: int = MAX_POWER_JUDGED) -> Certified:
    """Power-first judging: of the designs within ``budget_mw``, the ``limit`` of lowest
    validation-part loss (ties: lower power) are bounded at ``1 - (1 - confidence) / m``
    (Bonferroni over the ``m`` judged); ``certified`` holds the one of least bound (ties:
    lower power), or nothing."""
    fits = [i for i in range(len(losses)) if power_mw[i] <= budget_mw]
    judged = sorted(fits, key=lambda i: (screen[i].estimate, power_mw[i], i))[:limit]
    level = 1 - (1 - confidence) / max(1, len(judged))
    bounds = {i: losses[i].bound_at(level) for i in judged}
    best = min(judged, key=lambda i: (bounds[i], power_mw[i], i), default=None)
    return Certified(procedure=f"Bonferroni over {len(judged)} designs within "
                               f"{budget_mw:g} mW, each bounded at {100 * level:.4g} %",
                     judged=tuple(judged), certified=() if best is None else (best,),
                     bounds=bounds)


def spread(n_front: int, k: int) -> list[int]:
    """``k`` indices spread over a front sorted by area, always including the smallest."""
    if n_front <= k:
        return list(range(n_front))
    return sorted({int(round(i)) for i in np.linspace(0, n_front - 1, k)})


def pick_for_verification(bound: Sequence[float], area: Sequence[float],
                          preferred: Sequence[int], k: int) -> list[int]:
    """Up to ``k`` retrained designs to implement, in order of estimated area.

    Half of them (rounded up) are the first of ``preferred`` (the smallest certified
    designs, or those estimated within a power budget, most accurate first): the estimated
    area is only an estimate, so the selected design is often not the one estimated
    smallest. The rest are spread over the non-dominated designs (``bound`` vs estimated
    area), to show the front.
    """
    bound, area = np.asarray(bound, dtype=float), np.asarray(area, dtype=float)
    chosen = set(list(preferred)[:(k + 1) // 2])
    rest = [i for i in _non_dominated(range(len(bound)), bound, area) if i not in chosen]
    chosen |= {rest[j] for j in spread(len(rest), k - len(chosen))}
    return sorted(chosen, key=lambda i: (area[i], i))


def _non_dominated(indices: Iterable[int], bound: Sequence[float],
                   area: Sequence[float]) -> list[int]:
    """Those of ``indices`` that no other of them dominates in loss bound and area, in order
    of area (ties: the lower bound, then the lower index)."""
    out, best = [], math.inf
    for i in sorted(indices, key=lambda i: (area[i], bound[i], i)):
        if bound[i] < best:
            out.append(i)
            best = bound[i]
    return out


def select_design(bound: Sequence[float], power_mw: Sequence[float], area: Sequence[float],
                  max_loss: float, budget_mw: float | None = None, *,
                  key: Sequence[float] | None = None, latency_s: Sequence[float] | None = None,
                  max_latency_s: float | None = None) -> int | None:
    """The selected design: the lowest-``key`` one (default: ``power_mw``) whose loss bound is
    within ``max_loss`` points (and whose ``power_mw`` within ``budget_mw``, and whose
    ``latency_s`` within ``max_latency_s``, if given); ties go to the lower bound, then the
    smaller area, then the earlier design. None if no design qualifies."""
    key = power_mw if key is None else key
    ok = [i for i in range(len(bound)) if bound[i] <= max_loss + 1e-9
          and (budget_mw is None or power_mw[i] <= budget_mw)
          and (max_latency_s is None or latency_s is None or latency_s[i] <= max_latency_s)]
    return min(ok, key=lambda i: (key[i], bound[i], area[i], i), default=None)


def none_fits(bound: Sequence[float], power_mw: Sequence[float], max_loss: float,
              budget_mw: float | None, confidence: float, *,
              latency_s: Sequence[float] | None = None,
              max_latency_s: float | None = None) -> str:
    """Why :func:`select` found nothing, in one line."""
    within = [p for b, p in zip(bound, power_mw) if b <= max_loss + 1e-9]
    if max_latency_s is not None and latency_s is not None and within:
        fast = [t for b, t in zip(bound, latency_s) if b <= max_loss + 1e-9]
        if min(fast) > max_latency_s:
            return (f"no verified design within {counted(max_loss, 'point')} of accuracy loss "
                    f"takes "
                    f"at most {max_latency_s:g} s per inference; the shortest takes "
                    f"{min(fast):g} s")
    if budget_mw is not None and within:
        return (f"no verified design fits {budget_mw:g} mW within {counted(max_loss, 'point')} of "
                f"accuracy loss (bound at {100 * confidence:g} % confidence); the lowest is "
                f"{min(within):.3f} mW")
    return (f"no verified design's accuracy loss is within {counted(max_loss, 'point')} at "
            f"{100 * confidence:g} % confidence")
