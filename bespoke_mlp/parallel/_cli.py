"""The ``--jobs`` / ``--dask`` options shared by the commands that fan out work."""

from __future__ import annotations

import argparse
import os

from ._executor import Executor, make_executor

__all__ = ["add_executor_arguments", "default_jobs", "executor_from_args"]


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


def default_jobs() -> int:
    """The default ``--jobs``: the cores this process may run on (its CPU affinity, which
    ``taskset`` or a container's CPU set narrow), or ``os.cpu_count()`` where the platform
    has no affinity."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def add_executor_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                           work: str = _WORK) -> None:
    """Add the mutually exclusive ``--jobs N`` and ``--dask ADDRESS`` options; ``work`` says
    what they spread out. Without either, :func:`executor_from_args` uses
    :func:`default_jobs` (resolved when the options are read, not when they are added)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--jobs", type=_workers, default=None, metavar="N",
                       help=f"local worker processes for {work}; 1 runs everything "
                            f"in-process (default: the cores this process may use, "
                            f"{default_jobs()} here)")
    group.add_argument("--dask", metavar="ADDRESS",
                       help="run that work on a Dask cluster: a scheduler address such as "
                            "tcp://host:8786, or local:N for a local cluster of N processes")


def executor_from_args(args: argparse.Namespace) -> Executor:
    """The executor the parsed options ask for (close it when done)."""
    jobs = default_jobs() if args.jobs is None and args.dask is None else args.jobs
    return make_executor(1 if jobs is None else jobs, args.dask)
