"""Speed-up of the execution layer: verifying and synthesizing Pareto points, and searching, with
1 worker against N local processes or a Dask LocalCluster.

    python benchmarks/scale_out.py --dataset cardio --data-dir ../shared/datasets --workers 2
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from bespoke_mlp.approx import apply_config, input_bit_counts
from bespoke_mlp.flow import implement_many, split_parts
from bespoke_mlp.parallel import make_executor
from bespoke_mlp.search import CostModel, SearchSpace, run_search
from bespoke_mlp.train import train_model


def _space(dataset: str, data_dir: Path | None):
    trained = train_model(dataset, data_dir=data_dir)
    net = trained.network
    parts = split_parts(net, trained.split)
    return net, parts, SearchSpace(net, input_bit_counts(parts["train"][0], net.input_bits))


def _front(dataset: str, data_dir: Path | None, n_points: int):
    """``n_points`` approximated networks spread over a short search's front."""
    net, parts, space = _space(dataset, data_dir)
    acc = float(np.mean(space.predict(space.decode(space.exact[None]), parts["train"][0])[0]
                        == parts["train"][1]))
    found = run_search(space, CostModel.default(), *parts["train"], min_accuracy=acc - 0.05,
                       generations=30, seed=0)
    idx = np.linspace(0, len(found.genomes) - 1, n_points).round().astype(int)
    nets = [apply_config(net, space.config(found.genomes[i]), space.input_stats) for i in idx]
    return nets, parts


def _warm_up(_: int) -> None:
    import bespoke_mlp.flow  # noqa: F401


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the tools it ran)."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="cardio", help="whose front points to implement")
    ap.add_argument("--search-dataset", default="pendigits",
                    help="whose search to time (a small one does not fan out)")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--generations", type=int, default=20,
                    help="generations of the timed search")
    args = ap.parse_args()
    nets, parts = _front(args.dataset, args.data_dir, args.points)
    _, search_parts, space = _space(args.search_dataset, args.data_dir)
    print(f"{args.dataset}: {len(nets)} front points, "
          f"{sum(len(parts['test'][0]) for _ in nets)} test vectors simulated in total")
    setups = [("serial", dict(jobs=1)),
              (f"{args.workers} local processes", dict(jobs=args.workers)),
              (f"Dask LocalCluster, {args.workers} processes",
               dict(dask=f"local:{args.workers}"))]
    rows, reference, cpu = [], None, 0.0
    for name, options in setups:
        with make_executor(**options) as executor, \
                tempfile.TemporaryDirectory(prefix="bespoke-mlp-bench-") as work:
            # Start the workers and import the package there: a flow pays this once.
            executor.map(_warm_up, range(executor.n_workers))
            cpu0 = _cpu_s()
            t_impl, impls = _timed(lambda: implement_many(
                nets, *parts["test"], work_dir=Path(work), executor=executor))
            cpu = cpu or _cpu_s() - cpu0
            t_search, found = _timed(lambda: run_search(
                space, CostModel.default(), *search_parts["train"], min_accuracy=0.0,
                generations=args.generations, seed=1, executor=executor))
        figures = [(i.synth.area_cm2, i.accuracy, i.gate_agreement) for i in impls]
        if reference is None:
            reference = (figures, found.genomes.tolist())
        same = (figures, found.genomes.tolist()) == reference
        rows.append((name, t_impl, t_search, same))
    cores = len(os.sched_getaffinity(0))
    print(f"serial implementation: {rows[0][1]:.1f} s wall, {cpu:.1f} s CPU (tools included): "
          f"{cores} cores allow at most {cpu / cores:.1f} s, a {rows[0][1] * cores / cpu:.2f}× "
          "speed-up")
    print(f"\n| executor | implement {len(nets)} {args.dataset} points (s) | speed-up | "
          f"{args.search_dataset} search, {args.generations} generations (s) | speed-up | "
          "same results |")
    print("|---|---|---|---|---|---|")
    for name, t_impl, t_search, same in rows:
        print(f"| {name} | {t_impl:.1f} | {rows[0][1] / t_impl:.2f}× | {t_search:.1f} | "
              f"{rows[0][2] / t_search:.2f}× | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
