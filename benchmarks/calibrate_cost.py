"""Calibrate the search's fast cost model against real synthesis.

For each dataset, draws random approximation genomes from what the search explores: a third
from its starting population (mutants of the seeds), the rest from the populations of an
NSGA-II run with a loose (10-point) accuracy constraint, at random generations. Every design is
synthesized onto the EGFET cells; the model is fitted by non-negative least squares and its
ranking and area error are measured with two-fold cross-validation. With ``--write`` the model
fitted on all samples replaces ``bespoke_mlp/search/cost_model.json``.

    python benchmarks/calibrate_cost.py --datasets cardio,whitewine --samples 60 --jobs 2 --write
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bespoke_mlp.approx import apply_config, input_bit_counts
from bespoke_mlp.hdl import write_verilog
from bespoke_mlp.ir import Network, predict_codes
from bespoke_mlp.search import COST_FEATURES, CostModel, SearchSpace, run_search
from bespoke_mlp.search._nsga import _initial_population
from bespoke_mlp.synth import EFFORTS, synthesize
from bespoke_mlp.train import train_model

MODEL_PATH = Path(__file__).resolve().parents[1] / "bespoke_mlp" / "search" / "cost_model.json"
SAMPLES_PATH = Path(__file__).resolve().parent / "results" / "cost_samples.json"


def _synth(effort: str, net_json: str) -> tuple[float, float]:
    net = Network.from_json(net_json)
    with tempfile.TemporaryDirectory(prefix="bespoke-cal-") as d:
        top = write_verilog(net, Path(d) / "top.v")
        s = synthesize([top], "bespoke_mlp", Path(d) / "synth", effort=effort)
    return s.area_cm2, s.power_mw


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a))
    rb = np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="cardio,whitewine")
    ap.add_argument("--samples", type=int, default=60, help="designs per dataset")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--effort", choices=EFFORTS, default="high",
                    help="synthesis effort of the samples: the search ranks designs by the "
                         "area that reported (high-effort) synthesis gives (default: high)")
    ap.add_argument("--write", action="store_true", help="update the shipped cost model")
    ap.add_argument("--refit", action="store_true",
                    help=f"fit the samples saved in {SAMPLES_PATH.name} instead of synthesizing")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.refit:
        saved = json.loads(SAMPLES_PATH.read_text())
        _report(np.array(saved["features"]), np.array(saved["area_cm2"]),
                np.array(saved["power_mw"]), saved["dataset"], args.write, t0)
        return
    feats, areas, powers, tags, genome_lists = [], [], [], [], []
    for name in args.datasets.split(","):
        trained = train_model(name, data_dir=args.data_dir, seed=args.seed)
        codes = trained.split.codes("train", trained.network.input_bits)
        space = SearchSpace(trained.network, input_bit_counts(codes, trained.network.input_bits))
        rng = np.random.default_rng(args.seed)
        near = _initial_population(space, args.samples // 3 + 4, rng)[:args.samples // 3]
        populations = []
        val_codes = trained.split.codes("val", trained.network.input_bits)
        val_y = predict_codes(trained.network, val_codes)
        run_search(space, CostModel.default(), val_codes, val_y, min_accuracy=0.9,
                   generations=60, seed=args.seed,
                   progress=lambda p, sink=populations: sink.append(p.population))
        pool = np.concatenate(populations)
        pool = np.unique(pool, axis=0)
        picked = pool[rng.choice(len(pool), args.samples - len(near), replace=False)]
        genomes = np.concatenate([near, picked])
        nets = [apply_config(trained.network, space.config(g), space.input_stats).to_json()
                for g in genomes]
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(functools.partial(_synth, args.effort), nets))
        feats.append(space.cost_features(space.decode(genomes)))
        genome_lists.append(genomes.tolist())
        areas += [a for a, _ in results]
        powers += [p for _, p in results]
        tags += [name] * len(results)
        print(f"{name}: {len(results)} designs synthesized, area "
              f"{min(areas[-len(results):]):.3f}..{max(areas[-len(results):]):.3f} cm²")
    f = np.concatenate(feats)
    SAMPLES_PATH.parent.mkdir(parents=True, exist_ok=True)
    SAMPLES_PATH.write_text(json.dumps({"features": f.tolist(), "area_cm2": areas,
                                        "power_mw": powers, "dataset": tags,
                                        "genomes": genome_lists, "seed": args.seed,
                                        "effort": args.effort}) + "\n")
    _report(f, np.array(areas), np.array(powers), tags, args.write, t0)


def _report(f: np.ndarray, area: np.ndarray, power: np.ndarray, tags: list[str], write: bool,
            t0: float) -> None:
    """Cross-validate, print the table, fit on everything (and write it)."""
    idx = np.random.default_rng(1).permutation(len(area))
    folds = np.array_split(idx, 2)
    pred = np.empty_like(area)
    for k in range(2):
        train = np.concatenate([folds[j] for j in range(2) if j != k])
        model = CostModel.fit(f[train], area[train], power[train])
        pred[folds[k]] = model.area_cm2(f[folds[k]])
    nonzero = area > 0  # a fully pruned design has no cells: relative error is undefined
    err = np.where(nonzero, np.abs(pred - area) / np.where(nonzero, area, 1), np.nan)
    print(f"\n{len(area)} designs, two-fold cross-validation:")
    print("| dataset | designs | Spearman | median abs. area error | max error |")
    print("|---|---|---|---|---|")
    for name in [*dict.fromkeys(tags), "all"]:
        sel = np.array([t == name or name == "all" for t in tags])
        print(f"| {name} | {sel.sum()} | {_spearman(pred[sel], area[sel]):.3f} | "
              f"{100 * np.nanmedian(err[sel]):.1f} % | {100 * np.nanmax(err[sel]):.1f} % |")
    final = CostModel.fit(f, area, power)
    print(f"\nfit on all: {dict(zip(COST_FEATURES, final.coefficients))}, intercept "
          f"{final.intercept:.4f}, {final.mw_per_cm2:.3f} mW/cm²; {time.perf_counter() - t0:.0f} s")
    if write:
        MODEL_PATH.write_text(json.dumps(final.to_dict(), indent=2, sort_keys=True) + "\n")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
