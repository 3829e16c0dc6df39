"""Progress of long runs as :mod:`logging` records (logger ``bespoke_mlp``), and stage times.

The library only logs; the command line shows the records (timed lines on standard error, the
search's progress as a bar on a terminal). A record of :meth:`Log.progress` carries
``progress = (done, total)``; every tenth and the last are INFO, the others DEBUG.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LOGGER", "Log", "family_stage", "quiet", "train_stage"]

#: The logger of every flow message.
LOGGER = logging.getLogger("bespoke_mlp")
_PROGRESS_EVERY = 10


class Log:
    """Logs a flow's messages and times its named stages (``enabled=False``: times only)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._start = time.perf_counter()
        self.stages: dict[str, float] = {}

    def elapsed(self) -> float:
        """Seconds since the log was created."""
        return time.perf_counter() - self._start

    def runtime(self) -> dict[str, float]:
        """Stage times plus the wall-clock ``total`` (stages may overlap)."""
        return {**self.stages, "total": round(self.elapsed(), 3)}

    def __call__(self, message: str) -> None:
        if self.enabled:
            LOGGER.info(message)

    def progress(self, done: int, total: int, message: str) -> None:
        """Log step ``done`` of ``total`` (the record's ``progress`` attribute)."""
        if self.enabled:
            level = logging.INFO if done == total or done % _PROGRESS_EVERY == 0 \
                else logging.DEBUG
            LOGGER.log(level, message, extra={"progress": (done, total)})

    @contextmanager
    def stage(self, name: str, message: str | None = None) -> Iterator[None]:
        """Time a stage (accumulated under ``name`` in :attr:`stages`)."""
        if message:
            self(message)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - t, 3)


def train_stage(dataset, log: Log, *, from_model=None, **options):
    """:func:`bespoke_mlp.train.train_model` of ``dataset`` (``options`` passed on), timed as the
    flows' ``train`` stage; with ``from_model`` (an ONNX file) the network is imported instead
    (:func:`bespoke_mlp.importers.import_model`)."""
    from ..train import train_model

    # A loaded Dataset's repr holds its arrays: name it instead.
    name = getattr(dataset, "name", dataset)
    if from_model is not None:
        return _import_stage(from_model, dataset, log, **options)
    with log.stage("train", f"training and quantizing on {name}"):
        return train_model(dataset, **options)


def family_stage(dataset, log: Log, *, from_model=None, executor=None, **options):
    """The search's exact network and the family it was chosen from: with ``from_model``,
    :func:`train_stage` and no family; else :func:`bespoke_mlp.train.train_family` of
    ``dataset`` (``options`` passed on; without ``hidden``, several widths, trained on
    ``executor``), timed as the ``train`` stage. Returns the reference's training result and
    the family."""
    from ..train import train_family

    if from_model is not None:
        return train_stage(dataset, log, from_model=from_model, **options), None
    name = getattr(dataset, "name", dataset)
    with log.stage("train", f"training and quantizing on {name}"):
        family = train_family(dataset, executor=executor, **options)
    if len(family.candidates) > 1:
        log("exact networks (validation accuracy): " + ", ".join(
            f"{'-'.join(map(str, c.hidden))} {c.weight_bits}-bit {100 * c.val_accuracy:.2f} %"
            f"{' (reference)' if c.reference else ''}" for c in family.candidates))
    return family.reference, family


def _import_stage(path, dataset, log: Log, *, data_dir=None, hidden=None, seed=0,
                  split_seed=42, input_bits=4, weight_bits=8, activation_bits=8,
                  select_size=0.0, feature_selection=None):
    from ..data import load_dataset
    from ..errors import UsageError
    from ..importers import import_model

    if hidden is not None:
        raise UsageError("--hidden does not apply to an imported model (--from-model)")
    if feature_selection is not None:
        raise UsageError("--feature-selection does not apply to an imported model "
                         "(--from-model)")
    if isinstance(dataset, str | os.PathLike):
        dataset = load_dataset(dataset, data_dir=data_dir)
    with log.stage("train", f"importing {os.fspath(path)!r} for {dataset.name}"):
        result = import_model(path, dataset, split_seed=split_seed, input_bits=input_bits,
                              weight_bits=weight_bits, activation_bits=activation_bits,
                              seed=seed, select_size=select_size)
    kind = "exactly (QONNX)" if result.exact else "with post-training quantization"
    log(f"imported {'-'.join(map(str, result.network.topology))} {kind}: source model "
        f"{100 * result.accuracy['imported']:.2f} % (test)")
    return result


def quiet() -> Log:
    """A log that logs nothing (still times stages)."""
    return Log(enabled=False)
