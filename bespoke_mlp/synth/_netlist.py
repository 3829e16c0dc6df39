"""Reading a mapped gate netlist (Yosys JSON) into library-cell instances and named nets."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ._liberty import Library

__all__ = ["Instance", "Netlist", "Register", "read_netlist"]

# A net bit: Yosys' integer id, or a constant "0", "1", "x" or "z".
Bit = int | str


@dataclass(frozen=True)
class Instance:
    """One cell instance: its name, library cell, input bits (library pin order), output bit."""

    name: str
    cell: str
    inputs: tuple[Bit, ...]
    output: Bit


@dataclass(frozen=True)
class Register:
    """One flip-flop or latch instance: its name, library cell, the bits on its data, clock
    and clear pins (clear None if the cell has none) and on its outputs (None: unconnected),
    stored bit first."""

    name: str
    cell: str
    data: Bit
    clock: Bit
    clear: Bit | None
    outputs: tuple[Bit | None, ...]


@dataclass(frozen=True)
class Netlist:
    """The top module of a mapped netlist.

    Attributes
    ----------
    top : module name.
    instances : combinational cell instances, in the file's order.
    registers : flip-flop and latch instances, in the file's order.
    ports : port name -> (direction, bits).
    bit_names : net bit -> its names as written in Verilog (``n``, or ``n[i]`` for a bit of a
        vector), sorted.
    """

    top: str
    instances: tuple[Instance, ...]
    ports: Mapping[str, tuple[str, tuple[Bit, ...]]]
    bit_names: Mapping[Bit, tuple[str, ...]]
    registers: tuple[Register, ...] = ()

    @property
    def cell_counts(self) -> dict[str, int]:
        """Instances per cell type (registers too), sorted by name."""
        return dict(sorted(Counter(i.cell for i in (*self.instances, *self.registers)).items()))

    def output_bits(self) -> list[Bit]:
        """Bits of all output ports."""
        return [b for direction, bits in self.ports.values() if direction == "output" for b in bits]


def _verilog_names(name: str, entry: Mapping) -> list[tuple[Bit, str]]:
    """(bit, Verilog name) for each bit of a JSON ``netnames``/``ports`` entry."""
    bits = entry["bits"]
    offset = int(entry.get("offset", 0))
    if len(bits) == 1 and offset == 0:
        return [(bits[0], name)]
    width = len(bits)
    upto = bool(entry.get("upto", 0))
    return [
        (bit, f"{name}[{offset + (width - 1 - k if upto else k)}]") for k, bit in enumerate(bits)
    ]


def _top_module(modules: Mapping, path: Path, top: str | None) -> tuple[str, Mapping]:
    if top is not None:
        if top not in modules:
            raise UsageError(f"netlist {str(path)!r} has no module {top!r}")
        return top, modules[top]
    candidates = [
        name for name, m in modules.items()
        if not int(m.get("attributes", {}).get("blackbox", "0") or "0", 2)
    ]
    marked = [n for n in candidates if int(modules[n].get("attributes", {}).get("top", "0"), 2)]
    chosen = marked or candidates
    if len(chosen) != 1:
        raise UsageError(
            f"netlist {str(path)!r} has modules {sorted(chosen)!r}; name the top module"
        )
    return chosen[0], modules[chosen[0]]


def _pin_bit(connections: Mapping, pin: str | None) -> Bit | None:
    """The bit on ``pin`` (None for no pin or an unconnected one)."""
    return connections[pin][0] if pin in connections and connections[pin] else None


def read_netlist(path: Path, library: Library, *, top: str | None = None) -> Netlist:
    """Read the top module of a Yosys JSON netlist mapped onto ``library``.

    Raises
    ------
    UsageError
        If the file is unreadable or not a Yosys JSON netlist, or holds cells that are not
        cells of ``library`` (e.g. unmapped logic or cells the library skipped).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        name, module = _top_module(data["modules"], path, top)
        ports = {
            p: (entry["direction"], tuple(entry["bits"]))
            for p, entry in module.get("ports", {}).items()
        }
        instances = []
        registers = []
        foreign: Counter[str] = Counter()
        for inst_name, cell in module.get("cells", {}).items():
            lib_cell = library.cells.get(cell["type"])
            conn = cell["connections"]
            reg = library.registers.get(cell["type"])
            if reg is not None:
                registers.append(Register(
                    name=inst_name, cell=reg.name, data=conn[reg.data][0],
                    clock=conn[reg.clock][0], clear=_pin_bit(conn, reg.clear),
                    outputs=tuple(_pin_bit(conn, pin) for pin in reg.outputs)))
                continue
            if lib_cell is None:
                foreign[cell["type"]] += 1
                continue
            instances.append(Instance(
                name=inst_name,
                cell=lib_cell.name,
                inputs=tuple(conn[pin][0] for pin in lib_cell.inputs),
                output=conn[lib_cell.output][0],
            ))
        names: dict[Bit, list[str]] = {}
        for net, entry in module.get("netnames", {}).items():
            for bit, verilog_name in _verilog_names(net, entry):
                names.setdefault(bit, []).append(verilog_name)
    except OSError as exc:
        raise UsageError(f"cannot read netlist {str(path)!r}: {exc.strerror}") from exc
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UsageError(f"{str(path)!r} is not a Yosys JSON netlist ({exc!r})") from exc
    if foreign:
        reasons = "; ".join(f"{c}: {library.skipped[c]}" for c in sorted(foreign)
                            if c in library.skipped)
        if any(c.startswith(("$_DFF", "$_SDFF", "$_DLATCH", "$_ALDFF")) for c in foreign):
            reasons = "; ".join(filter(None, [reasons, (
                "flip-flops or latches that no register cell of the library implements "
                f"(its registers: {', '.join(library.registers) or 'none'})")]))
        raise UsageError(
            f"netlist {str(path)!r} has cells that library {library.name!r} cannot model: "
            f"{dict(sorted(foreign.items()))!r}" + (f" ({reasons})" if reasons else "")
        )
    return Netlist(
        top=name,
        instances=tuple(instances),
        ports=ports,
        bit_names={bit: tuple(sorted(n)) for bit, n in names.items()},
        registers=tuple(registers),
    )
