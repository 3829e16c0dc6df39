"""Progress output for long runs: stage lines with elapsed time, on standard error."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Log", "quiet", "train_stage"]


class Log:
    """Prints ``[  12.3s] message`` lines and times named stages."""

    def __init__(self, *, enabled: bool = True, stream=None) -> None:
        self.enabled = enabled
        self._stream = stream
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
            stream = self._stream or sys.stderr
            print(f"[{self.elapsed():7.1f}s] {message}", file=stream, flush=True)

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


def train_stage(dataset, log: Log, **options):
    """:func:`bespoke_mlp.train.train_model` of ``dataset`` (``options`` passed on), timed as the
    flows' ``train`` stage."""
    from ..train import train_model

    # A loaded Dataset's repr holds its arrays: name it instead.
    name = getattr(dataset, "name", dataset)
    with log.stage("train", f"training and quantizing on {name}"):
        return train_model(dataset, **options)


def quiet() -> Log:
    """A log that prints nothing (still times stages)."""
    return Log(enabled=False)
