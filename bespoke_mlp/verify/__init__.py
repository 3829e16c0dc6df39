"""Independent checks of written designs: re-simulation and formal equivalence.

The names are imported on first use (see ``bespoke_mlp._lazy``), so that the command line's
parser does not import the simulation and synthesis stack.
"""

from .._lazy import lazy_exports

__all__ = ["FormalResult", "prove_equivalent", "prove_sequential"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "._formal": ("FormalResult", "prove_equivalent", "prove_sequential"),
})
