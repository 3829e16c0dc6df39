"""The cache of built simulation models, addressed by the content of what they are built
from.

A run simulates the same testbench and sources again whenever it is repeated (same seed, other
options that leave the designs unchanged) or re-implements a network on another technology:
the model Verilator builds is the same program. A built model is stored under the SHA-256 of
its build command and the bytes of every source file (the testbench included, so a model that
counts toggles is keyed by the nets it counts), and a later build of the same key copies the
binary instead of building it. The simulation itself always runs: the vectors are read when it
runs, and the predictions are checked as after any build.

The cache is ``$XDG_CACHE_HOME/bespoke-mlp/models`` (``~/.cache`` when unset), kept below
:data:`MAX_BYTES` by removing the least recently used models; ``$BESPOKE_MLP_MODEL_CACHE``
names another directory (in which nothing is ever deleted), or, set empty, turns the cache off.
Entries appear by an atomic rename, so concurrent runs share the cache safely.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ._toolchain import user_cache_dir

__all__ = ["MAX_BYTES", "MODEL_CACHE_ENV", "model_cache", "model_key", "reuse_model",
           "store_model"]

#: The environment variable naming the cache directory (empty: no cache).
MODEL_CACHE_ENV = "BESPOKE_MLP_MODEL_CACHE"
#: Size bound of the default cache (a model is about 0.1-5 MB).
MAX_BYTES = 1 << 30
_KEY = re.compile(r"[0-9a-f]{64}")


def _default_cache() -> Path:
    return user_cache_dir() / "models"


def model_cache() -> Path | None:
    """The model cache directory: ``$BESPOKE_MLP_MODEL_CACHE`` if set (None if set empty),
    else the default one in the user's cache directory."""
    root = os.environ.get(MODEL_CACHE_ENV)
    if root is None:
        return _default_cache()
    return Path(root) if root else None


def model_key(args: Sequence[str], files: Sequence[Path], obj_dir: Path) -> str:
    """The key of a build: its command and the bytes of ``files`` (the testbench and the
    sources); the paths of the files and of the object directory, which differ per build, are
    left out."""
    names = {str(obj_dir): "OBJ", **{str(f): f"FILE{k}" for k, f in enumerate(files)}}
    h = hashlib.sha256()
    for arg in args:
        h.update(names.get(arg, arg).encode() + b"\0")
    for path in files:
        data = Path(path).read_bytes()
        h.update(f"{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def reuse_model(root: Path, key: str, binary: Path) -> bool:
    """Copy the stored model ``key`` to ``binary``; False if there is none (or it went away
    meanwhile)."""
    stored = root / key / binary.name
    if not stored.is_file():
        return False
    binary.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copy2(stored, binary)
        os.utime(root / key)  # recently used: pruned last
    except OSError:
        return False
    return True


def store_model(root: Path, key: str, binary: Path) -> None:
    """Store the built ``binary`` under ``key`` (a complete entry appears at once; a cache
    that cannot be written is skipped, it only saves time); the default cache is then pruned
    to :data:`MAX_BYTES`."""
    if (root / key).exists():
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:16]}-", dir=root))
    except OSError:
        return
    try:
        shutil.copy2(binary, tmp / binary.name)
        os.replace(tmp, root / key)
    except OSError:
        # Another build stored the same model first.
        pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if root == _default_cache():
        _prune(root, MAX_BYTES)


def _prune(root: Path, max_bytes: int) -> None:
    """Remove the least recently used models (entries named by a key: only what
    :func:`store_model` wrote) until the rest fit in ``max_bytes``."""
    entries = []
    for entry in root.iterdir():
        if not _KEY.fullmatch(entry.name):
            continue
        try:
            size = sum(f.stat().st_size for f in entry.iterdir())
            entries.append((entry.stat().st_mtime_ns, size, entry))
        except OSError:
            continue  # removed meanwhile
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries):
        if total <= max_bytes:
            break
        shutil.rmtree(entry, ignore_errors=True)
        total -= size
