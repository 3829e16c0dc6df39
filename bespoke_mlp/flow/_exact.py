"""The exact end-to-end flow: train, quantize, generate, verify, synthesize, report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .._util import atomic_output_dir, write_json
from ..hdl import Architecture, check_arch
from ..synth import DEFAULT_EFFORT, DEFAULT_MAPPING, Effort, MappingCost, Technology
from ._datasheet import write_datasheet
from ._implement import DEFAULT_ADC_MW, check_size, implement
from ._log import Log, quiet, train_stage
from ._report import design_report, split_parts

__all__ = ["run_exact"]


def run_exact(dataset: str, *, out: Path, data_dir: Path | None = None,
              hidden: tuple[int, ...] | None = None, seed: int = 0, split_seed: int = 42,
              input_bits: int = 4, weight_bits: int = 8, activation_bits: int = 8,
              adc_mw: float = DEFAULT_ADC_MW, force: bool = False,
              tech: Technology | None = None, clock_hz: float | None = None,
              effort: Effort = DEFAULT_EFFORT, mapping: MappingCost = DEFAULT_MAPPING,
              log: Log | None = None, from_model: Path | None = None,
              arch: Architecture | str = "parallel",
              feature_selection: bool | None = None) -> dict[str, Any]:
    """Run the exact flow for ``dataset`` and write ``out/`` atomically (``from_model``: an
    ONNX model to import instead of training one; ``feature_selection``: see
    :func:`~bespoke_mlp.train.train_model`).

    ``out`` receives ``report.json``, ``model.json`` (the integer network) and ``design/``
    (see :func:`implement`, and ``datasheet.html``). The design is mapped onto ``tech``
    clocked at ``clock_hz`` in architecture ``arch`` (see :func:`implement`) and synthesized
    at ``effort``, ABC mapping for ``mapping``. Returns
    the report.
    """
    log = log or quiet()
    settings = {"hidden": None if hidden is None else list(hidden), "seed": seed,
                "split_seed": split_seed, "input_bits": input_bits,
                "weight_bits": weight_bits, "activation_bits": activation_bits,
                "arch": check_arch(arch).to_dict(), "feature_selection": feature_selection}
    if from_model is not None:
        settings["from_model"] = str(from_model)
    with atomic_output_dir(out, force=force) as tmp:
        trained = train_stage(dataset, log, data_dir=data_dir, hidden=hidden, seed=seed,
                              split_seed=split_seed, input_bits=input_bits,
                              weight_bits=weight_bits, activation_bits=activation_bits,
                              from_model=from_model, feature_selection=feature_selection)
        net = trained.network
        check_size(net, force=force)
        log(f"topology {'-'.join(map(str, net.topology))}: " + ", ".join(
            f"{k} {100 * v:.2f} %" for k, v in trained.accuracy.items()) + " (test)")
        codes, labels = split_parts(net, trained.split)["test"]
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work:
            impl = implement(net, codes, labels, design_dir=tmp / "design", work_dir=Path(work),
                             adc_mw=adc_mw, tech=tech, clock_hz=clock_hz, effort=effort,
                             mapping=mapping,
                             log=log, arch=arch)
        (tmp / "model.json").write_text(net.to_json())
        report = design_report(dataset=trained.dataset, impl=impl, accuracy=trained.accuracy,
                               settings=settings, runtime_s=log.runtime())
        write_json(tmp / "report.json", report)
        write_datasheet(tmp / "design" / "datasheet.html", report, net)
    return report
