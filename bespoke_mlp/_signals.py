"""Termination signals handled like Ctrl-C.

Batch schedulers, CI cancellation and ``timeout`` stop a command with SIGTERM (a closed
terminal sends SIGHUP). Both raise :class:`Interrupted` in the main thread, a
``KeyboardInterrupt``, so that every clean-up path of Ctrl-C runs: tools are killed with
their process groups, temporary directories removed, the output directory left untouched.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Interrupted", "ignore_interrupts", "raise_if_interrupted", "signals_as_interrupts"]

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
# The signal received, if any: some libraries swallow a KeyboardInterrupt (scikit-learn's MLP
# training stops early and carries on), so the flow asks again between stages.
_PENDING: list[int] = []


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
    if signum != signal.SIGINT:
        # A second signal must not cut the clean-up of the first one short.
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
    _PENDING.append(signum)
    raise Interrupted(signum)


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` again if a signal arrived and its exception was swallowed."""
    if _PENDING:
        raise Interrupted(_PENDING[0])


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP raise :class:`Interrupted` (main thread
    only; elsewhere the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, _raise) for sig in (signal.SIGINT, *_SIGNALS)}
    _PENDING.clear()
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        _PENDING.clear()


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
