"""The design directory's hand-off files beside the RTL and the netlist: the self-checking
testbench with its vectors and expected classes, the cell models, the script that runs them,
the timing report, the clock constraint and the synthesis log."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..hdl import TOP_MODULE
from ..ir import Network
from ..sim import (
    EXPECTED_FILE,
    RUN_SCRIPT,
    pack_classes,
    pack_vectors,
    render_selfcheck_testbench,
    run_script,
)
from ..synth import SynthResult, sdc_text, timing_report_text

__all__ = ["PACKAGE_FILES", "write_package"]

#: The files :func:`write_package` writes.
PACKAGE_FILES = ("tb.v", "vectors.hex", EXPECTED_FILE, "cells.v", RUN_SCRIPT, "timing.rpt",
                 "constraints.sdc", "synth.log")


def write_package(design_dir: Path, net: Network, codes: np.ndarray, golden: np.ndarray, *,
                  syn: SynthResult, cell_models: Path, cycles: int) -> None:
    """Write :data:`PACKAGE_FILES` into ``design_dir`` for ``net`` (already written there as
    ``top.v`` and ``netlist.v``): ``codes`` are the verified input vectors, ``golden`` the
    golden model's classes of them, ``syn`` the synthesis (at its clock), ``cycles`` the clock
    cycles per inference (0: combinational)."""
    (design_dir / "vectors.hex").write_bytes(pack_vectors(codes, net.input_bits))
    (design_dir / EXPECTED_FILE).write_bytes(pack_classes(golden))
    (design_dir / "tb.v").write_text(render_selfcheck_testbench(
        TOP_MODULE, x_bits=net.input_bits * net.n_features,
        y_bits=max(1, (net.n_classes - 1).bit_length()), n_vectors=len(codes), cycles=cycles))
    shutil.copyfile(cell_models, design_dir / "cells.v")
    script = design_dir / RUN_SCRIPT
    script.write_text(run_script(rtl=["top.v"], gates=["netlist.v", "cells.v"]))
    script.chmod(0o755)
    (design_dir / "timing.rpt").write_text(timing_report_text(
        syn.netlist_json, clock_hz=syn.freq_hz, liberty=syn.liberty, cycles=cycles))
    (design_dir / "constraints.sdc").write_text(sdc_text(TOP_MODULE, clock_hz=syn.freq_hz,
                                                         cycles=cycles))
    shutil.copyfile(syn.log, design_dir / "synth.log")
