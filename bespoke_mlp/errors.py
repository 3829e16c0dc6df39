"""Exception hierarchy: every error a user can cause or meet has a class and a one-line message.

Input errors (bad arguments, data or model files) exit the CLI with status 2; failures of the
flow itself (a tool crashed, a design did not verify) exit with status 1.
"""

from __future__ import annotations

__all__ = [
    "BespokeError",
    "UsageError",
    "DataError",
    "ModelFileError",
    "ToolError",
    "ToolNotFoundError",
    "VerificationError",
    "NoDesignError",
]


class BespokeError(Exception):
    """Base class of all errors raised deliberately by bespoke-mlp."""

    exit_code = 1


class UsageError(BespokeError, ValueError):
    """An argument or option value is invalid."""

    exit_code = 2


class DataError(BespokeError, ValueError):
    """A dataset is missing, malformed or unusable."""

    exit_code = 2


class ModelFileError(BespokeError, ValueError):
    """A model file is corrupted, foreign, or does not match the data."""

    exit_code = 2


class ToolError(BespokeError, RuntimeError):
    """An external tool (Yosys/ABC, Verilator, the C++ compiler) failed.

    The message names the tool's log file and quotes its last lines.
    """


class ToolNotFoundError(ToolError):
    """A required external tool is not installed."""


class VerificationError(BespokeError, RuntimeError):
    """A simulated design disagrees with the integer golden model."""


class NoDesignError(BespokeError, RuntimeError):
    """No verified design meets the requested budget (the run writes nothing)."""
