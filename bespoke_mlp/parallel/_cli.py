"""The ``--jobs`` / ``--dask`` options shared by the commands that fan out work."""

from __future__ import annotations

import argparse

from ._executor import Executor, make_executor

__all__ = ["add_executor_arguments", "executor_from_args"]


_WORK = ("the independent work (candidate batches, retraining, synthesis and simulation of "
         "front points)")


def _workers(text: str) -> int:
    """``--jobs``: a count of worker processes, at least 1."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of worker processes, "
                                         f"got {text!r}")
    return jobs


def add_executor_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                           work: str = _WORK) -> None:
    """Add the mutually exclusive ``--jobs N`` and ``--dask ADDRESS`` options; ``work`` says
    what they spread out."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--jobs", type=_workers, default=1, metavar="N",
                       help=f"local worker processes for {work}; default 1 (in-process)")
    group.add_argument("--dask", metavar="ADDRESS",
                       help="run that work on a Dask cluster: a scheduler address such as "
                            "tcp://host:8786, or local:N for a local cluster of N processes")


def executor_from_args(args: argparse.Namespace) -> Executor:
    """The executor the parsed options ask for (close it when done)."""
    return make_executor(args.jobs, args.dask)
