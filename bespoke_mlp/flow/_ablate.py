"""Ablation of the approximation operators: apply them one after another to the exact network,
and implement every step for real."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .._util import atomic_output_dir, write_json
from ..approx import ApproxConfig, LayerApprox, apply_config, input_bit_counts, retrain
from ..hdl import Architecture
from ..ir import Network, accumulator_width, network_codes, predict_codes
from ..parallel import Executor
from ..synth import DEFAULT_EFFORT, DEFAULT_MAPPING, Effort, MappingCost, Technology, technology
from ._implement import DEFAULT_ADC_MW, implement_many
from ._log import Log, quiet, train_stage
from ._report import split_parts
from ._rounds import with_learned_thresholds

__all__ = ["ablation_steps", "ablation_table", "run_ablation"]


def ablation_steps(net: Network) -> list[tuple[str, ApproxConfig]]:
    """Cumulative configurations with default settings: power-of-two coefficients; connections
    whose coefficient magnitude is at most the layer's median drop their input's least
    significant bit; hidden neurons truncate the columns below their window (output neurons
    two); 4-bit activation windows; an argmax over the top 6 bits; 3-bit inputs."""
    shapes = [(layer.n_out, layer.n_in) for layer in net.layers]
    po2 = [LayerApprox(digits=np.ones(s, dtype=int)) for s in shapes]
    masks = []
    for k, layer in enumerate(net.layers):
        full = (1 << np.array(net.input_widths(k))) - 1
        mag = np.abs(np.array(layer.weights))
        small = mag <= np.median(mag[mag > 0]) if (mag > 0).any() else mag >= 0
        masks.append(np.where(small, full & ~1, full))
    drop = [replace(la, masks=m) for la, m in zip(po2, masks)]
    trunc = [replace(la, truncation=tuple(
        max(0, w.lsb - 1) for w in layer.activation) if layer.activation else
        (2,) * layer.n_out) for la, layer in zip(drop, net.layers)]
    windows = [replace(la, windows=tuple((w.msb, max(w.lsb, w.msb - 3))
                                         for w in layer.activation))
               if layer.activation else la for la, layer in zip(trunc, net.layers)]
    steps = [("exact", ApproxConfig()),
             ("+ power-of-two coefficients", ApproxConfig(layers=tuple(po2))),
             ("+ input-bit masks", ApproxConfig(layers=tuple(drop))),
             ("+ column truncation", ApproxConfig(layers=tuple(trunc))),
             ("+ activation windows", ApproxConfig(layers=tuple(windows)))]
    last = steps[-1][1]
    with_argmax = replace(last, argmax_bits=6)
    steps.append(("+ argmax bits", with_argmax))
    steps.append(("+ input precision", replace(
        with_argmax, input_precision=(min(3, net.input_bits),) * net.n_features)))
    return steps


def run_ablation(dataset: str, *, out: Path, data_dir: Path | None = None,
                 hidden: tuple[int, ...] | None = None, seed: int = 0, split_seed: int = 42,
                 input_bits: int = 4, weight_bits: int = 8, activation_bits: int = 8,
                 adc_mw: float = DEFAULT_ADC_MW, retrain_epochs: int = 60, force: bool = False,
                 executor: Executor | None = None, tech: Technology | None = None,
                 clock_hz: float | None = None, effort: Effort = DEFAULT_EFFORT,
                 mapping: MappingCost = DEFAULT_MAPPING, log: Log | None = None,
                 arch: Architecture | str = "parallel",
                 feature_selection: bool | None = None) -> list[dict[str, Any]]:
    """Implement the exact design and each cumulative step of :func:`ablation_steps`, then
    that last step with flash-ADC thresholds learned on the train part and with 2-bit learned
    inputs, plus approximation-aware retraining of the last one (aware of its quantizers);
    write ``out/ablation.json``. The designs
    are implemented on ``executor`` (default: in-process), mapped onto ``tech``, clocked at
    ``clock_hz`` in architecture ``arch`` (see :func:`implement`) and synthesized at
    ``effort``, ABC mapping for ``mapping``; ``feature_selection`` is
    :func:`~bespoke_mlp.train.train_model`'s."""
    log = log or quiet()
    with atomic_output_dir(out, force=force) as tmp:
        trained = train_stage(dataset, log, data_dir=data_dir, hidden=hidden, seed=seed,
                              split_seed=split_seed, input_bits=input_bits,
                              weight_bits=weight_bits, activation_bits=activation_bits,
                              feature_selection=feature_selection)
        net = trained.network
        learned = with_learned_thresholds(net, trained.split, fidelity=True, samples=2000,
                                          seed=seed, log=log, executor=executor)
        # Resolution codes: every step reads the codes of its own quantizers.
        parts = split_parts(learned, trained.split)
        stats = input_bit_counts(parts["train"][0], net.input_bits)
        steps = ablation_steps(net)
        nets = [apply_config(net, cfg, stats) for _, cfg in steps]
        # The sensor interface: the last step's reduced inputs through learned thresholds,
        # then at 2 bits (3 comparators per ADC instead of 7).
        last = steps[-1][1]
        nets.append(apply_config(learned, last, stats))
        nets.append(apply_config(learned, replace(last, input_precision=(
            min(2, net.input_bits),) * net.n_features), stats))
        steps += [("+ learned ADC thresholds", last), ("+ 2-bit learned inputs", last)]
        with log.stage("retrain", "approximation-aware retraining of the last step"):
            nets.append(retrain(nets[-1], network_codes(nets[-1], parts["train"][0]),
                                parts["train"][1], network_codes(nets[-1], parts["val"][0]),
                                parts["val"][1], epochs=retrain_epochs, seed=seed))
        names = [name for name, _ in steps] + ["+ retraining"]
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work:
            impls = implement_many(nets, *parts["test"], work_dir=Path(work), adc_mw=adc_mw,
                                   executor=executor, tech=tech, clock_hz=clock_hz,
                                   effort=effort, mapping=mapping, log=log, arch=arch)
        rows = []
        for name, impl in zip(names, impls):
            m = impl.metrics()
            rows.append({
                "name": name, "accuracy": round(impl.accuracy, 6),
                "val_accuracy": round(float(np.mean(
                    predict_codes(impl.network, parts["val"][0]) == parts["val"][1])), 6),
                "area_cm2": m["area_cm2"], "power_mw": m["power_mw"], "n_cells": m["n_cells"],
                "delay_ms": m["delay_ms"], "n_features_used": m["n_features_used"],
                "system_power_mw": m["system_power_mw"], "adc_power_mw": m["adc_power_mw"],
                "adc_comparators": m["adc_comparators"],
                "activity": m["technology"]["activity"],
                "lanes": m["lanes"], "cycles": m["cycles"], "clock_hz": m["clock_hz"],
                "latency_s": m["latency_s"], "energy_mj": m["energy_mj"],
                "rtl_agreement": impl.rtl_agreement, "gate_agreement": impl.gate_agreement,
                "csd_terms": impl.network.n_csd_terms,
                "max_accumulator_bits": max(accumulator_width(layer, j)
                                            for layer in impl.network.layers
                                            for j in range(layer.n_out)),
            })
        write_json(tmp / "ablation.json", {"dataset": trained.dataset,
                                           "topology": list(net.topology), "rows": rows,
                                           "technology": (tech or technology()).to_dict(),
                                           "runtime_s": log.runtime()})
    return rows


def ablation_table(dataset: str, rows: list[dict[str, Any]]) -> str:
    """The ablation as a Markdown table."""
    lines = [f"ablation: {dataset}", "",
             "| step | test acc. | area (cm²) | power (mW) | cells | ADCs | comparators | "
             "system power (mW) | gate agreement |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {100 * r['accuracy']:.2f} % | {r['area_cm2']:.3f} | "
              f"{r['power_mw']:.3f} | {r['n_cells']} | {r['n_features_used']} | "
              f"{r['adc_comparators']} | {r['system_power_mw']:.3f} | "
              f"{r['gate_agreement']:.4f} |" for r in rows]
    return "\n".join(lines)
