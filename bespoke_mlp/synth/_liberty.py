"""Reading the cell library (a Liberty subset) and writing the mapper's variant of it.

The technology model lives in one Liberty file (``tech/egfet_1v0.lib``): per cell its area,
leakage (static) power, internal energy per output transition, pin-to-output delays and Boolean
function. :func:`load_library` reads those numbers into a :class:`Library` in fixed units (µm²,
µW, pJ, ms) whatever units the file declares. :func:`write_mapper_library` writes the variant
that ABC maps onto: the same cells plus a buffer built from two inverters (ABC needs one; the
EGFET library has none), in units ABC's mappers accept, with each cell's mapping cost
(:func:`mapping_costs`) as its area.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from ..errors import UsageError

__all__ = [
    "Cell",
    "SeqCell",
    "Library",
    "DEFAULT_LIBERTY",
    "CELL_MODELS",
    "MAPPER_BUFFER",
    "DEFAULT_MAPPING",
    "MAPPINGS",
    "POWER_MAPPING_WEIGHT",
    "MappingCost",
    "load_library",
    "mapping_costs",
    "write_mapper_library",
    "write_buffer_expansion",
]

# Package data, so that a wheel install finds the library too.
_TECH_DIR = Path(str(resources.files("bespoke_mlp").joinpath("tech")))
DEFAULT_LIBERTY = _TECH_DIR / "egfet_1v0.lib"
"""The EGFET 1.0 V library of the repository (``tech/egfet_1v0.lib``)."""
CELL_MODELS = _TECH_DIR / "egfet_cells.v"
"""Verilog simulation models of the library cells (``tech/egfet_cells.v``)."""
MAPPER_BUFFER = "MAPBUF"
"""Name of the two-inverter buffer that only the mapper's library contains."""

# The mapper library states areas in units of 1000 µm² (and delays in ms) to keep its numbers
# at CMOS-like magnitudes: ABC's classic ``map`` rejected a µm²/ns-scaled EGFET library.
_MAPPER_AREA_UNIT_UM2 = 1000.0

MappingCost = Literal["area", "power"]
"""What ABC's mapper minimizes: cell ``area``, or ``power``: area plus weighted leakage (see
:func:`mapping_costs`)."""
MAPPINGS: tuple[str, ...] = get_args(MappingCost)
DEFAULT_MAPPING: MappingCost = "power"
"""The default mapping: EGFET power is almost all static leakage, and the cells' leakage per
area differs by up to 2.4x (measured in ``tech/README.md``: 2.7-12.3 % less leakage for -2.4 to
+1.0 % area on five reference designs)."""
POWER_MAPPING_WEIGHT = 1.0
"""``mu`` of the ``power`` mapping's cost ``area + mu * leakage * (A_ref / L_ref)``: 1 weighs a
cell's leakage, in area of the reference cell that leaks as much, like its area (0.5 and 2
measured alike; 4 grew area by 2-4 %)."""


@dataclass(frozen=True)
class Cell:
    """One combinational library cell, in fixed units.

    Attributes
    ----------
    name : the cell (and Verilog module) name.
    inputs : input pin names, in library order.
    output : the output pin name.
    function : the output's Boolean function in Liberty syntax.
    area_um2 : area in µm².
    leakage_uw : static power in µW.
    internal_pj : internal energy per output transition in pJ (mean of rise and fall).
    delay_ms : the slowest input-to-output delay in ms.
    leakage_states : static power in µW per input state (entry ``k`` has input ``i`` = bit
        ``i`` of k), from the file's state-dependent ``leakage_power`` groups; empty when the
        file gives one figure only (``leakage_uw`` then applies in every state).
    pin_pj : internal energy per transition of each input pin in pJ, in ``inputs`` order
        (drawn whether or not the output switches); empty when the file gives none.
    """

    name: str
    inputs: tuple[str, ...]
    output: str
    function: str
    area_um2: float
    leakage_uw: float
    internal_pj: float
    delay_ms: float
    leakage_states: tuple[float, ...] = ()
    pin_pj: tuple[float, ...] = ()

    @functools.cached_property
    def truth_table(self) -> tuple[int, ...]:
        """Output for every input assignment; entry ``k`` has input ``i`` = bit ``i`` of k."""
        expr = _BoolParser(self.function, self.inputs).parse()
        return tuple(
            _evaluate(expr, {pin: (k >> i) & 1 for i, pin in enumerate(self.inputs)})
            for k in range(1 << len(self.inputs))
        )


