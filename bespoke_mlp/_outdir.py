"""Output directories that never lose a user's files.

A run builds its output in a temporary directory beside ``out`` and swaps it in only when it
succeeds. The finished directory holds a marker file (:data:`MARKER`: the tool's name and
version and the files it wrote); ``--force`` replaces an existing directory only when that
marker lists every file in it. The swap renames the old directory aside, renames the new one
in, and only then deletes the old one. A lock file beside ``out`` keeps two runs from writing
one directory at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from . import __version__
from .errors import UsageError

__all__ = ["MARKER", "TOOL", "atomic_output_dir", "check_replaceable", "written_by_tool"]

#: The marker file in every output directory the tool writes.
MARKER = ".bespoke-mlp-output.json"
TOOL = "bespoke-mlp"
# The repository root when the package runs from a checkout (never an output directory).
_CHECKOUT = Path(__file__).resolve().parents[1]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _files(root: Path) -> list[str]:
    """Every entry under ``root``, relative and sorted; directories end with ``/``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath).relative_to(root)
        # A symlink to a directory is an entry of its own (os.walk does not follow it).
        found += [(base / n).as_posix() for n in filenames]
        found += [(base / n).as_posix() + ("" if (Path(dirpath) / n).is_symlink() else "/")
                  for n in dirnames]
    return sorted(found)


def written_by_tool(directory: Path) -> tuple[bool, str]:
    """Whether ``directory`` holds only files this tool wrote there, and if not, why."""
    marker = Path(directory) / MARKER
    try:
        data = json.loads(marker.read_text())
        listed = set(data["files"]) if data.get("tool") == TOOL else None
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        listed = None
    if listed is None:
        return False, f"it has no {TOOL} marker file ({MARKER})"
    foreign = [f for f in _files(Path(directory)) if f != MARKER and f not in listed]
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        return False, f"it holds files {TOOL} did not write ({foreign[0]!r}{more})"
    return True, ""


def _protected(real: Path) -> str | None:
    """Why ``real`` (a resolved path) may never be an output directory, or None."""
    if real == Path(real.anchor):
        return "the file-system root"
    for name, where in (("the current directory", Path.cwd), ("your home directory",
                                                              Path.home)):
        try:
            path = where().resolve()
        except (OSError, RuntimeError):  # no home directory known
            continue
        if path == real or real in path.parents:
            return name if path == real else f"a parent of {name}"
    if (_CHECKOUT / "pyproject.toml").is_file() and (
            real == _CHECKOUT or real in _CHECKOUT.parents):
        return f"the {TOOL} checkout" if real == _CHECKOUT else f"a parent of the {TOOL} checkout"
    return None


def check_replaceable(out: Path, *, force: bool) -> Path:
    """Check, before any work, that ``out`` may be written; return its resolved path.

    Raises
    ------
    UsageError
        If ``out`` is ``.``, ``..``, ``/``, the home directory, the checkout or a parent of
        any of them; is not a directory; holds anything this tool did not write; or is a
        previous output and ``force`` is not given. Nothing is touched.
    """
    shown = str(out)
    text = os.path.abspath(out)
    if '"' in text or "\n" in text:
        raise UsageError(f"output path {shown!r} contains a quote or newline, which the "
                         "synthesis scripts cannot read")
    real = Path(text).resolve()
    why = _protected(real)
    if why is not None:
        raise UsageError(f"refusing to write into {shown!r}: it is {why}; give --out a new "
                         "or previous-output directory")
    if real.exists() and not real.is_dir():
        raise UsageError(f"output path {shown!r} exists and is not a directory")
    if real.is_dir() and any(real.iterdir()):
        ok, why = written_by_tool(real)
        if not ok and force:
            raise UsageError(f"refusing to replace {shown!r} with --force: {why}")
        if not ok:  # --force would refuse too: suggest only what works
            raise UsageError(f"output directory {shown!r} is not empty and not a previous "
                             f"output of {TOOL} ({why}); choose a new or empty directory")
        if not force:
            raise UsageError(f"output directory {shown!r} is not empty: it holds a previous "
                             f"output of {TOOL}; use --force to replace it")
    return real


@contextlib.contextmanager
def _lock(real: Path, shown: str) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside the output directory (refuse if another run holds it)."""
    path = real.parent / f".{real.name}.lock"
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise UsageError(f"output directory {shown!r} is not writable: {exc.strerror}") \
                from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UsageError(f"another {TOOL} run is writing {shown!r} (lock {str(path)!r})") \
                from None
        # The holder before us may have removed the file after we opened it: lock anew.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def _write_marker(tmp: Path) -> None:
    files = [f for f in _files(tmp) if f != MARKER]
    (tmp / MARKER).write_text(json.dumps(
        {"tool": TOOL, "version": __version__, "files": files}, indent=1) + "\n")


@contextlib.contextmanager
def atomic_output_dir(out: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``out`` only if the block succeeds.

    ``out`` is checked first (:func:`check_replaceable`) and locked for the whole block. A
    run that fails or is interrupted leaves ``out`` untouched and no temporary directory
    behind. If files appeared in ``out`` during the run, it is not replaced: the error names
    the directory where the new result was kept. A symlink ``out`` is followed: the directory
    it points to is replaced.
    """
    shown = str(out)
    real = check_replaceable(Path(out), force=force)
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"output directory {shown!r} is not writable: {exc.strerror}") from exc
    with _lock(real, shown):
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.tmp-", dir=real.parent))
        except OSError as exc:
            raise UsageError(f"output directory {shown!r} is not writable: {exc.strerror}") \
                from exc
        kept = None
        try:
            tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; outputs are not
            yield tmp
            _write_marker(tmp)
            kept = _swap(tmp, real, force=force)
        finally:
            if kept is None and tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        if kept:
            raise UsageError(f"{shown!r} changed during the run ({kept}); it was left as it "
                             f"was and the new result kept in {str(tmp)!r}")


def _swap(tmp: Path, real: Path, *, force: bool) -> str | None:
    """Rename ``real`` aside, ``tmp`` in, then delete the old one. Returns why ``real`` was
    left alone instead (``tmp`` then stays), or None."""
    aside = None
    if real.exists():
        aside = real.parent / f".{real.name}.old-{secrets.token_hex(4)}"
        os.rename(real, aside)
        if any(aside.iterdir()):
            ok, why = written_by_tool(aside) if force else (False, "files were added to it")
            if not ok:
                os.rename(aside, real)
                return why
    os.rename(tmp, real)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return None
