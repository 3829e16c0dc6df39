"""An opt-in cache of built simulation models, addressed by the content of what they are built
from.

Re-implementing a network on another technology simulates the same RTL with the same testbench
again: the model Verilator builds is the same program. With ``$BESPOKE_MLP_MODEL_CACHE`` set to
a directory, a model built without toggle counting (an RTL model; gate-level models differ per
netlist) is stored there under the SHA-256 of its build command and the bytes of every source
file, and a later build of the same key copies the binary instead of building it. The
simulation itself always runs: the vectors are read when it runs, and the predictions are
checked as after any build. Nothing in the directory is ever deleted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["MODEL_CACHE_ENV", "model_cache", "model_key", "reuse_model", "store_model"]

#: The environment variable naming the cache directory (unset: no cache).
MODEL_CACHE_ENV = "BESPOKE_MLP_MODEL_CACHE"


def model_cache() -> Path | None:
    """The model cache directory, if ``$BESPOKE_MLP_MODEL_CACHE`` names one."""
    root = os.environ.get(MODEL_CACHE_ENV)
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
    """Copy the stored model ``key`` to ``binary``; False if there is none."""
    stored = root / key / binary.name
    if not stored.is_file():
        return False
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(stored, binary)
    return True


def store_model(root: Path, key: str, binary: Path) -> None:
    """Store the built ``binary`` under ``key`` (a complete entry appears at once; a cache
    that cannot be written is skipped, it only saves time)."""
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
