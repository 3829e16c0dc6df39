"""Training: float MLP, quantization to the integer network, quantization-aware fine-tuning.

:func:`train_model` runs the whole stage for a dataset; :func:`quantize` converts a fitted
scikit-learn ``MLPClassifier``; :func:`finetune` retrains an integer network under the golden
model's arithmetic (also for approximation-aware retraining with a custom projection);
:class:`BespokeMLPClassifier` wraps it all as a scikit-learn estimator;
:func:`train_family` trains the published widths and wider ones and picks the most accurate
on validation.
"""

from ._estimator import BespokeMLPClassifier
from ._family import Candidate, Family, train_family
from ._finetune import Projection, finetune
from ._float import DEFAULT_HIDDEN, default_hidden
from ._quantize import quantize
from ._train import TrainResult, train_model
from ._wide import WIDE_MIN_FEATURES

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
