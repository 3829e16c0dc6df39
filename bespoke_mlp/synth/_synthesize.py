"""Logic synthesis with Yosys and ABC onto the library cells, and the resulting figures."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from .._util import log_tail
from .._yosys import quote_path, run_yosys
from ..errors import ToolError, UsageError
from ._derive import write_register_cells
from ._liberty import (
    DEFAULT_MAPPING,
    Library,
    MappingCost,
    load_library,
    mapping_costs,
    write_buffer_expansion,
    write_mapper_library,
)
from ._netlist import Netlist, read_netlist
from ._power import (
    DEFAULT_FREQ_HZ,
    PowerReport,
    input_state_probabilities,
    netlist_activity_power,
    power,
)
from ._timing import analyze_timing, cell_delays

__all__ = [
    "ABC_SCRIPT",
    "COLLAPSE_MAX_INPUTS",
    "DEEP_MAX_CELLS",
    "DEEP_TINY_CELLS",
    "DEFAULT_EFFORT",
    "EFFORTS",
    "REPORT_EFFORT",
    "Effort",
    "SynthResult",
    "abc_scripts_for",
    "synthesize",
]

Effort = Literal["fast", "normal", "high"]
"""How hard ABC optimizes: ``fast`` for estimates, ``high`` for the smallest netlists."""
EFFORTS: tuple[str, ...] = get_args(Effort)
DEFAULT_EFFORT: Effort = "normal"
"""The default effort of the Python API and ``bespoke-mlp synth``: a quick look (seconds even on
Arrhythmia-size designs)."""
REPORT_EFFORT: Effort = "high"
"""The default effort of ``run``, ``ablate`` and ``generate``, whose designs are reported: deep
optimization, 20.6 % smaller on average on the 9 reference designs. A search ranks its verified
front at ``normal`` and re-implements only the selected design at this effort (``run cardio``:
92 s of CPU; see ``tech/README.md``)."""

ABC_SCRIPT = "strash; ifraig; dc2; dch -f; amap"
"""The ``normal`` effort: SAT sweeping, AIG rewriting, structural choices, then area-only
mapping (``amap``). Chosen by measured area and runtime; see ``tech/README.md``."""
_FAST_SCRIPT = "strash; dc2; amap"
# ABC's compress2rs alias (not defined in a -script string), spelled out.
_COMPRESS2RS = (
    "balance -l; resub -K 6 -l; rewrite -l; resub -K 6 -N 2 -l; refactor -l; resub -K 8 -l; "
    "balance -l; resub -K 8 -N 2 -l; rewrite -l; resub -K 10 -l; rewrite -z -l; "
    "resub -K 10 -N 2 -l; balance -l; resub -K 12 -l; refactor -z -l; resub -K 12 -N 2 -l; "
    "rewrite -z -l; balance -l"
)
# Deep optimization for small designs: &deepsyn's randomized rounds of choices, LUT mapping,
# don't-care resynthesis (&mfs), extraction and rewriting, keeping the smallest AIG. Bounded by
# rounds without improvement (-J) and restarts (-I) from a fixed seed (-S), never by time, so
# that the result does not depend on the machine's load. Its mapped area scatters by up to
# 20 % with the seed and the variant (LUTs of 3-6 inputs, or of 2-6: -t), so several are mapped
# and the smallest netlist is kept: more of them for the smallest designs, where they are cheap.
def _deep_small_scripts(seeds: int, rounds: int) -> tuple[str, ...]:
    return tuple(
        f"strash; ifraig; dc2; &get -n; &deepsyn -I 1 -J {rounds} -S {seed}{flag}; &put; "
        "dch -f; amap"
        for seed in range(seeds) for flag in ("", " -t")
    )


DEEP_TINY_CELLS = 300
"""``high`` effort maps six &deepsyn variants (seeds 0-2, with and without ``-t``) of up to
50 rounds without improvement, instead of two of 10, up to this many Yosys cells before mapping
(measured on the reference designs: Seeds, 208 cells, 0.428 instead of 0.479 cm², Balance,
Breast Cancer and Red Wine 7-10 % smaller, up to 18 s of CPU; Vertebral and Cardio gained
nothing from 50 rounds at 3x the time)."""

# Large designs: &deepsyn's unbounded &mfs windows take minutes per round there, so two fixed
# rounds of the same steps with bounded windows (-M 300).
_DEEP_LARGE_SCRIPT = "; ".join(
    ["strash; ifraig; dc2; &get -n"]
    + [f"&dch -f; &if -a -K {k}; &mfs -e -W 20 -L 20 -M 300; &fx; &st; &put; {_COMPRESS2RS}; "
       "&get -n" for k in (3, 4)]
    + ["&put; dch -f; amap"]
)
DEEP_MAX_CELLS = 600
"""``high`` effort uses &deepsyn up to this many Yosys cells before mapping (measured: the
committed designs up to Cardio ≤1 % have < 400 and Cardio's front designs < 500, taking up to
~10 s of CPU; a design of 1 863 cells did not finish in 6 minutes)."""


COLLAPSE_MAX_INPUTS = 12
"""A design whose outputs depend on at most this many input bits also gets a candidate that
first collapses its logic into one BDD per output (ABC ``collapse``), then factors and maps it:
the adder trees of a network that reads few input bits hide a small Boolean function that
structural rewriting does not find (measured at ``normal``: Vertebral reading 6 bits 2.35 ->
0.031 cm², Seeds reading 12 bits 5.12 -> 0.43 cm² in 1.5 s; 16 bits took 11 s, 20 bits did not
finish in 9 minutes)."""
_COLLAPSE = "strash; collapse; sop; fx; strash; "


def abc_scripts_for(effort: Effort, n_cells: int,
                    support: int | None = None) -> tuple[str, ...]:
    """The ABC scripts of ``effort`` for a design of ``n_cells`` Yosys cells before mapping
    whose outputs depend on at most ``support`` input bits (None: unknown); synthesis keeps
    the smallest of their netlists (the first on a tie)."""
    if effort == "fast":
        scripts: tuple[str, ...] = (_FAST_SCRIPT,)
    elif effort == "normal":
        scripts = (ABC_SCRIPT,)
    elif n_cells <= DEEP_TINY_CELLS:
        scripts = _deep_small_scripts(3, 50)
    elif n_cells <= DEEP_MAX_CELLS:
        scripts = _deep_small_scripts(1, 10)
    else:
        scripts = (_DEEP_LARGE_SCRIPT,)
    if support is not None and support <= COLLAPSE_MAX_INPUTS:
        scripts += (_COLLAPSE + scripts[0].removeprefix("strash; "),)
    return scripts

# Yosys commands keeping the prepared design in memory for the next mapping, and restoring it.
_SAVE = ["design -save prepared"]
_LOAD = ["design -load prepared"]

_READERS = {".v": "read_verilog", ".sv": "read_verilog -sv", ".il": "read_rtlil"}
_UM2_PER_CM2 = 1e8


@dataclass(frozen=True)
class SynthResult:
    """Figures of a synthesized design.

    Attributes
    ----------
    top : the top module (its ports are kept in the netlist).
    cells : library cell -> instance count, sorted by name.
    n_cells : total instances.
    area_um2, area_cm2 : total cell area.
    static_power_mw, dynamic_power_mw, power_mw : power at ``freq_hz`` (see ``activity``).
    delay_ms : critical path (inputs to outputs, library cell delays).
    fmax_hz : highest clock frequency whose period covers the critical path.
    freq_hz : the clock frequency the power is given at.
    activity : ``"default"`` (calibrated toggle rate for every cell) or ``"measured"``.
    effort : the synthesis effort (``"script"``: an experimental ABC script).
    mapping : what ABC's mapper minimized, ``"area"`` or ``"power"`` (see
        :func:`~bespoke_mlp.synth.mapping_costs`); area and power are the library's either way.
    netlist_v, netlist_json, log : files written by the run.
    liberty : the Liberty file mapped onto.
    seconds : wall-clock time of the Yosys run (not part of :meth:`to_dict`).
    """

    top: str
    cells: dict[str, int]
    n_cells: int
    area_um2: float
    area_cm2: float
    static_power_mw: float
    dynamic_power_mw: float
    power_mw: float
    delay_ms: float
    fmax_hz: float
    freq_hz: float
    activity: str
    effort: str
    mapping: str
    netlist_v: Path
    netlist_json: Path
    log: Path
    liberty: Path
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures (no paths, no run time: identical inputs give identical dicts)."""
        return {
            "top": self.top,
            "cells": dict(self.cells),
            "n_cells": self.n_cells,
            "area_um2": round(self.area_um2, 3),
            "area_cm2": round(self.area_cm2, 6),
            "static_power_mw": round(self.static_power_mw, 6),
            "dynamic_power_mw": round(self.dynamic_power_mw, 6),
            "power_mw": round(self.power_mw, 6),
            "delay_ms": round(self.delay_ms, 4),
            "fmax_hz": round(self.fmax_hz, 4) if math.isfinite(self.fmax_hz) else None,
            "freq_hz": self.freq_hz,
            "activity": self.activity,
            "library": self.liberty.stem,
            "effort": self.effort,
            "mapping": self.mapping,
        }

    def with_activity(
        self, activity: Mapping[str, float], *, freq_hz: float | None = None,
        net_values: tuple[Sequence[str], np.ndarray] | None = None,
        n_vectors: int | None = None,
    ) -> SynthResult:
        """This result with power recomputed from measured toggle rates (transitions per
        applied vector, keyed by net or instance name as :func:`netlist_power` takes) and, if
        ``net_values`` (with ``n_vectors``, see :func:`input_state_probabilities`) are given,
        state-dependent leakage weighted by the measured input-state probabilities."""
        library = load_library(self.liberty)
        netlist = read_netlist(self.netlist_json, library, top=self.top)
        states = None
        if net_values is not None:
            if n_vectors is None:
                raise UsageError("net_values need n_vectors")
            states = input_state_probabilities(netlist, library, net_values, n_vectors)
        report = netlist_activity_power(
            netlist, library, activity, self.freq_hz if freq_hz is None else freq_hz, states
        )
        return dataclasses.replace(self, **_power_fields(report))

    def at_clock(self, freq_hz: float) -> SynthResult:
        """This result with the default-activity power at another clock (vector) rate."""
        if self.activity != "default":
            raise UsageError("at_clock needs a result with default activity; pass freq_hz to "
                             "with_activity instead")
        report = power(self.cells, freq_hz=freq_hz, liberty=self.liberty)
        return dataclasses.replace(self, **_power_fields(report))


