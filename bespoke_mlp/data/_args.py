"""Command-line options shared by every subcommand that loads a dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._registry import DATA_ENV_VAR

__all__ = ["add_data_arguments"]


def add_data_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--data-dir DIR`` and ``--label NAME`` to ``parser``.

    They become ``args.data_dir`` (a :class:`~pathlib.Path` or ``None``) and ``args.label``,
    to be passed to :func:`~bespoke_mlp.data.load_dataset`.
    """
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help=(
            "directory holding the printed-ML suite CSVs (cardio.csv, pendigits.csv, ...); "
            f"default: the {DATA_ENV_VAR} environment variable"
        ),
    )
    parser.add_argument(
        "--label",
        metavar="NAME",
        default=None,
        help="label column of a dataset given as a CSV path (default: the last column)",
    )
