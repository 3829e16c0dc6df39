"""The search flow's settings (its own module, so that the stages and the rounds import it
without importing each other)."""

from __future__ import annotations

from dataclasses import dataclass

from .._choices import QUANTIZERS
from ..errors import UsageError

__all__ = ["BASE_REACH", "BATTERIES_MW", "BUDGET_MARGIN", "POWER_FIRST_SEARCH_LOSS",
           "QUANTIZERS", "SearchSettings"]


#: ``--battery`` names and the power (mW) each supplies, as the printed-ML literature quotes
#: them for printed batteries (Mubarik et al., "Printed Machine Learning Classifiers", MICRO
#: 2020; see docs/selection.md): Blue Spark 6 mW, Zinergy 15 mW.
BATTERIES_MW = {"blue-spark": 6.0, "zinergy": 15.0}

#: Points of loss the search and the round bases allow under power-first selection (a
#: power budget without a loss budget): the designs under a battery's budget may lose more
#: than the default budget before retraining wins it back.
POWER_FIRST_SEARCH_LOSS = 5.0

#: Power-first retraining and verification prefer designs whose estimated system power is
#: within this factor of the budget (the estimate is only an estimate).
BUDGET_MARGIN = 1.25

#: Power-first, a later round searches from the design most accurate on the validation part
#: among those estimated within this factor of the budget: its approximations reach down to
#: the budget from above.
BASE_REACH = 2.0


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the search flow (defaults sized for a 2-core machine)."""

    max_loss: float = 1.0
    budget_mw: float | None = None
    #: Power-first selection (``--budget-mw`` without ``--max-loss``): the verified design
    #: within ``budget_mw`` of least certified loss; else loss-first, the lowest-power
    #: design certified within ``max_loss`` (and ``budget_mw``).
    power_first: bool = False
    pop_size: int = 100
    #: NSGA-II generations in all, split evenly over the rounds.
    generations: int = 300
    #: Search rounds: each after the first searches again from the smallest retrained design
    #: within the loss budget, so retraining's recovered accuracy is spent on further
    #: approximation (measured on cardio at 300 generations: ≤1 % front area 2.58 cm² in one
    #: round, 1.77 cm² in three).
    rounds: int = 3
    n_verify: int = 8
    n_retrain: int = 16
    retrain_epochs: int = 40
    #: The search may lose this many more points than ``max_loss``: retraining wins them back.
    slack: float = 3.0
    #: Train samples the search scores candidates on (a stratified subset of a larger train
    #: part; None: all). 2 000 samples resolve 0.05 points of accuracy.
    search_samples: int | None = 2000
    #: Confidence of the one-sided upper bound of the loss that ``max_loss`` applies to.
    confidence: float = 0.95
    #: Fraction of the non-test samples held out as the selection part (never fitted).
    select_size: float = 0.3
    #: The search and retraining aim at the exact network's predictions, not the labels: the
    #: loss bound grows with every prediction a design changes, right or wrong.
    fidelity: bool = True
    #: Rank features by importance on train samples and start part of the search (and, in
    #: round 1, retrained candidates) from the top ``k`` features: a wide dataset's search
    #: does not start at one ADC per feature only. Round 1 also retrains tiny designs (the
    #: top 1-4 features at 1-3 bits through learned thresholds, ``_rounds.TINY_SHAPES``,
    #: and those grown bit by bit on the validation part, ``_tiny.grow_tiny``), which are
    #: verified as the small end of the front.
    feature_seeds: bool = True
    #: What the search minimizes and the selection picks the lowest of: ``system-power``
    #: (classifier + flash ADCs), ``power`` or ``area`` (the classifier's). ``budget_mw``
    #: always applies to system power.
    objective: str = "system-power"
    #: Learn each feature's flash-ADC thresholds at reduced resolutions on the train part
    #: (``learned``) or keep the uniform quantizer's (``uniform``). Uniform by measurement:
    #: at ``--max-loss 1`` learned thresholds made Vertebral fall back to the exact network
    #: (uniform: 3.99 mW system) and did not lower Cardio's system power.
    quantizer: str = "uniform"
    #: A sequential design's latency limit (s): slower verified designs are not selected.
    max_latency_s: float | None = None
    #: Choose the lane count (the fold factor): the fewest lanes whose exact network meets
    #: ``max_latency_s`` (see :func:`lanes_for_latency`).
    auto_lanes: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_loss <= 100.0:
            raise UsageError(f"--max-loss must be within [0, 100] (percent), got {self.max_loss!r}")
        if self.budget_mw is not None and not self.budget_mw > 0:
            raise UsageError(f"--budget-mw must be > 0, got {self.budget_mw!r}")
        if self.power_first and self.budget_mw is None:
            raise UsageError("power-first selection needs a power budget (--budget-mw)")
        if self.pop_size < 8:
            raise UsageError(f"--population must be >= 8, got {self.pop_size!r}")
        if self.generations < 1:
            raise UsageError(f"--generations must be >= 1, got {self.generations!r}")
        if not 1 <= self.rounds <= max(1, self.generations):
            raise UsageError(f"--rounds must be within 1..generations "
                             f"({self.generations!r}), got {self.rounds!r}")
        if self.n_verify < 1:
            raise UsageError(f"--verify must be >= 1, got {self.n_verify!r}")
        if self.search_samples is not None and self.search_samples < 10:
            raise UsageError(f"search_samples must be >= 10, got {self.search_samples!r}")
        if not 0.5 <= self.confidence < 1.0:
            raise UsageError(f"--confidence must be within [0.5, 1), got {self.confidence!r}")
        from ..search import Objective  # here: the search package imports pymoo

        Objective(self.objective)
        if self.quantizer not in QUANTIZERS:
            raise UsageError(f"--quantizer must be one of {', '.join(QUANTIZERS)}, "
                             f"got {self.quantizer!r}")
        if not 0.0 < self.select_size < 1.0:
            raise UsageError(f"select_size must be within (0, 1), got {self.select_size!r}")
        if self.max_latency_s is not None and not self.max_latency_s > 0:
            raise UsageError(f"--max-latency must be > 0 (s), got {self.max_latency_s!r}")
        if self.auto_lanes and self.max_latency_s is None:
            raise UsageError("--lanes auto chooses the lanes for --max-latency: give it")

    @property
    def search_loss(self) -> float:
        """The loss (points) the search, the round bases and the screening aim within."""
        return max(self.max_loss, POWER_FIRST_SEARCH_LOSS) if self.power_first else \
            self.max_loss

    def estimate_limit(self, factor: float = BUDGET_MARGIN) -> float | None:
        """Power-first under the system-power objective (the search's estimate is then of
        system power): ``factor`` times the budget, the estimate the search aims under;
        else None."""
        if not self.power_first or self.objective != "system-power":
            return None
        return factor * self.budget_mw

    @property
    def rule(self) -> str:
        """``power-first`` or ``loss-first`` (see ``power_first``)."""
        return "power-first" if self.power_first else "loss-first"
