"""Synthesis onto the EGFET printed cells and the technology model (area, power, timing).

:func:`synthesize` maps a combinational Verilog/RTLIL design with Yosys and ABC (through pyosys,
in a child process) onto the cells of ``tech/egfet_1v0.lib`` and returns a :class:`SynthResult`
with area, power and critical-path delay. :func:`power`, :func:`netlist_power` and
:func:`static_timing` evaluate the model on cell counts or on a mapped netlist; :func:`calibrate`
checks it against the published designs of ``egfet_calibration.json``.
"""

from ._calibrate import CalibrationRow, calibrate
from ._liberty import CELL_MODELS, DEFAULT_LIBERTY, Cell, Library, load_library
from ._power import (
    DEFAULT_FREQ_HZ,
    DEFAULT_TOGGLE_RATE,
    PowerReport,
    netlist_power,
    power,
    toggle_rates,
)
from ._synthesize import (
    ABC_SCRIPT,
    DEEP_MAX_CELLS,
    EFFORTS,
    Effort,
    SynthResult,
    abc_scripts_for,
    synthesize,
)
from ._timing import TimingReport, static_timing

__all__ = [
    "ABC_SCRIPT",
    "CELL_MODELS",
    "DEEP_MAX_CELLS",
    "DEFAULT_FREQ_HZ",
    "DEFAULT_LIBERTY",
    "DEFAULT_TOGGLE_RATE",
    "EFFORTS",
    "Effort",
    "CalibrationRow",
    "Cell",
    "Library",
    "PowerReport",
    "SynthResult",
    "TimingReport",
    "abc_scripts_for",
    "calibrate",
    "load_library",
    "netlist_power",
    "power",
    "static_timing",
    "synthesize",
    "toggle_rates",
]
