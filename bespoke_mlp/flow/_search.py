"""The search flow: exact baseline, NSGA-II over the approximations, retraining and real
verification of the front, selection within the loss (and power) budget."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._util import atomic_output_dir, write_json
from ..approx import apply_config, input_bit_counts, retrain
from ..errors import UsageError
from ..ir import predict_codes
from ..search import CostModel, Progress, SearchSpace, run_search
from ..train import train_model
from ._implement import DEFAULT_ADC_MW, Implementation, implement, implement_many
from ._log import Log, quiet
from ._plot import plot_pareto
from ._report import class_indices, design_report, summary_table

__all__ = ["SearchSettings", "run_search_flow"]


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the search flow (defaults sized for a 2-core machine)."""

    max_loss: float = 1.0
    budget_mw: float | None = None
    pop_size: int = 100
    generations: int = 80
    n_verify: int = 8
    retrain_epochs: int = 40

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_loss <= 100.0:
            raise UsageError(f"--max-loss must be within [0, 100] (percent), got {self.max_loss!r}")
        if self.budget_mw is not None and not self.budget_mw > 0:
            raise UsageError(f"--budget-mw must be > 0, got {self.budget_mw!r}")
        if self.n_verify < 1:
            raise UsageError(f"--verify must be >= 1, got {self.n_verify!r}")


class _ProgressBar:
    """One status line per generation: a redrawn bar on a terminal, sparse lines elsewhere."""

    def __init__(self, log: Log):
        self._log = log
        self._tty = sys.stderr.isatty() and log.enabled

    def __call__(self, p: Progress) -> None:
        best = "none yet" if p.best_feasible_area_cm2 is None else \
            f"{p.best_feasible_area_cm2:.3f} cm² (est.)"
        done = int(30 * p.generation / p.generations)
        text = (f"search [{'#' * done}{'.' * (30 - done)}] generation {p.generation}/"
                f"{p.generations}, {p.evaluations} candidates, best feasible {best}")
        if self._tty:
            end = "\n" if p.generation == p.generations else ""
            print(f"\r{text}", end=end, file=sys.stderr, flush=True)
        elif p.generation == p.generations or p.generation % 10 == 0:
            self._log(text)


def _spread(n_front: int, k: int) -> list[int]:
    """``k`` indices spread over a front sorted by area, always including the smallest."""
    if n_front <= k:
        return list(range(n_front))
    return sorted({int(round(i)) for i in np.linspace(0, n_front - 1, k)})


