"""Synthesis effort: area and time of each ``--effort`` (or an ABC script) on the committed
reference designs of ``netlists/``, beside the area committed there.

    python benchmarks/effort.py                                  # fast, normal, high; 9 designs
    python benchmarks/effort.py --efforts high --designs cardio,seeds
    python benchmarks/effort.py --script "strash; dc2; amap"     # an experimental ABC script
    python benchmarks/effort.py --rev cb239fb                    # the designs as of a commit

Time is the wall-clock time of the Yosys + ABC run and the CPU time of this process's children
(the machine's load changes the first, hardly the second).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bespoke_mlp.synth import EFFORTS, synthesize

NETLISTS = Path(__file__).resolve().parents[1] / "netlists"
DESIGNS = ("balance", "breast_cancer", "whitewine", "redwine", "seeds", "vertebral_3c",
           "cardio", "pendigits", "arrhythmia")


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def _design(name: str, rev: str | None, work: Path) -> tuple[Path, float]:
    """The RTL of design ``name`` and its committed area, from the checkout or at ``rev``."""
    if rev is None:
        report = json.loads((NETLISTS / name / "report.json").read_text())
        return NETLISTS / name / "top.v", report["area_cm2"]

    def show(file: str) -> str:
        return subprocess.run(["git", "show", f"{rev}:netlists/{name}/{file}"],
                              cwd=NETLISTS.parent, check=True, capture_output=True,
                              text=True, timeout=60).stdout

    top = work / f"{name}.v"
    top.write_text(show("top.v"))
    return top, json.loads(show("report.json"))["area_cm2"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", default=",".join(DESIGNS))
    ap.add_argument("--efforts", default=",".join(EFFORTS))
    ap.add_argument("--script", default=None, help="an ABC script instead of the efforts")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--rev", default=None,
                    help="take the designs' RTL and committed areas at this git revision")
    args = ap.parse_args()
    runs = [(e, None) for e in args.efforts.split(",")] if args.script is None else [
        ("script", args.script)]
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    head = " | ".join(f"{e} cm² | {e} s (CPU)" for e, _ in runs)
    print(f"| design | committed cm² | {head} |")
    print("|---|---|" + "---|---|" * len(runs))
    changes: dict[str, list[float]] = {e: [] for e, _ in runs}
    for name in args.designs.split(","):
        cols = []
        for effort, script in runs:
            with tempfile.TemporaryDirectory() as d:
                top, committed = _design(name, args.rev, Path(d))
                cpu = _children_cpu()
                start = time.perf_counter()
                res = synthesize([top], "bespoke_mlp", Path(d) / "out",
                                 effort="high" if script else effort, abc_script=script,
                                 timeout=args.timeout)
                wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
            change = 100 * (res.area_cm2 / committed - 1)
            changes[effort].append(change)
            cols.append(f"{res.area_cm2:.4f} ({change:+.1f} %) | {wall:.1f} ({cpu:.1f})")
        print(f"| {name} | {committed:.4f} | {' | '.join(cols)} |", flush=True)
    for effort, values in changes.items():
        print(f"{effort}: mean change {sum(values) / len(values):+.1f} % "
              f"({min(values):+.1f} to {max(values):+.1f} %)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
