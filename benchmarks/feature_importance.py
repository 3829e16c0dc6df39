"""Which feature importance ranks better for the search's narrow starts: the exact network
retrained on its top-k features by each ranking, judged by agreement with the exact network on
the selection part (which neither ranking nor retraining sees).

    python benchmarks/feature_importance.py --datasets cardio,whitewine,arrhythmia \\
        --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bespoke_mlp.approx import ApproxConfig, apply_config, input_bit_counts, retrain
from bespoke_mlp.flow import SearchSettings
from bespoke_mlp.flow._report import split_parts
from bespoke_mlp.ir import predict_codes
from bespoke_mlp.search import IMPORTANCE_METHODS, feature_importance, top_k_sizes
from bespoke_mlp.train import train_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="cardio,whitewine")
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    settings = SearchSettings()
    print("| dataset | method | time s | k: agreement before → after retraining (label accuracy) "
          "on the selection part, % |")
    print("|---|---|---|---|")
    for name in args.datasets.split(","):
        trained = train_model(name, data_dir=args.data_dir, select_size=settings.select_size)
        net = trained.network
        parts = split_parts(net, trained.split)
        # The search's targets: the exact network's predictions (fidelity).
        target = {p: predict_codes(net, parts[p][0]) for p in ("train", "val", "select")}
        stats = input_bit_counts(parts["train"][0], net.input_bits)
        for method in IMPORTANCE_METHODS:
            t = time.perf_counter()
            imp = feature_importance(net, parts["train"][0], target["train"], method=method)
            seconds = time.perf_counter() - t
            order = np.argsort(-imp, kind="stable")
            cells = []
            for k in top_k_sizes(net.n_used_features):
                bits = np.zeros(net.n_features, dtype=np.int64)
                bits[order[:k]] = net.input_bits
                narrow = apply_config(net, ApproxConfig(input_precision=tuple(bits)), stats)
                tuned = retrain(narrow, parts["train"][0], target["train"], parts["val"][0],
                                target["val"], epochs=settings.retrain_epochs)
                agree = [100 * np.mean(predict_codes(m, parts["select"][0]) == target["select"])
                         for m in (narrow, tuned)]
                acc = 100 * np.mean(predict_codes(tuned, parts["select"][0])
                                    == parts["select"][1])
                cells.append(f"{k}: {agree[0]:.1f} → {agree[1]:.1f} ({acc:.1f})")
            print(f"| {name} {'-'.join(map(str, net.topology))} | {method} | {seconds:.1f} | "
                  f"{'; '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
