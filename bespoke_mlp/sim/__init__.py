"""Bit-exact simulation of generated designs (RTL or gate netlist) with Verilator.

:func:`simulate` builds a testbench around one combinational design (input port ``x``, output
port ``y``), applies input codes and returns the predicted classes, optionally with per-net
toggle counts for the power model; :func:`simulate_many` amortizes one build over several
designs; :func:`evaluate_netlist` simulates a combinational gate netlist in numpy, bit for
bit what Verilator gives, without a build; :func:`check_agreement` compares predictions with
the golden model exactly. Models
are built once per content and kept in a per-user cache (:mod:`bespoke_mlp.sim._models`;
``$BESPOKE_MLP_MODEL_CACHE``, :data:`MODEL_CACHE_ENV`, moves it or, empty, turns it off).
"""

from ._check import check_agreement
from ._gates import GATE_EVALUATOR, evaluate_netlist
from ._models import MODEL_CACHE_ENV
from ._selfcheck import (
    EXPECTED_FILE,
    RUN_SCRIPT,
    pack_classes,
    render_selfcheck_testbench,
    run_script,
)
from ._simulate import Design, SimResult, simulate, simulate_many
from ._testbench import pack_vectors, unpack_vectors
from ._toolchain import Toolchain, require_toolchain

__all__ = [
    "EXPECTED_FILE",
    "GATE_EVALUATOR",
    "RUN_SCRIPT",
    "pack_classes",
    "render_selfcheck_testbench",
    "run_script",
    "MODEL_CACHE_ENV",
    "Design",
    "SimResult",
    "Toolchain",
    "check_agreement",
    "evaluate_netlist",
    "pack_vectors",
    "require_toolchain",
    "simulate",
    "simulate_many",
    "unpack_vectors",
]
