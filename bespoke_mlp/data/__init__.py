"""Datasets and the evaluation protocol.

:func:`load_dataset` reads scikit-learn's bundled datasets, the printed-ML benchmark suite (CSV
files in a directory given by ``data_dir`` or the ``BESPOKE_MLP_DATA`` environment variable) or
any labelled CSV file; :func:`split_dataset` makes the stratified train/validation/selection/test
split, with each feature's input range fitted on all non-test samples
(:class:`~bespoke_mlp.ir.InputRange`).
"""

from ._args import add_data_arguments
from ._dataset import ConstantFeatureWarning, Dataset, label_indices
from ._registry import (
    BUILTIN_DATASETS,
    DATA_ENV_VAR,
    PRINTED_ML_DATASETS,
    known_datasets,
    load_dataset,
)
from ._split import Split, split_dataset, stratified_holdout

__all__ = [
    "BUILTIN_DATASETS",
    "DATA_ENV_VAR",
    "PRINTED_ML_DATASETS",
    "ConstantFeatureWarning",
    "Dataset",
    "Split",
    "add_data_arguments",
    "known_datasets",
    "label_indices",
    "load_dataset",
    "split_dataset",
    "stratified_holdout",
]
