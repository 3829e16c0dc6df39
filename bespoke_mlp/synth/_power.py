"""Power model: static power per cell plus internal energy per output transition.

EGFET logic is resistor-loaded, so static power dominates (93-97 % of the published totals),
and a gate leaks mostly while its output is 0. Static power is, per instance, the cell's static
figure: in a library with state-dependent leakage and with the input-state probabilities
measured by gate-level simulation (:func:`input_state_probabilities`), the per-state figures
weighted by how long the instance's inputs spent in each state; otherwise the cell's one
(mean or fitted) figure. Dynamic power is, per instance, the
cell's internal energy per output transition times the transitions per second: the toggle rate
(transitions per applied input vector) times the vector rate, i.e. the clock frequency; plus,
where the library gives them, each input pin's internal energy per transition of that input.
A register clocked straight from an input port (the clock) gets one pulse, two transitions,
per vector: the clock's own edges are not in the activity, which samples nets once per vector
(a sequential design: once per clock cycle), and a flip-flop's clock pin draws its energy on
every edge, whether or not the stored bit changes.
Without measured activity every other cell pin is assumed to toggle :data:`DEFAULT_TOGGLE_RATE`
times per vector, the activity the library's internal energies were calibrated at (see
``tech/README.md``). Net switching power is negligible at 5 Hz and not modelled separately.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ._liberty import Library, SeqCell, load_library
from ._netlist import Bit, Netlist, read_netlist

__all__ = [
    "DEFAULT_FREQ_HZ",
    "DEFAULT_TOGGLE_RATE",
    "PowerReport",
    "power",
    "netlist_power",
    "toggle_rates",
    "input_state_probabilities",
]

DEFAULT_FREQ_HZ = 5.0
"""Clock (input vector) rate of the published printed classifiers: a 200 ms period."""
DEFAULT_TOGGLE_RATE = 0.36
"""Transitions per applied vector assumed for every cell output when none are measured."""
_CLOCK_TRANSITIONS = 2.0
"""Transitions per vector of a register's clock pin: one pulse per vector (clock cycle)."""


@dataclass(frozen=True)
class PowerReport:
    """Power of a design in mW; ``activity`` is ``"default"`` or ``"measured"``."""

    static_mw: float
    dynamic_mw: float
    power_mw: float
    freq_hz: float
    activity: str


def _check_freq(freq_hz: float) -> float:
    if isinstance(freq_hz, bool) or not isinstance(freq_hz, (int, float)) or not (
        math.isfinite(freq_hz) and freq_hz > 0
    ):
        raise UsageError(f"clock frequency must be a positive number of Hz, got {freq_hz!r}")
    return float(freq_hz)


def _check_rate(what: str, rate: float) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
        math.isfinite(rate) and rate >= 0
    ):
        raise UsageError(f"toggle rate of {what} must be a finite number >= 0, got {rate!r}")
    return float(rate)


def _static_mw(library: Library, counts: Mapping[str, int]) -> float:
    return sum(library.cell(name).leakage_uw * n for name, n in counts.items()) * 1e-3


def _report(static_mw: float, energy_rate_pj: float, freq_hz: float, activity: str) -> PowerReport:
    """``energy_rate_pj``: sum over instances of internal energy × toggles per vector."""
    dynamic_mw = energy_rate_pj * freq_hz * 1e-9
    return PowerReport(static_mw, dynamic_mw, static_mw + dynamic_mw, freq_hz, activity)


def power(
    cells: Mapping[str, int],
    *,
    freq_hz: float = DEFAULT_FREQ_HZ,
    toggle_rate: float | None = None,
    liberty: Path | None = None,
) -> PowerReport:
    """Power of a design from its cell counts, every cell output toggling at one rate.

    Parameters
    ----------
    cells : cell name -> instance count.
    freq_hz : input vector (clock) rate.
    toggle_rate : transitions per applied vector of every cell output (default
        :data:`DEFAULT_TOGGLE_RATE`, which makes the dynamic part the calibrated one).
    liberty : the library (default: the EGFET library).

    Raises
    ------
    UsageError
        For unknown cells, negative counts or rates, or a non-positive frequency.
    """
    library = load_library(liberty)
    freq_hz = _check_freq(freq_hz)
    rate = _check_rate("the cells", DEFAULT_TOGGLE_RATE if toggle_rate is None else toggle_rate)
    for name, n in cells.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UsageError(f"count of cell {name!r} must be an int >= 0, got {n!r}")
    energy = 0.0
    for name, n in cells.items():
        cell = library.cell(name)
        clock = cell.clock if isinstance(cell, SeqCell) else None
        pins = sum(e * (_CLOCK_TRANSITIONS if pin == clock else rate)
                   for pin, e in zip(cell.inputs, cell.pin_pj))
        energy += (cell.internal_pj * rate + pins) * n
    activity = "default" if toggle_rate is None else "uniform"
    return _report(_static_mw(library, cells), energy, freq_hz, activity)


