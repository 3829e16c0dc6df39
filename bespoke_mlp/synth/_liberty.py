"""Reading the cell library (a Liberty subset) and writing the mapper's variant of it.

The technology model lives in one Liberty file (``tech/egfet_1v0.lib``): per cell its area,
leakage (static) power, internal energy per output transition, pin-to-output delays and Boolean
function. :func:`load_library` reads those numbers into a :class:`Library` in fixed units (µm²,
µW, pJ, ms) whatever units the file declares. :func:`write_mapper_library` writes the variant
that ABC maps onto: the same cells plus a buffer built from two inverters (ABC needs one; the
EGFET library has none), in units ABC's mappers accept.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from ..errors import UsageError

__all__ = [
    "Cell",
    "Library",
    "DEFAULT_LIBERTY",
    "CELL_MODELS",
    "MAPPER_BUFFER",
    "load_library",
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
    """

    name: str
    inputs: tuple[str, ...]
    output: str
    function: str
    area_um2: float
    leakage_uw: float
    internal_pj: float
    delay_ms: float

    @functools.cached_property
    def truth_table(self) -> tuple[int, ...]:
        """Output for every input assignment; entry ``k`` has input ``i`` = bit ``i`` of k."""
        expr = _BoolParser(self.function, self.inputs).parse()
        return tuple(
            _evaluate(expr, {pin: (k >> i) & 1 for i, pin in enumerate(self.inputs)})
            for k in range(1 << len(self.inputs))
        )


@dataclass(frozen=True)
class Library:
    """The combinational cells of a Liberty file (sequential and multi-output cells skipped);
    ``cells`` is read-only and sorted by name."""

    name: str
    path: Path
    cells: Mapping[str, Cell]

    def cell(self, name: str) -> Cell:
        """The cell called ``name``; raises UsageError if the library has none."""
        try:
            return self.cells[name]
        except KeyError:
            raise UsageError(
                f"cell {name!r} is not in library {str(self.path)!r} "
                f"(cells: {', '.join(sorted(self.cells))})"
            ) from None

    @property
    def inverter(self) -> Cell:
        """The smallest inverter; raises UsageError if there is none."""
        inverters = [c for c in self.cells.values() if c.truth_table == (1, 0)]
        if not inverters:
            raise UsageError(f"library {str(self.path)!r} has no inverter cell")
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


def _read_cell(group: _Group, ms: float, uw: float, pj: float, path: Path) -> Cell | None:
    """A combinational single-output cell, or None for cells the mapper cannot use."""
    if any(group.children(kind) for kind in ("ff", "latch", "statetable")):
        return None
    name = group.args[0] if group.args else ""
    pins = group.children("pin")
    inputs = tuple(p.args[0] for p in pins if p.attrs.get("direction") == "input")
    outputs = [p for p in pins if p.attrs.get("direction") == "output"]
    if len(outputs) != 1 or "function" not in outputs[0].attrs or not inputs:
        return None
    out = outputs[0]
    delays = [
        max(_table_values(table, path))
        for timing in out.children("timing")
        for table in timing.groups
        if table.kind in ("cell_rise", "cell_fall")
    ]
    energies = [
        sum(_table_values(table, path)) / len(_table_values(table, path))
        for power in out.children("internal_power")
        for table in power.groups
        if table.kind in ("rise_power", "fall_power", "power")
    ]
    cell = Cell(
        name=name,
        inputs=inputs,
        output=out.args[0],
        function=out.attrs["function"],
        area_um2=_float_attr(group, "area", path),
        leakage_uw=_float_attr(group, "cell_leakage_power", path, 0.0) * uw,
        internal_pj=(sum(energies) / len(energies) if energies else 0.0) * pj,
        delay_ms=(max(delays) if delays else 0.0) * ms,
    )
    cell.truth_table  # noqa: B018 - parse the function now, so a bad one fails on loading
    return cell


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
    cells = {}
    for group in root.children("cell"):
        cell = _read_cell(group, ms, uw, pj, path)
        if cell is not None:
            cells[cell.name] = cell
    if not cells:
        raise UsageError(f"Liberty file {str(path)!r} has no usable combinational cells")
    name = root.args[0] if root.args else path.stem
    return Library(name=name, path=path, cells=MappingProxyType(dict(sorted(cells.items()))))


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


def write_mapper_library(library: Library, path: Path) -> None:
    """Write the library ABC maps onto: every cell plus :data:`MAPPER_BUFFER`.

    Areas are in units of 1000 µm² and delays in ms written as if ns (ABC compares them only
    with each other); each delay becomes a constant 3×3 table, the smallest table from which
    ABC derives gate delays for its classic mapper.
    """
    inv = library.inverter
    cells = list(library.cells.values())
    cells.append(Cell(MAPPER_BUFFER, ("A",), "Y", "A", 2 * inv.area_um2, 2 * inv.leakage_uw,
                      0.0, 2 * inv.delay_ms))
    out = [
        f"/* Generated by bespoke_mlp.synth from {library.path.name} for ABC only: areas in\n"
        f"   units of 1000 um^2, delays in ms (declared ns). {MAPPER_BUFFER} = two "
        f"{inv.name}. */\n",
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
        out.append(f"    area : {_fmt(cell.area_um2 / _MAPPER_AREA_UNIT_UM2)};\n")
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
