"""Design-space search: the genome over approximation configurations, a batched golden-model
evaluator, the calibrated cost model, and NSGA-II."""

from ._cost import AREA, OBJECTIVES, CostModel, Objective, few_input_area_cm2
from ._decoded import Decoded
from ._features import COST_FEATURES
from ._fingerprint import check_resumable, search_fingerprint
from ._genome import DATAPATH_LADDER, SearchSpace
from ._importance import IMPORTANCE_METHODS, feature_importance, top_k_sizes
from ._nsga import Progress, SearchResult, run_search

__all__ = [
    "AREA",
    "check_resumable",
    "search_fingerprint",
    "COST_FEATURES",
    "CostModel",
    "OBJECTIVES",
    "Objective",
    "few_input_area_cm2",
    "Decoded",
    "IMPORTANCE_METHODS",
    "feature_importance",
    "top_k_sizes",
    "Progress",
    "SearchResult",
    "DATAPATH_LADDER",
    "SearchSpace",
    "run_search",
]
