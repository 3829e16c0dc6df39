"""Integer network IR and its golden model."""

from ._adc import ADC_REFERENCE_BITS, adc_comparators, comparators_per_feature
from ._csd import CSD_LIMIT, csd_digits, csd_weight
from ._cycle import (
    SEQUENTIAL_CM2,
    SEQUENTIAL_COST_FEATURES,
    Schedule,
    Step,
    cycle_predict,
    schedule,
    sequential_area_cm2,
)
from ._golden import (
    NeuronSum,
    PartialProduct,
    accumulator_range,
    accumulator_width,
    bit_planes,
    encode_inputs,
    forward,
    layer_linear_form,
    linear_form_arrays,
    neuron_sum,
    partial_product_counts,
    predict_codes,
    quantize_codes,
    signed_width,
    truncation_compensation,
)
from ._network import FORMAT, Layer, Network, Window
from ._quantizer import network_codes, resolution_codes, threshold_codes
from ._range import DEFAULT_INPUT_RANGE, MIN_MAX, FittedRange, InputRange
from ._scale import normalize, trailing_zeros

__all__ = [
    "ADC_REFERENCE_BITS",
    "DEFAULT_INPUT_RANGE",
    "MIN_MAX",
    "FittedRange",
    "InputRange",
    "CSD_LIMIT",
    "adc_comparators",
    "comparators_per_feature",
    "network_codes",
    "resolution_codes",
    "threshold_codes",
    "FORMAT",
    "Layer",
    "Network",
    "Window",
    "SEQUENTIAL_CM2",
    "SEQUENTIAL_COST_FEATURES",
    "Schedule",
    "Step",
    "cycle_predict",
    "normalize",
    "trailing_zeros",
    "schedule",
    "sequential_area_cm2",
    "NeuronSum",
    "PartialProduct",
    "accumulator_range",
    "accumulator_width",
    "bit_planes",
    "csd_digits",
    "csd_weight",
    "encode_inputs",
    "forward",
    "layer_linear_form",
    "partial_product_counts",
    "truncation_compensation",
    "linear_form_arrays",
    "neuron_sum",
    "predict_codes",
    "quantize_codes",
    "signed_width",
]
