"""Bespoke RTL generation in Amaranth: neurons with bit-level compressor trees, ReLU windows,
an argmax tree, and Verilog emission."""

from ._emit import (
    ARCHS,
    TOP_MODULE,
    Architecture,
    check_arch,
    check_module_name,
    to_rtlil,
    write_verilog,
    write_verilog_many,
)
from ._neuron import Argmax, Form, Neuron, NeuronLayer, PairwiseArgmax
from ._readable import HEADER_END, design_header, write_design_verilog
from ._sequential import SequentialClassifier
from ._top import Classifier
from ._tree import compress, dadda_heights

__all__ = [
    "TOP_MODULE",
    "ARCHS",
    "Architecture",
    "SequentialClassifier",
    "check_arch",
    "Argmax",
    "Classifier",
    "Form",
    "Neuron",
    "NeuronLayer",
    "PairwiseArgmax",
    "check_module_name",
    "compress",
    "dadda_heights",
    "to_rtlil",
    "write_verilog",
    "write_verilog_many",
    "HEADER_END",
    "design_header",
    "write_design_verilog",
]
