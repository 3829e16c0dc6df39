"""Training: float MLP, quantization to the integer network, quantization-aware fine-tuning.

:func:`train_model` runs the whole stage for a dataset; :func:`quantize` converts a fitted
scikit-learn ``MLPClassifier``; :func:`finetune` retrains an integer network under the golden
model's arithmetic (also for approximation-aware retraining with a custom projection);
:class:`BespokeMLPClassifier` wraps it all as a scikit-learn estimator;
:func:`train_family` trains the published widths and wider ones and picks the reference on
validation.

The names are imported on first use (see ``bespoke_mlp._lazy``), so that the command line's
parser does not import scikit-learn.
"""

from .._lazy import lazy_exports

__all__ = [
    "DEFAULT_HIDDEN",
    "WIDE_MIN_FEATURES",
    "BespokeMLPClassifier",
    "Candidate",
    "Family",
    "Projection",
    "TrainResult",
    "default_hidden",
    "finetune",
    "train_family",
    "quantize",
    "train_model",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "._estimator": ("BespokeMLPClassifier",),
    "._family": ("Candidate", "Family", "train_family"),
    "._finetune": ("Projection", "finetune"),
    "._float": ("DEFAULT_HIDDEN", "default_hidden"),
    "._quantize": ("quantize",),
    "._train": ("TrainResult", "train_model"),
    "._wide": ("WIDE_MIN_FEATURES",),
})