def netlist_activity_power(
    netlist: Netlist, library: Library, activity: Mapping[str, float], freq_hz: float,
    states: Mapping[str, tuple[float, ...]] | None = None,
) -> PowerReport:
    """Power of ``netlist`` with measured toggle rates (see :func:`netlist_power`) and, if
    given, measured input-state probabilities (instance name -> probability of each input
    state, as :func:`input_state_probabilities` returns) for state-dependent leakage."""
    freq_hz = _check_freq(freq_hz)
    energy = 0.0
    unmatched = []
    outputs = [(i.name, i.cell, i.output) for i in netlist.instances]
    outputs += [(r.name, r.cell, r.outputs[0]) for r in netlist.registers]
    rates: dict[Bit, float] = {"0": 0.0, "1": 0.0}
    for name, cell, output in outputs:
        keys = (name, *netlist.bit_names.get(output, ()))
        key = next((k for k in keys if k in activity), None)
        if key is None:
            unmatched.append(name)
            continue
        rates[output] = _check_rate(repr(key), activity[key])
        energy += library.cell(cell).internal_pj * rates[output]
    # A cell left out would count as never toggling: under-reported power labelled measured.
    if unmatched:
        example = next(iter(activity), None)
        raise UsageError(
            f"the activity names no output of {len(unmatched)} of the "
            f"{len(outputs)} cells of {netlist.top!r} (e.g. {unmatched[0]!r}; the "
            f"activity has e.g. {example!r}); key it by the nets of the gate netlist"
        )
    energy += _pin_energy(netlist, library, activity, rates)
    if states is None:
        static_mw = _static_mw(library, netlist.cell_counts)
    else:
        static_mw = _static_mw(library, Counter(r.cell for r in netlist.registers))
        for inst in netlist.instances:
            cell = library.cells[inst.cell]
            probs = states.get(inst.name)
            if cell.leakage_states and probs is not None:
                static_mw += float(np.dot(probs, cell.leakage_states)) * 1e-3
            else:
                static_mw += cell.leakage_uw * 1e-3
    return _report(static_mw, energy, freq_hz, "measured")


def _pin_energy(netlist: Netlist, library: Library, activity: Mapping[str, float],
                rates: dict[Bit, float]) -> float:
    """Input pins' internal energy per vector (pJ), from the rates of the nets they read
    (``rates`` holds the cell outputs'); a register clock read from an input port pulses
    once per vector."""
    inputs = {b for direction, bits in netlist.ports.values() if direction == "input"
              for b in bits}
    pins = [(library.cells[i.cell], i.inputs) for i in netlist.instances]
    for r in netlist.registers:
        cell = library.registers[r.cell]
        by_pin = {cell.data: r.data, cell.clock: r.clock, cell.clear: r.clear}
        pins.append((cell, tuple(by_pin.get(pin) for pin in cell.inputs)))
    clocks = {r.clock for r in netlist.registers} & inputs
    energy = 0.0
    for cell, bits in pins:
        for bit, pin_pj in zip(bits, cell.pin_pj):
            if bit is None or not pin_pj:
                continue
            if bit in clocks:
                rate = _CLOCK_TRANSITIONS
            elif bit in rates:
                rate = rates[bit]
            else:
                key = next((k for k in netlist.bit_names.get(bit, ()) if k in activity), None)
                if key is None:
                    raise UsageError(f"the activity names no net of input bit {bit!r} of "
                                     f"{netlist.top!r}, which a {cell.name} pin reads; key "
                                     "it by the nets of the gate netlist")
                rate = _check_rate(repr(key), activity[key])
            energy += pin_pj * rate
    return energy


_POPCOUNT = np.array([bin(b).count("1") for b in range(256)], dtype=np.int64)


