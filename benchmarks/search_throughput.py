"""Candidate evaluations per second of the search's batched golden-model evaluator.

    python benchmarks/search_throughput.py --dataset cardio --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bespoke_mlp.approx import input_bit_counts
from bespoke_mlp.flow import class_indices
from bespoke_mlp.search import CostModel, SearchSpace
from bespoke_mlp.search._nsga import _initial_population
from bespoke_mlp.train import train_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="cardio")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--candidates", type=int, default=20_000)
    args = ap.parse_args()
    trained = train_model(args.dataset, data_dir=args.data_dir)
    net, split = trained.network, trained.split
    codes = split.codes("train", net.input_bits)
    labels = class_indices(net, split.y_train)
    space = SearchSpace(net, input_bit_counts(codes, net.input_bits))
    cost = CostModel.default()
    genomes = _initial_population(space, args.candidates, np.random.default_rng(0))
    print(f"{args.dataset} {'-'.join(map(str, net.topology))}: {space.n_genes} genes, "
          f"{len(codes)} samples per evaluation")
    print("| batch | candidates/s |\n|---|---|")
    for batch in (1, 10, 100, 500):
        n = min(len(genomes), 2000 if batch == 1 else args.candidates)
        start = time.perf_counter()
        for i in range(0, n, batch):
            d = space.decode(genomes[i:i + batch])
            acc = (space.predict(d, codes) == labels).mean(axis=1)
            cost.area_cm2(space.cost_features(d))
        rate = n / (time.perf_counter() - start)
        print(f"| {batch} | {rate:,.0f} |")
    del acc


if __name__ == "__main__":
    main()
