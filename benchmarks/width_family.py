"""The family of exact networks a search trains without ``--hidden`` (issue 32), measured cheaply.

For each dataset: every member's shape, weight bits, validation and test accuracy, estimated
cost, and whether it is the reference or on the front, on the search's split (split seed 42,
``select_size`` 0.3, as ``run``). Test accuracy is reported, never used to choose. Also the
share of zero weights of the low-bit member, the quantizer's low-bit scale at stake.

    PYTHONPATH=. python benchmarks/width_family.py pendigits cardio --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bespoke_mlp.data import label_indices
from bespoke_mlp.flow._search import SearchSettings
from bespoke_mlp.ir import predict_codes
from bespoke_mlp.train import train_family


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print("| dataset | hidden | weight bits | val % | test % | cost | zero weights % | front | "
          "reference | train s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        start = time.perf_counter()
        family = train_family(name, data_dir=args.data_dir, seed=args.seed,
                              select_size=SearchSettings.select_size)
        seconds = time.perf_counter() - start
        for c, r in zip(family.candidates, family.results, strict=True):
            y = label_indices(r.mlp.classes_, r.split.y_test)
            test = float(np.mean(predict_codes(r.network, r.split.codes("test", 4)) == y))
            w = np.concatenate([np.ravel(layer.weights) for layer in r.network.layers])
            print(f"| {name} | {'-'.join(map(str, c.hidden))} | {c.weight_bits} | "
                  f"{100 * c.val_accuracy:.2f} | {100 * test:.2f} | {c.cost:.0f} | "
                  f"{100 * np.mean(w == 0):.1f} | {c.front} | {c.reference} | "
                  f"{seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
