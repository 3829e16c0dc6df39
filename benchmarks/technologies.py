"""The reference designs (``netlists/*/top.v``, the ≤1 % designs) at 1.0 V and 0.6 V beside
TCASAI'25's 0.6 V figures; the state-dependent leakage model against the fitted one; and the
leakage a free choice of logic polarity could save at most.

Each design is synthesized onto each technology, simulated at gate level on its dataset's
whole test split (bit-exact against the golden model, else the script stops) and its power
computed from the measured activity at the clock the flow would choose.

    python benchmarks/technologies.py --data-dir ../shared/datasets
    python benchmarks/technologies.py --data-dir ../shared/datasets --datasets seeds,cardio
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bespoke_mlp.data import load_dataset, split_dataset
from bespoke_mlp.flow._report import class_indices
from bespoke_mlp.ir import Network, encode_inputs, predict_codes
from bespoke_mlp.sim import simulate
from bespoke_mlp.synth import (
    choose_clock,
    input_state_probabilities,
    load_library,
    synthesize,
    technology,
    toggle_rates,
    write_cell_models,
)
from bespoke_mlp.synth._netlist import read_netlist

ROOT = Path(__file__).resolve().parents[1]
TOP = "bespoke_mlp"
#: TCASAI'25 ternary networks at 0.6 V, smallest design within 1 point of their best accuracy
#: (area cm², power mW, accuracy %; ../shared/reference/published_results.md).
TCASAI25 = {
    "cardio": (1.84, 1.99, 89.97), "pendigits": (45.2, 44.9, 93.55),
    "redwine": (0.142, 0.156, 58.54), "whitewine": (0.821, 0.923, 53.33),
    "breast_cancer": (1.24, 1.37, 98.54), "seeds": (0.133, 0.161, 95.24),
    "vertebral_3c": (0.181, 0.194, 89.25), "arrhythmia": (10.96, 10.2, 65.44),
}
DATASETS = ("cardio", "pendigits", "redwine", "whitewine", "breast_cancer", "seeds",
            "vertebral_3c", "balance", "arrhythmia")


def _polarity_bound(netlist, library, states) -> tuple[float, dict[str, float]]:
    """(static µW of the instances, per cell type the most a free per-gate output polarity
    could save, µW): an instance whose output is 0 more often than 1 would leak its output-0
    figure only for the rarer state if its output were inverted (no inverter or cell-size cost
    counted)."""
    static = 0.0
    saving: dict[str, float] = {}
    for inst in netlist.instances:
        cell = library.cells[inst.cell]
        probs = states.get(inst.name)
        if probs is None or not cell.leakage_states:
            continue
        leak = np.array(cell.leakage_states)
        table = np.array(cell.truth_table)
        p = np.array(probs)
        static += float(p @ leak)
        p0, p1 = p[table == 0].sum(), p[table == 1].sum()
        low = leak[table == 0].mean() if (table == 0).any() else 0.0
        high = leak[table == 1].mean() if (table == 1).any() else 0.0
        saving[inst.cell] = saving.get(inst.cell, 0.0) + max(0.0, (p0 - p1) * (low - high))
    return static, saving


def _measure(top_v: Path, codes: np.ndarray, input_bits: int, golden: np.ndarray,
             liberty: Path, work: Path) -> dict:
    start = time.perf_counter()
    library = load_library(liberty)
    syn = synthesize([top_v], TOP, work / "synth", liberty=liberty, timeout=3600)
    models = write_cell_models(library, work / "cells.v")
    gate = simulate([syn.netlist_v, models], TOP, codes, input_bits=input_bits,
                    work_dir=work / "gate", count_toggles=True, timeout=3600)
    if not np.array_equal(gate.predictions, golden):
        raise SystemExit(f"{top_v}: gate-level simulation on {liberty.name} differs from the "
                         "golden model")
    clock = choose_clock(syn.delay_ms, None)
    rates = toggle_rates(gate.toggles, gate.n_vectors)
    mean = syn.with_activity(rates, freq_hz=clock)
    state = syn.with_activity(rates, freq_hz=clock, net_values=gate.net_values,
                              n_vectors=gate.n_vectors)
    netlist = read_netlist(syn.netlist_json, library, top=TOP)
    states = input_state_probabilities(netlist, library, gate.net_values, gate.n_vectors)
    static_uw, bound_uw = _polarity_bound(netlist, library, states)
    share = {cell: uw / static_uw for cell, uw in sorted(bound_uw.items())} if static_uw else {}
    return {"area_cm2": syn.area_cm2, "n_cells": syn.n_cells, "delay_ms": syn.delay_ms,
            "clock_hz": clock, "power_mw": state.power_mw, "static_mw": state.static_power_mw,
            "dynamic_mw": state.dynamic_power_mw, "mean_leakage_power_mw": mean.power_mw,
            "polarity_bound": sum(share.values()), "polarity_bound_by_cell": share,
            "seconds": time.perf_counter() - start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--characterised", type=Path,
                    default=ROOT.parent / "shared" / "reference" / "liberty" / "egfet_1.0V.lib",
                    help="public characterised 1.0 V library, for the state-dependent model "
                         "at 1.0 V (skipped if absent)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--collect", type=Path, default=None, metavar="JSON",
                    help="only tabulate the figures of an earlier --json")
    args = ap.parse_args()
    if args.collect is not None:
        print(tables(json.loads(args.collect.read_text())))
        return
    techs = {"1.0 V fitted": technology("egfet-1.0v").liberty,
             "0.6 V": technology("egfet-0.6v").liberty}
    if args.characterised.is_file():
        techs["1.0 V state"] = args.characterised.resolve()
    results: dict[str, dict] = {}
    for name in args.datasets.split(","):
        folder = ROOT / "netlists" / name
        if not (folder / "top.v").is_file():
            print(f"{name}: no reference design in {folder}", flush=True)
            continue
        net = Network.from_json((folder / "network.json").read_text())
        split = split_dataset(load_dataset(name, data_dir=args.data_dir), seed=42)
        codes = encode_inputs(net, split.X_test)
        golden = predict_codes(net, codes)
        accuracy = float(np.mean(golden == class_indices(net, split.y_test)))
        results[name] = {"accuracy": accuracy}
        with tempfile.TemporaryDirectory(prefix="bespoke-tech-") as tmp:
            for label, liberty in techs.items():
                results[name][label] = _measure(folder / "top.v", codes, net.input_bits, golden,
                                                liberty, Path(tmp) / label.replace(" ", "_"))
        print(f"{name}: " + ", ".join(f"{k} {v['power_mw']:.3f} mW ({v['seconds']:.0f} s)"
                                      for k, v in results[name].items() if k != "accuracy"),
              flush=True)
        if args.json:  # after every dataset, so that an interrupted run keeps the finished
            args.json.write_text(json.dumps(results, indent=1, sort_keys=True))
    print()
    print(tables(results))


def tables(results: dict[str, dict]) -> str:
    """The Markdown tables of :func:`main`'s figures."""
    out = ["| dataset | acc. % | area cm² | 1.0 V mW (fitted) | 1.0 V mW (state model) | "
           "0.6 V mW | 0.6 V / 1.0 V | 0.6 V delay ms (clock Hz) | polarity bound | "
           "TCASAI'25 0.6 V area / mW @ acc. |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        fit, low = r["1.0 V fitted"], r["0.6 V"]
        state = r.get("1.0 V state")
        ref = TCASAI25.get(name)
        out.append(
            f"| {name} | {100 * r['accuracy']:.2f} | {fit['area_cm2']:.3f} | "
            f"{fit['power_mw']:.3f} | {state['power_mw'] if state else float('nan'):.3f} | "
            f"{low['power_mw']:.3f} | {low['power_mw'] / fit['power_mw']:.2f}× | "
            f"{low['delay_ms']:.1f} ({low['clock_hz']:g}) | "
            f"{100 * low['polarity_bound']:.1f} % | "
            + (f"{ref[0]} / {ref[1]} @ {ref[2]} |" if ref else "— |"))
    if any("1.0 V state" in r for r in results.values()):
        out += ["", "Fitted per-cell model (`egfet-1.0v`) against the characterised 1.0 V library "
                "with state-dependent leakage (same netlists up to mapping, measured activity; "
                "mW):", "",
                "| dataset | static fitted | static state model | static state / fitted | "
                "mean-leakage static | dynamic fitted | dynamic state model |",
                "|---|---|---|---|---|---|---|"]
        for name, r in results.items():
            fit, st = r["1.0 V fitted"], r.get("1.0 V state")
            if st is None:
                continue
            mean_static = st["mean_leakage_power_mw"] - st["dynamic_mw"]
            out.append(f"| {name} | {fit['static_mw']:.3f} | {st['static_mw']:.3f} | "
                       f"{st['static_mw'] / fit['static_mw']:.3f} | {mean_static:.3f} | "
                       f"{fit['dynamic_mw']:.4f} | {st['dynamic_mw']:.4f} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