@dataclass(frozen=True)
class SeqCell:
    """A one-bit storage cell: an edge-triggered flip-flop (``kind`` ``"ff"``) or a
    level-sensitive latch (``"latch"``), in fixed units.

    Attributes
    ----------
    name : the cell (and Verilog module) name.
    kind : ``"ff"`` or ``"latch"``.
    inputs : input pin names, in library order.
    clock, clock_active : the clock (latch enable) pin and its active level: 1 for a rising
        edge or an enable that is active high, 0 for a falling edge or an active-low enable.
    data : the data pin (``next_state`` / ``data_in``).
    clear, clear_active : the asynchronous clear pin and the level that clears (or None).
    q, qn : the pins giving the stored bit and its complement (either may be None).
    area_um2, leakage_uw : area (µm²) and mean static power (µW).
    internal_pj : internal energy per output transition in pJ.
    delay_ms : clock-to-output delay in ms.
    pin_pj : internal energy per transition of each input pin in pJ, in ``inputs`` order; the
        clock pin's is drawn on every clock edge, whether or not the stored bit changes (empty
        when the file gives none).
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    clock: str
    clock_active: int
    data: str
    clear: str | None
    clear_active: int
    q: str | None
    qn: str | None
    area_um2: float
    leakage_uw: float
    internal_pj: float
    delay_ms: float
    pin_pj: tuple[float, ...] = ()

    @property
    def outputs(self) -> tuple[str, ...]:
        """The output pins, stored bit first."""
        return tuple(p for p in (self.q, self.qn) if p is not None)


@dataclass(frozen=True)
class Library:
    """The cells of a Liberty file in fixed units, each mapping read-only and sorted by name.

    Attributes
    ----------
    name, path : the library's name and file.
    cells : combinational single-output cells (what the logic maps onto).
    voltage : the supply voltage the file is characterised at (``nom_voltage``), if given.
    registers : flip-flops and latches (what Yosys' ``dfflibmap`` maps registers onto).
    skipped : cells the flow cannot use, with the reason (e.g. a tri-state buffer).
    """

    name: str
    path: Path
    cells: Mapping[str, Cell]
    voltage: float | None = None
    registers: Mapping[str, SeqCell] = dataclasses.field(
        default_factory=lambda: MappingProxyType({}))
    skipped: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def cell(self, name: str) -> Cell | SeqCell:
        """The cell or register called ``name``; raises UsageError if the library has none."""
        found = self.cells.get(name) or self.registers.get(name)
        if found is None:
            reason = f" ({self.skipped[name]})" if name in self.skipped else ""
            raise UsageError(
                f"cell {name!r} is not usable in library {str(self.path)!r}{reason} "
                f"(cells: {', '.join(sorted({*self.cells, *self.registers}))})"
            )
        return found

    @property
    def inverter(self) -> Cell:
        """The smallest inverter; raises UsageError if there is none."""
        inverters = [c for c in self.cells.values() if c.truth_table == (1, 0)]
        if not inverters:
            raise UsageError(f"library {str(self.path)!r} has no inverter cell (function !A)")
        return min(inverters, key=lambda c: (c.area_um2, c.name))


# ---------------------------------------------------------------------------------------------
# Liberty syntax: groups ``name (args) { ... }``, simple attributes ``name : value ;`` and
# complex attributes ``name (args) ;``.


@dataclass
class _Group:
    kind: str
    args: list[str]
    attrs: dict[str, str]
    complex_attrs: dict[str, list[str]]
    groups: list[_Group]

    def children(self, kind: str) -> list[_Group]:
        return [g for g in self.groups if g.kind == kind]


_TOKEN = re.compile(
    r"""
      (?P<space>\s+|\\\n)
    | (?P<comment>/\*.*?\*/|//[^\n]*)
    | (?P<string>"(?:\\.|[^"\\])*")
    | (?P<punct>[(){}:;,])
    | (?P<word>[^\s(){}:;,"]+)
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokenize(text: str, path: Path) -> list[tuple[str, int]]:
    tokens = []
    pos = 0
    line = 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise UsageError(f"{str(path)!r} line {line}: cannot parse Liberty text {text[pos]!r}")
        kind = m.lastgroup
        if kind == "string":
            tokens.append((m.group()[1:-1], line))
        elif kind in ("punct", "word"):
            tokens.append((m.group(), line))
        line += m.group().count("\n")
        pos = m.end()
    return tokens


class _LibertyParser:
    def __init__(self, text: str, path: Path) -> None:
        self.path = path
        self.tokens = _tokenize(text, path)
        self.pos = 0

    def error(self, message: str) -> UsageError:
        line = self.tokens[min(self.pos, len(self.tokens) - 1)][1] if self.tokens else 1
        return UsageError(f"{str(self.path)!r} line {line}: {message}")

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end of file")
        if expected is not None and tok != expected:
            raise self.error(f"expected {expected!r}, found {tok!r}")
        self.pos += 1
        return tok

    def parse(self) -> _Group:
        kind = self.take()
        args = self.arguments()
        if self.peek() != "{":
            raise self.error("a Liberty file must start with a library group")
        group = self.body(kind, args)
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r} after the library group")
        return group

    def arguments(self) -> list[str]:
        self.take("(")
        args: list[str] = []
        while self.peek() != ")":
            tok = self.take()
            if tok != ",":
                args.append(tok)
        self.take(")")
        return args

    def skip_semicolon(self) -> None:
        # Some writers omit the semicolon after an attribute.
        if self.peek() == ";":
            self.take(";")

    def body(self, kind: str, args: list[str]) -> _Group:
        self.take("{")
        group = _Group(kind, args, {}, {}, [])
        while self.peek() != "}":
            name = self.take()
            if self.peek() == ":":
                self.take(":")
                group.attrs[name] = self.take()
                self.skip_semicolon()
            elif self.peek() == "(":
                child_args = self.arguments()
                if self.peek() == "{":
                    group.groups.append(self.body(name, child_args))
                else:
                    group.complex_attrs[name] = child_args
                    self.skip_semicolon()
            else:
                raise self.error(f"expected ':' or '(' after {name!r}")
        self.take("}")
        return group


# ---------------------------------------------------------------------------------------------
# Boolean functions in Liberty syntax: ``!`` and postfix ``'`` negate; ``^`` xor; ``&``, ``*``
# or juxtaposition and; ``|`` or ``+`` or; precedence in that order. Parsed into nested tuples
# ``("pin", name)``, ``("const", v)``, ``("not", e)``, ``("xor" | "and" | "or", [e, ...])``.

_BOOL_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[01]|[!'^&*|+()])")
_BoolExpr = tuple


class _BoolParser:
    def __init__(self, text: str, pins: tuple[str, ...]) -> None:
        self.text = text
        self.pins = pins
        self.tokens: list[str] = []
        stripped = text.rstrip()
        pos = 0
        while pos < len(stripped):
            m = _BOOL_TOKEN.match(stripped, pos)
            if m is None:
                raise UsageError(f"cannot parse Boolean function {text!r}")
            self.tokens.append(m.group(1))
            pos = m.end()
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise UsageError(f"Boolean function {self.text!r} ends unexpectedly")
        self.pos += 1
        return tok

    def parse(self) -> _BoolExpr:
        expr = self.binary("or")
        if self.peek() is not None:
            raise UsageError(f"unexpected {self.peek()!r} in Boolean function {self.text!r}")
        return expr

    def binary(self, op: str) -> _BoolExpr:
        lower = {"or": "and", "and": "xor"}.get(op)
        operand = (lambda: self.binary(lower)) if lower else self.unary
        operands = [operand()]
        while True:
            tok = self.peek()
            if op == "or" and tok in ("|", "+"):
                self.take()
            elif op == "and" and tok in ("&", "*"):
                self.take()
            elif op == "and" and tok is not None and tok not in ("|", "+", ")", "^", "'"):
                pass  # juxtaposition: "A B" is A and B
            elif op == "xor" and tok == "^":
                self.take()
            else:
                break
            operands.append(operand())
        return operands[0] if len(operands) == 1 else (op, operands)

    def unary(self) -> _BoolExpr:
        tok = self.take()
        if tok == "!":
            expr: _BoolExpr = ("not", self.unary())
        elif tok == "(":
            expr = self.binary("or")
            if self.take() != ")":
                raise UsageError(f"unbalanced parentheses in Boolean function {self.text!r}")
        elif tok in ("0", "1"):
            expr = ("const", int(tok))
        elif tok in self.pins:
            expr = ("pin", tok)
        else:
            raise UsageError(f"Boolean function {self.text!r} uses unknown pin {tok!r}")
        while self.peek() == "'":
            self.take()
            expr = ("not", expr)
        return expr


def _evaluate(expr: _BoolExpr, env: Mapping[str, int]) -> int:
    op, arg = expr
    if op == "pin":
        return env[arg]
    if op == "const":
        return arg
    if op == "not":
        return 1 - _evaluate(arg, env)
    values = [_evaluate(e, env) for e in arg]
    if op == "and":
        return int(all(values))
    if op == "or":
        return int(any(values))
    return functools.reduce(operator.xor, values)


# ---------------------------------------------------------------------------------------------
# Units.

_PREFIX = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3}


def _unit(text: str, base: str, path: Path) -> float:
    """Value in SI units of a Liberty unit such as ``"1ms"``, ``"10uW"`` or ``"1pf"``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([A-Za-z]+)\s*", text)
    word = m.group(2) if m else ""
    prefix = word[: -len(base)]
    if m is None or word[-len(base):].lower() != base.lower() or prefix not in _PREFIX:
        raise UsageError(f"{str(path)!r}: cannot read unit {text!r} (expected e.g. '1n{base}')")
    return float(m.group(1)) * _PREFIX[prefix]


def _table_values(group: _Group, path: Path) -> list[float]:
    values = group.complex_attrs.get("values")
    if not values:
        raise UsageError(f"{str(path)!r}: table {group.kind!r} has no values")
    numbers = [v for item in values for v in item.replace("\\", " ").split(",") if v.strip()]
    try:
        return [float(v) for v in numbers]
    except ValueError:
        raise UsageError(f"{str(path)!r}: non-numeric values in table {group.kind!r}") from None


def _float_attr(group: _Group, name: str, path: Path, default: float | None = None) -> float:
    if name not in group.attrs:
        if default is not None:
            return default
        raise UsageError(f"{str(path)!r}: {group.kind} {' '.join(group.args)!r} lacks {name!r}")
    try:
        return float(group.attrs[name])
    except ValueError:
        raise UsageError(
            f"{str(path)!r}: {name} of {group.kind} {' '.join(group.args)!r} is not a number: "
            f"{group.attrs[name]!r}"
        ) from None


def _center(table: _Group, path: Path) -> float:
    """A table's typical entry: the middle of each index (a scalar table's one value)."""
    values = _table_values(table, path)
    sizes = [len([v for item in table.complex_attrs.get(f"index_{i}", []) for v in
                  item.split(",") if v.strip()]) for i in (1, 2)]
    n1, n2 = sizes if sizes[0] * max(sizes[1], 1) == len(values) else (len(values), 1)
    n2 = max(n2, 1)
    return values[(n1 // 2) * n2 + n2 // 2]


def _delay(pin: _Group, timing_types: set[str], path: Path) -> float:
    """The slowest typical delay of ``pin``'s timing arcs of the given types (0 if none)."""
    return max((
        _center(table, path)
        for timing in pin.children("timing")
        if timing.attrs.get("timing_type", "combinational") in timing_types
        for table in timing.groups
        if table.kind in ("cell_rise", "cell_fall")
    ), default=0.0)


def _energy(pins: list[_Group], path: Path) -> float:
    """Mean internal energy per transition of ``pins`` (outputs: per output transition; an
    input: per transition of that input): per pin, arc (related pin), state (``when``) and
    direction, the groups of all supply pins summed (a file may split the energy between VDD
    and VSS); the mean over those."""
    sums: dict[tuple[str, str, str, str], float] = {}
    for pin in pins:
        for power in pin.children("internal_power"):
            for table in power.groups:
                if table.kind in ("rise_power", "fall_power", "power"):
                    values = _table_values(table, path)
                    key = (pin.args[0], power.attrs.get("related_pin", ""),
                           power.attrs.get("when", ""), table.kind)
                    sums[key] = sums.get(key, 0.0) + sum(values) / len(values)
    return sum(sums.values()) / len(sums) if sums else 0.0


def _pin_energies(group: _Group, inputs: tuple[str, ...], pj: float,
                  path: Path) -> tuple[float, ...]:
    """Internal energy per transition of each input pin (pJ), or ``()`` if the file gives
    none."""
    pins = {p.args[0]: p for p in group.children("pin")}
    energies = tuple(_energy([pins[name]], path) * pj for name in inputs)
    return energies if any(energies) else ()


def _literal(text: str, pins: tuple[str, ...]) -> tuple[str, int] | None:
    """``(pin, 1)`` for a plain pin, ``(pin, 0)`` for its negation, else None."""
    expr = _BoolParser(text, pins).parse()
    if expr[0] == "pin":
        return expr[1], 1
    if expr[0] == "not" and expr[1][0] == "pin":
        return expr[1][1], 0
    return None


def _leakage_states(group: _Group, cell: Cell, uw: float, path: Path) -> tuple[float, ...]:
    """Static power per input state from the ``leakage_power`` groups with a ``when``
    condition (summed over supply pins); a state no condition covers gets the mean."""
    values: dict[str, float] = {}
    for g in group.children("leakage_power"):
        if "when" in g.attrs:
            values[g.attrs["when"]] = values.get(g.attrs["when"], 0.0) + _float_attr(
                g, "value", path)
    if not values:
        return ()
    pins = (*cell.inputs, cell.output)
    conditions = [(_BoolParser(when, pins).parse(), v) for when, v in values.items()]
    states = []
    for k, y in enumerate(cell.truth_table):
        env = {pin: (k >> i) & 1 for i, pin in enumerate(cell.inputs)} | {cell.output: y}
        found = [v for expr, v in conditions if _evaluate(expr, env)]
        states.append(found[0] * uw if found else cell.leakage_uw)
    return tuple(states)


def _read_register(group: _Group, storage: _Group, inputs: tuple[str, ...],
                   outputs: list[_Group], units: tuple[float, float, float],
                   path: Path) -> SeqCell | str:
    """A flip-flop or latch, or the reason the flow cannot use it."""
    ms, uw, pj = units
    name = group.args[0]
    kind = storage.kind
    clock_attr, data_attr = ("clocked_on", "next_state") if kind == "ff" else (
        "enable", "data_in")
    if "preset" in storage.attrs:
        return "asynchronous preset is not supported"
    if clock_attr not in storage.attrs or data_attr not in storage.attrs:
        return f"its {kind} group lacks {clock_attr!r} or {data_attr!r}"
    clock = _literal(storage.attrs[clock_attr], inputs)
    data = _literal(storage.attrs[data_attr], inputs)
    clear = _literal(storage.attrs["clear"], inputs) if "clear" in storage.attrs else None
    if clock is None or data is None or data[1] == 0 or (
            "clear" in storage.attrs and clear is None):
        return (f"{kind} functions {dict(storage.attrs)!r} are not supported (the clock, "
                "data and clear must each be a pin or its negation)")
    state, inverse = (storage.args + ["", ""])[:2]
    pins: dict[str, str] = {}
    for out in outputs:
        function = out.attrs.get("function", "").replace(" ", "")
        if function == state:
            pins["q"] = out.args[0]
        elif function in (inverse, f"!{state}", f"{state}'"):
            pins["qn"] = out.args[0]
        else:
            return f"output {out.args[0]!r} has the unsupported function {function!r}"
    return SeqCell(
        name=name, kind=kind, inputs=inputs, clock=clock[0], clock_active=clock[1],
        data=data[0], clear=None if clear is None else clear[0],
        clear_active=1 if clear is None else clear[1],
        q=pins.get("q"), qn=pins.get("qn"),
        area_um2=_float_attr(group, "area", path),
        leakage_uw=_float_attr(group, "cell_leakage_power", path, 0.0) * uw,
        internal_pj=_energy(outputs, path) * pj,
        delay_ms=max(_delay(out, {"rising_edge", "falling_edge"}, path) for out in outputs) * ms,
        pin_pj=_pin_energies(group, inputs, pj, path),
    )


def _read_cell(group: _Group, units: tuple[float, float, float],
               path: Path) -> Cell | SeqCell | str:
    """A combinational single-output cell or a register, or the reason the flow cannot use
    the cell."""
    ms, uw, pj = units
    pins = group.children("pin")
    inputs = tuple(p.args[0] for p in pins if p.attrs.get("direction") == "input")
    outputs = [p for p in pins if p.attrs.get("direction") == "output"]
    storage = group.children("ff") + group.children("latch")
    if group.children("statetable") or len(storage) > 1:
        return "state tables and multi-bit storage are not supported"
    if storage:
        return _read_register(group, storage[0], inputs, outputs, units, path)
    if any("three_state" in p.attrs for p in outputs):
        return "a tri-state output is not supported"
    if len(outputs) != 1 or "function" not in outputs[0].attrs or not inputs:
        return "only single-output cells with a function of their inputs are supported"
    out = outputs[0]
    cell = Cell(
        name=group.args[0],
        inputs=inputs,
        output=out.args[0],
        function=out.attrs["function"],
        area_um2=_float_attr(group, "area", path),
        leakage_uw=_float_attr(group, "cell_leakage_power", path, 0.0) * uw,
        internal_pj=_energy([out], path) * pj,
        delay_ms=_delay(out, _COMBINATIONAL, path) * ms,
        pin_pj=_pin_energies(group, inputs, pj, path),
    )
    cell.truth_table  # noqa: B018 - parse the function now, so a bad one fails on loading
    return dataclasses.replace(cell, leakage_states=_leakage_states(group, cell, uw, path))


_COMBINATIONAL = {"combinational", "combinational_rise", "combinational_fall"}


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> Library:
    del mtime_ns  # part of the cache key only: an edited file is read again
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read Liberty file {str(path)!r}: {exc.strerror}") from exc
    root = _LibertyParser(text, path).parse()
    if root.kind != "library":
        raise UsageError(f"{str(path)!r} is not a Liberty library (top group {root.kind!r})")
    attrs = root.attrs
    ms = _unit(attrs.get("time_unit", "1ns"), "s", path) / 1e-3
    uw = _unit(attrs.get("leakage_power_unit", "1nW"), "W", path) / 1e-6
    volt = _unit(attrs.get("voltage_unit", "1V"), "V", path)
    cap_value, cap_unit = root.complex_attrs.get("capacitive_load_unit", ["1", "pf"])
    cap = float(cap_value) * _unit(f"1{cap_unit}", "F", path)
    pj = cap * volt * volt / 1e-12
    cells: dict[str, Cell] = {}
    registers: dict[str, SeqCell] = {}
    skipped: dict[str, str] = {}
    for group in root.children("cell"):
        name = group.args[0] if group.args else ""
        try:
            cell = _read_cell(group, (ms, uw, pj), path)
        except UsageError as exc:
            raise UsageError(f"{str(path)!r}: cell {name!r}: {exc}") from None
        if isinstance(cell, Cell):
            cells[name] = cell
        elif isinstance(cell, SeqCell):
            registers[name] = cell
        else:
            skipped[name] = cell
    if not cells:
        raise UsageError(f"Liberty file {str(path)!r} has no usable combinational cells")
    conditions = root.children("operating_conditions")
    voltage = attrs.get("nom_voltage") or (
        conditions[0].attrs.get("voltage") if conditions else None)
    return Library(
        name=root.args[0] if root.args else path.stem,
        path=path,
        cells=MappingProxyType(dict(sorted(cells.items()))),
        voltage=None if voltage is None else float(voltage) * volt,
        registers=MappingProxyType(dict(sorted(registers.items()))),
        skipped=MappingProxyType(dict(sorted(skipped.items()))),
    )


def load_library(path: Path | None = None) -> Library:
    """Read a Liberty file (default: :data:`DEFAULT_LIBERTY`).

    Only combinational, single-output cells are kept. Units are converted from the file's
    ``time_unit``, ``leakage_power_unit``, ``voltage_unit`` and ``capacitive_load_unit``
    (internal energy = capacitance unit × voltage unit²); areas are taken as µm².

    Raises
    ------
    UsageError
        If the file is missing, malformed or holds no usable cell.
    """
    path = Path(DEFAULT_LIBERTY if path is None else path).resolve()
    if not path.is_file():
        raise UsageError(f"Liberty file {str(path)!r} does not exist")
    return _load(path, path.stat().st_mtime_ns)


def _fmt(value: float) -> str:
    return f"{value:.10g}"


def _mapper_buffer(library: Library) -> Cell:
    inv = library.inverter
    return Cell(MAPPER_BUFFER, ("A",), "Y", "A", 2 * inv.area_um2, 2 * inv.leakage_uw, 0.0,
                2 * inv.delay_ms)


def _leakage_reference(library: Library) -> Cell:
    """The smallest 2-input NAND, else the inverter: the cell power mapping's leakage is
    expressed in area of."""
    nands = [c for c in library.cells.values() if c.truth_table == (1, 1, 1, 0)]
    return min(nands, key=lambda c: (c.area_um2, c.name)) if nands else library.inverter


def mapping_costs(library: Library, mapping: MappingCost = DEFAULT_MAPPING) -> dict[str, float]:
    """The cost (µm²) of each cell, register and :data:`MAPPER_BUFFER` for ``mapping``.

    ``area``: the cell's area. ``power``: ``area + mu * leakage * (A_ref / L_ref)`` with mean
    leakage, ``mu`` = :data:`POWER_MAPPING_WEIGHT` and ``A_ref``, ``L_ref`` the area and leakage
    of the smallest 2-input NAND (the inverter if the library has none), so that a cell that
    leaks like the reference costs its area plus the reference's area (leakage 0 in the
    reference leaves only the areas).

    Raises
    ------
    UsageError
        For an unknown ``mapping``.
    """
    if mapping not in MAPPINGS:
        raise UsageError(f"mapping must be one of {', '.join(MAPPINGS)}, got {mapping!r}")
    cells: list[Cell | SeqCell] = [*library.cells.values(), *library.registers.values(),
                                   _mapper_buffer(library)]
    ref = _leakage_reference(library)
    per_uw = 0.0
    if mapping == "power" and ref.leakage_uw > 0:
        per_uw = POWER_MAPPING_WEIGHT * ref.area_um2 / ref.leakage_uw
    return {c.name: c.area_um2 + per_uw * c.leakage_uw for c in cells}


def write_mapper_library(library: Library, path: Path,
                         mapping: MappingCost = DEFAULT_MAPPING) -> None:
    """Write the library ABC maps onto: every cell plus :data:`MAPPER_BUFFER`.

    A cell's ``area`` is its mapping cost (:func:`mapping_costs` of ``mapping``: the real area
    only for ``"area"``) in units of 1000 µm²; ``cell_leakage_power`` is its mean leakage in
    µW, and delays are in ms written as if ns (ABC compares them only with each other); each
    delay becomes a constant 3×3 table, the smallest table from which ABC derives gate delays
    for its classic mapper. Reported figures never come from this file.

    Raises
    ------
    UsageError
        For an unknown ``mapping``.
    """
    costs = mapping_costs(library, mapping)
    inv = library.inverter
    cells = [*library.cells.values(), _mapper_buffer(library)]
    out = [
        f"/* Generated by bespoke_mlp.synth from {library.path.name} for ABC only: areas are\n"
        f"   {mapping} mapping costs in units of 1000 um^2, delays in ms (declared ns).\n"
        f"   {MAPPER_BUFFER} = two {inv.name}. */\n",
        f"library ({library.name}_mapper) {{\n",
        "  delay_model : table_lookup;\n",
        '  time_unit : "1ns";\n',
        '  voltage_unit : "1V";\n',
        '  leakage_power_unit : "1uW";\n',
        "  capacitive_load_unit (1, pf);\n",
        "  lu_table_template (delay_3x3) {\n",
        "    variable_1 : input_net_transition;\n",
        "    variable_2 : total_output_net_capacitance;\n",
        '    index_1 ("0.0, 1.0, 2.0");\n',
        '    index_2 ("0.0, 1.0, 2.0");\n',
        "  }\n",
    ]
    for cell in cells:
        delay = _fmt(cell.delay_ms)
        row = ", ".join([delay] * 3)
        table = ", ".join([f'"{row}"'] * 3)
        zeros = ", ".join(['"0.0, 0.0, 0.0"'] * 3)
        out.append(f"  cell ({cell.name}) {{\n")
        out.append(f"    area : {_fmt(costs[cell.name] / _MAPPER_AREA_UNIT_UM2)};\n")
        out.append(f"    cell_leakage_power : {_fmt(cell.leakage_uw)};\n")
        for pin in cell.inputs:
            out.append(f"    pin ({pin}) {{ direction : input; capacitance : 0.01; }}\n")
        out.append(f"    pin ({cell.output}) {{\n      direction : output;\n")
        out.append(f'      function : "{cell.function}";\n')
        for pin in cell.inputs:
            out.append(f'      timing () {{\n        related_pin : "{pin}";\n')
            for kind in ("cell_rise", "cell_fall"):
                out.append(f"        {kind} (delay_3x3) {{ values ({table}); }}\n")
            for kind in ("rise_transition", "fall_transition"):
                out.append(f"        {kind} (delay_3x3) {{ values ({zeros}); }}\n")
            out.append("      }\n")
        out.append("    }\n  }\n")
    out.append("}\n")
    Path(path).write_text("".join(out))


def write_buffer_expansion(library: Library, path: Path) -> None:
    """Write a Yosys techmap file that replaces each :data:`MAPPER_BUFFER` by two inverters."""
    inv = library.inverter
    a, y = inv.inputs[0], inv.output
    Path(path).write_text(
        f"// Generated by bespoke_mlp.synth: {MAPPER_BUFFER} -> two {inv.name}.\n"
        f"module {MAPPER_BUFFER} (A, Y);\n"
        "  input A;\n  output Y;\n  wire mid;\n"
        f"  {inv.name} first (.{a}(A), .{y}(mid));\n"
        f"  {inv.name} second (.{a}(mid), .{y}(Y));\n"
        "endmodule\n"
    )
