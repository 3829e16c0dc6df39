"""The :class:`Dataset` container and the checks every loaded dataset passes."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

__all__ = [
    "Dataset",
    "ConstantFeatureWarning",
    "finish_dataset",
    "check_classes",
    "label_indices",
    "readonly",
]


def label_indices(classes: Sequence[object] | np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index in ``classes`` of each label of ``y`` (``int64``); ``-1`` for a label not among
    them: a class the model never saw, which no prediction equals, so it counts as an error
    in every accuracy and is left out of fine-tuning."""
    index = {_plain(c): i for i, c in enumerate(classes)}
    return np.array([index.get(_plain(v), -1) for v in np.asarray(y).tolist()],
                    dtype=np.int64).reshape(-1)


def _plain(label: object) -> object:
    """A NumPy scalar label as the Python value it equals (JSON labels are Python values)."""
    return label.item() if isinstance(label, np.generic) else label


class ConstantFeatureWarning(UserWarning):
    """A feature has the same value in every sample and was dropped."""


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only copy of ``a`` (the dataclasses holding it are frozen)."""
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled tabular classification dataset with raw (unscaled) feature values.

    Attributes
    ----------
    name
        Dataset name (a known name, or the file stem of a CSV).
    X
        ``float64`` array ``(n_samples, n_features)`` of raw values (read-only).
    y
        Class labels, shape ``(n_samples,)``: ``int64`` when the source has whole-number labels,
        ``float64`` for other numbers, else strings (read-only).
    feature_names
        One name per column of ``X``: column ``k`` drives circuit input ``x[k]``.
    dropped_features
        Names of the source's constant columns, dropped before ``X`` (nothing to learn).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    dropped_features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        X = np.asarray(self.X, dtype=np.float64)
        y = np.asarray(self.y)
        names = tuple(str(n) for n in self.feature_names)
        if X.ndim != 2:
            raise DataError(f"dataset {self.name!r}: X must be 2-D, got shape {X.shape!r}")
        if y.shape != (X.shape[0],):
            raise DataError(
                f"dataset {self.name!r}: y has shape {y.shape!r}, expected ({X.shape[0]},)"
            )
        if len(names) != X.shape[1]:
            raise DataError(
                f"dataset {self.name!r}: {len(names)} feature names for {X.shape[1]} features"
            )
        object.__setattr__(self, "X", readonly(X))
        object.__setattr__(self, "y", readonly(y))
        object.__setattr__(self, "feature_names", names)

    @property
    def n_samples(self) -> int:
        """Number of samples (rows of ``X``)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features (columns of ``X``)."""
        return int(self.X.shape[1])

    @property
    def classes(self) -> tuple:
        """Sorted unique class labels (Python ``int`` or ``str``)."""
        return tuple(np.unique(self.y).tolist())


def check_classes(name: str, y: np.ndarray) -> None:
    """Require at least two classes, each with at least two samples (for stratified splits)."""
    values, counts = np.unique(y, return_counts=True)
    if len(values) < 2:
        only = values[0].item() if len(values) else None
        raise DataError(
            f"dataset {name!r} has only one class ({only!r}); a classifier needs at least 2"
        )
    small = [(v.item(), int(c)) for v, c in zip(values, counts, strict=True) if c < 2]
    if small:
        label, count = small[0]
        raise DataError(
            f"dataset {name!r}: class {label!r} has only {count} sample; every class needs at "
            "least 2 for a stratified split"
        )


def finish_dataset(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    feature_names: Sequence[str],
    *,
    stacklevel: int,
) -> Dataset:
    """Validate values and classes, drop constant features (with a warning), build the Dataset.

    ``stacklevel`` is passed to :func:`warnings.warn` so the warning points at the user's call.
    """
    X = np.asarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise DataError(
            f"dataset {name!r}: non-finite value {X[i, j].item()!r} in feature "
            f"{feature_names[j]!r}, sample {int(i)}"
        )
    check_classes(name, y)
    constant = np.all(X == X[:1], axis=0)
    if constant.all():
        raise DataError(f"dataset {name!r}: every feature is constant; nothing to learn from")
    if constant.any():
        dropped = [n for n, c in zip(feature_names, constant, strict=True) if c]
        warnings.warn(
            f"dataset {name!r}: dropping {len(dropped)} constant feature(s) "
            f"{', '.join(repr(n) for n in dropped)}",
            ConstantFeatureWarning,
            stacklevel=stacklevel + 1,
        )
        X = X[:, ~constant]
        feature_names = [n for n, c in zip(feature_names, constant, strict=True) if not c]
        return Dataset(name=name, X=X, y=y, feature_names=tuple(feature_names),
                       dropped_features=tuple(dropped))
    return Dataset(name=name, X=X, y=y, feature_names=tuple(feature_names))
