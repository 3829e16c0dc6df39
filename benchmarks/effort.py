"""Synthesis effort: area and time of each ``--effort`` (or an ABC script) on the committed
reference designs of ``netlists/``, beside the area committed there.

    python benchmarks/effort.py                                  # fast, normal, high; 9 designs
    python benchmarks/effort.py --efforts high --designs cardio,seeds
    python benchmarks/effort.py --script "strash; dc2; amap"     # an experimental ABC script

Time is the wall-clock time of the Yosys + ABC run and the CPU time of this process's children
(the machine's load changes the first, hardly the second).
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", default=",".join(DESIGNS))
    ap.add_argument("--efforts", default=",".join(EFFORTS))
    ap.add_argument("--script", default=None, help="an ABC script instead of the efforts")
    ap.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args()
    runs = [(e, None) for e in args.efforts.split(",")] if args.script is None else [
        ("script", args.script)]
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    head = " | ".join(f"{e} cm² | {e} s (CPU)" for e, _ in runs)
    print(f"| design | committed cm² | {head} |")
    print("|---|---|" + "---|---|" * len(runs))
    for name in args.designs.split(","):
        committed = json.loads((NETLISTS / name / "report.json").read_text())["area_cm2"]
        cols = []
        for effort, script in runs:
            with tempfile.TemporaryDirectory() as d:
                cpu = _children_cpu()
                start = time.perf_counter()
                res = synthesize([NETLISTS / name / "top.v"], "bespoke_mlp", Path(d),
                                 effort="high" if script else effort, abc_script=script,
                                 timeout=args.timeout)
                wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
            change = 100 * (res.area_cm2 / committed - 1)
            cols.append(f"{res.area_cm2:.4f} ({change:+.1f} %) | {wall:.1f} ({cpu:.1f})")
        print(f"| {name} | {committed:.4f} | {' | '.join(cols)} |", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