def run_search_flow(dataset: str, *, out: Path, settings: SearchSettings = SearchSettings(),
                    data_dir: Path | None = None, hidden: tuple[int, ...] | None = None,
                    seed: int = 0, split_seed: int = 42, input_bits: int = 4,
                    weight_bits: int = 8, activation_bits: int = 8,
                    adc_mw: float = DEFAULT_ADC_MW, cost: CostModel | None = None,
                    force: bool = False, log: Log | None = None) -> dict[str, Any]:
    """Search the approximations of ``dataset``'s network and implement the selected design.

    Writes ``out/report.json`` (the selected design, plus ``baseline`` and ``max_loss``),
    ``out/pareto.json`` (every verified front point), ``out/pareto.png``, ``out/model.json``,
    ``out/approximation.json`` and ``out/design/``. Selection uses validation accuracy (the test
    split only reports): the lowest-power verified design whose validation loss against the
    exact network is at most ``max_loss`` points (and within ``budget_mw``, if given).
    """
    log = log or quiet()
    cost = cost or CostModel.default()
    with atomic_output_dir(out, force=force) as tmp:
        with log.stage("train", f"training and quantizing on {dataset}"):
            trained = train_model(dataset, data_dir=data_dir, hidden=hidden, seed=seed,
                                  input_bits=input_bits, weight_bits=weight_bits,
                                  activation_bits=activation_bits, split_seed=split_seed)
        net, split = trained.network, trained.split
        parts = {p: (split.codes(p, input_bits), class_indices(net, getattr(split, f"y_{p}")))
                 for p in ("train", "val", "test")}
        codes_test, y_test = parts["test"]
        val_acc = float(np.mean(predict_codes(net, parts["val"][0]) == parts["val"][1]))
        log(f"exact network {'-'.join(map(str, net.topology))}: validation "
            f"{100 * val_acc:.2f} %, test {100 * trained.accuracy['quantized']:.2f} %")
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work_name:
            work = Path(work_name)
            baseline = implement(net, codes_test, y_test, design_dir=work / "baseline",
                                 work_dir=work / "baseline_work", adc_mw=adc_mw,
                                 measure_activity=False, log=log)
            log(f"exact baseline: {baseline.synth.area_cm2:.3f} cm², "
                f"{baseline.synth.power_mw:.3f} mW")
            space = SearchSpace(net, input_bit_counts(parts["train"][0], input_bits))
            min_acc = val_acc - settings.max_loss / 100.0
            with log.stage("search", f"NSGA-II: {space.n_genes} genes, population "
                                     f"{settings.pop_size}, {settings.generations} generations"):
                found = run_search(space, cost, *parts["val"], min_accuracy=min_acc,
                                   pop_size=settings.pop_size,
                                   generations=settings.generations, seed=seed,
                                   checkpoint=None, progress=_ProgressBar(log))
            log(f"{len(found.genomes)} feasible front points from {found.evaluations} "
                f"candidates ({found.evaluations / max(found.runtime_s, 1e-9):.0f}/s)")
            picks = _spread(len(found.genomes), settings.n_verify)
            nets, configs = [], []
            with log.stage("retrain", f"retraining {len(picks)} front points"):
                for i in picks:
                    config = space.config(found.genomes[i])
                    approx = apply_config(net, config, space.input_stats)
                    tuned = retrain(approx, *parts["train"], *parts["val"],
                                    epochs=settings.retrain_epochs, seed=seed)
                    nets.append(tuned)
                    configs.append(config)
            verified = implement_many(nets, codes_test, y_test, work_dir=work / "front",
                                      adc_mw=adc_mw, log=log)
            points = [_point(impl, cfg, parts["val"], val_acc)
                      for impl, cfg in zip(verified, configs)]
            chosen = _select(points, settings)
            selected = None
            if chosen is not None:
                selected = implement(verified[chosen].network, codes_test, y_test,
                                     design_dir=tmp / "design", work_dir=work / "selected",
                                     adc_mw=adc_mw, log=log)
        base = {"accuracy": round(baseline.accuracy, 6), **{
            k: baseline.metrics()[k] for k in ("area_cm2", "power_mw", "n_cells", "delay_ms")}}
        write_json(tmp / "pareto.json", {"dataset": trained.dataset, "baseline": base,
                                         "max_loss": settings.max_loss, "points": points})
        plot_pareto(tmp / "pareto.png", title=f"{trained.dataset}: verified designs",
                    power_mw=[p["power_mw"] for p in points],
                    accuracy=[p["accuracy"] for p in points],
                    baseline=(base["power_mw"], base["accuracy"]),
                    selected=None if selected is None else
                    (selected.synth.power_mw, selected.accuracy))
        (tmp / "model.json").write_text(net.to_json())
        run_settings = {"hidden": None if hidden is None else list(hidden), "seed": seed,
                        "split_seed": split_seed, "input_bits": input_bits,
                        "weight_bits": weight_bits, "activation_bits": activation_bits,
                        "max_loss": settings.max_loss, "budget_mw": settings.budget_mw,
                        "pop_size": settings.pop_size, "generations": settings.generations,
                        "n_verify": settings.n_verify}
        if selected is None:
            report = {"dataset": trained.dataset, "selected": None,
                      "reason": _none_fits(points, settings), "baseline": base,
                      "max_loss": settings.max_loss, "settings": run_settings,
                      "runtime_s": log.runtime()}
        else:
            (tmp / "approximation.json").write_text(configs[chosen].to_json())
            (tmp / "selected_model.json").write_text(selected.network.to_json())
            report = design_report(dataset=trained.dataset, impl=selected,
                                   accuracy={**trained.accuracy,
                                             "validation": points[chosen]["val_accuracy"]},
                                   settings=run_settings, runtime_s=log.runtime())
            report.update(selected=chosen, baseline=base, max_loss=settings.max_loss)
        write_json(tmp / "report.json", report)
    if selected is None:
        print(f"no design selected: {report['reason']}")
    else:
        print(summary_table(report, f"selected design: {trained.dataset}, ≤ "
                                    f"{settings.max_loss:g} % loss (exact: "
                                    f"{base['area_cm2']:.3f} cm², {base['power_mw']:.2f} mW)"))
    return report


def _point(impl: Implementation, config, val: tuple[np.ndarray, np.ndarray],
           val_exact: float) -> dict[str, Any]:
    m = impl.metrics()
    val_acc = float(np.mean(predict_codes(impl.network, val[0]) == val[1]))
    return {"accuracy": round(impl.accuracy, 6), "val_accuracy": round(val_acc, 6),
            "val_loss": round(100 * (val_exact - val_acc), 4),
            "area_cm2": m["area_cm2"], "power_mw": m["power_mw"], "n_cells": m["n_cells"],
            "delay_ms": m["delay_ms"], "system_power_mw": m["system_power_mw"],
            "n_features_used": m["n_features_used"],
            "gate_agreement": impl.gate_agreement, "rtl_agreement": impl.rtl_agreement,
            "activity": m["technology"]["activity"], "topology": list(impl.network.topology),
            "configuration": config.to_dict(), "network": impl.network.to_dict()}


def _select(points: list[dict[str, Any]], settings: SearchSettings) -> int | None:
    ok = [i for i, p in enumerate(points) if p["val_loss"] <= settings.max_loss + 1e-9
          and (settings.budget_mw is None or p["power_mw"] <= settings.budget_mw)]
    return min(ok, key=lambda i: (points[i]["power_mw"], -points[i]["val_accuracy"]),
               default=None)


def _none_fits(points: list[dict[str, Any]], settings: SearchSettings) -> str:
    best = min((p["power_mw"] for p in points if p["val_loss"] <= settings.max_loss),
               default=None)
    if settings.budget_mw is not None and best is not None:
        return (f"no verified design fits {settings.budget_mw:g} mW within "
                f"{settings.max_loss:g} % loss; the lowest is {best:.3f} mW")
    return f"no verified design stays within {settings.max_loss:g} % validation loss"

