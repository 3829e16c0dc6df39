"""Stage times of a default ``bespoke-mlp run``: the reference for speed work.

    python benchmarks/stage_times.py --data-dir ../shared/datasets
    python benchmarks/stage_times.py --data-dir ../shared/datasets --datasets cardio --jobs 1

Runs ``python -m bespoke_mlp run DATASET`` with default settings (plus ``--jobs`` if given)
once per dataset into a temporary directory and prints the stage times the run logs in its
``report.json`` (``runtime_s``: wall seconds per stage; stages overlap when work runs
concurrently, so they need not add up to the total), the run's CPU time (user + system of
the run and every process it started) and the load average before each run. Verilator's
runtime library is assumed compiled (``~/.cache/bespoke-mlp``: run once before measuring);
every simulation model is built, in an empty model cache of the run's own, unless ``--warm``
lets the runs use the user's model cache (a repeated run copies its models from there).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bespoke_mlp.sim import MODEL_CACHE_ENV

DATASETS = ("cardio", "pendigits")
#: Columns in this order first (the flow's stage names); any other stage follows.
STAGES = ("train", "quantizers", "importance", "search", "retrain", "generate", "rtl_sim",
          "synthesis", "gate_sim")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(dataset: str, data_dir: Path | None, jobs: int | None, timeout: float, *,
             warm: bool = False) -> dict[str, float]:
    """Stage times (s) of one default run of ``dataset``, plus ``wall``, ``cpu`` and
    ``load`` (1-minute load average before the run); ``warm``: with the user's model cache."""
    with tempfile.TemporaryDirectory(prefix="stage-times-") as tmp:
        out = Path(tmp) / dataset
        env = dict(os.environ) if warm else {**os.environ, MODEL_CACHE_ENV: str(Path(tmp) / "m")}
        cmd = [sys.executable, "-m", "bespoke_mlp", "run", dataset, "--quiet", "--out", str(out)]
        if data_dir is not None:
            cmd += ["--data-dir", str(data_dir)]
        if jobs is not None:
            cmd += ["--jobs", str(jobs)]
        load = os.getloadavg()[0]
        cpu, start = _children_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, timeout=timeout, stdout=subprocess.DEVNULL, env=env)
        wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
        stages = json.loads((out / "report.json").read_text())["runtime_s"]
    return {**stages, "wall": round(wall, 1), "cpu": round(cpu, 1), "load": load}


def table(rows: dict[str, dict[str, float]]) -> str:
    """The rows as a Markdown table, one column per stage."""
    seen = {name for row in rows.values() for name in row}
    extra = sorted(seen - {*STAGES, "total", "wall", "cpu", "load"})
    names = [s for s in STAGES if s in seen] + extra
    head = ["dataset", "load", "wall s", "CPU s", "total", *names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for dataset, row in rows.items():
        cells = [dataset, f"{row['load']:.2f}", f"{row['wall']:.1f}", f"{row['cpu']:.1f}",
                 f"{row.get('total', 0.0):.1f}", *(f"{row.get(n, 0.0):.1f}" for n in names)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--datasets", default=",".join(DATASETS),
                    help=f"comma-separated datasets (default: {','.join(DATASETS)})")
    ap.add_argument("--jobs", type=int, default=None,
                    help="passed to the run (default: the run's own default)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    ap.add_argument("--warm", action="store_true",
                    help="use the user's model cache (default: build every model)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args()
    rows = {}
    for dataset in args.datasets.split(","):
        rows[dataset] = run_once(dataset, args.data_dir, args.jobs, args.timeout,
                                 warm=args.warm)
        print(f"{dataset}: {rows[dataset]['wall']:.1f} s wall", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
