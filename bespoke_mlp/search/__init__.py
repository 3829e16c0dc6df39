"""Design-space search: the genome over approximation configurations, a batched golden-model
evaluator, the calibrated cost model, and NSGA-II."""

from ._cost import CostModel
from ._fingerprint import check_resumable, search_fingerprint
from ._nsga import Progress, SearchResult, run_search
from ._space import COST_FEATURES, Decoded, SearchSpace

__all__ = [
    "check_resumable",
    "search_fingerprint",
    "COST_FEATURES",
    "CostModel",
    "Decoded",
    "Progress",
    "SearchResult",
    "SearchSpace",
    "run_search",
]
