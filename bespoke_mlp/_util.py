"""Small shared helpers: running tools, writing outputs atomically, JSON."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import ToolError, ToolNotFoundError, UsageError

__all__ = [
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


def log_tail(path: Path, lines: int = _TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a log file (empty if unreadable)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


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
    argv = [os.fspath(a) for a in args]
    name = what or Path(argv[0]).name
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        try:
            # A session of its own, so that a timeout or Ctrl-C ends the tool's children
            # (make, the compiler, ABC) too.
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
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


def kill_running_tools() -> None:
    """End every tool started by :func:`run_tool` that is still running (in any thread)."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING)
    for proc in procs:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def atomic_output_dir(out: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``out`` only if the block succeeds.

    A run that fails or is interrupted leaves ``out`` untouched and no temporary directory
    behind. An existing non-empty ``out`` is refused unless ``force`` is set.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"output path {str(out)!r} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(
            f"output directory {str(out)!r} is not empty; use --force to replace it"
        )
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as exc:
        raise UsageError(f"output directory {str(out)!r} is not writable: {exc.strerror}") from exc
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented, key-sorted JSON with a trailing newline (deterministic)."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())
