"""Static timing analysis of a mapped netlist with the library's cell delays, and the choice
of the clock."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ._liberty import Library, load_library
from ._netlist import Bit, Netlist, read_netlist
from ._power import DEFAULT_FREQ_HZ

__all__ = ["HALF_PERIOD_SUFFIX", "TimingReport", "analyze_timing", "choose_clock",
           "static_timing"]

#: A register whose output net's name ends with this is open in one clock phase and read in
#: the other (e.g. a latch holding a comparison while the clock is low): its data must
#: arrive within half a period, so its arrival counts twice toward the critical path.
HALF_PERIOD_SUFFIX = "_half_period"


@dataclass(frozen=True)
class TimingReport:
    """Longest path of a netlist (inputs and register outputs to outputs and register inputs).

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

    Paths start at the primary inputs (arrival 0) and at the outputs of flip-flops and latches
    (arrival: their clock-to-output delay) and end at the primary outputs and at register
    data and clear pins; the critical path is the latest of these ends (the data of a register
    named with :data:`HALF_PERIOD_SUFFIX` counted at twice its arrival).

    Raises
    ------
    UsageError
        If the netlist has a combinational loop or a net with two drivers.
    """
    # Registers are sources without inputs: a path through one starts anew at its output.
    nodes = [(i.name, i.cell, i.inputs, (i.output,)) for i in netlist.instances]
    nodes += [(r.name, r.cell, (), tuple(b for b in r.outputs if b is not None))
              for r in netlist.registers]
    driver: dict[Bit, int] = {}
    for i, (name, _, _, outputs) in enumerate(nodes):
        for bit in outputs:
            if bit in driver:
                raise UsageError(
                    f"net bit {bit!r} of {netlist.top!r} is driven by "
                    f"{nodes[driver[bit]][0]!r} and {name!r}"
                )
            driver[bit] = i
    fanouts: list[list[int]] = [[] for _ in nodes]
    pending = [0] * len(nodes)
    for i, (_, _, inputs, _) in enumerate(nodes):
        for bit in inputs:
            if bit in driver:
                fanouts[driver[bit]].append(i)
                pending[i] += 1
    arrival = [0.0] * len(nodes)
    worst_fanin: list[int | None] = [None] * len(nodes)
    ready = deque(i for i, n in enumerate(pending) if n == 0)
    done = 0
    while ready:
        i = ready.popleft()
        done += 1
        start = 0.0
        for bit in nodes[i][2]:
            j = driver.get(bit)
            if j is not None and (worst_fanin[i] is None or arrival[j] > start):
                start, worst_fanin[i] = arrival[j], j
        arrival[i] = start + delays[nodes[i][1]]
        for k in fanouts[i]:
            pending[k] -= 1
            if pending[k] == 0:
                ready.append(k)
    if done != len(nodes):
        stuck = sorted(nodes[i][0] for i, n in enumerate(pending) if n)[:5]
        raise UsageError(f"netlist {netlist.top!r} has a combinational loop through {stuck!r}")
    ends = [(b, 1.0) for b in netlist.output_bits()] + [
        (b, 2.0 if b == r.data and _half_period(netlist, r.outputs) else 1.0)
        for r in netlist.registers for b in (r.data, r.clear) if b is not None]
    end: int | None = None
    delay = 0.0
    for bit, factor in ends:
        j = driver.get(bit)
        if j is not None and (end is None or factor * arrival[j] > delay):
            end, delay = j, factor * arrival[j]
    path: list[str] = []
    while end is not None:
        path.append(nodes[end][0])
        end = worst_fanin[end]
    return TimingReport(
        delay_ms=delay,
        fmax_hz=1e3 / delay if delay > 0 else math.inf,
        critical_path=tuple(reversed(path)),
    )


def _half_period(netlist: Netlist, outputs: tuple[Bit | None, ...]) -> bool:
    return any(name.split("[")[0].endswith(HALF_PERIOD_SUFFIX)
               for b in outputs if b is not None for name in netlist.bit_names.get(b, ()))


def choose_clock(delay_ms: float, requested_hz: float | None) -> float:
    """The clock a design runs at: ``requested_hz`` if its period covers the critical path
    (UsageError otherwise); with no request, the default 5 Hz, or if the critical path is
    longer than 200 ms, the fastest clock that covers it, rounded down to two significant
    digits."""
    fmax_hz = 1e3 / delay_ms if delay_ms > 0 else math.inf
    if requested_hz is not None:
        if isinstance(requested_hz, bool) or not isinstance(requested_hz, (int, float)) or not (
                math.isfinite(requested_hz) and requested_hz > 0):
            raise UsageError(f"the clock must be a positive number of Hz, got {requested_hz!r}")
        if fmax_hz < requested_hz:
            raise UsageError(
                f"the critical path ({delay_ms:.1f} ms) exceeds the period of the "
                f"{requested_hz:g} Hz clock (fmax {fmax_hz:.3g} Hz); choose a clock "
                f"of at most {_round_down(fmax_hz):g} Hz"
            )
        return float(requested_hz)
    if fmax_hz >= DEFAULT_FREQ_HZ:
        return DEFAULT_FREQ_HZ
    return _round_down(fmax_hz)


def _round_down(hz: float) -> float:
    """``hz`` rounded down to two significant digits."""
    exponent = math.floor(math.log10(hz)) - 1
    return float(f"{math.floor(hz / 10.0 ** exponent)}e{exponent}")


def static_timing(netlist_json: Path, *, liberty: Path | None = None) -> TimingReport:
    """Critical path and maximum clock frequency of a mapped netlist (Yosys JSON).

    Parameters
    ----------
    netlist_json : the netlist, e.g. :attr:`SynthResult.netlist_json`.
    liberty : the library it is mapped onto (default: the EGFET library).
    """
    library = load_library(liberty)
    netlist = read_netlist(netlist_json, library)
    return analyze_timing(netlist, cell_delays(library))


def cell_delays(library: Library) -> dict[str, float]:
    """Cell (and register) name -> delay in ms."""
    return {name: c.delay_ms for name, c in (*library.cells.items(),
                                             *library.registers.items())}


def timing_report_text(netlist_json: Path, *, clock_hz: float, liberty: Path | None = None,
                       cycles: int = 0) -> str:
    """``timing.rpt``: the critical path of a mapped netlist cell by cell (instance, cell,
    output net, cell delay, arrival), its total against the clock period, and the slack.
    ``cycles`` as in :func:`sdc_text`. Deterministic."""
    library = load_library(liberty)
    netlist = read_netlist(netlist_json, library)
    delays = cell_delays(library)
    report = analyze_timing(netlist, delays)
    cells = {i.name: (i.cell, (i.output,)) for i in netlist.instances}
    cells.update({r.name: (r.cell, tuple(b for b in r.outputs if b is not None))
                  for r in netlist.registers})
    period = 1e3 / clock_hz
    rows = [("#", "instance", "cell", "output net", "delay ms", "arrival ms")]
    arrival = 0.0
    for k, name in enumerate(report.critical_path):
        cell, outputs = cells[name]
        arrival += delays[cell]
        net = next((n for b in outputs for n in sorted(netlist.bit_names.get(b, ()))), "-")
        rows.append((str(k + 1), name, cell, net, f"{delays[cell]:.3f}", f"{arrival:.3f}"))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    table = ["  ".join(v.rjust(w) if c in (0, 4, 5) else v.ljust(w)
                       for c, (v, w) in enumerate(zip(r, widths))).rstrip() for r in rows]
    what = ("register to register (one clock cycle)" if cycles else
            "inputs to outputs (combinational)")
    first = next((i for i in netlist.instances if report.critical_path
                  and i.name == report.critical_path[0]), None)
    starts = sorted({n for b in (first.inputs if first else ()) for n in
                     netlist.bit_names.get(b, ()) if n.split("[")[0] in netlist.ports})
    if starts:
        what += f", from input {' or '.join(starts)}"
    lines = [f"Timing report of {netlist.top} ({library.path.name}, static timing with the "
             "library's per-cell delays; inputs arrive at 0)",
             f"critical path: {what}, {len(report.critical_path)} cells", "", *table, "",
             f"data arrival   {report.delay_ms:.3f} ms",
             f"clock period   {period:.3f} ms ({clock_hz:g} Hz, constraints.sdc)",
             f"slack          {period - report.delay_ms:.3f} ms "
             f"({'met' if period >= report.delay_ms else 'VIOLATED'})",
             f"fmax           {report.fmax_hz:.4g} Hz"]
    if report.delay_ms > sum(delays[cells[n][0]] for n in report.critical_path) + 1e-9:
        lines.append("(the path ends at a half-period latch: its arrival counts twice)")
    return "\n".join(lines) + "\n"


def sdc_text(top: str, *, clock_hz: float, cycles: int = 0) -> str:
    """``constraints.sdc``: the clock the design's power figures assume (a virtual clock
    around the inputs and outputs of a combinational design; ``clk`` of a sequential one,
    ``cycles`` cycles per inference), in the library's time unit, ms."""
    period = f"{1e3 / clock_hz:.6g}"
    lines = [f"# Clock constraint of {top}, generated by bespoke-mlp.",
             "# Time unit: ms (the EGFET library's time_unit).",
             f"# {clock_hz:g} Hz: the clock the power figures assume"
             + (f"; one inference takes {cycles} cycles." if cycles else
                "; one evaluation per period."),
             "set_units -time ms"]
    if cycles:
        lines += [f"create_clock -name clk -period {period} [get_ports clk]",
                  "set_false_path -from [get_ports rst]",
                  "set_input_delay 0 -clock clk [get_ports x]",
                  "set_output_delay 0 -clock clk [get_ports y]"]
    else:
        lines += [f"create_clock -name vclk -period {period}",
                  "set_input_delay 0 -clock vclk [get_ports x]",
                  "set_output_delay 0 -clock vclk [get_ports y]"]
    return "\n".join(lines) + "\n"
