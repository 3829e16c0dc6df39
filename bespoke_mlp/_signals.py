"""Termination signals handled like Ctrl-C.

Batch schedulers, CI cancellation and ``timeout`` stop a command with SIGTERM (a closed
terminal sends SIGHUP). Both raise :class:`Interrupted` in the main thread, a
``KeyboardInterrupt``, so that every clean-up path of Ctrl-C runs: tools are killed with
their process groups, temporary directories removed, the output directory left untouched.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

__all__ = ["Interrupted", "ignore_interrupts", "signals_as_interrupts"]

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """The command was stopped by signal ``signum``; ``kept`` says what was kept (one
    phrase), if anything."""

    def __init__(self, signum: int = signal.SIGINT, kept: str | None = None):
        super().__init__(signum)
        self.signum = int(signum)
        self.kept = kept

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number."""
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    # A second signal must not cut the clean-up of the first one short.
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted` (main thread only)."""
    old = {sig: signal.signal(sig, _raise) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def ignore_interrupts() -> Iterator[None]:
    """Ignore Ctrl-C within the block: worker processes started here inherit that, so a
    Ctrl-C reaches only this process, which stops them itself (one message, no tracebacks
    from every worker)."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
