"""Run a Yosys script with pyosys: ``python -m bespoke_mlp.synth._yosys_worker SCRIPT``.

The script holds one Yosys command per line (``#`` starts a comment line); each line is passed
to ``run_pass``, since Yosys' own ``script`` command cannot take a quoted path. Started through
:func:`bespoke_mlp._util.run_tool`, the worker runs in a process group of its own together with
the ``yosys-abc`` it starts, so a timeout ends ABC as well. Exit status 0 on success; Yosys
exits with 1 on an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Run the script named by ``argv[0]``; returns the exit status."""
    if len(argv) != 1:
        print("usage: python -m bespoke_mlp.synth._yosys_worker SCRIPT", file=sys.stderr)
        return 2
    from pyosys import libyosys as ys

    design = ys.Design()
    for line in Path(argv[0]).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            ys.run_pass(line, design)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
