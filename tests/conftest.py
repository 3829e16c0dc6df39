"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The printed-ML benchmark CSV directory beside the repository, else ``$BESPOKE_MLP_DATA``.

    Tests using it are skipped when neither holds the CSVs.
    """
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "datasets"]
    if os.environ.get("BESPOKE_MLP_DATA"):
        candidates.append(Path(os.environ["BESPOKE_MLP_DATA"]))
    for directory in candidates:
        if (directory / "cardio.csv").is_file():
            return directory
    pytest.skip("printed-ML datasets not found; set BESPOKE_MLP_DATA to their directory")


@pytest.fixture(autouse=True)
def _in_process_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands the tests run in-process default to ``--jobs 1`` (the CLI's default is every
    usable core): unit runs stay serial, debuggable and monkeypatchable; a test that wants
    workers passes ``--jobs`` or ``--dask``."""
    from bespoke_mlp.parallel import _cli

    monkeypatch.setattr(_cli, "default_jobs", lambda: 1)


@pytest.fixture(autouse=True)
def _no_model_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every simulation in the tests builds its model (the per-user model cache is off), so
    that tests see real builds and leave nothing in the user's cache; the cache's own tests
    set ``$BESPOKE_MLP_MODEL_CACHE``."""
    monkeypatch.setenv("BESPOKE_MLP_MODEL_CACHE", "")
