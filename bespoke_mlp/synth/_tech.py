"""Technologies: the built-in cell libraries by name, or a user's Liberty file."""

from __future__ import annotations

import argparse
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import UsageError
from ._liberty import DEFAULT_LIBERTY, Library, load_library

__all__ = [
    "BUILTIN_TECHNOLOGIES", "DEFAULT_TECH", "Technology", "add_tech_arguments", "technology",
]

_TECH_DIR = DEFAULT_LIBERTY.parent
BUILTIN_TECHNOLOGIES: Mapping[str, Path] = MappingProxyType({
    "egfet-1.0v": DEFAULT_LIBERTY,
    "egfet-0.6v": _TECH_DIR / "egfet_0v6.lib",
    "egfet-0.8v": _TECH_DIR / "egfet_0v8.lib",
    "egfet-1.2v": _TECH_DIR / "egfet_1v2.lib",
    "cnt-3.0v": _TECH_DIR / "cnt_tft_3v0.lib",
})
"""Built-in technology name -> its library in ``tech/`` (see ``tech/README.md``)."""
DEFAULT_TECH = "egfet-1.0v"
"""The calibrated EGFET 1.0 V library."""


@dataclass(frozen=True)
class Technology:
    """A cell library the flow maps onto.

    Attributes
    ----------
    name : the built-in name, or the Liberty file's stem for a user's file.
    liberty : the Liberty file.
    voltage : its supply voltage (V), if the file gives one.
    sha256 : SHA-256 of the file's bytes (which library exactly a report used).
    """

    name: str
    liberty: Path
    voltage: float | None
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """The ``technology`` fields of a report."""
        return {"name": self.name, "voltage": self.voltage, "library": self.liberty.stem,
                "library_sha256": self.sha256}


def _check_cells(library: Library) -> None:
    """A clear error if the library cannot implement arbitrary logic."""
    library.inverter  # noqa: B018 - raises UsageError naming the missing inverter
    two_input = [c for c in library.cells.values() if len(c.inputs) == 2]
    # XOR/XNOR with inverters cannot make every function; an AND- or OR-type gate can.
    if not any(sum(c.truth_table) in (1, 3) for c in two_input):
        raise UsageError(
            f"library {str(library.path)!r} has no 2-input NAND, NOR, AND or OR cell, so "
            f"logic cannot be mapped onto it (cells: {', '.join(library.cells)}"
            + "".join(f"; {n} skipped: {r}" for n, r in library.skipped.items()) + ")"
        )


@functools.lru_cache(maxsize=16)
def _describe(path: Path, mtime_ns: int) -> Technology:
    del mtime_ns  # part of the cache key only
    library = load_library(path)
    _check_cells(library)
    builtin = {p.resolve(): n for n, p in BUILTIN_TECHNOLOGIES.items()}
    return Technology(
        name=builtin.get(path, path.stem),
        liberty=path,
        voltage=library.voltage,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def technology(spec: str | Path | None = None) -> Technology:
    """The technology named ``spec`` (a built-in name such as ``"egfet-0.6v"``, or a path to a
    Liberty file; default :data:`DEFAULT_TECH`).

    Raises
    ------
    UsageError
        For an unknown name, a missing or malformed file, or a library without the cells
        logic needs (an inverter and a 2-input NAND, NOR, AND or OR); the message names them.
    """
    spec = DEFAULT_TECH if spec is None else spec
    if isinstance(spec, str) and spec.lower() in BUILTIN_TECHNOLOGIES:
        path = BUILTIN_TECHNOLOGIES[spec.lower()]
    else:
        path = Path(spec)
        if not path.exists():
            raise UsageError(
                f"technology {str(spec)!r} not found: no such Liberty file, and no built-in "
                f"of that name ({', '.join(BUILTIN_TECHNOLOGIES)})"
            )
        if not path.is_file():
            raise UsageError(f"technology {str(spec)!r} is not a Liberty file (a directory?)")
    path = path.resolve()
    return _describe(path, path.stat().st_mtime_ns)


def add_tech_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--tech NAME|PATH`` and ``--clock-hz HZ`` to a subcommand."""
    parser.add_argument(
        "--tech", default=None, metavar="NAME|PATH",
        help=f"cell library: {', '.join(BUILTIN_TECHNOLOGIES)} (default {DEFAULT_TECH}) or a "
             "Liberty file")
    parser.add_argument(
        "--clock-hz", type=float, default=None, metavar="HZ",
        help="clock (input vector) rate that power is given at; an error if the design "
             "cannot meet it (default: 5, or the fastest clock the critical path allows if "
             "slower)")
