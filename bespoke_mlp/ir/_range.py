"""Input ranges: the raw interval each feature's ADC spans, fitted on samples by a rule.

A printed flash ADC has a fixed range; values beyond it saturate to the end codes
(:func:`~bespoke_mlp.ir.quantize_codes` clips). Spanning the min-max of the fitting samples lets
one outlier waste most of the codes; a quantile pair spans where the data is.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["InputRange", "FittedRange", "MIN_MAX", "DEFAULT_INPUT_RANGE"]


@dataclass(frozen=True)
class InputRange:
    """The rule that fits a feature's input range: the ``lower`` and ``upper`` percentiles of
    the fitting samples (0 and 100: min-max).

    A feature takes its percentile range only where that pays: where its min-max span is at
    least ``outlier_ratio`` times the percentile span (under min-max, the bulk of its samples
    would get at most ``1 / outlier_ratio`` of its codes; 1: always). Otherwise, and where
    the percentile range is empty (a feature constant on all but a few samples, such as a
    rare binary flag), it keeps its min-max range, and none of its fitting samples is
    clipped.
    """

    lower: float = 0.0
    upper: float = 100.0
    outlier_ratio: float = 1.0

    def __post_init__(self) -> None:
        for name in ("lower", "upper"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= 100:
                raise ValueError(f"input range {name} percentile must be in [0, 100], got {v!r}")
            object.__setattr__(self, name, float(v))
        if not self.lower < 50 < self.upper:
            raise ValueError(f"input range percentiles must satisfy lower < 50 < upper, got "
                             f"{self.lower!r} and {self.upper!r}")
        ratio = self.outlier_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not ratio >= 1:
            raise ValueError(f"input range outlier ratio must be a number >= 1, got {ratio!r}")
        # Min-max clips nothing, whatever the ratio: one rule, one name.
        object.__setattr__(self, "outlier_ratio", 1.0 if self.is_min_max else float(ratio))

    @property
    def is_min_max(self) -> bool:
        return self.lower == 0.0 and self.upper == 100.0

    def __str__(self) -> str:
        if self.is_min_max:
            return "min-max"
        ratio = f"x{self.outlier_ratio:g}" if self.outlier_ratio != 1 else ""
        return f"q{self.lower:g}-{self.upper:g}{ratio}"

    @classmethod
    def parse(cls, text: str) -> InputRange:
        """The rule named ``text``: ``"min-max"``, ``"qLOW-HIGH"`` (percentiles, e.g.
        ``"q1-99"``) or ``"qLOW-HIGHxRATIO"`` (with an outlier ratio, e.g. ``"q1-99x1.5"``),
        as :meth:`__str__` writes it."""
        if text == "min-max":
            return MIN_MAX
        number = r"(\d+(?:\.\d+)?)"
        m = re.fullmatch(rf"q{number}-{number}(?:x{number})?", text)
        if m is None:
            raise ValueError(f"input range must be 'min-max' or 'qLOW-HIGH[xRATIO]' (e.g. "
                             f"'q1-99' or 'q1-99x1.5'), got {text!r}")
        return cls(float(m.group(1)), float(m.group(2)), float(m.group(3) or 1))

    def fit(self, X: np.ndarray) -> FittedRange:
        """The per-feature range of the samples ``X`` (shape (n, n_features), n >= 1)."""
        X = np.asarray(X, dtype=np.float64)
        lo, hi = X.min(axis=0), X.max(axis=0)
        if not self.is_min_max:
            q_lo, q_hi = np.percentile(X, [self.lower, self.upper], axis=0)
            robust = (q_hi > q_lo) & (hi - lo >= self.outlier_ratio * (q_hi - q_lo))
            lo, hi = np.where(robust, q_lo, lo), np.where(robust, q_hi, hi)
        clipped = (X < lo).any(axis=0) | (X > hi).any(axis=0)
        return FittedRange(lo=lo, hi=hi, clipped=clipped)


@dataclass(frozen=True, eq=False)
class FittedRange:
    """Per-feature input range ``[lo, hi]`` and whether any fitting sample lies outside it
    (so that the ADC clips it)."""

    lo: np.ndarray
    hi: np.ndarray
    clipped: np.ndarray


#: Min-max scaling: no fitting sample is clipped.
MIN_MAX = InputRange()
#: The flows' rule, chosen by benchmarks/input_range.py (see docs/input_range.md).
DEFAULT_INPUT_RANGE = InputRange(0.5, 99.5, 1.5)
