"""Synthesis onto printed standard cells and the technology model (area, power, timing).

:func:`synthesize` maps a Verilog/RTLIL design with Yosys and ABC (through pyosys, in a child
process) onto the cells of a technology (:func:`technology`: a built-in such as the default
``tech/egfet_1v0.lib`` or ``"egfet-0.6v"``, or any Liberty file) and returns a
:class:`SynthResult` with area, power and critical-path delay; ABC's mapper minimizes area or,
by default, power (:func:`mapping_costs`). :func:`power`,
:func:`netlist_power` and :func:`static_timing` evaluate the model on cell counts or on a mapped
netlist; :func:`input_state_probabilities` turns gate-level simulation values into the
state-dependent leakage's weights; :func:`calibrate` checks the model against the published
designs of ``egfet_calibration.json``; :func:`write_cell_models` writes a library's Verilog
simulation models; :func:`read_netlist` reads a mapped netlist's cells and nets;
:func:`derive_library` derives a compact library from a characterised one.
"""

from ._calibrate import CalibrationRow, calibrate
from ._derive import derive_library
from ._liberty import (
    CELL_MODELS,
    DEFAULT_LIBERTY,
    DEFAULT_MAPPING,
    MAPPINGS,
    POWER_MAPPING_WEIGHT,
    Cell,
    Library,
    MappingCost,
    SeqCell,
    load_library,
    mapping_costs,
)
from ._models import write_cell_models
from ._netlist import Netlist, read_netlist
from ._power import (
    DEFAULT_FREQ_HZ,
    DEFAULT_TOGGLE_RATE,
    PowerReport,
    input_state_probabilities,
    netlist_power,
    power,
    toggle_rates,
)
from ._synthesize import (
    ABC_SCRIPT,
    COLLAPSE_MAX_INPUTS,
    DEEP_MAX_CELLS,
    DEEP_TINY_CELLS,
    DEFAULT_EFFORT,
    EFFORTS,
    REPORT_EFFORT,
    Effort,
    SynthResult,
    abc_scripts_for,
    synthesize,
)
from ._tech import (
    BUILTIN_TECHNOLOGIES,
    DEFAULT_TECH,
    Technology,
    add_tech_arguments,
    technology,
)
from ._timing import (
    HALF_PERIOD_SUFFIX,
    TimingReport,
    choose_clock,
    sdc_text,
    static_timing,
    timing_report_text,
)

__all__ = [
    "sdc_text",
    "timing_report_text",
    "HALF_PERIOD_SUFFIX",
    "ABC_SCRIPT",
    "COLLAPSE_MAX_INPUTS",
    "BUILTIN_TECHNOLOGIES",
    "CELL_MODELS",
    "DEEP_MAX_CELLS",
    "DEEP_TINY_CELLS",
    "DEFAULT_EFFORT",
    "DEFAULT_FREQ_HZ",
    "DEFAULT_LIBERTY",
    "DEFAULT_MAPPING",
    "DEFAULT_TECH",
    "DEFAULT_TOGGLE_RATE",
    "EFFORTS",
    "MAPPINGS",
    "POWER_MAPPING_WEIGHT",
    "REPORT_EFFORT",
    "Effort",
    "CalibrationRow",
    "Cell",
    "Library",
    "MappingCost",
    "Netlist",
    "PowerReport",
    "SeqCell",
    "SynthResult",
    "Technology",
    "TimingReport",
    "abc_scripts_for",
    "add_tech_arguments",
    "calibrate",
    "choose_clock",
    "derive_library",
    "input_state_probabilities",
    "load_library",
    "mapping_costs",
    "netlist_power",
    "power",
    "read_netlist",
    "static_timing",
    "synthesize",
    "technology",
    "toggle_rates",
    "write_cell_models",
]
