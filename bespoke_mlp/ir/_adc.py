"""The cost of the analog front end: one printed flash ADC per feature the circuit reads.

A ``b``-bit flash (thermometer) ADC compares its input against ``2**b - 1`` thresholds, one
comparator each, and a thermometer-to-binary encoder turns the comparator outputs into the code.
The comparators dominate: the printed-ADC co-design papers size an ADC by its comparators and
cut its cost by removing them (ESL'24, Afentaki et al., "Reducing ADC front-end costs during
training of on-sensor printed multilayer perceptrons", arXiv:2411.08674: pruned flash ADCs,
11.2x less ADC area and 13.2x less ADC power at < 5 % accuracy loss; DATE'24, Armeniakos et
al., "On-sensor printed machine learning classification via bespoke ADC and decision tree
co-design", arXiv:2312.01172: a bespoke ADC keeps only the comparators of the thresholds the
tree uses). So the cost here is per comparator: a 1-bit input is one comparator, a 4-bit one 15.

Calibration: a 4-bit printed ADC costs about 0.33 mW (``../shared/reference/egfet.md``, as the
printed-MLP literature cites it), that is 0.022 mW per comparator. Neither paper's text at hand
gives absolute comparator area; the area is estimated from the power at the EGFET library's
static power density (3.34 mW/cm², ``search/cost_model.json``), about 0.66 mm² per comparator.
The encoder (a few gates per output bit) is left out.
"""

from __future__ import annotations

__all__ = ["ADC_REFERENCE_BITS", "MW_PER_CM2", "adc_comparators", "comparators_per_feature"]

#: ``--adc-mw`` is the power of one full ADC of this many bits (2**4 - 1 = 15 comparators).
ADC_REFERENCE_BITS = 4
#: Printed-logic power density the comparator area is estimated with (EGFET at 1.0 V).
MW_PER_CM2 = 3.3432539813939273


def comparators_per_feature(resolution: tuple[int, ...]) -> tuple[int, ...]:
    """Comparators of each feature's flash ADC: ``2**bits - 1`` (0 for an unused feature)."""
    return tuple((1 << r) - 1 for r in resolution)


def adc_comparators(resolution: tuple[int, ...]) -> int:
    """Comparators of all ADCs together."""
    return sum(comparators_per_feature(resolution))
