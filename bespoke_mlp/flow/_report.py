"""Reports: the JSON written beside every design and the summary table printed for users."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._util import counted
from ..data import Split, label_indices, load_dataset, split_dataset
from ..ir import Network, resolution_codes
from ._implement import Implementation

__all__ = ["class_indices", "design_report", "report_test_part", "split_parts", "summary_table"]


def class_indices(net: Network, labels: np.ndarray) -> np.ndarray:
    """The network's output index of each label (see :func:`bespoke_mlp.data.label_indices`:
    -1 for a class the network does not know)."""
    return label_indices(net.classes, labels)


def split_parts(net: Network, split: Split) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train" | "val" | "select" | "test": (input codes, class indices)}`` of a split for
    ``net``; with learned thresholds, resolution codes (see
    :func:`bespoke_mlp.ir.network_codes`), so that every design derived from ``net`` reads
    the codes of its own quantizers."""
    out = {}
    for p in ("train", "val", "select", "test"):
        codes = split.codes(p, net.input_bits)
        if net.thresholds:
            codes = resolution_codes(net, getattr(split, f"X_{p}"), codes)
        out[p] = (codes, class_indices(net, getattr(split, f"y_{p}")))
    return out


def report_test_part(net: Network, dataset: str, settings: dict[str, Any],
                     data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The test part (codes for ``net``, class indices) of the run whose ``report.json``
    recorded ``settings``: split as that run split it, since the selection part changes the
    train part and so the input scaling."""
    split = split_dataset(load_dataset(dataset, data_dir=data_dir), seed=settings["split_seed"],
                          select_size=settings.get("select_size", 0.0))
    return split_parts(net, split)["test"]


def design_report(*, dataset: str, impl: Implementation, accuracy: dict[str, float],
                  settings: dict[str, Any], runtime_s: dict[str, float]) -> dict[str, Any]:
    """The ``report.json`` of one design. Everything but ``runtime_s`` is deterministic."""
    net = impl.network
    return {
        "dataset": dataset,
        "topology": list(net.topology),
        # Which data column drives circuit input x[k], and the constant columns dropped.
        "feature_names": list(net.feature_names),
        "dropped_features": list(net.dropped_features),
        "n_test": impl.n_vectors,
        "accuracy": {**{k: round(v, 6) for k, v in accuracy.items()},
                     "design": round(impl.accuracy, 6)},
        **impl.metrics(),
        "settings": settings,
        "runtime_s": runtime_s,
    }


def summary_table(report: dict[str, Any], title: str) -> str:
    """A short human-readable summary of a design report."""
    acc = {k: v for k, v in report["accuracy"].items() if k not in ("selection", "test_loss")}
    ver = report["verification"]
    tech = report["technology"]
    rows = [
        ("dataset", report["dataset"]),
        ("topology", "-".join(str(n) for n in report["topology"])),
        ("accuracy (test)", "  ".join(f"{k} {100 * v:.2f} %" for k, v in acc.items())),
    ]
    sel = report.get("selection")
    if sel is not None:
        rows += _selection_rows(report, sel)
    rows += [
        ("area", f"{report['area_cm2']:.4f} cm²  ({report['n_cells']} cells)"),
        ("power", f"{report['power_mw']:.4f} mW  (static {report['static_power_mw']:.4f}, "
                  f"dynamic {report['dynamic_power_mw']:.4f})"),
        ("system power", f"{report['system_power_mw']:.4f} mW  (+{report['n_features_used']} "
                         f"ADCs, {report['adc_comparators']} comparators: "
                         f"{report['adc_power_mw']:.3f} mW, {report['adc_area_cm2']:.3f} cm²)"),
        ("delay", f"{report['delay_ms']:.2f} ms"),
        ("architecture", f"{report['arch']}: {counted(report['cycles'], 'cycle')} at "
                         f"{report['clock_hz']:g} Hz, latency {report['latency_s']:.3g} s, "
                         f"{report['energy_mj']:.3g} mJ per inference"),
        ("technology", f"{tech['name']}" + (f" ({tech['voltage']:g} V)" if tech["voltage"] else "")
                       + f", mapped for {tech['mapping']}"
                       + f", power at a {tech['freq_hz']:g} Hz clock"),
        ("verification", f"RTL {ver['rtl_agreement']:.4f}, gates {ver['gate_agreement']:.4f} "
                         f"on {ver['n_vectors']} vectors ({ver['simulator']})"),
        ("runtime", f"{report['runtime_s']['total']:.1f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [title, "-" * len(title)] + [f"{k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


#: How each rule chose among the certified designs (the summary's words).
_CHOSE = {"loss-first": "lowest system power", "power-first": "least certified loss"}


def _selection_rows(report: dict[str, Any], sel: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary's rows of a search run's selection. Bounds are rounded up (report.json
    holds them so), so that a bound over the budget never prints as within it."""
    budget = (f"budget {sel['max_loss']:g}" if sel["rule"] == "loss-first" else
              f"power budget {sel['budget_mw']:g} mW")
    rows = [("loss (test)", f"{report['accuracy']['test_loss']:.2f} points against the search's "
                            f"exact network ({budget})"),
            ("loss (selection)",
             f"{sel['estimated_loss']:.2f} points, bound {sel['loss_upper_bound']:.2f} at "
             f"{100 * sel['confidence']:g} % confidence for the run on {sel['n_samples']} "
             f"samples (least certifiable {sel['min_certifiable_loss']:.2f})")]
    if "loss_vs_exact_run" in sel:
        rows.insert(1, ("loss (vs --exact)", f"{sel['loss_vs_exact_run']:.2f} points against "
                                             "the network run --exact trains ("
                                             f"{100 * sel['exact_run_test_accuracy']:.2f} %)"))
    if "selected" not in report:  # a front point implemented on request (``implement``)
        rows.append(("front point", f"#{report['point']} of the run's pareto.json, "
                                    "implemented on request, not selected"))
        return rows
    what = "exact network, no design certified" if sel["fallback"] else \
        _CHOSE[sel["rule"]]
    within = "within the bound" if sel["rule"] == "loss-first" else "certified"
    rows.append(("selection", f"{sel['rule']}: {sel['n_judged']} judged, "
                              f"{sel['n_verified']} verified, {sel['n_verified_certified']} "
                              f"{within}, selected #{report['selected']} ({what})"))
    alt = sel.get("alternative")
    if alt:
        rows.append(("not certified", f"#{alt['index']}: {alt['area_cm2']:.4f} cm², "
                                      f"{alt['system_power_mw']:.3f} mW system, estimated loss "
                                      f"{alt['estimated_loss']:.2f}, bound "
                                      f"{alt['loss_upper_bound']:.2f} (pareto.json)"))
    return rows
