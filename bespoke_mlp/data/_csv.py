"""Reading a labelled CSV table into raw feature values and class labels, with validation."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["RawTable", "read_csv", "detect_delimiter", "parse_labels"]

_INT_LABEL = re.compile(r"[+-]?\d+")
# Long header lists are cut in error messages so that they stay one readable line.
_MAX_LISTED = 12


@dataclass(frozen=True)
class RawTable:
    """A parsed CSV: feature values (NaN where ``allow_missing`` let an empty field through),
    labels as strings, and the feature column names in file order."""

    feature_names: tuple[str, ...]
    X: np.ndarray
    labels: tuple[str, ...]
    label_name: str


def detect_delimiter(header: str, path: Path) -> str:
    """Pick ``;`` or ``,`` from the header line: whichever occurs more often (``;`` on a tie)."""
    n_semi, n_comma = header.count(";"), header.count(",")
    if n_semi == 0 and n_comma == 0:
        raise DataError(
            f"{str(path)!r}: header line {header.strip()!r} has no ';' or ',' separator; "
            "a dataset needs at least one feature column and a label column"
        )
    return ";" if n_semi >= n_comma else ","


def _short_list(names: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else "")


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header fields and non-blank data rows (with their 1-based line numbers)."""
    if path.is_dir():
        raise DataError(f"dataset path {str(path)!r} is a directory, not a CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DataError(f"dataset file {str(path)!r} not found") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"dataset file {str(path)!r} is not UTF-8 text") from exc
    except OSError as exc:
        raise DataError(f"cannot read dataset file {str(path)!r}: {exc.strerror}") from exc
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DataError(f"dataset file {str(path)!r} is empty")
    delimiter = detect_delimiter(lines[first], path)
    reader = csv.reader(lines[first:], delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    rows = []
    for offset, row in enumerate(reader, start=first + 2):
        if len(row) > 1 or (row and row[0].strip()):
            rows.append((offset, row))
    if not rows:
        raise DataError(f"dataset file {str(path)!r} has a header but no data rows")
    return header, rows


def _check_header(header: list[str], path: Path) -> None:
    seen: set[str] = set()
    for k, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{str(path)!r}: column {k} of the header has an empty name")
        if name in seen:
            raise DataError(f"{str(path)!r}: duplicate column name {name!r} in the header")
        seen.add(name)


def read_csv(path: Path, *, label: str | None = None, allow_missing: bool = False) -> RawTable:
    """Parse a ``;``- or ``,``-separated CSV with a header row into a :class:`RawTable`.

    Parameters
    ----------
    path
        The CSV file.
    label
        Name of the label column; the last column when ``None``.
    allow_missing
        Let empty feature fields through as NaN (the caller imputes them) instead of failing.

    Raises
    ------
    DataError
        On an unreadable, empty or header-only file, duplicate or empty column names, a missing
        label column, a row of the wrong length, an empty label, or a feature value that is not
        a finite number (the message names the column and line).
    """
    header, rows = _read_rows(path)
    _check_header(header, path)
    if label is None:
        label_col = len(header) - 1
    elif label in header:
        label_col = header.index(label)
    else:
        raise DataError(
            f"label column {label!r} not found in {str(path)!r}; columns are {_short_list(header)}"
        )
    feature_cols = [k for k in range(len(header)) if k != label_col]
    for line_no, row in rows:
        if len(row) != len(header):
            raise DataError(
                f"{str(path)!r} line {line_no}: {len(row)} fields, but the header has "
                f"{len(header)}"
            )
    labels = [row[label_col].strip() for _, row in rows]
    if "" in labels:
        line_no = rows[labels.index("")][0]
        raise DataError(
            f"{str(path)!r} line {line_no}: empty value in label column {header[label_col]!r}"
        )
    try:
        X = np.array([[float(row[k]) for k in feature_cols] for _, row in rows])
    except ValueError:
        X = None
    if X is None or not np.isfinite(X).all():
        # The slow cell-by-cell pass finds the offending value (or marks missing ones NaN).
        X = np.array(
            [
                [_parse_value(row[k], header[k], line_no, path, allow_missing)
                 for k in feature_cols]
                for line_no, row in rows
            ],
            dtype=np.float64,
        )
    return RawTable(
        feature_names=tuple(header[k] for k in feature_cols),
        X=X,
        labels=tuple(labels),
        label_name=header[label_col],
    )


def _parse_value(field: str, column: str, line_no: int, path: Path, allow_missing: bool) -> float:
    text = field.strip()
    if not text:
        if allow_missing:
            return math.nan
        raise DataError(
            f"{str(path)!r} line {line_no}: empty (missing) value in feature column {column!r}"
        )
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"{str(path)!r} line {line_no}: non-numeric value {text!r} in feature column "
            f"{column!r}"
        ) from None
    if not math.isfinite(value):
        raise DataError(
            f"{str(path)!r} line {line_no}: non-finite value {text!r} in feature column "
            f"{column!r}"
        )
    return value


def parse_labels(labels: tuple[str, ...]) -> np.ndarray:
    """Labels as numbers when every one is numeric, else as a numpy string array.

    Numeric labels are compared by value, so ``1`` and ``1.0`` are one class: ``int64`` when
    every value is a whole number, ``float64`` otherwise.

    Raises
    ------
    DataError
        If a whole-number label does not fit a 64-bit integer.
    """
    try:
        values = [float(v) for v in labels]
    except ValueError:
        return np.array(labels, dtype=np.str_)
    if not all(math.isfinite(v) for v in values):
        return np.array(labels, dtype=np.str_)
    if not all(v.is_integer() for v in values):
        return np.array(values, dtype=np.float64)
    ints = [int(v) if not _INT_LABEL.fullmatch(t) else int(t) for t, v in zip(labels, values)]
    bad = next((t for t, i in zip(labels, ints) if not -(1 << 63) <= i < 1 << 63), None)
    if bad is not None:
        raise DataError(f"class label {bad!r} does not fit a 64-bit integer; use shorter labels "
                        "or non-numeric ones")
    return np.array(ints, dtype=np.int64)
