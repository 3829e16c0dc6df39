"""What the command line shows of the library's log records: timed lines on standard error,
and the search's progress (records with a ``progress`` attribute) as a bar."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["ConsoleHandler", "console_logging"]

_BAR = 30
_LOGGER = "bespoke_mlp"


class ConsoleHandler(logging.Handler):
    """Writes ``[  12.3s] message`` lines (seconds since the handler was made).

    A progress record shows a ``[###...]`` bar: on a terminal it is redrawn in place for every
    step; elsewhere only the INFO steps (every tenth and the last) are written, one line each.
    """

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None) -> None:
        super().__init__(logging.DEBUG)
        self._stream = stream
        self._tty = tty
        self._start = time.perf_counter()
        self._bar_open = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._stream or sys.stderr
            tty = stream.isatty() if self._tty is None else self._tty
            progress = getattr(record, "progress", None)
            if record.levelno < logging.INFO and (progress is None or not tty):
                return
            text = f"[{time.perf_counter() - self._start:7.1f}s] {record.getMessage()}"
            if progress is not None:
                done, total = progress
                filled = _BAR * done // max(total, 1)
                text = f"{text} [{'#' * filled}{'.' * (_BAR - filled)}]"
            if progress is not None and tty:
                end = "\n" if done >= total else ""
                stream.write(f"\r{text}{end}")
                self._bar_open = not end
            else:
                stream.write(f"{chr(10) if self._bar_open else ''}{text}\n")
                self._bar_open = False
            stream.flush()
        except Exception:  # emit must never raise (logging's contract)
            self.handleError(record)

    def end_bar(self) -> None:
        """End a bar left open (an interrupted search), so that what follows starts a line."""
        if self._bar_open:
            (self._stream or sys.stderr).write("\n")
            self._bar_open = False


@contextmanager
def console_logging(*, quiet: bool = False, stream: TextIO | None = None) -> Iterator[None]:
    """Show the library's records (only warnings and errors with ``quiet``) while active."""
    logger = logging.getLogger(_LOGGER)
    handler = ConsoleHandler(stream)
    handler.setLevel(logging.WARNING if quiet else logging.DEBUG)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        handler.end_bar()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
