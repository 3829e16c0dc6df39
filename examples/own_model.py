"""Bring your own model: an MLP trained in scikit-learn, exported to ONNX with skl2onnx,
becomes a verified, synthesized bespoke circuit (needs ``pip install 'bespoke-mlp[onnx]'``).

    python examples/own_model.py [OUT_DIR]

writes OUT_DIR/iris_mlp.onnx and the design OUT_DIR/iris_mlp/ (default OUT_DIR: runs/own_model).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
from skl2onnx import to_onnx
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bespoke_mlp.cli import main as bespoke_mlp
from bespoke_mlp.data import load_dataset, split_dataset
from bespoke_mlp.importers import from_sklearn
from bespoke_mlp.ir import encode_inputs, predict_codes


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # Your training, your way: here a standardized ReLU MLP on the training portion of the
    # same split the tool evaluates on (iris, seed 42).
    split = split_dataset(load_dataset("iris"), seed=42)
    x = np.vstack([split.X_train, split.X_val])
    y = np.concatenate([split.y_train, split.y_val])
    model = make_pipeline(StandardScaler(), MLPClassifier((4,), max_iter=2000, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    path = out / "iris_mlp.onnx"
    onnx.save(to_onnx(model, x[:1].astype(np.float32)), str(path))
    print(f"scikit-learn test accuracy: {model.score(split.X_test, split.y_test):.4f}")

    # The command line: quantize (4-bit inputs, 8-bit weights and activations), generate,
    # verify and synthesize into OUT_DIR/iris_mlp/ (report.json, model.json, design/).
    run = out / "iris_mlp"
    if bespoke_mlp(["generate", str(path), "--data", "iris", "--out", str(run), "--force",
                    "--quiet"]) != 0:
        sys.exit("bespoke-mlp generate failed")
    report = json.loads((run / "report.json").read_text())
    print(f"accuracy {report['accuracy']}, area {report['area_cm2']} cm², gate agreement "
          f"{report['verification']['gate_agreement']}")

    # The Python API takes the live object (no pickle, no ONNX file needed).
    net = from_sklearn(model, x)
    labels = np.array(net.classes)[predict_codes(net, encode_inputs(net, split.X_test))]
    agree = np.mean(labels == model.predict(split.X_test))
    print(f"from_sklearn: {'-'.join(map(str, net.topology))} network, agrees with "
          f"scikit-learn on {100 * agree:.1f} % of the test split")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/own_model"))
