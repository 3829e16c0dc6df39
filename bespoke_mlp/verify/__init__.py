"""Independent checks of written designs: re-simulation and formal equivalence."""

from ._formal import FormalResult, prove_equivalent

__all__ = ["FormalResult", "prove_equivalent"]