def _power_fields(report: PowerReport) -> dict[str, Any]:
    return {
        "static_power_mw": report.static_mw,
        "dynamic_power_mw": report.dynamic_mw,
        "power_mw": report.power_mw,
        "freq_hz": report.freq_hz,
        "activity": report.activity,
    }


def _prepare_script(sources: Sequence[Path], top: str, liberty: Path, work: Path,
                    registers: bool) -> list[str]:
    reads = [f"{_READERS[src.suffix.lower()]} {quote_path(src)}" for src in sources]
    return [
        f"read_liberty -lib {quote_path(liberty)}",
        *reads,
        f"hierarchy -check -top {top}",
        f"synth -flatten -top {top} -noabc",
        "opt_clean -purge",
        # Flip-flops and latches onto the library's registers (ABC maps only the logic).
        *([f"dfflibmap -liberty {quote_path(work / 'registers.lib')}"] if registers else []),
    ]


def _map_script(
    top: str, liberty: Path, work: Path, abc_script: str, netlist_v: Path, netlist_json: Path,
) -> list[str]:
    # ABC receives the script after "+": commas become spaces, and it must not contain ";"
    # followed by a space, which Yosys would take as its own command separator.
    abc_inline = "+" + ";".join(cmd.strip().replace(" ", ",") for cmd in abc_script.split(";"))
    return [
        f"abc -liberty {quote_path(work / 'mapper.lib')} -script {abc_inline}",
        f"techmap -map {quote_path(work / 'buffer_expansion.v')}",
        "opt_clean -purge",
        # Short public names, identical in the Verilog and JSON netlists. Wires the RTL's
        # Verilog named like Yosys' own (_123_) are hidden first: enumerating could otherwise
        # give a cell the name of one that survived (a Yosys assertion). So are the results
        # of its functions, named after the source file's path (a temporary directory).
        "rename -hide w:_*_",
        "rename -hide w:*$func$*",
        "rename -enumerate",
        "setattr -unset src",
        "setattr -mod -unset src",
        "check",
        f"stat -liberty {quote_path(liberty)}",
        f"write_verilog -noattr {quote_path(netlist_v)}",
        f"select {top}",
        f"write_json -selected {quote_path(netlist_json)}",
    ]


