"""Verilog simulation models of a library's cells, written from their Liberty functions."""

from __future__ import annotations

from pathlib import Path

from ._liberty import Cell, Library, SeqCell, _BoolExpr, _BoolParser

__all__ = ["write_cell_models"]

_OPS = {"and": " & ", "or": " | ", "xor": " ^ "}


def _verilog(expr: _BoolExpr, top: bool = False) -> str:
    """Verilog text of a parsed Liberty function; operators bracketed unless ``top``."""
    op, arg = expr
    if op == "pin":
        return arg
    if op == "const":
        return f"1'b{arg}"
    if op == "not":
        inner = _verilog(arg)
        return f"~({inner})" if arg[0] == "not" else f"~{inner}"
    text = _OPS[op].join(_verilog(e) for e in arg)
    return text if top else f"({text})"


def _combinational(cell: Cell) -> str:
    ports = ", ".join([*(f"input {p}" for p in cell.inputs), f"output {cell.output}"])
    expr = _verilog(_BoolParser(cell.function, cell.inputs).parse(), top=True)
    return f"module {cell.name} ({ports});\n  assign {cell.output} = {expr};\nendmodule\n"


def _register(cell: SeqCell) -> str:
    ports = ", ".join([*(f"input {p}" for p in cell.inputs),
                       *(f"output {p}" for p in cell.outputs)])
    active = cell.clock if cell.clock_active else f"~{cell.clock}"
    clear = None
    if cell.clear is not None:
        clear = cell.clear if cell.clear_active else f"~{cell.clear}"
    lines = [f"module {cell.name} ({ports});\n", "  reg IQ;\n"]
    if cell.kind == "ff":
        edge = "posedge" if cell.clock_active else "negedge"
        if clear is None:
            lines.append(f"  always @({edge} {cell.clock}) IQ <= {cell.data};\n")
        else:
            clear_edge = "posedge" if cell.clear_active else "negedge"
            lines.append(f"  always @({edge} {cell.clock} or {clear_edge} {cell.clear})\n"
                         f"    if ({clear}) IQ <= 1'b0; else IQ <= {cell.data};\n")
    else:
        guard = f"if ({clear}) IQ = 1'b0; else " if clear is not None else ""
        lines.append(f"  always @* {guard}if ({active}) IQ = {cell.data};\n")
    if cell.q is not None:
        lines.append(f"  assign {cell.q} = IQ;\n")
    if cell.qn is not None:
        lines.append(f"  assign {cell.qn} = ~IQ;\n")
    lines.append("endmodule\n")
    return "".join(lines)


def write_cell_models(library: Library, path: Path) -> Path:
    """Write zero-delay Verilog models of every cell and register of ``library`` (module and
    pin names as in the Liberty file), for gate-level simulation of netlists mapped onto it;
    returns ``path``."""
    parts = [f"// Zero-delay simulation models of the cells of {library.name} "
             f"({library.path.name}),\n// written by bespoke_mlp.synth from the Liberty "
             "functions.\n"]
    parts += ["\n" + _combinational(c) for c in library.cells.values()]
    parts += ["\n" + _register(c) for c in library.registers.values()]
    Path(path).write_text("".join(parts))
    return Path(path)
