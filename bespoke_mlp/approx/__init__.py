"""Approximation operators: coefficient digit budgets and pruning, input-bit masks, column
truncation with compensation, ReLU windows, argmax bits, input precision, neuron removal, class
removal, approximation-aware retraining, and sparse power-of-two training."""

from ._config import (
    ApproxConfig,
    LayerApprox,
    apply_config,
    input_bit_counts,
    round_to_step,
    weight_step,
)
from ._csd_round import CSD_LIMIT, MAX_DIGITS, nearest_csd, nearest_csd_table
from ._retrain import digit_projection, retrain, weight_steps
from ._sparse import SPARSE_KEEP, sparse_po2, sparse_po2_family, sparse_po2_projection
from ._thresholds import learn_thresholds

__all__ = [
    "CSD_LIMIT",
    "MAX_DIGITS",
    "SPARSE_KEEP",
    "ApproxConfig",
    "LayerApprox",
    "apply_config",
    "digit_projection",
    "input_bit_counts",
    "learn_thresholds",
    "nearest_csd",
    "nearest_csd_table",
    "retrain",
    "round_to_step",
    "sparse_po2",
    "sparse_po2_family",
    "sparse_po2_projection",
    "weight_step",
    "weight_steps",
]
