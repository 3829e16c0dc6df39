"""Deriving a compact technology library from a characterised Liberty file.

The built-in libraries other than ``egfet_1v0.lib`` are derived from public characterised
Liberty files: :func:`derive_library` reads one with :func:`load_library` and writes the figures
the flow uses, per cell, as a small Liberty file of its own: area, mean and per-input-state
static power, internal energy per output transition, one typical delay, the Boolean function
(and for flip-flops and latches their storage group). Tables become scalars, so the derived
file holds facts (numbers), not the characterisation.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

from ..errors import UsageError
from ._liberty import Cell, Library, SeqCell, load_library

__all__ = ["derive_library", "write_register_cells"]


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _state_condition(cell: Cell, k: int) -> str:
    return " & ".join(pin if (k >> i) & 1 else f"!{pin}" for i, pin in enumerate(cell.inputs))


def _input_pin(pin: str, energy_pj: float, extra: str = "") -> str:
    """An input pin, with its internal energy per transition when it has one."""
    if not energy_pj:
        return f"    pin ({pin}) {{ direction : input; capacitance : 1.0;{extra} }}\n"
    return (f"    pin ({pin}) {{ direction : input; capacitance : 1.0;{extra}\n"
            "      internal_power () {\n"
            f'        rise_power (scalar) {{ values ("{_fmt(energy_pj)}"); }}\n'
            f'        fall_power (scalar) {{ values ("{_fmt(energy_pj)}"); }}\n'
            "      }\n    }\n")


def _combinational(cell: Cell, delay_ms: float) -> list[str]:
    out = [f"  cell ({cell.name}) {{\n",
           f"    area : {cell.area_um2:.10g};\n",
           f"    cell_leakage_power : {_fmt(cell.leakage_uw)};\n"]
    for k, value in enumerate(cell.leakage_states):
        out.append(f'    leakage_power () {{ when : "{_state_condition(cell, k)}"; '
                   f"value : {_fmt(value)}; }}\n")
    for pin, energy in zip(cell.inputs, cell.pin_pj or [0.0] * len(cell.inputs)):
        out.append(_input_pin(pin, energy))
    out += [f"    pin ({cell.output}) {{\n", "      direction : output;\n",
            f'      function : "{cell.function}";\n',
            "      internal_power () {\n",
            f'        rise_power (scalar) {{ values ("{_fmt(cell.internal_pj)}"); }}\n',
            f'        fall_power (scalar) {{ values ("{_fmt(cell.internal_pj)}"); }}\n',
            "      }\n"]
    for pin in cell.inputs:
        out += [f'      timing () {{ related_pin : "{pin}";\n',
                f'        cell_rise (scalar) {{ values ("{_fmt(delay_ms)}"); }}\n',
                f'        cell_fall (scalar) {{ values ("{_fmt(delay_ms)}"); }}\n',
                "      }\n"]
    out.append("    }\n  }\n")
    return out


def _register(cell: SeqCell, *, areas_only: bool = False) -> list[str]:
    clock = cell.clock if cell.clock_active else f"!{cell.clock}"
    out = [f"  cell ({cell.name}) {{\n", f"    area : {cell.area_um2:.10g};\n"]
    if not areas_only:
        out.append(f"    cell_leakage_power : {_fmt(cell.leakage_uw)};\n")
    energies = cell.pin_pj if cell.pin_pj and not areas_only else [0.0] * len(cell.inputs)
    for pin, energy in zip(cell.inputs, energies):
        out.append(_input_pin(pin, energy, " clock : true;" if pin == cell.clock else ""))
    if cell.kind == "ff":
        out += ["    ff (IQ, IQN) {\n", f'      clocked_on : "{clock}";\n',
                f'      next_state : "{cell.data}";\n']
    else:
        out += ["    latch (IQ, IQN) {\n", f'      enable : "{clock}";\n',
                f'      data_in : "{cell.data}";\n']
    if cell.clear is not None:
        level = cell.clear if cell.clear_active else f"!{cell.clear}"
        out.append(f'      clear : "{level}";\n')
    out.append("    }\n")
    edge = "rising_edge" if cell.clock_active else "falling_edge"
    for pin, function in ((cell.q, "IQ"), (cell.qn, "IQN")):
        if pin is None:
            continue
        out += [f"    pin ({pin}) {{\n", "      direction : output;\n",
                f'      function : "{function}";\n']
        if not areas_only:
            out += ["      internal_power () {\n",
                    f'        rise_power (scalar) {{ values ("{_fmt(cell.internal_pj)}"); }}\n',
                    f'        fall_power (scalar) {{ values ("{_fmt(cell.internal_pj)}"); }}\n',
                    "      }\n",
                    f'      timing () {{ related_pin : "{cell.clock}"; timing_type : {edge};\n',
                    f'        cell_rise (scalar) {{ values ("{_fmt(cell.delay_ms)}"); }}\n',
                    f'        cell_fall (scalar) {{ values ("{_fmt(cell.delay_ms)}"); }}\n',
                    "      }\n"]
        out.append("    }\n")
    out.append("  }\n")
    return out


_HEADER = """library ({name}) {{
  delay_model : table_lookup;
  time_unit : "1ms";
  voltage_unit : "1V";
  leakage_power_unit : "1uW";
  capacitive_load_unit (1, pf);
  nom_voltage : {voltage};
"""


def write_register_cells(library: Library, path: Path) -> None:
    """Write the library's flip-flops and latches (functions and areas only) for Yosys'
    ``dfflibmap``, which reads the storage groups of a Liberty file."""
    out = [_HEADER.format(name=f"{library.name}_registers", voltage=library.voltage or 1.0)]
    for cell in library.registers.values():
        out += _register(cell, areas_only=True)
    out.append("}\n")
    Path(path).write_text("".join(out))


def derive_library(source: Path, out: Path, *, name: str,
                   delays: tuple[Path, Path] | None = None) -> Library:
    """Write the compact library ``name`` derived from the characterised file ``source``.

    Parameters
    ----------
    source : a characterised Liberty file (state-dependent ``leakage_power``, internal power
        and delay tables; flip-flops and latches in ``ff``/``latch`` groups).
    out : the file to write.
    name : the library name written into it.
    delays : optional ``(calibrated, reference)`` libraries: each combinational cell's delay
        becomes its calibrated delay times the ratio of its ``source`` delay to its
        ``reference`` delay (so that a voltage's libraries keep the delays calibrated against
        published critical paths at the reference voltage and scale them as characterised).
        Cells missing in either keep the ``source`` delay.

    Returns
    -------
    Library
        The derived library as read back.
    """
    if not name.isidentifier():
        raise UsageError(f"library name {name!r} is not a simple identifier")
    lib = load_library(source)
    if lib.voltage is None:
        raise UsageError(f"{str(source)!r} gives no nom_voltage")
    calibrated, reference = (load_library(p) for p in delays) if delays else (None, None)
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16]
    scaled = (f", scaled: delay of {calibrated.name} x this file's / {reference.name}'s"
              if calibrated and reference else "")
    skipped = ", ".join(f"{k} ({v})" for k, v in lib.skipped.items()) or "none"
    comment = (
        f"{name}: derived by `bespoke-mlp tech derive` from {Path(source).name} (sha256 "
        f"{digest}...), supply {lib.voltage:g} V. Per cell: area (um^2); mean and "
        "per-input-state static power (uW, the characterised state-dependent leakage, supply "
        "pins summed); internal energy per output transition and per input-pin transition "
        "(pJ, mean of the characterised rise and fall tables over arcs and states, supply "
        "pins summed); one delay (ms, the slowest arc "
        f"at the table's centre{scaled}). Cells the flow cannot use (skipped): {skipped}."
    )
    text = [
        "/*" + "".join(f"\n * {line}" for line in textwrap.wrap(comment, 90)) + "\n */\n",
        _HEADER.format(name=name, voltage=_fmt(lib.voltage)),
    ]
    for cell in lib.cells.values():
        delay = cell.delay_ms
        if calibrated and reference and cell.name in calibrated.cells and (
                cell.name in reference.cells and reference.cells[cell.name].delay_ms > 0):
            delay = calibrated.cells[cell.name].delay_ms * (
                cell.delay_ms / reference.cells[cell.name].delay_ms)
        text += _combinational(cell, delay)
    for cell in lib.registers.values():
        text += _register(cell)
    text.append("}\n")
    Path(out).write_text("".join(text))
    return load_library(out)
