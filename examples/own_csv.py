"""Bring your own CSV: a labelled table (label column last, or named) becomes a verified,
synthesized exact design, and the scikit-learn-style estimator predicts bit-exactly.

    python examples/own_csv.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bespoke_mlp.data import load_dataset
from bespoke_mlp.flow import run_exact
from bespoke_mlp.train import BespokeMLPClassifier


def make_csv(path: Path) -> Path:
    """A small synthetic sensor table: two noisy features decide one of three states."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, (300, 2))
    state = np.where(x[:, 0] + x[:, 1] > 12, "high", np.where(x[:, 0] > 5, "mid", "low"))
    lines = ["temperature;humidity;state"]
    lines += [f"{a:.2f};{b:.2f};{s}" for (a, b), s in zip(x, state)]
    path.write_text("\n".join(lines) + "\n")
    return path


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    csv = make_csv(out / "sensors.csv")
    data = load_dataset(csv, label="state")
    print(f"{csv.name}: {data.n_samples} samples, features {data.feature_names}, "
          f"classes {data.classes}")

    # The estimator: fit trains and quantizes; predict runs the integer golden model.
    clf = BespokeMLPClassifier(hidden_layer_sizes=(3,), random_state=0).fit(data.X, data.y)
    print(f"estimator accuracy on the table: {clf.score(data.X, data.y):.3f}")

    # The exact flow on the same file: report.json, model.json and design/ under out/sensors.
    report = run_exact(data, out=out / "sensors", force=True)
    print(f"area {report['area_cm2']} cm², gate agreement "
          f"{report['verification']['gate_agreement']}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/own_csv"))
