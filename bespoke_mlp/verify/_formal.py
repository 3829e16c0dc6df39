"""Formal equivalence of the generated RTL and the synthesized gate netlist.

Yosys builds a miter of the two (``miter -equiv``), flattened to an and-inverter graph; ABC's
``iprove`` (fraiging and SAT sweeping, far stronger on arithmetic than one monolithic SAT call)
proves its output constant 0, i.e. the designs equal on every input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .._util import log_tail, run_tool
from .._yosys import quote_path, run_yosys
from ..errors import ToolError
from ..hdl import check_module_name
from ..synth import CELL_MODELS

__all__ = ["FormalResult", "prove_equivalent"]


@dataclass(frozen=True)
class FormalResult:
    """Outcome of :func:`prove_equivalent`: ``equivalent`` is True only for a proof."""

    equivalent: bool
    seconds: float
    and_nodes: int
    log: Path


def _abc() -> Path:
    import pyosys

    return Path(pyosys.__file__).resolve().parent / "yosys-abc"


def prove_equivalent(rtl: list[Path], netlist: Path, top: str, *, work_dir: Path,
                     timeout: float = 600.0) -> FormalResult:
    """Prove that the gate ``netlist`` of ``top`` (with the EGFET cell models) computes exactly
    what the ``rtl`` sources do.

    Returns a result with ``equivalent=False`` when ABC finds a distinguishing input.

    Raises
    ------
    ToolError
        If Yosys or ABC fails, exceeds ``timeout`` or reports neither proof nor counterexample.
    """
    check_module_name(top)
    work_dir.mkdir(parents=True, exist_ok=True)
    aig = work_dir / "miter.aig"
    lines = [f"read_verilog {quote_path(p)}" for p in rtl]
    lines += [f"rename {top} gold", f"read_verilog {quote_path(netlist)}", f"rename {top} gate",
              f"read_verilog {quote_path(CELL_MODELS)}", "proc", "flatten",
              "miter -equiv -flatten gold gate miter", "hierarchy -top miter", "opt_clean",
              "techmap", "opt -fast", "aigmap", f"write_aiger -zinit {quote_path(aig)}", ""]
    start = time.perf_counter()
    run_yosys("\n".join(lines), script_path=work_dir / "miter.ys",
              log=work_dir / "miter.log", timeout=timeout)
    log = work_dir / "abc.log"
    remaining = max(1.0, timeout - (time.perf_counter() - start))
    run_tool([_abc(), "-c", f"read_aiger {aig}; print_stats; iprove"], log=log,
             timeout=remaining, what="yosys-abc (equivalence)")
    text = log.read_text()
    seconds = time.perf_counter() - start
    nodes = int(text.split("and =", 1)[1].split()[0]) if "and =" in text else 0
    if "UNSATISFIABLE" in text:
        return FormalResult(True, seconds, nodes, log)
    if "SATISFIABLE" in text:
        return FormalResult(False, seconds, nodes, log)
    raise ToolError(f"equivalence check gave no verdict; log: {log}\n{log_tail(log)}")
