"""The evaluation protocol: stratified train/validation/selection/test split and the input
scaling (a per-feature range, fitted on all non-test samples by an
:class:`~bespoke_mlp.ir.InputRange` rule).

The four parts, and the only names this package uses for them:

- **train**: fitted by training, retraining and the search's scoring;
- **validation** (``val``): chooses among restarts and epochs of training and retraining;
- **selection** (``select``): judges a searched design's loss against the exact network; no step
  fits it (empty unless asked for);
- **test**: reported only, never used to choose anything.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, UsageError
from ..ir import DEFAULT_INPUT_RANGE, InputRange, quantize_codes
from ._dataset import Dataset, check_classes, readonly

__all__ = ["Split", "split_dataset", "stratified_holdout", "PARTS"]

PARTS: tuple[str, ...] = ("train", "val", "select", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """A dataset split into train, validation, selection and test parts (raw values,
    read-only).

    ``feature_min``/``feature_max`` are the per-feature input range, fitted by the rule
    ``input_range`` on every non-test sample (train, validation and selection: the fit reads
    no labels, and so every split of the same seed codes its test part identically, whatever
    its selection part); never on the test part. Values outside the range, in any part, are
    clipped to the end codes by :meth:`codes`; ``input_clipped`` says per feature whether any
    fitting sample is. ``input_range`` is None when the range is given (an imported model's
    own).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_select: np.ndarray
    y_select: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_min: np.ndarray
    feature_max: np.ndarray
    input_range: InputRange | None = DEFAULT_INPUT_RANGE
    input_clipped: tuple[bool, ...] = ()

    def codes(self, part: str, bits: int) -> np.ndarray:
        """Unsigned ``bits``-bit input codes (``int64``) of ``part`` ("train", "val", "select"
        or "test").

        Computed by :func:`bespoke_mlp.ir.quantize_codes` with this split's input range.
        """
        if part not in PARTS:
            raise UsageError(f"unknown split part {part!r}; expected one of {', '.join(PARTS)}")
        if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or bits < 1:
            raise UsageError(f"input bits must be a positive integer, got {bits!r}")
        X = {"train": self.X_train, "val": self.X_val, "select": self.X_select,
             "test": self.X_test}[part]
        return quantize_codes(X, self.feature_min, self.feature_max, int(bits))


def _check_fraction(name: str, value: float, *, allow_zero: bool) -> None:
    numeric = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (numeric and (0 <= value if allow_zero else 0 < value) and value < 1):
        bound = "[0, 1)" if allow_zero else "(0, 1)"
        raise UsageError(f"{name} must be a fraction in {bound}, got {value!r}")


def stratified_holdout(
    portion: np.ndarray, y: np.ndarray, size: float, seed: int, *, name: str = "data",
    what: str = "validation",
) -> tuple[np.ndarray, np.ndarray]:
    """Split the indices ``portion`` (into ``y``) into a kept part and a stratified ``size``
    fraction held out as the ``what`` part (``random_state=seed``).

    A class with a single sample in ``portion`` stays in the kept part; if the held-out part
    cannot hold every class, the split is made without stratification; classes that then fall
    only into the held-out part are moved to the kept part, so that it holds every class.
    ``size=0`` holds out nothing.

    Raises
    ------
    DataError
        If ``portion`` is too small to split at all (``name`` names the data).
    """
    from sklearn.model_selection import train_test_split

    if size == 0:
        return portion, portion[:0]
    values, counts = np.unique(y[portion], return_counts=True)
    rare = np.isin(y[portion], values[counts < 2])
    pool = portion[~rare]
    for stratify in (y[pool], None):
        try:
            train, val = train_test_split(pool, test_size=size, random_state=seed,
                                          stratify=stratify)
        except ValueError as exc:
            error = exc
            continue
        missing = ~np.isin(y[val], y[train])
        return np.concatenate([train, val[missing], portion[rare]]), val[~missing]
    raise DataError(
        f"dataset {name!r}: {len(portion)} samples are too few for a {what} part of "
        f"{size!r}: {error}"
    )


def split_dataset(
    ds: Dataset, *, test_size: float = 0.3, val_size: float = 0.2, select_size: float = 0.0,
    seed: int = 42, input_range: InputRange = DEFAULT_INPUT_RANGE,
) -> Split:
    """Split a dataset by the printed-ML evaluation protocol.

    The test part is a stratified ``test_size`` fraction chosen by scikit-learn's
    ``train_test_split(random_state=seed)``, so it is the same test set the published papers use
    (70 % / 30 %, seed 42). The selection part is a stratified ``select_size`` fraction of the
    remaining samples, the validation part a stratified ``val_size`` fraction of what is left
    after that, the rest is the train part (both with the same seed); a size of 0 gives an
    empty part.

    Parameters
    ----------
    ds
        The dataset.
    test_size
        Fraction of all samples held out for testing, in (0, 1).
    val_size
        Fraction of the non-test, non-selection samples used for validation, in [0, 1).
    select_size
        Fraction of the non-test samples held out for selection, in [0, 1).
    seed
        Random seed of both splits.
    input_range
        The rule that fits each feature's input range on the non-test samples.

    Returns
    -------
    Split
        The parts and the input range fitted on all non-test samples.

    Notes
    -----
    Fallbacks of the selection and validation splits: a class with only one sample left stays
    in the train part; if the validation part is then too small to hold every class
    (or the training part too small), the validation split is made without stratification.
    The published papers min-max scale over the whole dataset; here the test part never
    influences the scaling, and the selection part's size never changes it.

    Raises
    ------
    UsageError
        If a fraction or the seed is out of range.
    DataError
        If the dataset has fewer than 2 classes, a class with fewer than 2 samples, or too few
        samples for the requested parts.
    """
    # Imported here: scikit-learn takes seconds to import, which the CLI should not always pay.
    from sklearn.model_selection import train_test_split

    _check_fraction("test_size", test_size, allow_zero=False)
    _check_fraction("val_size", val_size, allow_zero=True)
    _check_fraction("select_size", select_size, allow_zero=True)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    if not isinstance(input_range, InputRange):
        raise UsageError(f"input_range must be an InputRange, got {input_range!r}")
    check_classes(ds.name, ds.y)
    index = np.arange(ds.n_samples)
    try:
        portion, test = train_test_split(
            index, test_size=test_size, random_state=seed, stratify=ds.y
        )
    except ValueError as exc:
        raise DataError(
            f"dataset {ds.name!r} ({ds.n_samples} samples, {len(ds.classes)} classes) is too "
            f"small for a stratified test split of {test_size!r}: {exc}"
        ) from None
    fitted = input_range.fit(ds.X[portion])
    portion, select = stratified_holdout(portion, ds.y, select_size, seed, name=ds.name,
                                         what="selection")
    train, val = stratified_holdout(portion, ds.y, val_size, seed, name=ds.name)
    return Split(
        X_train=readonly(ds.X[train]),
        y_train=readonly(ds.y[train]),
        X_val=readonly(ds.X[val]),
        y_val=readonly(ds.y[val]),
        X_select=readonly(ds.X[select]),
        y_select=readonly(ds.y[select]),
        X_test=readonly(ds.X[test]),
        y_test=readonly(ds.y[test]),
        feature_min=readonly(fitted.lo),
        feature_max=readonly(fitted.hi),
        input_range=input_range,
        input_clipped=tuple(bool(c) for c in fitted.clipped),
    )
