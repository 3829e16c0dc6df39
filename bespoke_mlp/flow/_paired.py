"""The paired accuracy loss of a design against the exact network on the same samples: its
counts, an exact (finite-sample) p-value of "the loss exceeds a budget", and the upper
confidence bound that inverts it (pure functions, no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.stats import beta as beta_dist
from scipy.stats import binom

__all__ = ["PairedLoss", "loss_p_value", "loss_upper_bound", "paired_loss", "round_up"]

#: Share of the test level spent on the confidence set of the nuisance parameter (the
#: discordance rate) in Berger and Boos's exact unconditional test: alpha / 50, 0.001 at 95 %.
NUISANCE_SHARE = 1 / 50

#: Points of the grid the supremum over the nuisance parameter is taken on (then refined
#: around its maximum on as many points).
GRID = 24


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
        return self.bound_at(self.confidence)

    def bound_at(self, confidence: float) -> float:
        """The upper bound at ``confidence`` (points)."""
        if self.exact:
            return 0.0
        return 100.0 * loss_upper_bound(self.worse, self.better, self.n, confidence)

    def p_value(self, max_loss: float) -> float:
        """p-value of "the loss is at least ``max_loss`` points" (0 for the exact network)."""
        if self.exact:
            return 0.0
        return loss_p_value(self.worse, self.better, self.n, max_loss / 100.0,
                            1.0 - self.confidence)

    def to_dict(self) -> dict[str, float | int]:
        return {"n_samples": self.n, "worse": self.worse, "better": self.better,
                "estimated_loss": round(self.estimate, 4),
                "loss_upper_bound": round_up(self.upper_bound, 4)}


def paired_loss(exact_pred: np.ndarray, design_pred: np.ndarray, labels: np.ndarray,
                confidence: float) -> PairedLoss:
    """The :class:`PairedLoss` of a design's predictions against the exact network's."""
    right_exact, right_design = exact_pred == labels, design_pred == labels
    return PairedLoss(n=len(labels), worse=int(np.sum(right_exact & ~right_design)),
                      better=int(np.sum(~right_exact & right_design)), confidence=confidence)


def round_up(x: float, decimals: int = 2) -> float:
    """``x`` rounded up to ``decimals`` places, so that a printed bound never looks lower
    than it is (1.0023 -> 1.01)."""
    scale = 10 ** decimals
    return math.ceil(round(x * scale, 6)) / scale


@lru_cache(maxsize=65536)
def loss_p_value(worse: int, better: int, n: int, max_loss: float,
                 alpha: float = 0.05) -> float:
    """Exact p-value of H0 "the paired loss ``d`` is at least ``max_loss``" (fractions).

    Each sample is a draw of a trinomial: worse (probability ``p_w``), better (``p_b``) or
    tied, and ``d = p_w - p_b``. The test is Berger and Boos's exact unconditional test
    (J. Am. Stat. Assoc. 89:1012, 1994): samples are ranked by Tango's score statistic
    (Stat. Med. 17:891, 1998), and the p-value is the largest probability of a statistic at
    most the observed one over the nuisance ``p_b`` on the boundary ``d = max_loss``,
    restricted to a Clopper-Pearson confidence set of the discordance rate at level
    ``alpha * NUISANCE_SHARE``, plus that level. ``alpha`` only sizes that confidence set;
    a p-value at most ``alpha`` rejects at level ``alpha``. The supremum is taken on a grid
    (:data:`GRID`, refined once); the mass of more than ``kmax`` discordant pairs is counted
    as extreme, which only makes the test more conservative.
    """
    beta = alpha * NUISANCE_SHARE
    if max_loss >= 1.0:
        return beta
    q_max = 1.0 if worse + better >= n else \
        float(beta_dist.ppf(1 - beta, worse + better + 1, n - worse - better))
    lo, hi = max(0.0, -max_loss), (q_max - max_loss) / 2
    if hi < lo:
        return beta
    kmax = int(min(n, math.ceil(n * q_max + 12 * math.sqrt(n * q_max + 1) + 12)))
    # For k discordant pairs, the extreme outcomes are those of at most wstar[k] worse ones
    # (Tango's statistic rises with w at fixed k: test_score_rises_with_worse_pairs).
    k = np.arange(kmax + 1)
    t_obs = _score(np.array([float(worse)]), np.array([float(better)]), n, max_loss)[0]
    wstar = _last_at_most(k, n, max_loss, t_obs)

    def tail(p_b: np.ndarray) -> np.ndarray:
        q = 2 * p_b + max_loss
        r = np.divide(p_b + max_loss, q, out=np.ones_like(q), where=q > 0)
        mass = binom.pmf(k, n, q[:, None]) * binom.cdf(wstar, k, r[:, None])
        return mass.sum(axis=1) + binom.sf(kmax, n, q)

    grid = np.linspace(lo, hi, GRID + 1)
    t = tail(grid)
    j = int(np.argmax(t))
    fine = np.linspace(grid[max(j - 1, 0)], grid[min(j + 1, GRID)], GRID + 1)
    return float(min(1.0, beta + max(t.max(), tail(fine).max())))


@lru_cache(maxsize=4096)
def loss_upper_bound(worse: int, better: int, n: int, confidence: float) -> float:
    """One-sided upper confidence bound of the paired loss: the smallest ``d`` that
    :func:`loss_p_value` rejects at level ``1 - confidence`` (bisection to 1e-6; the
    p-value falls with ``d``).

    Returns
    -------
    float
        The bound as a fraction in [-1, 1]; 1 for ``n = 0`` (nothing is known).
    """
    if n <= 0:
        return 1.0
    alpha = 1.0 - confidence
    lo, hi = (worse - better) / n, 1.0
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2
        if loss_p_value(worse, better, n, mid, alpha) <= alpha:
            hi = mid
        else:
            lo = mid
    return hi


def _last_at_most(k: np.ndarray, n: int, d: float, t_obs: float) -> np.ndarray:
    """For each ``k``, the largest ``w`` in ``0..k`` whose statistic ``_score(w, k - w)`` is at
    most ``t_obs`` (-1 if none), by bisection over all ``k`` at once."""
    lo, hi = np.full(len(k), -1), k.copy()  # the answer lies in lo..hi
    while np.any(lo < hi):
        mid = (lo + hi + 1) // 2
        ok = _score(mid.astype(float), (k - mid).astype(float), n, d) <= t_obs + 1e-12
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid - 1)
    return lo


def _score(w: np.ndarray, b: np.ndarray, n: int, d: float) -> np.ndarray:
    """Tango's score statistic of H0 "the loss is ``d``" for counts ``w`` worse and ``b``
    better of ``n`` (vectorized): low values speak against H0."""
    s = -(w + b) + (2 * n - w + b) * d
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (-s + np.sqrt(np.maximum(s * s + 8 * n * b * d * (1 - d), 0.0))) / (4 * n)
        var = n * (2 * p + d - d * d)
        diff = w - b - n * d
        t = diff / np.sqrt(var)
    return np.where(var > 0, t, np.where(diff >= 0, np.inf, -np.inf))
