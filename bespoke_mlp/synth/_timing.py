"""Static timing analysis of a mapped combinational netlist with the library's cell delays."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ._liberty import load_library
from ._netlist import Bit, Netlist, read_netlist

__all__ = ["TimingReport", "analyze_timing", "static_timing"]


@dataclass(frozen=True)
class TimingReport:
    """Longest input-to-output path of a combinational netlist.

    Attributes
    ----------
    delay_ms : arrival time of the latest output bit (inputs arrive at 0).
    fmax_hz : highest clock frequency whose period covers ``delay_ms`` (inf for no logic).
    critical_path : instance names along the longest path, from input to output.
    """

    delay_ms: float
    fmax_hz: float
    critical_path: tuple[str, ...]


def analyze_timing(netlist: Netlist, delays: dict[str, float]) -> TimingReport:
    """Timing of ``netlist`` with ``delays`` (cell name -> ms, one value for all of a cell's
    arcs, as the EGFET characterisation gives per-stage delays that already include load).

    Raises
    ------
    UsageError
        If the netlist has a combinational loop or a net with two drivers.
    """
    insts = netlist.instances
    driver: dict[Bit, int] = {}
    for i, inst in enumerate(insts):
        if inst.output in driver:
            raise UsageError(
                f"net bit {inst.output!r} of {netlist.top!r} is driven by "
                f"{insts[driver[inst.output]].name!r} and {inst.name!r}"
            )
        driver[inst.output] = i
    fanouts: list[list[int]] = [[] for _ in insts]
    pending = [0] * len(insts)
    for i, inst in enumerate(insts):
        for bit in inst.inputs:
            if bit in driver:
                fanouts[driver[bit]].append(i)
                pending[i] += 1
    arrival = [0.0] * len(insts)
    worst_fanin: list[int | None] = [None] * len(insts)
    ready = deque(i for i, n in enumerate(pending) if n == 0)
    done = 0
    while ready:
        i = ready.popleft()
        done += 1
        start = 0.0
        for bit in insts[i].inputs:
            j = driver.get(bit)
            if j is not None and (worst_fanin[i] is None or arrival[j] > start):
                start, worst_fanin[i] = arrival[j], j
        arrival[i] = start + delays[insts[i].cell]
        for k in fanouts[i]:
            pending[k] -= 1
            if pending[k] == 0:
                ready.append(k)
    if done != len(insts):
        stuck = sorted(insts[i].name for i, n in enumerate(pending) if n)[:5]
        raise UsageError(f"netlist {netlist.top!r} has a combinational loop through {stuck!r}")
    end: int | None = None
    for bit in netlist.output_bits():
        j = driver.get(bit)
        if j is not None and (end is None or arrival[j] > arrival[end]):
            end = j
    delay = 0.0 if end is None else arrival[end]
    path: list[str] = []
    while end is not None:
        path.append(insts[end].name)
        end = worst_fanin[end]
    return TimingReport(
        delay_ms=delay,
        fmax_hz=1e3 / delay if delay > 0 else math.inf,
        critical_path=tuple(reversed(path)),
    )


def static_timing(netlist_json: Path, *, liberty: Path | None = None) -> TimingReport:
    """Critical path and maximum clock frequency of a mapped netlist (Yosys JSON).

    Parameters
    ----------
    netlist_json : the netlist, e.g. :attr:`SynthResult.netlist_json`.
    liberty : the library it is mapped onto (default: the EGFET library).
    """
    library = load_library(liberty)
    netlist = read_netlist(netlist_json, library)
    return analyze_timing(netlist, {name: c.delay_ms for name, c in library.cells.items()})
