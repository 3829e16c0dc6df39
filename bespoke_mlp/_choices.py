"""Choices and defaults that both the library and the command line use.

They live in this module, which imports nothing, so that building the argument parser
(``bespoke-mlp --help``, a usage error) does not import scikit-learn, pymoo or Amaranth; the
modules that use them import them from here.
"""

from __future__ import annotations

__all__ = ["ARCHS", "DEFAULT_ADC_MW", "DEFAULT_SPLIT_SEED", "OBJECTIVES", "QUANTIZERS",
           "WIDE_MIN_FEATURES"]

#: Circuit architectures (``--arch``): combinational, or folded onto one MAC unit.
ARCHS = ("parallel", "sequential")
#: What the search minimizes (``--objective``).
OBJECTIVES = ("system-power", "power", "area")
#: ``--quantizer`` choices.
QUANTIZERS = ("learned", "uniform")
#: Power (mW) of one 4-bit printed flash ADC (15 comparators), ``--adc-mw``.
DEFAULT_ADC_MW = 0.33
#: The train/test split seed of the papers' split, ``--split-seed``.
DEFAULT_SPLIT_SEED = 42
#: Datasets of at least this many features select features while training (``auto``).
WIDE_MIN_FEATURES = 32
