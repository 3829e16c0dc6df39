"""Small shared helpers: running tools, writing outputs atomically, JSON."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._outdir import atomic_output_dir
from ._signals import raise_if_interrupted
from .errors import ToolError, ToolNotFoundError, UsageError

__all__ = [
    "counted",
    "run_tool",
    "kill_running_tools",
    "log_tail",
    "atomic_output_dir",
    "write_json",
    "read_json",
]

# Tools running in any thread, so that an interrupt can end them all.
_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()

_TAIL_LINES = 20


def counted(n: float, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1 (a float shown as ``{:g}``).

    Examples
    --------
    >>> counted(1, "cycle"), counted(1.0, "point"), counted(2.5, "point"), counted(0, "ADC")
    ('1 cycle', '1 point', '2.5 points', '0 ADCs')
    """
    shown = format(n, "g") if isinstance(n, float) else str(n)
    return f"{shown} {noun if n == 1 else plural or noun + 's'}"


def log_tail(path: Path, lines: int = _TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a log file (empty if unreadable)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


#: A new process group, not a new session where Python allows (3.11): on Linux each session
#: is a scheduler autogroup of its own, which would make the tool ignore the caller's ``nice``.
_OWN_GROUP: dict[str, Any] = ({"process_group": 0} if sys.version_info >= (3, 11)
                              else {"start_new_session": True})


def run_tool(
    args: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    what: str | None = None,
) -> None:
    """Run an external tool with an argument list, logging stdout and stderr to ``log``.

    Raises
    ------
    ToolNotFoundError
        If the executable does not exist.
    ToolError
        If the tool exits non-zero or exceeds ``timeout`` seconds; the message names the log
        file and quotes its tail.
    """
    raise_if_interrupted()
    argv = [os.fspath(a) for a in args]
    name = what or Path(argv[0]).name
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        try:
            proc = _start(argv, cwd=cwd, env=env, stdout=fh)
        except FileNotFoundError as exc:
            raise ToolNotFoundError(f"{name}: executable {argv[0]!r} not found") from exc
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            raise ToolError(
                f"{name} timed out after {timeout:.0f} s; log: {log}\n{log_tail(log)}"
            ) from exc
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
    if proc.returncode != 0:
        raise ToolError(
            f"{name} failed with exit code {proc.returncode}; log: {log}\n{log_tail(log)}"
        )


#: Attempts to start a tool whose executable is busy (``ETXTBSY``), 50 ms apart and doubling.
_BUSY_ATTEMPTS = 6


def _start(argv: list[str], *, cwd: Path | None, env: dict[str, str] | None,
           stdout: Any) -> subprocess.Popen:
    """Start ``argv`` in a process group of its own, so that a timeout or Ctrl-C ends the
    tool's children (make, the compiler, ABC) too.

    An executable written just before (a simulation model copied or linked) can be briefly
    "busy": a child forked by another thread meanwhile holds the writer's descriptor until it
    execs (measured: 1 of 42 runs of the loss-budget benchmark failed so). That passes in
    milliseconds, so the start is retried."""
    attempt = 1
    while True:
        try:
            return subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    **_OWN_GROUP)
        except OSError as exc:
            if exc.errno != errno.ETXTBSY or attempt == _BUSY_ATTEMPTS:
                raise
            time.sleep(0.05 * 2 ** (attempt - 1))
            attempt += 1


def kill_running_tools() -> None:
    """End every tool started by :func:`run_tool` that is still running (in any thread)."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING)
    for proc in procs:
        _kill_group(proc)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces and parentheses: the fields follow the last ')'.
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill ``proc``'s process group and every descendant, even one that left the group
    (a grandchild in a session of its own must not outlive the command). Everything is
    stopped first, so that nothing forks a new child between the look-up and the kill."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGSTOP)
    below: set[int] = set()
    while new := set(_descendants(proc.pid)) - below:
        for pid in new:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGSTOP)
        below |= new
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in below:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()


def write_json(path: Path, data: Any, *, indent: int | None = 2) -> None:
    """Write ``data`` as key-sorted JSON with a trailing newline (deterministic), indented by
    ``indent`` (None: compact, for files rewritten often)."""
    try:
        text = json.dumps(data, indent=indent, sort_keys=True, allow_nan=False)
    except ValueError as exc:  # NaN or infinity: strict parsers reject them
        raise UsageError(f"{Path(path).name}: cannot write a non-finite number ({exc})") \
            from None
    Path(path).write_text(text + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file; malformed or absurdly nested text raises a ValueError."""
    try:
        return json.loads(Path(path).read_text())
    except RecursionError:
        raise ValueError(f"{str(path)!r} is nested too deeply to be a JSON file of this tool") \
            from None
