"""Power model: static power per cell plus internal energy per output transition.

EGFET logic is resistor-loaded, so static power dominates (93-97 % of the published totals).
Static power is the sum of the cells' fitted static figures. Dynamic power is, per instance, the
cell's internal energy per output transition times the transitions per second: the toggle rate
(transitions per applied input vector) times the vector rate, i.e. the clock frequency.
Without measured activity every cell output is assumed to toggle :data:`DEFAULT_TOGGLE_RATE`
times per vector, the activity the library's internal energies were calibrated at (see
``tech/README.md``). Net switching power is negligible at 5 Hz and not modelled separately.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ._liberty import Library, load_library
from ._netlist import Netlist, read_netlist

__all__ = [
    "DEFAULT_FREQ_HZ",
    "DEFAULT_TOGGLE_RATE",
    "PowerReport",
    "power",
    "netlist_power",
    "toggle_rates",
]

DEFAULT_FREQ_HZ = 5.0
"""Clock (input vector) rate of the published printed classifiers: a 200 ms period."""
DEFAULT_TOGGLE_RATE = 0.36
"""Transitions per applied vector assumed for every cell output when none are measured."""


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
    energy = sum(library.cell(name).internal_pj * n for name, n in cells.items()) * rate
    activity = "default" if toggle_rate is None else "uniform"
    return _report(_static_mw(library, cells), energy, freq_hz, activity)


def netlist_activity_power(
    netlist: Netlist, library: Library, activity: Mapping[str, float], freq_hz: float
) -> PowerReport:
    """Power of ``netlist`` with measured toggle rates (see :func:`netlist_power`)."""
    freq_hz = _check_freq(freq_hz)
    energy = 0.0
    unmatched = []
    for inst in netlist.instances:
        keys = (inst.name, *netlist.bit_names.get(inst.output, ()))
        key = next((k for k in keys if k in activity), None)
        if key is None:
            unmatched.append(inst.name)
            continue
        energy += library.cell(inst.cell).internal_pj * _check_rate(repr(key), activity[key])
    # A cell left out would count as never toggling: under-reported power labelled measured.
    if unmatched:
        example = next(iter(activity), None)
        raise UsageError(
            f"the activity names no output of {len(unmatched)} of the "
            f"{len(netlist.instances)} cells of {netlist.top!r} (e.g. {unmatched[0]!r}; the "
            f"activity has e.g. {example!r}); key it by the nets of the gate netlist"
        )
    return _report(_static_mw(library, netlist.cell_counts), energy, freq_hz, "measured")


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