def input_state_probabilities(
    netlist: Netlist, library: Library, net_values: tuple[Sequence[str], np.ndarray],
    n_vectors: int,
) -> dict[str, tuple[float, ...]]:
    """How often each instance's inputs were in each state during a gate-level simulation.

    Parameters
    ----------
    netlist, library : the mapped netlist and its library.
    net_values : ``(names, packed)`` as :attr:`bespoke_mlp.sim.SimResult.net_values`: the value
        of each named net bit after every vector (vector ``v`` at bit ``v % 8`` of byte
        ``v // 8`` of the net's row).
    n_vectors : the vectors simulated.

    Returns
    -------
    dict
        Instance name -> probability of each input state (entry ``k`` has input ``i`` = bit
        ``i`` of k, the order of :attr:`Cell.truth_table`), for instances of cells with
        state-dependent leakage whose inputs were all recorded.
    """
    names, packed = net_values
    if isinstance(n_vectors, bool) or not isinstance(n_vectors, int) or n_vectors < 1:
        raise UsageError(f"input-state probabilities need >= 1 vector, got {n_vectors!r}")
    if packed.shape != (len(names), -(-n_vectors // 8)):
        raise UsageError(f"net values of shape {packed.shape!r} do not match {len(names)} "
                         f"nets and {n_vectors} vectors")
    row = {name: i for i, name in enumerate(names)}
    # Two extra rows: the constants 0 and 1 (padding bits beyond n_vectors are masked below).
    const = np.zeros((2, packed.shape[1]), dtype=np.uint8)
    const[1] = 0xFF
    table = np.concatenate([packed, const])
    tail = np.full(packed.shape[1], 0xFF, dtype=np.uint8)
    if n_vectors % 8:
        tail[-1] = (1 << (n_vectors % 8)) - 1

    def index(bit: Bit) -> int | None:
        if bit in ("0", "1"):
            return len(names) + int(bit)
        return next((row[n] for n in netlist.bit_names.get(bit, ()) if n in row), None)

    groups: dict[str, list[tuple[str, list[int]]]] = {}
    for inst in netlist.instances:
        if not library.cells[inst.cell].leakage_states:
            continue
        rows = [index(b) for b in inst.inputs]
        if all(r is not None for r in rows):
            groups.setdefault(inst.cell, []).append((inst.name, rows))
    out: dict[str, tuple[float, ...]] = {}
    for members in groups.values():
        inputs = table[np.array([r for _, r in members])]  # (n_inst, n_inputs, n_bytes)
        counts = []
        for k in range(1 << inputs.shape[1]):
            mask = np.broadcast_to(tail, inputs[:, 0].shape).copy()
            for i in range(inputs.shape[1]):
                mask &= inputs[:, i] if (k >> i) & 1 else ~inputs[:, i]
            counts.append(_POPCOUNT[mask].sum(axis=1))
        probs = np.stack(counts, axis=1) / n_vectors
        out.update((name, tuple(float(p) for p in ps)) for (name, _), ps in zip(members, probs))
    return out


def netlist_power(
    netlist_json: Path,
    activity: Mapping[str, float],
    *,
    freq_hz: float = DEFAULT_FREQ_HZ,
    liberty: Path | None = None,
) -> PowerReport:
    """Power of a mapped netlist with switching activity measured by gate-level simulation.

    Parameters
    ----------
    netlist_json : the netlist (Yosys JSON), e.g. :attr:`SynthResult.netlist_json`.
    activity : transitions per applied vector, keyed by cell instance name or by a name of the
        instance's output net as written in the Verilog netlist (``_0123_``, ``y[1]``): e.g.
        ``toggle_rates(sim.toggles, sim.n_vectors)``; every cell output must be listed
        (with 0.0 if it never toggled).
    freq_hz : input vector (clock) rate.
    liberty : the library (default: the EGFET library).

    Raises
    ------
    UsageError
        If a cell's output is not in ``activity`` (a naming mismatch), or a rate is
        negative or not finite.
    """
    library = load_library(liberty)
    netlist = read_netlist(netlist_json, library)
    return netlist_activity_power(netlist, library, activity, freq_hz)


def toggle_rates(toggles: Mapping[str, int], n_vectors: int) -> dict[str, float]:
    """Transitions per applied vector from toggle counts over ``n_vectors`` consecutive vectors
    (``n_vectors - 1`` transitions, the power-up state not counted)."""
    if isinstance(n_vectors, bool) or not isinstance(n_vectors, int) or n_vectors < 2:
        raise UsageError(f"toggle rates need at least 2 vectors, got n_vectors={n_vectors!r}")
    return {name: count / (n_vectors - 1) for name, count in toggles.items()}
