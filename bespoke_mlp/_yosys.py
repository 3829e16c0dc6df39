"""Run Yosys scripts with the pyosys library in a child process.

A child process gives every run a timeout, a log file, and isolation from crashes in Yosys or
ABC. Run as ``python -m bespoke_mlp._yosys SCRIPT`` it executes the script one line (one
command) at a time through ``run_pass``, since Yosys' own ``script`` command cannot take a
quoted path; ``#`` starts a comment line.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from ._util import log_tail, run_tool
from .errors import ToolError, UsageError

__all__ = ["quote_path", "run_yosys"]

# A frontend's error in a source file, as Yosys logs it: ``path:line: ERROR: message``.
_SOURCE_ERROR = re.compile(r"(?P<file>[^\s:][^:]*):(?P<line>\d+): ERROR: (?P<message>.*)")


def quote_path(path: Path) -> str:
    """``path`` as a quoted Yosys command argument."""
    text = str(path)
    if '"' in text or "\n" in text:
        raise UsageError(f"path {text!r} contains a quote or newline, which Yosys cannot read")
    return f'"{text}"'


def run_yosys(script: str, *, script_path: Path, log: Path, timeout: float) -> None:
    """Write ``script`` to ``script_path`` and run it.

    Raises
    ------
    ToolError
        If Yosys fails (the message quotes its last ``ERROR:`` line) or exceeds ``timeout``;
        the message names ``log``.
    """
    script_path.write_text(script)
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    # ABC's temporary directories go beside the script (a work directory): a killed run
    # leaves none in the system's temporary folder.
    env["TMPDIR"] = str(script_path.parent.resolve())
    try:
        run_tool([sys.executable, "-m", "bespoke_mlp._yosys", script_path], log=log,
                 timeout=timeout, env=env, what="yosys")
    except ToolError as exc:
        tail = log_tail(log, 40)
        if "timed out" in str(exc).partition("\n")[0]:
            raise
        for line in reversed(tail.splitlines()):
            source = _SOURCE_ERROR.match(line)
            if source:
                # A frontend's error in a source file: the input is at fault, not the flow.
                raise UsageError(f"{source['file']} line {source['line']}: "
                                 f"{source['message'].strip()} (log: {log})") from exc
            if line.startswith("ERROR:"):
                raise ToolError(f"yosys failed: {line[6:].strip()}; log: {log}\n{tail}") from exc
        raise


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bespoke_mlp._yosys SCRIPT", file=sys.stderr)
        return 2
    from pyosys import libyosys as ys

    design = ys.Design()
    for line in Path(argv[0]).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            ys.run_pass(line, design)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
