"""Dataset names: scikit-learn's bundled data, the printed-ML CSV suite, and CSV paths."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import DataError, UsageError
from ._csv import RawTable, parse_labels, read_csv
from ._dataset import Dataset, finish_dataset
from ._fetch import cache_dir

__all__ = [
    "BUILTIN_DATASETS",
    "PRINTED_ML_DATASETS",
    "DATA_ENV_VAR",
    "known_datasets",
    "load_dataset",
]

DATA_ENV_VAR = "BESPOKE_MLP_DATA"

BUILTIN_DATASETS: tuple[str, ...] = ("iris", "wine", "breast_cancer_wdbc", "digits")
PRINTED_ML_DATASETS: tuple[str, ...] = (
    "cardio",
    "pendigits",
    "redwine",
    "whitewine",
    "breast_cancer",
    "seeds",
    "vertebral_3c",
    "balance",
    "arrhythmia",
)

_SUITE_LABEL = "Y"
# arrhythmia: a column missing in more than this fraction of samples is dropped (only "J", 83 %
# missing); the few gaps left (P, T, QRST, heartrate: at most 5 %) get the column median.
_MAX_MISSING_FRACTION = 0.5
# The stacklevel at which a constant-feature warning points at load_dataset's caller.
_WARN_LEVEL = 3


def known_datasets() -> tuple[str, ...]:
    """Dataset names :func:`load_dataset` accepts: the built-ins, then the printed-ML suite."""
    return BUILTIN_DATASETS + PRINTED_ML_DATASETS


def _sklearn_loader(name: str) -> Callable[[], object]:
    from sklearn import datasets

    return {
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer_wdbc": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
    }[name]


def _load_builtin(name: str) -> Dataset:
    bunch = _sklearn_loader(name)()
    return finish_dataset(
        name,
        np.asarray(bunch.data, dtype=np.float64),
        np.asarray(bunch.target, dtype=np.int64),
        [str(n) for n in bunch.feature_names],
        stacklevel=_WARN_LEVEL,
    )


def _resolve_data_dir(name: str, data_dir: str | Path | None) -> tuple[Path, str]:
    """The directory to read ``name`` from, and where that choice came from."""
    if data_dir is not None:
        directory, origin = Path(data_dir), "--data-dir"
    elif os.environ.get(DATA_ENV_VAR):
        directory, origin = Path(os.environ[DATA_ENV_VAR]), DATA_ENV_VAR
    else:
        return cache_dir(), "the dataset cache"
    if not directory.is_dir():
        raise DataError(
            f"data directory {str(directory)!r} (from {origin}) does not exist or is not a "
            f"directory; point --data-dir or {DATA_ENV_VAR} at the printed-ML CSV directory"
        )
    return directory, origin


def _impute_missing(table: RawTable) -> tuple[np.ndarray, list[str]]:
    """Drop mostly-missing columns and fill the remaining gaps with the column median."""
    X = table.X
    missing = np.isnan(X)
    keep = missing.mean(axis=0) <= _MAX_MISSING_FRACTION
    X = X[:, keep]
    names = [n for n, k in zip(table.feature_names, keep, strict=True) if k]
    gaps = np.isnan(X)
    if gaps.any():
        medians = np.nanmedian(X, axis=0)
        X = np.where(gaps, medians[np.newaxis, :], X)
    return X, names


def _load_suite(name: str, data_dir: str | Path | None) -> Dataset:
    directory, origin = _resolve_data_dir(name, data_dir)
    path = directory / f"{name}.csv"
    if not path.is_file():
        to = "" if origin == "the dataset cache" else f" --to {shlex.quote(str(directory))}"
        raise DataError(
            f"dataset file {path.name!r} not found in {origin} {str(directory)!r}; download "
            f"it with 'bespoke-mlp datasets fetch {name}{to}', or point --data-dir or "
            f"{DATA_ENV_VAR} at a directory holding the printed-ML CSVs"
        )
    table = read_csv(path, label=_SUITE_LABEL, allow_missing=name == "arrhythmia")
    X, names = table.X, list(table.feature_names)
    if name == "arrhythmia":
        X, names = _impute_missing(table)
    elif name == "breast_cancer":
        # X1 is the sample ID, not a measurement.
        X, names = X[:, 1:], names[1:]
    elif name == "redwine":
        # The file's header calls the 11th feature "quality"; it is the alcohol content.
        names = ["alcohol" if n == "quality" else n for n in names]
    return finish_dataset(name, X, parse_labels(table.labels), names, stacklevel=_WARN_LEVEL)


def _load_csv(path: Path, label: str | None) -> Dataset:
    table = read_csv(path, label=label)
    return finish_dataset(
        path.stem, table.X, parse_labels(table.labels), table.feature_names,
        stacklevel=_WARN_LEVEL,
    )


def _looks_like_path(text: str) -> bool:
    if os.sep in text or "/" in text or text.lower().endswith(".csv"):
        return True
    # A dataset's name wins over a same-named file or directory in the working directory
    # (e.g. the run directory ``bespoke-mlp run iris`` wrote before).
    return bool(text) and text.lower() not in known_datasets() and Path(text).exists()


def load_dataset(
    name_or_path: str | Path,
    *,
    data_dir: str | Path | None = None,
    label: str | None = None,
) -> Dataset:
    """Load a dataset by name or from a CSV file.

    Parameters
    ----------
    name_or_path
        A name from :func:`known_datasets` (case-insensitive) or the path of a CSV file. A
        :class:`~pathlib.Path`, or a string containing a path separator, ending in ``.csv`` or
        naming an existing file, is read as a CSV (names win over a same-named file or
        directory in the working directory).
    data_dir
        Directory of the printed-ML suite CSVs; defaults to the ``BESPOKE_MLP_DATA``
        environment variable, else the cache that ``bespoke-mlp datasets fetch`` fills
        (``$XDG_CACHE_HOME/bespoke-mlp/datasets``). Only used for suite names.
    label
        Label column of a CSV file given by path; the last column when ``None``.

    Returns
    -------
    Dataset
        Raw feature values and labels; constant features are dropped with a
        :class:`ConstantFeatureWarning`.

    Notes
    -----
    Built-ins (``iris``, ``wine``, ``breast_cancer_wdbc``, ``digits``) come from scikit-learn's
    bundled copies. The printed-ML suite is read from ``<data_dir>/<name>.csv`` (label column
    ``Y``) with these fixes: ``breast_cancer`` drops the sample-ID column ``X1`` (9 features);
    ``redwine`` renames the mislabelled 11th feature ``quality`` to ``alcohol``; ``arrhythmia``
    drops columns missing in more than half the samples (only ``J``), fills the remaining
    missing values with the column median over all samples, and loses its 17 constant columns
    (452 samples, 261 features, 13 classes).

    A CSV file is ``;``- or ``,``-separated (whichever occurs more often in the header line),
    with a header row; label values that are all integers become ``int64``, else strings.

    Raises
    ------
    DataError
        For an unknown name, a missing data directory or file, or invalid contents.
    UsageError
        If ``label`` is given with a dataset name (it applies to CSV paths only).
    """
    if isinstance(name_or_path, Path) or _looks_like_path(str(name_or_path)):
        return _load_csv(Path(name_or_path), label)
    name = str(name_or_path).lower()
    if name not in known_datasets():
        raise DataError(
            f"unknown dataset {str(name_or_path)!r}; known datasets: "
            f"{', '.join(known_datasets())}; or give the path of a CSV file"
        )
    if label is not None:
        raise UsageError(
            f"--label {label!r} applies to CSV files given by path, not to dataset {name!r}"
        )
    if name in BUILTIN_DATASETS:
        return _load_builtin(name)
    return _load_suite(name, data_dir)
