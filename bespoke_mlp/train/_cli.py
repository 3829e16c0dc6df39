"""``bespoke-mlp train``: train, quantize and fine-tune a dataset's MLP; write the network."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from .._choices import DEFAULT_SPLIT_SEED, WIDE_MIN_FEATURES
from .._help import option_groups
from .._util import atomic_output_dir, write_json
from ..data import add_data_arguments, known_datasets, load_dataset
from ..errors import UsageError
from ..ir import DEFAULT_INPUT_RANGE, InputRange
from ._checks import BIT_RANGES, check_bits

if TYPE_CHECKING:
    from ._train import TrainResult

__all__ = ["register", "add_model_arguments", "feature_selection_of", "parse_hidden",
           "train_summary"]


def parse_hidden(text: str) -> tuple[int, ...]:
    """Parse ``--hidden`` values such as ``"3"`` or ``"8,4"``."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or any(s < 1 for s in sizes):
        raise UsageError(
            f"--hidden must be positive integers separated by commas (e.g. 3 or 8,4), "
            f"got {text!r}"
        )
    return sizes


def train_summary(result: TrainResult, *, seed: int, split_seed: int, weight_bits: int,
                  activation_bits: int, qat: bool, feature_selection: bool | None) -> dict:
    """The contents of ``train.json``."""
    net = result.network
    split = result.split
    return {
        "accuracy": result.accuracy,
        "activation_bits": activation_bits,
        "bespoke_mlp_version": __version__,
        "classes": list(net.classes),
        "dataset": result.dataset,
        "feature_selection": feature_selection,
        "hidden": list(net.topology[1:-1]),
        "input_bits": net.input_bits,
        "input_range": None if split.input_range is None else str(split.input_range),
        "qat": qat,
        "runtime_s": round(result.runtime_s, 3),
        "samples": {"train": len(split.y_train), "val": len(split.y_val),
                    "test": len(split.y_test)},
        "seed": seed,
        "split_seed": split_seed,
        "topology": list(net.topology),
        "weight_bits": weight_bits,
    }


#: ``--feature-selection`` values: the ``feature_selection`` argument of ``train_model``.
_FEATURE_SELECTION = {"auto": None, "on": True, "off": False}


def add_model_arguments(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The options that choose and quantize the network, shared by every command that trains:
    ``--hidden``, ``--seed``, ``--split-seed``, ``--input-bits``, ``--weight-bits``,
    ``--activation-bits``, ``--feature-selection``."""
    p.add_argument("--hidden", metavar="N[,N]", default=None,
                   help="hidden layer sizes (default: the dataset's published topology; a "
                        "search without --hidden trains it, 2x and 4x as wide and 4x with 3-bit "
                        "weights, and searches the most accurate on validation unless a "
                        "cheaper one is not clearly less accurate)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of training (and search) (default: 0)")
    p.add_argument("--split-seed", type=int, default=DEFAULT_SPLIT_SEED,
                   help=f"train/test split seed (default: {DEFAULT_SPLIT_SEED}, the papers' split)")
    p.add_argument("--input-bits", type=int, default=4, metavar="N",
                   help="input code width (ADC bits), 1..8 (default: 4)")
    p.add_argument("--weight-bits", type=int, default=8, metavar="N",
                   help="signed weight width, 2..14 (default: 8)")
    p.add_argument("--activation-bits", type=int, default=8, metavar="N",
                   help="hidden activation width of the exact network, 1..16 (default: 8)")
    p.add_argument("--feature-selection", choices=tuple(_FEATURE_SELECTION), default="auto",
                   help="select the features the network reads while training (auto: on "
                        f"datasets of at least {WIDE_MIN_FEATURES} features) (default: auto)")



def feature_selection_of(args: argparse.Namespace) -> bool | None:
    """The ``feature_selection`` argument of :func:`train_model` that ``--feature-selection``
    chose."""
    return _FEATURE_SELECTION[args.feature_selection]


def parse_input_range(text: str) -> InputRange:
    """The ``--input-range`` rule (see :meth:`~bespoke_mlp.ir.InputRange.parse`)."""
    try:
        return InputRange.parse(text)
    except ValueError as exc:
        raise UsageError(f"--input-range: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    from ._train import train_model  # here: scikit-learn is slow to import

    hidden = None if args.hidden is None else parse_hidden(args.hidden)
    for kind in BIT_RANGES:
        check_bits(kind, getattr(args, kind), "--" + kind.replace("_", "-"))
    input_range = parse_input_range(args.input_range)
    with atomic_output_dir(args.out, force=args.force) as tmp:
        ds = load_dataset(args.dataset, data_dir=args.data_dir, label=args.label)
        result = train_model(
            ds, hidden=hidden, seed=args.seed, input_bits=args.input_bits,
            weight_bits=args.weight_bits, activation_bits=args.activation_bits, qat=args.qat,
            split_seed=args.split_seed, feature_selection=feature_selection_of(args),
            input_range=input_range,
        )
        (tmp / "model.json").write_text(result.network.to_json())
        write_json(tmp / "train.json", train_summary(
            result, seed=args.seed, split_seed=args.split_seed, weight_bits=args.weight_bits,
            activation_bits=args.activation_bits, qat=args.qat,
            feature_selection=feature_selection_of(args),
        ))
    topology = "-".join(str(n) for n in result.network.topology)
    print(
        f"trained {result.dataset} {topology} in {result.runtime_s:.1f} s: test accuracy "
        f"float {100 * result.accuracy['float']:.1f} %, quantized "
        f"{100 * result.accuracy['quantized']:.1f} % ({len(result.split.y_test)} samples)"
    )
    print(f"wrote {args.out / 'model.json'} and {args.out / 'train.json'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help="train, quantize and fine-tune an MLP for a dataset",
        description=(
            "Train a float MLP on a dataset's 4-bit (--input-bits) inputs, quantize it to an "
            "integer network and fine-tune it quantization-aware. Writes OUT/model.json (the "
            "network) and OUT/train.json (topology, test accuracies, runtime)."
        ),
    )
    p.add_argument(
        "dataset", metavar="DATASET",
        help=f"dataset name ({', '.join(known_datasets())}) or the path of a CSV file",
    )
    d, t, o = option_groups(p, "data", "training", "output")
    add_data_arguments(d)
    add_model_arguments(t)
    t.add_argument("--input-range", default=str(DEFAULT_INPUT_RANGE), metavar="RULE",
                   help="each feature's ADC range, fitted on the non-test samples: 'min-max', "
                        "percentiles 'qLOW-HIGH' such as 'q1-99', or 'qLOW-HIGHxRATIO': the "
                        "percentiles only for features whose min-max span is RATIO times "
                        "wider (values beyond the range read as the end codes) (default: "
                        f"{DEFAULT_INPUT_RANGE})")
    t.add_argument("--no-qat", dest="qat", action="store_false",
                   help="skip quantization-aware fine-tuning")
    o.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output directory (required); must be new, empty, or a previous output "
                        "of bespoke-mlp with --force")
    o.add_argument("--force", action="store_true",
                   help="replace a previous output of bespoke-mlp (only that)")
    p.set_defaults(func=_run)
