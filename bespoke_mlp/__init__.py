"""bespoke-mlp: hardware design generator for bespoke printed MLP classifiers."""

__version__ = "0.1.0"
