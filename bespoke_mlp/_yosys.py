"""Run Yosys scripts with the pyosys library, in a child process.

A child process gives every run a timeout, a log file, and isolation from crashes inside Yosys
or ABC. Run as ``python -m bespoke_mlp._yosys SCRIPT`` it executes the Yosys script file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._util import run_tool

__all__ = ["run_yosys"]


def run_yosys(script: str, *, script_path: Path, log: Path, timeout: float) -> None:
    """Write ``script`` to ``script_path`` and run it; raises ToolError naming ``log``."""
    script_path.write_text(script)
    run_tool([sys.executable, "-m", "bespoke_mlp._yosys", script_path], log=log,
             timeout=timeout, what="yosys")


def _main(path: str) -> None:
    from pyosys import libyosys as ys

    design = ys.Design()
    ys.run_pass(f"script {path}", design)


if __name__ == "__main__":
    _main(sys.argv[1])
