"""The fast cost model: area and power estimated from a candidate's hardware features,
calibrated against real synthesis (``benchmarks/calibrate_cost.py`` refits it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from ._features import COST_FEATURES

__all__ = ["CostModel"]


@dataclass(frozen=True)
class CostModel:
    """``area_cm2 = intercept + features @ coefficients`` (non-negative coefficients, fitted
    by least squares on synthesized designs); power follows area at ``mw_per_cm2``."""

    coefficients: tuple[float, ...]
    intercept: float
    mw_per_cm2: float

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
