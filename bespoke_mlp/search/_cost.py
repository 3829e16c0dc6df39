"""The fast cost model: area and power estimated from a candidate's hardware features,
calibrated against real synthesis (``benchmarks/calibrate_cost.py`` refits it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .._choices import OBJECTIVES
from ..errors import UsageError
from ..ir import ADC_REFERENCE_BITS, SEQUENTIAL_CM2
from ._decoded import Decoded
from ._features import COST_FEATURES, cost_features, sequential_cost_features

__all__ = ["AREA", "OBJECTIVES", "CostModel", "Objective", "few_input_area_cm2"]


@dataclass(frozen=True)
class CostModel:
    """``area_cm2 = intercept + features @ coefficients`` (non-negative coefficients, fitted
    by least squares on synthesized designs); power follows area at ``mw_per_cm2``.

    ``lanes`` 0 models the parallel architecture (:data:`COST_FEATURES`); ``lanes >= 1`` the
    sequential one folded onto that many lanes (:func:`sequential_cost_features`, see
    :meth:`sequential`).
    """

    coefficients: tuple[float, ...]
    intercept: float
    mw_per_cm2: float
    lanes: int = 0

    def features(self, d: Decoded) -> np.ndarray:
        """The hardware features of decoded candidates this model's coefficients weigh."""
        return sequential_cost_features(d, self.lanes) if self.lanes else cost_features(d)

    def area_cm2(self, features: np.ndarray) -> np.ndarray:
        return self.intercept + np.asarray(features, dtype=np.float64) @ np.array(
            self.coefficients)

    def power_mw(self, features: np.ndarray) -> np.ndarray:
        return self.area_cm2(features) * self.mw_per_cm2

    @classmethod
    def default(cls) -> CostModel:
        """The calibrated model shipped with the package."""
        data = json.loads(resources.files(__package__).joinpath("cost_model.json").read_text())
        if tuple(data["features"]) != COST_FEATURES:
            raise ValueError("cost_model.json does not match the search's features")
        return cls(tuple(data["coefficients"]), data["intercept"], data["mw_per_cm2"])

    @classmethod
    def sequential(cls, lanes: int) -> CostModel:
        """The sequential architecture's model on ``lanes`` lanes: the coefficients of
        :func:`~bespoke_mlp.ir.sequential_area_cm2`, power at the default model's ratio."""
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be an int >= 1, not {lanes!r}")
        return cls(SEQUENTIAL_CM2, 0.0, cls.default().mw_per_cm2, lanes)

    @classmethod
    def fit(cls, features: np.ndarray, area_cm2: np.ndarray, power_mw: np.ndarray) -> CostModel:
        """Non-negative least squares of area on the features, plus an intercept."""
        from scipy.optimize import nnls

        f = np.asarray(features, dtype=np.float64)
        area = np.asarray(area_cm2, dtype=np.float64)
        coef, _ = nnls(np.column_stack([f, np.ones(len(f))]), area)
        ratio = float(np.sum(power_mw) / np.sum(area_cm2))
        return cls(tuple(float(c) for c in coef[:-1]), float(coef[-1]), ratio)

    def to_dict(self) -> dict:
        return {"features": list(COST_FEATURES), "coefficients": list(self.coefficients),
                "intercept": self.intercept, "mw_per_cm2": self.mw_per_cm2}


#: Area of a two-input gate (EGFET NAND2X1, 0.248 mm²), the unit of :func:`few_input_area_cm2`.
_GATE_CM2 = 0.00248


def few_input_area_cm2(input_bits: int, n_classes: int) -> float:
    """An upper bound on the area of a classifier whose outputs depend on ``input_bits`` input
    bits, when synthesis collapses it (``bespoke_mlp.synth.COLLAPSE_MAX_INPUTS``; infinite
    above): each of its ``ceil(log2(n_classes))`` output bits is a Boolean function of
    ``input_bits`` variables, which takes at most about ``2**n / n`` two-input gates
    (Lupanov). The partial-product cost model cannot see that such a network is small: its
    hidden activations keep their full width, yet take only ``2**n`` values."""
    from ..synth import COLLAPSE_MAX_INPUTS

    if input_bits > COLLAPSE_MAX_INPUTS:
        return float("inf")
    if input_bits == 0:
        return 0.0
    out_bits = max(1, (n_classes - 1).bit_length())
    return out_bits * _GATE_CM2 * (1 << input_bits) / input_bits


@dataclass(frozen=True)
class Objective:
    """The search's cost objective: ``system-power`` (estimated classifier power plus the
    flash ADCs' power, ``adc_mw`` per full 4-bit ADC of 15 comparators), ``power`` (the
    classifier's) or ``area`` (the classifier's)."""

    kind: str = "system-power"
    adc_mw: float = 0.33

    def __post_init__(self) -> None:
        if self.kind not in OBJECTIVES:
            raise UsageError(f"--objective must be one of {', '.join(OBJECTIVES)}, "
                             f"got {self.kind!r}")
        if not (np.isfinite(self.adc_mw) and self.adc_mw >= 0):
            raise UsageError(f"--adc-mw must be a finite power >= 0 (mW), got {self.adc_mw!r}")

    @property
    def unit(self) -> str:
        return "cm²" if self.kind == "area" else "mW"

    def values(self, cost: CostModel, features: np.ndarray,
               comparators: np.ndarray) -> np.ndarray:
        """The objective of candidates with hardware ``features`` and ADC ``comparators``."""
        return self.of_area(cost, cost.area_cm2(features), comparators)

    def of_area(self, cost: CostModel, area_cm2: np.ndarray,
                comparators: np.ndarray) -> np.ndarray:
        """The objective of candidates of estimated classifier area ``area_cm2``."""
        if self.kind == "area":
            return np.asarray(area_cm2, dtype=np.float64)
        power = np.asarray(area_cm2, dtype=np.float64) * cost.mw_per_cm2
        if self.kind == "power":
            return power
        per_comparator = self.adc_mw / ((1 << ADC_REFERENCE_BITS) - 1)
        return power + per_comparator * np.asarray(comparators, dtype=np.float64)


#: The classifier-area objective (the search's default when called directly).
AREA = Objective("area")
