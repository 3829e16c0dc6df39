"""Where independent work runs: in-process, local worker processes (``--jobs N``) or a Dask
cluster (``--dask ADDRESS`` or ``--dask local:N``)."""

from ._cli import add_executor_arguments, default_jobs, executor_from_args
from ._executor import DaskExecutor, Executor, ProcessExecutor, SerialExecutor, make_executor

__all__ = [
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "add_executor_arguments",
    "default_jobs",
    "executor_from_args",
    "make_executor",
]
