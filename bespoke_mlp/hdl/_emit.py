"""Verilog emission: Amaranth → RTLIL → Yosys ``write_verilog``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amaranth.back import rtlil

from .._choices import ARCHS
from .._yosys import quote_path, run_yosys
from ..errors import UsageError
from ..ir import Network
from ._neuron import Form
from ._sequential import LATCH_VERILOG, SequentialClassifier
from ._top import Classifier

__all__ = ["ARCHS", "TOP_MODULE", "Architecture", "to_rtlil", "write_verilog", "write_verilog_many",
           "check_module_name", "check_arch"]

#: The module name of a generated classifier (a written design's ``top.v`` and netlist).
TOP_MODULE = "bespoke_mlp"


@dataclass(frozen=True)
class Architecture:
    """How a network becomes a circuit: ``kind`` is one of :data:`ARCHS`; ``lanes`` is the
    sequential datapath's inputs per clock cycle (its fold factor; 1 for parallel)."""

    kind: str = "parallel"
    lanes: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ARCHS:
            raise UsageError(f"architecture must be one of {ARCHS!r}, not {self.kind!r}")
        if isinstance(self.lanes, bool) or not isinstance(self.lanes, int) or not (
                1 <= self.lanes <= 64):
            raise UsageError(f"lanes must be an integer in 1..64, not {self.lanes!r}")
        if self.kind == "parallel" and self.lanes != 1:
            raise UsageError(f"lanes apply to the sequential architecture, got {self.lanes!r} "
                             "for parallel")

    @property
    def sequential(self) -> bool:
        return self.kind == "sequential"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lanes": self.lanes}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


def check_module_name(name: str) -> str:
    """Return ``name`` if it is a plain Verilog identifier; HDL names never come from data."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(f"module name must be a plain identifier, not {name!r}")
    return name


def check_arch(arch: Architecture | str) -> Architecture:
    """``arch`` as an :class:`Architecture` (a kind name means one lane)."""
    if isinstance(arch, Architecture):
        return arch
    return Architecture(arch)


def _library_reads(work_dir: Path, arch: Architecture | str) -> list[str]:
    """Yosys commands reading the modules a sequential design instantiates (its latch)."""
    if not check_arch(arch).sequential:
        return []
    path = work_dir / "bespoke_mlp_latch.v"
    path.write_text(LATCH_VERILOG)
    return [f"read_verilog {quote_path(path)}"]


def _library_renames(arch: Architecture | str) -> list[str]:
    """Yosys commands hiding the flattened latches' port nets (``latch<k>_<j>_<b>.d``): Yosys
    writes some as ``[0:0]`` vectors, whose bits the netlist's readers name differently."""
    return ["rename -hide w:latch*"] if check_arch(arch).sequential else []


def to_rtlil(net: Network, *, name: str = TOP_MODULE, form: Form = "tree",
             arch: Architecture | str = "parallel") -> str:
    """The classifier for ``net`` as RTLIL text (hierarchical, deterministic). The sequential
    architecture has its own datapath (``form`` applies to the parallel one only)."""
    arch = check_arch(arch)
    if arch.sequential:
        if form != "tree":
            raise UsageError(f"the sequential architecture has no {form!r} form")
        return rtlil.convert(SequentialClassifier(net, lanes=arch.lanes),
                             name=check_module_name(name))
    return rtlil.convert(Classifier(net, form=form), name=check_module_name(name))


def write_verilog(net: Network, path: Path, *, name: str = TOP_MODULE, form: Form = "tree",
                  work_dir: Path | None = None, timeout: float = 300.0,
                  arch: Architecture | str = "parallel") -> Path:
    """Write the classifier for ``net`` as flattened Verilog to ``path``.

    The RTL is flattened so that the file holds one module, ``name``, whose ports are ``x`` and
    ``y`` (the sequential architecture adds ``clk`` and ``rst``); intermediate files (``.il``,
    ``.ys``, ``.log``) go to ``work_dir`` (default: beside ``path``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work_dir = Path(work_dir) if work_dir is not None else path.parent
    work_dir.mkdir(parents=True, exist_ok=True)
    stem = work_dir / path.stem
    il = stem.with_suffix(".il")
    il.write_text(to_rtlil(net, name=name, form=form, arch=arch))
    script = "\n".join([
        *_library_reads(work_dir, arch),
        f"read_rtlil {quote_path(il)}",
        f"hierarchy -top {name}",
        "proc",
        "flatten",
        *_library_renames(arch),
        "opt_clean -purge",
        f"write_verilog -noattr {quote_path(path)}",
        "",
    ])
    run_yosys(script, script_path=stem.with_suffix(".emit.ys"),
              log=stem.with_suffix(".emit.log"), timeout=timeout)
    return path


def write_verilog_many(nets: Sequence[Network], names: Sequence[str], path: Path, *,
                       work_dir: Path, form: Form = "tree", timeout: float = 600.0,
                       arch: Architecture | str = "parallel") -> Path:
    """Write several classifiers (distinct module ``names``) into one Verilog file with a single
    Yosys run; for batch verification."""
    if len(set(names)) != len(names) or len(names) != len(nets):
        raise UsageError(f"need one distinct module name per network, got {list(names)!r}")
    path = Path(path)
    work_dir.mkdir(parents=True, exist_ok=True)
    lines = _library_reads(work_dir, arch)
    for net, name in zip(nets, names):
        il = work_dir / f"{check_module_name(name)}.il"
        il.write_text(to_rtlil(net, name=name, form=form, arch=arch))
        lines.append(f"read_rtlil {quote_path(il)}")
    # Every design is a top: clear the attribute, or flatten would delete all but one.
    lines += ["setattr -mod -unset top", "proc", "flatten", *_library_renames(arch),
              "opt_clean -purge",
              "delete " + " ".join(f"{n}.*" for n in names),
              f"write_verilog -noattr {quote_path(path)}", ""]
    run_yosys("\n".join(lines), script_path=work_dir / "emit_many.ys",
              log=work_dir / "emit_many.log", timeout=timeout)
    return path
