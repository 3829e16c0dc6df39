"""Fingerprints of a search, so that ``--resume`` continues only the search it interrupted."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from .._util import read_json
from ..errors import UsageError
from ..ir import Network

__all__ = ["check_fingerprint", "check_resumable", "search_fingerprint"]


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def search_fingerprint(network: Network, codes: np.ndarray, y: np.ndarray,
                       **settings: Any) -> dict[str, Any]:
    """What a search's result depends on: the network it approximates (its JSON), the data it
    scores on, and ``settings`` (option name → value, JSON scalars)."""
    data = _digest(np.ascontiguousarray(codes, dtype=np.int64).tobytes(),
                   np.ascontiguousarray(y, dtype=np.int64).tobytes(),
                   repr(np.shape(codes)).encode())
    return {"network": _digest(network.to_json().encode()), "data": data,
            "settings": json.loads(json.dumps(settings, sort_keys=True))}


def check_fingerprint(saved: Any, current: dict[str, Any], where: str) -> None:
    """Refuse to resume from a checkpoint whose fingerprint ``saved`` is not ``current``.

    Raises
    ------
    UsageError
        One line naming what differs (the network, the data, or each setting with both
        values).
    """
    if not isinstance(saved, dict):
        raise UsageError(f"checkpoint {where!r} has no fingerprint (made by an older version); "
                         "run without --resume")
    diffs = []
    if saved.get("network") != current["network"]:
        diffs.append("the network (dataset, --hidden, --seed or bit widths)")
    if saved.get("data") != current["data"]:
        diffs.append("the training data")
    old = saved.get("settings") if isinstance(saved.get("settings"), dict) else {}
    for key, value in current["settings"].items():
        if old.get(key) != value:
            diffs.append(f"{key} {old.get(key)!r} (now {value!r})")
    if diffs:
        raise UsageError(f"cannot resume from checkpoint {where!r}: it differs in "
                         f"{'; '.join(diffs)}; use the same options or run without --resume")


def check_resumable(path: Path, **settings: Any) -> None:
    """Before any work: the checkpoint at ``path`` exists, is readable and was made with
    ``settings`` (the network and data are compared when the search starts).

    Raises
    ------
    UsageError
        One line: no checkpoint, a damaged one, or the settings that differ.
    """
    where = str(path)
    if not Path(path).exists():
        raise UsageError(f"nothing to resume: no checkpoint {where!r}")
    try:
        saved = read_json(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"checkpoint {where!r} is damaged ({exc}); delete it or run "
                         "without --resume") from None
    fingerprint = saved.get("fingerprint") if isinstance(saved, dict) else None
    if not isinstance(fingerprint, dict):
        raise UsageError(f"checkpoint {where!r} has no fingerprint (made by an older version "
                         "or another tool); run without --resume")
    current = {"network": fingerprint.get("network"), "data": fingerprint.get("data"),
               "settings": json.loads(json.dumps(settings, sort_keys=True))}
    check_fingerprint(fingerprint, current, where)
