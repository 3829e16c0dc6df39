"""Calibrate the search's fast cost model against real synthesis.

Draws random approximation genomes (mutants of the search's seeds, as the search explores) for
each dataset, synthesizes every one onto the EGFET cells, fits the model by non-negative least
squares, and reports how well it ranks and predicts area with two-fold cross-validation. With
``--write`` the model fitted on all samples replaces ``bespoke_mlp/search/cost_model.json``.

    python benchmarks/calibrate_cost.py --datasets cardio,whitewine --samples 60 --jobs 2 --write
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bespoke_mlp.approx import apply_config, input_bit_counts
from bespoke_mlp.hdl import write_verilog
from bespoke_mlp.ir import Network
from bespoke_mlp.search import COST_FEATURES, CostModel, SearchSpace
from bespoke_mlp.search._nsga import _initial_population
from bespoke_mlp.synth import synthesize
from bespoke_mlp.train import train_model

MODEL_PATH = Path(__file__).resolve().parents[1] / "bespoke_mlp" / "search" / "cost_model.json"
SAMPLES_PATH = Path(__file__).resolve().parent / "results" / "cost_samples.json"


def _synth(net_json: str) -> tuple[float, float]:
    net = Network.from_json(net_json)
    with tempfile.TemporaryDirectory(prefix="bespoke-cal-") as d:
        top = write_verilog(net, Path(d) / "top.v")
        s = synthesize([top], "bespoke_mlp", Path(d) / "synth")
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
    ap.add_argument("--write", action="store_true", help="update the shipped cost model")
    args = ap.parse_args()
    feats, areas, powers, tags, genome_lists = [], [], [], [], []
    t0 = time.perf_counter()
    for name in args.datasets.split(","):
        trained = train_model(name, data_dir=args.data_dir, seed=args.seed)
        codes = trained.split.codes("train", trained.network.input_bits)
        space = SearchSpace(trained.network, input_bit_counts(codes, trained.network.input_bits))
        rng = np.random.default_rng(args.seed)
        # Half near the seeds (where the search starts), half uniform (small designs).
        near = _initial_population(space, args.samples // 2 + 4, rng)[:args.samples // 2]
        uniform = rng.integers(space.lower, space.upper + 1,
                               (args.samples - len(near), space.n_genes))
        genomes = np.concatenate([near, uniform])
        nets = [apply_config(trained.network, space.config(g), space.input_stats).to_json()
                for g in genomes]
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(_synth, nets))
        feats.append(space.cost_features(space.decode(genomes)))
        genome_lists.append(genomes.tolist())
        areas += [a for a, _ in results]
        powers += [p for _, p in results]
        tags += [name] * len(results)
        print(f"{name}: {len(results)} designs synthesized, area "
              f"{min(areas[-len(results):]):.3f}..{max(areas[-len(results):]):.3f} cm²")
    f = np.concatenate(feats)
    area = np.array(areas)
    power = np.array(powers)
    SAMPLES_PATH.parent.mkdir(parents=True, exist_ok=True)
    SAMPLES_PATH.write_text(json.dumps({"features": f.tolist(), "area_cm2": areas,
                                        "power_mw": powers, "dataset": tags,
                                        "genomes": genome_lists, "seed": args.seed}) + "\n")
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
    for name in [*args.datasets.split(","), "all"]:
        sel = np.array([t == name or name == "all" for t in tags])
        print(f"| {name} | {sel.sum()} | {_spearman(pred[sel], area[sel]):.3f} | "
              f"{100 * np.nanmedian(err[sel]):.1f} % | {100 * np.nanmax(err[sel]):.1f} % |")
    final = CostModel.fit(f, area, power)
    print(f"\nfit on all: {dict(zip(COST_FEATURES, final.coefficients))}, intercept "
          f"{final.intercept:.4f}, {final.mw_per_cm2:.3f} mW/cm²; {time.perf_counter() - t0:.0f} s")
    if args.write:
        MODEL_PATH.write_text(json.dumps(final.to_dict(), indent=2, sort_keys=True) + "\n")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
