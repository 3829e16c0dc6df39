"""Formal equivalence of the generated RTL and the synthesized gate netlist.

Combinational (parallel) designs: Yosys builds a miter of the two (``miter -equiv``), flattened
to an and-inverter graph; ABC's ``iprove`` (fraiging and SAT sweeping, far stronger on
arithmetic than one monolithic SAT call) proves its output constant 0, i.e. the designs equal
on every input.

Clocked (sequential) designs: the same miter over a sequential model of both designs, proven
by ABC's ``dprove`` (signal correspondence of the registers, then induction: an unbounded
proof, not a bounded one). The model: one global step per clock *phase* (``clk``, ``rst`` and
``x`` are free inputs at every step, so every input sequence and reset timing is covered;
``clk2fflogic``); every register starts at 0 in both designs; a latch is a state element that
takes its data in the steps its enable is active and shows it from the next step (it is not
transparent). The latch's transparency is the same cell behaviour in both designs; the
RTL's design rule (no step writes an activation it reads, see
:class:`~bespoke_mlp.hdl.SequentialClassifier`) is what makes the real latch behave as this
model, and simulation checks it.
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

__all__ = ["FormalResult", "prove_equivalent", "prove_sequential"]

#: Techmap of Yosys' latch cells into the non-transparent state elements of the sequential
#: model (see the module docstring).
_LATCH_MODEL = """\
module \\$_DLATCH_P_ (input E, input D, output Q);
  \\$_FF_ _TECHMAP_REPLACE_ (.D(E ? D : Q), .Q(Q));
endmodule
module \\$_DLATCH_N_ (input E, input D, output Q);
  \\$_FF_ _TECHMAP_REPLACE_ (.D(E ? Q : D), .Q(Q));
endmodule
"""


@dataclass(frozen=True)
class FormalResult:
    """Outcome of :func:`prove_equivalent`: ``equivalent`` is True only for a proof."""

    equivalent: bool
    seconds: float
    and_nodes: int
    log: Path
    registers: int = 0


def _abc() -> Path:
    import pyosys

    return Path(pyosys.__file__).resolve().parent / "yosys-abc"


def prove_equivalent(rtl: list[Path], netlist: Path, top: str, *, work_dir: Path,
                     timeout: float = 600.0, models: Path = CELL_MODELS) -> FormalResult:
    """Prove that the gate ``netlist`` of ``top`` (with the cell ``models``, default EGFET
    1.0 V) computes exactly what the ``rtl`` sources do.

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
              f"read_verilog {quote_path(models)}", "proc", "flatten",
              "miter -equiv -flatten gold gate miter", "hierarchy -top miter", "opt_clean",
              "techmap", "opt -fast", "aigmap", f"write_aiger -zinit {quote_path(aig)}", ""]
    text, seconds, nodes, log = _prove(lines, aig, "iprove", "yosys-abc (equivalence)",
                                       work_dir=work_dir, timeout=timeout)
    if "UNSATISFIABLE" in text:
        return FormalResult(True, seconds, nodes, log)
    if "SATISFIABLE" in text:
        return FormalResult(False, seconds, nodes, log)
    raise ToolError(f"equivalence check gave no verdict; log: {log}\n{log_tail(log)}")


def _prove(lines: list[str], aig: Path, command: str, what: str, *, work_dir: Path,
           timeout: float) -> tuple[str, float, int, Path]:
    """Build the miter with the Yosys script ``lines`` into ``aig`` and run ABC's ``command``
    on it, both within ``timeout``: (ABC's log text, seconds, AND nodes, log path)."""
    start = time.perf_counter()
    run_yosys("\n".join(lines), script_path=work_dir / "miter.ys",
              log=work_dir / "miter.log", timeout=timeout)
    log = work_dir / "abc.log"
    remaining = max(1.0, timeout - (time.perf_counter() - start))
    run_tool([_abc(), "-c", f"read_aiger {aig}; print_stats; {command}"], log=log,
             timeout=remaining, what=what)
    text = log.read_text()
    nodes = int(text.split("and =", 1)[1].split()[0]) if "and =" in text else 0
    return text, time.perf_counter() - start, nodes, log


def prove_sequential(rtl: list[Path], netlist: Path, top: str, *, work_dir: Path,
                     timeout: float = 600.0, models: Path = CELL_MODELS) -> FormalResult:
    """Prove that the clocked gate ``netlist`` of ``top`` (with the cell ``models``) is
    sequentially equivalent to the ``rtl`` in the model of the module docstring.

    Returns a result with ``equivalent=False`` when ABC finds a distinguishing input sequence.

    Raises
    ------
    ToolError
        If Yosys or ABC fails, exceeds ``timeout`` or reports no verdict.
    """
    check_module_name(top)
    work_dir.mkdir(parents=True, exist_ok=True)
    aig, latch_map = work_dir / "miter.aig", work_dir / "latch_model.v"
    latch_map.write_text(_LATCH_MODEL)
    lines = [f"read_verilog {quote_path(p)}" for p in rtl]
    lines += [f"rename {top} gold", f"read_verilog {quote_path(netlist)}", f"rename {top} gate",
              f"read_verilog {quote_path(models)}", "proc", "flatten", "techmap",
              f"techmap -map {quote_path(latch_map)}", "clk2fflogic", "opt_clean",
              "miter -equiv -flatten gold gate miter", "hierarchy -top miter", "opt_clean",
              "techmap", "opt -fast", "dffunmap", "aigmap", "setundef -zero -init",
              f"write_aiger -zinit {quote_path(aig)}", ""]
    text, seconds, nodes, log = _prove(lines, aig, "dprove",
                                       "yosys-abc (sequential equivalence)",
                                       work_dir=work_dir, timeout=timeout)
    registers = int(text.split("lat =", 1)[1].split()[0]) if "lat =" in text else 0
    if "Networks are equivalent" in text:
        return FormalResult(True, seconds, nodes, log, registers)
    if "Networks are not equivalent" in text or "NOT EQUIVALENT" in text:
        return FormalResult(False, seconds, nodes, log, registers)
    raise ToolError(f"sequential equivalence check gave no verdict (ABC dprove may have been "
                    f"undecided); log: {log}\n{log_tail(log)}")
