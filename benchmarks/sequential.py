"""Parallel beside sequential: the same networks (the ≤1 % reference designs in ``netlists/``)
implemented in both architectures, verified on the whole test split, at one or more supply
voltages.

    python benchmarks/sequential.py --datasets cardio,pendigits --data-dir ../shared/datasets \\
        --techs egfet-1.0v,egfet-0.6v --lanes 1,2

Prints one Markdown row per design: area, classifier power, clock, cycles, latency and energy
per inference (power x latency), gate-level agreement and the gate-level simulation time.
With ``--fit``, then the non-negative least-squares fit of the sequential designs' measured
area on :meth:`~bespoke_mlp.ir.Schedule.cost_features` (registers at their library areas),
the coefficients of :func:`~bespoke_mlp.ir.sequential_area_cm2`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from bespoke_mlp.data import load_dataset, split_dataset
from bespoke_mlp.flow._implement import implement
from bespoke_mlp.flow._log import Log
from bespoke_mlp.flow._report import class_indices
from bespoke_mlp.hdl import Architecture
from bespoke_mlp.ir import Network, encode_inputs, schedule, sequential_area_cm2
from bespoke_mlp.synth import EFFORTS, technology

NETLISTS = Path(__file__).resolve().parents[1] / "netlists"
#: The EGFET registers' areas (DFFNRX1, DFFX1), cm².
FF_CM2, LATCH_CM2 = 0.02776032, 0.01413984


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="cardio,pendigits")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--techs", default="egfet-1.0v")
    ap.add_argument("--lanes", default="1", help="sequential fold factors to implement")
    ap.add_argument("--no-parallel", action="store_true", help="sequential designs only")
    ap.add_argument("--fit", action="store_true", help="fit the sequential area estimate")
    ap.add_argument("--effort", default="normal", choices=EFFORTS,
                    help="synthesis effort (run reports at high)")
    ap.add_argument("--network", type=Path, default=None,
                    help="a network.json to implement instead of netlists/<dataset>/ (one "
                         "dataset)")
    args = ap.parse_args()
    fit_rows: list[tuple[tuple[int, ...], float]] = []
    archs = [] if args.no_parallel else [Architecture()]
    archs += [Architecture("sequential", int(n)) for n in args.lanes.split(",")]
    print("| dataset | arch | lanes | tech | test acc. | area cm² | estimate cm² | power mW | "
          "flip-flops / latches | clock Hz | cycles | latency s | energy mJ / inference | "
          "gate agreement | gate sim s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        net = Network.from_json((args.network or NETLISTS / name / "network.json").read_text())
        split = split_dataset(load_dataset(name, data_dir=args.data_dir), seed=42)
        codes = encode_inputs(net, split.X_test)
        labels = class_indices(net, split.y_test)
        for tech_name in args.techs.split(","):
            tech = technology(tech_name)
            for arch in archs:
                log = Log(enabled=False)
                with tempfile.TemporaryDirectory() as d:
                    impl = implement(net, codes, labels, design_dir=Path(d) / "design",
                                     work_dir=Path(d) / "work", tech=tech, arch=arch, log=log,
                                     effort=args.effort)
                m = impl.metrics()
                regs = f"{m['cells'].get('DFFNRX1', 0)} / {m['cells'].get('DFFX1', 0)}"
                estimate = "—"
                if arch.sequential:
                    sched = schedule(net, arch.lanes)
                    estimate = f"{sequential_area_cm2(sched):.2f}"
                    fit_rows.append((sched.cost_features(), m["area_cm2"]))
                print(f"| {name} | {arch.kind} | {arch.lanes} | {tech.name} | "
                      f"{100 * impl.accuracy:.2f} | {m['area_cm2']:.3f} | {estimate} | "
                      f"{m['power_mw']:.2f} | "
                      f"{regs} | {m['clock_hz']:g} | {m['cycles']} | {m['latency_s']:.3g} | "
                      f"{m['energy_mj']:.3g} | {m['verification']['gate_agreement']:.4f} | "
                      f"{log.runtime()['gate_sim']:.0f} |", flush=True)
    if args.fit and fit_rows:
        _fit(fit_rows)


def _fit(rows: list[tuple[tuple[int, ...], float]]) -> None:
    """Print the fitted coefficients of the sequential area estimate."""
    from scipy.optimize import nnls

    features = np.array([f for f, _ in rows], dtype=np.float64)
    registers = features[:, 0] * FF_CM2 + features[:, 1] * LATCH_CM2
    area = np.array([a for _, a in rows]) - registers
    coef, _ = nnls(features[:, 2:], area)
    error = np.abs(features[:, 2:] @ coef - area).max()
    print(f"\nfitted cm² per tree bit, mux bit, control bit x cycle: {coef.round(5).tolist()} "
          f"(largest error {error:.2f} cm² over {len(rows)} designs)")


if __name__ == "__main__":
    main()
