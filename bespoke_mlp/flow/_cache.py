"""A content-addressed cache of exact baselines' figures, shared by runs on the same network.

The exact baseline of a search is the most expensive design a run implements (Arrhythmia's has
about 78 k cells), and runs that differ only in their budgets (``--max-loss 1`` and ``5``) train
the same exact network. Its figures are stored under a key that hashes everything they depend
on: the network, the test vectors and labels, the technology file's bytes, the clock, the
effort and mapping, the architecture, the ADC figure and the package version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import UsageError
from ..ir import Network

__all__ = ["BaselineCache", "baseline_key", "exact_run_key"]


def baseline_key(net: Network, codes: np.ndarray, labels: np.ndarray, **settings: Any) -> str:
    """The SHA-256 key of a baseline: ``net``, the vectors and labels, and ``settings``
    (JSON-able values: technology hash, clock, effort, mapping, architecture, ADC figure)."""
    h = hashlib.sha256()
    h.update(json.dumps({"version": __version__, "network": net.to_dict(), **settings},
                        sort_keys=True, default=str).encode())
    for a in (codes, labels):
        arr = np.ascontiguousarray(a, dtype=np.int64)
        h.update(repr(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def exact_run_key(dataset: str, **settings: Any) -> str:
    """The key under which ``run --exact`` leaves its network's test accuracy, so that a
    search run on the same dataset, split and training settings reports its loss against
    it: ``settings`` are the training options (split seed, seed, hidden widths, bits,
    feature selection)."""
    text = json.dumps({"version": __version__, "exact_run": dataset, **settings},
                      sort_keys=True, default=str)
    return "exact-run-" + hashlib.sha256(text.encode()).hexdigest()


class BaselineCache:
    """Baseline figures (JSON objects) in ``root/<key>.json``.

    Entries are written atomically (a temporary file, then a rename). Runs on the same network
    at the same time take turns (a lock file per key, where the platform has ``fcntl``): the
    second waits for the first's figures instead of computing them again. Nothing in ``root``
    is ever deleted.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"baseline cache {str(self.root)!r} is not a directory")

    def __repr__(self) -> str:
        return f"BaselineCache({str(self.root)!r})"

    def get(self, key: str) -> dict[str, Any] | None:
        """The figures stored under ``key`` (None if absent or unreadable)."""
        try:
            value = json.loads((self.root / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key``."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key[:16]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(value, f, indent=1, sort_keys=True)
            os.replace(tmp, self.root / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_or_compute(self, key: str, compute: Callable[[], dict[str, Any]]
                       ) -> tuple[dict[str, Any], bool]:
        """(figures, whether they came from the cache): computed and stored on a miss."""
        with self._locked(key):
            hit = self.get(key)
            if hit is not None:
                return hit, True
            value = compute()
            self.put(key, value)
        return value, False

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # no advisory locks: concurrent runs may both compute
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{key}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
