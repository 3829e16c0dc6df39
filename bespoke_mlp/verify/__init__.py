"""Independent checks of written designs: re-simulation and formal equivalence."""

from ._formal import FormalResult, prove_equivalent, prove_sequential

__all__ = ["FormalResult", "prove_equivalent", "prove_sequential"]