def _script(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _check_inputs(sources: Sequence[Path], top: str, timeout: float) -> list[Path]:
    if isinstance(sources, (str, Path)):
        raise UsageError(f"sources must be a sequence of paths, got the single path {sources!r}")
    paths = [Path(s).resolve() for s in sources]
    if not paths:
        raise UsageError("synthesis needs at least one source file")
    for path in paths:
        if not path.is_file():
            raise UsageError(f"source file {str(path)!r} does not exist")
        if path.suffix.lower() not in _READERS:
            raise UsageError(
                f"source file {str(path)!r} is not Verilog (.v, .sv) or RTLIL (.il)"
            )
    if not top.isidentifier() or not top.isascii():
        raise UsageError(f"top module name {top!r} is not a simple identifier")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return paths


def _run_yosys(script: str, script_path: Path, log: Path, timeout: float, top: str,
               limit: float | None = None) -> None:
    """Run ``script`` within ``timeout`` s; a timeout's message names ``limit`` (the whole
    synthesis' limit, default ``timeout``)."""
    try:
        run_yosys(script, script_path=script_path, log=log, timeout=timeout)
    except ToolError as exc:
        if "timed out" in str(exc).partition("\n")[0]:
            limit = timeout if limit is None else limit
            raise ToolError(
                f"synthesis of {top!r} exceeded the time limit of {limit:g} s (ABC can take "
                f"very long on large designs); log: {log}\n{log_tail(log, 40)}"
            ) from exc
        raise


def synthesize(
    sources: Sequence[Path],
    top: str,
    out_dir: Path,
    *,
    liberty: Path | None = None,
    timeout: float = 600.0,
    activity: Mapping[str, float] | None = None,
    freq_hz: float = DEFAULT_FREQ_HZ,
    effort: Effort = DEFAULT_EFFORT,
    mapping: MappingCost = DEFAULT_MAPPING,
    abc_script: str | None = None,
    log: Path | None = None,
    support: int | None = None,
) -> SynthResult:
    """Synthesize a design onto the library cells.

    Reads the sources, flattens and optimizes the design (Yosys ``synth``), maps its
    flip-flops and latches onto the library's (Yosys ``dfflibmap``) and its logic with ABC
    (the scripts of ``effort``, see :func:`abc_scripts_for`) onto the library plus a
    two-inverter buffer, expands every buffer into two inverters and writes
    ``out_dir/netlist.v``, ``out_dir/netlist.json`` and ``out_dir/yosys.log`` (or ``log``).
    Yosys runs through pyosys in a child process. Every effort is deterministic: ABC's work is
    bounded by iteration counts, not time, so identical inputs give byte-identical netlists.

    Parameters
    ----------
    sources : Verilog (``.v``, ``.sv``) and RTLIL (``.il``) files.
    top : the top module; its ports are kept.
    out_dir : output directory (created; existing files of the same names are overwritten).
    liberty : the cell library (default: ``tech/egfet_1v0.lib``).
    timeout : seconds allowed for Yosys and ABC together.
    activity : measured transitions per applied vector of the gate netlist's nets (see
        :func:`netlist_power`); default: the calibrated default toggle rate for every cell.
    freq_hz : clock (vector) rate for dynamic power.
    effort : ``"fast"`` (estimates), ``"normal"`` (default) or ``"high"`` (deep
        optimization; its script depends on the design's size).
    mapping : what ABC's mapper minimizes: ``"power"`` (default: area plus weighted leakage,
        see :func:`~bespoke_mlp.synth.mapping_costs`) or ``"area"``; of several candidate
        netlists the one of least such cost is kept. The reported area and power are the
        library's figures either way.
    abc_script : ABC commands, ``;``-separated, instead of ``effort``'s (for experiments).
    log : where to write the Yosys log (default ``out_dir/yosys.log``).
    support : at most this many input bits drive the outputs (e.g. the input bits a network
        reads), if known: up to :data:`COLLAPSE_MAX_INPUTS` of them add a collapsing candidate.

    Raises
    ------
    UsageError
        For missing or unsupported sources, a bad top name, timeout, effort, mapping,
        library or activity, or a design that does not map onto the library's cells (e.g.
        registers it has no cell for).
    ToolError
        If Yosys or ABC fails or exceeds ``timeout``; the message names the log.
    """
    paths = _check_inputs(sources, top, timeout)
    if effort not in EFFORTS:
        raise UsageError(f"effort must be one of {', '.join(EFFORTS)}, got {effort!r}")
    if abc_script is not None and (
        not abc_script.strip() or any(c in abc_script for c in ',"\n')
    ):
        raise UsageError(f"abc_script must be ';'-separated ABC commands, got {abc_script!r}")
    library = load_library(liberty)
    costs = mapping_costs(library, mapping)  # raises UsageError for an unknown mapping
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    netlist_v, netlist_json = out_dir / "netlist.v", out_dir / "netlist.json"
    log = out_dir / "yosys.log" if log is None else Path(log)
    with tempfile.TemporaryDirectory(prefix="bespoke-synth-") as tmp:
        work = Path(tmp)
        write_mapper_library(library, work / "mapper.lib", mapping)
        write_buffer_expansion(library, work / "buffer_expansion.v")
        if library.registers:
            write_register_cells(library, work / "registers.lib")
        prepare = _prepare_script(paths, top, library.path, work, bool(library.registers))
        start = time.perf_counter()
        logs = []
        high = abc_script is None and effort == "high"
        if high:
            # The deep scripts depend on the design's size: prepare it, count its cells, and
            # map the prepared design in further runs.
            prepared, stats = work / "prepared.il", work / "prepared_stat.json"
            _run_yosys(_script(prepare + [f"write_rtlil {quote_path(prepared)}",
                                          f"tee -q -o {quote_path(stats)} stat -json"]),
                       work / "prepare.ys", log, timeout, top)
            logs.append(log.read_text())
            scripts = abc_scripts_for(effort, _prepared_cells(stats), support)
            prepare = [f"read_liberty -lib {quote_path(library.path)}",
                       f"read_rtlil {quote_path(prepared)}"]
        else:
            scripts = (abc_script,) if abc_script else abc_scripts_for(effort, 0, support)
        cands = [work / f"candidate{k}" for k in range(len(scripts))]
        maps = []
        for cand, script in zip(cands, scripts):
            cand.mkdir()
            maps.append(_map_script(top, library.path, work, script, cand / "netlist.v",
                                    cand / "netlist.json"))
        if high:
            runs = [prepare + commands for commands in maps]
        else:
            # One run prepares the design once, maps it, and restores the prepared design
            # (kept in memory) for each further script: the netlists of a run per script
            # (measured on Pendigits' designs reading 1-6 input bits, two scripts: 3.7-11.1 s
            # instead of 7.6-15.5 s).
            runs = [prepare + (_SAVE if len(maps) > 1 else []) + maps[0]
                    + [line for commands in maps[1:] for line in _LOAD + commands]]
        for n, commands in enumerate(runs):
            remaining = timeout - (time.perf_counter() - start)
            _run_yosys(_script(commands), work / f"synth{n}.ys", log, max(remaining, 1e-3),
                       top, limit=timeout)
            logs.append(log.read_text())
        totals = []
        for cand in cands:
            counts = read_netlist(cand / "netlist.json", library, top=top).cell_counts
            totals.append(sum(costs[name] * n for name, n in counts.items()))
        seconds = time.perf_counter() - start
        best = work / f"candidate{totals.index(min(totals))}"  # the first on a tie
        shutil.copyfile(best / "netlist.v", netlist_v)
        shutil.copyfile(best / "netlist.json", netlist_json)
        if len(logs) > 1:
            log.write_text("".join(logs))
    netlist = read_netlist(netlist_json, library, top=top)
    return _result(netlist, library, netlist_v, netlist_json, log, seconds, activity, freq_hz,
                   "script" if abc_script else effort, mapping)


def _prepared_cells(stats: Path) -> int:
    modules = json.loads(stats.read_text())["modules"]
    return sum(int(m["num_cells"]) for m in modules.values())


def _area(netlist: Netlist, library: Library) -> float:
    return sum(library.cell(name).area_um2 * n for name, n in netlist.cell_counts.items())


def _result(
    netlist: Netlist, library: Library, netlist_v: Path, netlist_json: Path, log: Path,
    seconds: float, activity: Mapping[str, float] | None, freq_hz: float, effort: str,
    mapping: str,
) -> SynthResult:
    counts = netlist.cell_counts
    area = _area(netlist, library)
    timing = analyze_timing(netlist, cell_delays(library))
    if activity is None:
        report = power(counts, freq_hz=freq_hz, liberty=library.path)
    else:
        report = netlist_activity_power(netlist, library, activity, freq_hz)
    return SynthResult(
        top=netlist.top,
        cells=counts,
        n_cells=sum(counts.values()),
        area_um2=area,
        area_cm2=area / _UM2_PER_CM2,
        delay_ms=timing.delay_ms,
        fmax_hz=timing.fmax_hz,
        netlist_v=netlist_v,
        netlist_json=netlist_json,
        log=log,
        liberty=library.path,
        effort=effort,
        mapping=mapping,
        seconds=seconds,
        **_power_fields(report),
    )
