"""Walk-through of the Python API on a bundled dataset (iris, offline):
train → approximate → search → generate → simulate → synthesize → report.

    python examples/quickstart.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from bespoke_mlp.approx import ApproxConfig, LayerApprox, apply_config, input_bit_counts, retrain
from bespoke_mlp.flow import implement, split_parts
from bespoke_mlp.ir import predict_codes
from bespoke_mlp.search import CostModel, SearchSpace, run_search
from bespoke_mlp.train import train_model


def main(out: Path) -> None:
    # 1. Train a float MLP and quantize it to the integer network (the golden model).
    trained = train_model("iris", hidden=(3,), seed=0)
    net, split = trained.network, trained.split
    print(f"iris {'-'.join(map(str, net.topology))}: float {trained.accuracy['float']:.3f}, "
          f"quantized {trained.accuracy['quantized']:.3f}")
    parts = split_parts(net, split)  # (input codes, class indices) per part
    train, val, test = parts["train"], parts["val"], parts["test"]

    # 2. Approximate by hand: power-of-two coefficients, then retrain within those budgets.
    po2 = ApproxConfig(layers=tuple(
        LayerApprox(digits=np.ones((layer.n_out, layer.n_in), dtype=int)) for layer in net.layers))
    stats = input_bit_counts(train[0], net.input_bits)
    approx = retrain(apply_config(net, po2, stats), *train, *val, epochs=30)
    acc = float(np.mean(predict_codes(approx, test[0]) == test[1]))
    print(f"power-of-two + retraining: {approx.n_csd_terms} CSD terms "
          f"(exact {net.n_csd_terms}), test accuracy {acc:.3f}")

    # 3. Or search: NSGA-II over every approximation, scored by the batched golden model.
    space = SearchSpace(net, stats)
    exact_acc = float(np.mean(predict_codes(net, train[0]) == train[1]))
    found = run_search(space, CostModel.default(), *train, min_accuracy=exact_acc - 0.02,
                       pop_size=40, generations=15, seed=0)
    smallest = apply_config(net, space.config(found.genomes[0]), stats)
    print(f"search: {len(found.genomes)} front points, smallest estimated "
          f"{found.area_cm2[0]:.3f} cm² at {found.val_accuracy[0]:.3f} training accuracy")

    # 4. Generate, simulate (RTL and gates, bit-exact) and synthesize the searched design.
    with tempfile.TemporaryDirectory() as work:
        impl = implement(smallest, *test, design_dir=out / "design", work_dir=Path(work))
    m = impl.metrics()
    print(f"design: {m['area_cm2']:.3f} cm², {m['power_mw']:.3f} mW, {m['n_cells']} cells, "
          f"test accuracy {impl.accuracy:.3f}, gate agreement {impl.gate_agreement}")
    print(f"Verilog in {out / 'design'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/quickstart"))
