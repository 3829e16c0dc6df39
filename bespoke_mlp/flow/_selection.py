"""Choosing among searched designs: the paired loss against the exact network on the selection
part, its one-sided upper confidence bound, and the rules that pick the designs to verify and
the design to select (pure functions, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .._util import counted

__all__ = ["METHOD", "PairedLoss", "loss_upper_bound", "none_fits", "paired_loss",
           "pick_for_verification", "select_design", "spread"]

#: What ``report.json``'s ``selection.method`` says.
METHOD = "held-out selection part, paired score upper bound (Tango)"


@dataclass(frozen=True)
class PairedLoss:
    """A design's accuracy loss against the exact network on the same ``n`` samples.

    ``worse`` samples are classified right by the exact network and wrong by the design,
    ``better`` the other way round; the loss is ``(worse - better) / n``. ``exact`` marks the
    exact network itself, whose loss is zero by definition (not only on these samples).
    """

    n: int
    worse: int
    better: int
    confidence: float
    exact: bool = False

    @property
    def estimate(self) -> float:
        """Loss on the samples, in points (percent)."""
        return 100.0 * (self.worse - self.better) / self.n if self.n else 0.0

    @property
    def upper_bound(self) -> float:
        """One-sided upper confidence bound of the loss, in points (0 for the exact network)."""
        if self.exact:
            return 0.0
        return 100.0 * loss_upper_bound(self.worse, self.better, self.n, self.confidence)

    def to_dict(self) -> dict[str, float | int]:
        return {"n_samples": self.n, "worse": self.worse, "better": self.better,
                "estimated_loss": round(self.estimate, 4),
                "loss_upper_bound": round(self.upper_bound, 4)}


def paired_loss(exact_pred: np.ndarray, design_pred: np.ndarray, labels: np.ndarray,
                confidence: float) -> PairedLoss:
    """The :class:`PairedLoss` of a design's predictions against the exact network's."""
    right_exact, right_design = exact_pred == labels, design_pred == labels
    return PairedLoss(n=len(labels), worse=int(np.sum(right_exact & ~right_design)),
                      better=int(np.sum(~right_exact & right_design)), confidence=confidence)


def loss_upper_bound(worse: int, better: int, n: int, confidence: float) -> float:
    """One-sided upper confidence bound of a paired difference of proportions.

    The loss ``d = p(exact right, design wrong) - p(exact wrong, design right)`` of ``n``
    paired samples, ``worse`` and ``better`` of them discordant each way. The bound inverts
    Tango's score test (Tango 1998, Stat. Med. 17:891): the largest ``d`` that the one-sided
    score test at level ``1 - confidence`` does not reject. Unlike the conditional McNemar
    bound it stays honest without discordant pairs (0 of 300 at 95 %: 0.89 points, the
    conditional bound would say 0), and unlike a bootstrap it needs no resampling.

    Returns
    -------
    float
        The bound as a fraction in [-1, 1]; 1 for ``n = 0`` (nothing is known).
    """
    if n <= 0:
        return 1.0
    z = NormalDist().inv_cdf(confidence)
    observed = (worse - better) / n

    def score(d: float) -> float:
        # The constrained maximum-likelihood p(exact wrong, design right) under loss d.
        w = -(worse + better) + (2 * n - worse + better) * d
        p = (-w + math.sqrt(w * w + 8 * n * better * d * (1 - d))) / (4 * n)
        var = n * (2 * p + d - d * d)
        return (worse - better - n * d) / math.sqrt(var) if var > 0 else -math.inf

    lo, hi = observed, 1.0
    if score(hi) >= -z:
        return 1.0
    for _ in range(60):  # the score falls monotonically in d: bisect to 1e-18
        mid = (lo + hi) / 2
        if score(mid) >= -z:
            lo = mid
        else:
            hi = mid
    return hi


def spread(n_front: int, k: int) -> list[int]:
    """``k`` indices spread over a front sorted by area, always including the smallest."""
    if n_front <= k:
        return list(range(n_front))
    return sorted({int(round(i)) for i in np.linspace(0, n_front - 1, k)})


def pick_for_verification(bound: Sequence[float], area: Sequence[float], max_loss: float,
                          k: int) -> list[int]:
    """Up to ``k`` retrained designs to implement, in order of estimated area.

    Half of them (rounded up) are the smallest designs whose loss bound is within
    ``max_loss``: the estimated area is only an estimate, so the selected design is often
    not the one estimated smallest. The rest are spread over the non-dominated designs (loss
    bound vs estimated area), to show the front and to serve a power budget.
    """
    bound, area = np.asarray(bound, dtype=float), np.asarray(area, dtype=float)
    within = sorted((i for i in range(len(bound)) if bound[i] <= max_loss + 1e-9),
                    key=lambda i: (area[i], bound[i], i))
    chosen = set(within[:(k + 1) // 2])
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
                    f"takes at most {max_latency_s:g} s per inference; the shortest takes "
                    f"{min(fast):g} s")
    if budget_mw is not None and within:
        return (f"no verified design fits {budget_mw:g} mW within {counted(max_loss, 'point')} of "
                f"accuracy loss (bound at {100 * confidence:g} % confidence); the lowest is "
                f"{min(within):.3f} mW")
    return (f"no verified design's accuracy loss is within {counted(max_loss, 'point')} at "
            f"{100 * confidence:g} % confidence")
