"""``bespoke-mlp run`` (exact flow or search) and ``bespoke-mlp generate`` (RTL from a model)."""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

# Only what the parser needs is imported here; the handlers import the flows (scikit-learn,
# pymoo, Amaranth), so that --help and usage errors return at once.
from .._choices import ARCHS, DEFAULT_ADC_MW, OBJECTIVES, QUANTIZERS
from .._help import GROUPS, option_groups
from .._outdir import check_replaceable
from .._signals import Interrupted
from .._util import atomic_output_dir, counted, write_json
from ..data import add_data_arguments, known_datasets, load_dataset, split_dataset
from ..errors import ModelFileError, UsageError
from ..parallel import SerialExecutor, add_executor_arguments, executor_from_args
from ..synth import REPORT_EFFORT, add_tech_arguments, technology
from ..synth._cli import add_effort_argument
from ..train._checks import BIT_RANGES, check_bits
from ..train._cli import add_model_arguments, feature_selection_of, parse_hidden
from ._handoff_cli import register as register_implement
from ._settings import BATTERIES_MW, SearchSettings

if TYPE_CHECKING:
    from ..hdl import Architecture
    from ..ir import Network

__all__ = ["register"]


def _default_out(dataset: str, suffix: str) -> Path:
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(dataset).stem)
    return Path("runs") / f"{stem}{suffix}"


def _arch(args: argparse.Namespace) -> Architecture:
    from ..hdl import Architecture

    if args.lanes == AUTO_LANES:
        if args.command != "run" or getattr(args, "exact", False):
            raise UsageError("--lanes auto applies to a search run (bespoke-mlp run without "
                             "--exact)")
        return Architecture(args.arch, 1)
    return Architecture(args.arch, args.lanes)


def _lanes(text: str) -> int | str:
    """``--lanes``: a count, or ``auto`` (chosen for ``--max-latency``)."""
    if text == AUTO_LANES:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a lane count or {AUTO_LANES!r}, "
                                         f"got {text!r}") from None


#: ``--lanes`` value that lets ``run`` choose the lanes for ``--max-latency``.
AUTO_LANES = "auto"


def _check_options(args: argparse.Namespace, out: Path) -> tuple[int, ...] | None:
    """Validate the options shared by ``run`` and ``ablate`` before any work; returns the
    hidden sizes."""
    hidden = None if args.hidden is None else parse_hidden(args.hidden)
    for kind in BIT_RANGES:
        check_bits(kind, getattr(args, kind), "--" + kind.replace("_", "-"))
    _check_adc(args.adc_mw)
    check_replaceable(out, force=args.force)
    return hidden


def _check_adc(mw: float) -> None:
    if not (math.isfinite(mw) and mw >= 0):
        raise UsageError(f"--adc-mw must be a finite power >= 0 (mW), got {mw!r}")


def _run(args: argparse.Namespace) -> int:
    out = args.out or _default_out(args.dataset, "-exact" if args.exact else "")
    hidden = _check_options(args, out)
    settings = None
    if args.exact and args.max_latency is not None:
        raise UsageError("--max-latency applies to a search run (without --exact)")
    if not args.exact:
        settings = _selection_settings(args)
    # Imported once the options are checked: a usage error returns at once.
    from ._cache import BaselineCache, exact_run_key
    from ._exact import run_exact
    from ._implement import mapping_for
    from ._log import Log
    from ._report import summary_table
    from ._search import checkpoint_path, run_search_flow
    data = load_dataset(args.dataset, data_dir=args.data_dir, label=args.label)
    log = Log(enabled=not args.quiet)
    common = dict(data_dir=args.data_dir, hidden=hidden, seed=args.seed,
                  split_seed=args.split_seed, input_bits=args.input_bits,
                  weight_bits=args.weight_bits, activation_bits=args.activation_bits,
                  adc_mw=args.adc_mw, force=args.force, tech=technology(args.tech),
                  clock_hz=args.clock_hz, effort=args.effort, log=log,
                  from_model=args.from_model, arch=_arch(args),
                  feature_selection=feature_selection_of(args))
    if settings is None:
        report = run_exact(data, out=out, mapping=mapping_for(args.objective), **common)
        if args.baseline_cache is not None and args.from_model is None:
            # A later search run on the same split reports its loss against this network.
            BaselineCache(args.baseline_cache).put(
                exact_run_key(data.name, **_training_key(args, hidden)),
                {"test_accuracy": report["accuracy"]["design"]})
        print(summary_table(report, f"exact bespoke MLP: {report['dataset']}"))
        print(f"wrote {out}")
        return 0
    try:
        with executor_from_args(args) as executor:
            if not isinstance(executor, SerialExecutor):
                log(f"parallel work on {executor.describe()}")
            cache = None if args.baseline_cache is None else BaselineCache(args.baseline_cache)
            report = run_search_flow(data, out=out, settings=settings, resume=args.resume,
                                     executor=executor, baseline_cache=cache,
                                     exact_run_key=exact_run_key(
                                         data.name, **_training_key(args, hidden)), **common)
    except KeyboardInterrupt as exc:
        kept = [str(p) for r in range(1, settings.rounds + 1)
                if (p := checkpoint_path(out, r)).exists()]
        if not kept:
            raise
        signum = exc.signum if isinstance(exc, Interrupted) else Interrupted().signum
        what = (f"the search checkpoint {kept[0]!r} was" if len(kept) == 1 else
                f"the {len(kept)} search checkpoints {kept[0]!r}, ... were")
        raise Interrupted(signum, kept=(
            f"only {what} kept: run the same command with --resume to continue")) from None
    print(summary_table(report, _search_title(report)))
    print(f"wrote {out}")
    return 0


def _training_key(args: argparse.Namespace, hidden: tuple[int, ...] | None) -> dict:
    """The options the exact network of ``run`` depends on besides the dataset (the search's
    is trained without its selection part, ``run --exact``'s with it)."""
    return {"split_seed": args.split_seed, "seed": args.seed, "hidden": hidden,
            "input_bits": args.input_bits, "weight_bits": args.weight_bits,
            "activation_bits": args.activation_bits,
            "feature_selection": feature_selection_of(args)}


def _selection_settings(args: argparse.Namespace) -> SearchSettings:
    """The search settings of ``run``: ``--budget-mw`` (or ``--battery``) without
    ``--max-loss`` selects power-first; otherwise loss-first within ``--max-loss`` (1 when
    not given)."""
    budget = args.budget_mw
    if args.battery is not None:
        if budget is not None:
            raise UsageError("give --budget-mw or --battery, not both")
        budget = BATTERIES_MW[args.battery]
    return SearchSettings(max_loss=1.0 if args.max_loss is None else args.max_loss,
                          budget_mw=budget,
                          power_first=budget is not None and args.max_loss is None,
                          pop_size=args.population, generations=args.generations,
                          rounds=args.rounds, n_verify=args.verify,
                          confidence=args.confidence,
                          feature_seeds=not args.no_feature_seeds,
                          objective=args.objective,
                          quantizer=args.quantizer, max_latency_s=args.max_latency,
                          auto_lanes=args.lanes == AUTO_LANES)


def _search_title(report: dict) -> str:
    """The summary's title: what the selected design is, honestly."""
    base, sel = report["baseline"], report["selection"]
    exact = f"(exact: {base['area_cm2']:.3f} cm², {base['power_mw']:.2f} mW)"
    if sel["rule"] == "power-first":
        return (f"selected design: {report['dataset']}, least certified loss within "
                f"{sel['budget_mw']:g} mW of system power {exact}")
    if sel["fallback"]:
        return (f"selected design: {report['dataset']}, exact network (no design certified "
                f"within {counted(sel['max_loss'], 'point')}) {exact}")
    return (f"selected design: {report['dataset']}, ≤ {counted(sel['max_loss'], 'point')} "
            f"of loss {exact}")


def _ablate(args: argparse.Namespace) -> int:
    out = args.out or _default_out(args.dataset, "-ablation")
    hidden = _check_options(args, out)
    from ._ablate import ablation_table, run_ablation
    from ._log import Log

    data = load_dataset(args.dataset, data_dir=args.data_dir, label=args.label)
    with executor_from_args(args) as executor:
        rows = run_ablation(data, out=out, data_dir=args.data_dir, hidden=hidden,
                            seed=args.seed, split_seed=args.split_seed,
                            input_bits=args.input_bits, weight_bits=args.weight_bits,
                            activation_bits=args.activation_bits, adc_mw=args.adc_mw,
                            force=args.force, executor=executor,
                            tech=technology(args.tech), clock_hz=args.clock_hz,
                            effort=args.effort,
                            log=Log(enabled=not args.quiet), arch=_arch(args),
                            feature_selection=feature_selection_of(args))
    print(ablation_table(data.name, rows))
    print(f"wrote {out / 'ablation.json'}")
    return 0


def _write_rtl(net: Network, tmp: Path, args: argparse.Namespace) -> None:
    """``generate`` without ``--data``: only ``design/top.v`` and ``design/network.json``."""
    from ..hdl import write_design_verilog

    with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work:
        write_design_verilog(net, tmp / "design" / "top.v", form=args.form,
                             work_dir=Path(work), arch=_arch(args))
    (tmp / "design" / "network.json").write_text(net.to_json())


def _generate(args: argparse.Namespace) -> int:
    tech = technology(args.tech)  # checked even when only Verilog is written
    _check_adc(args.adc_mw)
    check_replaceable(args.out, force=args.force)
    from ..importers import IMPORT_SUFFIXES
    from ..ir import Network, encode_inputs, predict_codes
    from ._datasheet import write_datasheet
    from ._implement import check_size, implement
    from ._log import Log
    from ._report import class_indices, design_report, summary_table

    if args.model.suffix.lower() in IMPORT_SUFFIXES:
        return _generate_imported(args)
    try:
        net = Network.from_json(Path(args.model).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read model file {str(args.model)!r}: {exc.strerror}") from exc
    out = args.out
    with atomic_output_dir(out, force=args.force) as tmp:
        if args.data is None:
            _write_rtl(net, tmp, args)
            print(f"wrote {out / 'design' / 'top.v'} ({'-'.join(map(str, net.topology))})")
            return 0
        data = load_dataset(args.data, data_dir=args.data_dir, label=args.label)
        if data.n_features != net.n_features:
            raise ModelFileError(
                f"the model has {net.n_features} inputs but {data.name!r} has "
                f"{data.n_features} features")
        unknown = set(data.classes) - set(net.classes)
        if unknown:
            raise ModelFileError(
                f"{data.name!r} has classes the model does not know: {sorted(unknown, key=repr)!r}")
        check_size(net, force=args.force)
        split = split_dataset(data, seed=args.split_seed)
        codes = encode_inputs(net, split.X_test)
        labels = class_indices(net, split.y_test)
        log = Log(enabled=not args.quiet)
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work:
            impl = implement(net, codes, labels, design_dir=tmp / "design",
                             work_dir=Path(work), adc_mw=args.adc_mw, form=args.form,
                             tech=tech, clock_hz=args.clock_hz, effort=args.effort, log=log,
                             arch=_arch(args))
        (tmp / "model.json").write_text(net.to_json())
        quantized = float((predict_codes(net, codes) == labels).mean())
        report = design_report(dataset=data.name, impl=impl,
                               accuracy={"quantized": quantized},
                               settings={"model": str(args.model), "split_seed": args.split_seed,
                                         "arch": _arch(args).to_dict()},
                               runtime_s=log.runtime())
        write_json(tmp / "report.json", report)
        write_datasheet(tmp / "design" / "datasheet.html", report, net)
    print(summary_table(report, f"design from {Path(args.model).name}"))
    print(f"wrote {out}")
    return 0


def _generate_imported(args: argparse.Namespace) -> int:
    """``generate MODEL.onnx``: import (quantize a float model on --data, or a QONNX model
    exactly), then as for a model.json."""
    from ..importers import from_onnx, import_model
    from ..ir import encode_inputs
    from ._datasheet import write_datasheet
    from ._implement import check_size, implement
    from ._log import Log
    from ._report import class_indices, design_report, summary_table

    out = args.out
    if args.data is None:
        net = from_onnx(args.model, input_bits=args.input_bits, weight_bits=args.weight_bits,
                        activation_bits=args.activation_bits)
        with atomic_output_dir(out, force=args.force) as tmp:
            _write_rtl(net, tmp, args)
        print(f"wrote {out / 'design' / 'top.v'} ({'-'.join(map(str, net.topology))})")
        return 0
    data = load_dataset(args.data, data_dir=args.data_dir, label=args.label)
    log = Log(enabled=not args.quiet)
    with atomic_output_dir(out, force=args.force) as tmp:
        with log.stage("import", f"importing {args.model.name}"):
            result = import_model(args.model, data, split_seed=args.split_seed,
                                  input_bits=args.input_bits, weight_bits=args.weight_bits,
                                  activation_bits=args.activation_bits, qat=args.qat,
                                  seed=args.seed)
        net = result.network
        check_size(net, force=args.force)
        codes = encode_inputs(net, result.split.X_test)
        labels = class_indices(net, result.split.y_test)
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work:
            impl = implement(net, codes, labels, design_dir=tmp / "design",
                             work_dir=Path(work), adc_mw=args.adc_mw, form=args.form,
                             tech=technology(args.tech), clock_hz=args.clock_hz,
                             effort=args.effort, log=log, arch=_arch(args))
        (tmp / "model.json").write_text(net.to_json())
        settings = {"model": str(args.model), "exact_import": result.exact,
                    "split_seed": args.split_seed, "qat": args.qat, "seed": args.seed,
                    "arch": _arch(args).to_dict()}
        if not result.exact:
            settings.update(input_bits=args.input_bits, weight_bits=args.weight_bits,
                            activation_bits=args.activation_bits)
        report = design_report(dataset=data.name, impl=impl, accuracy=result.accuracy,
                               settings=settings, runtime_s=log.runtime())
        write_json(tmp / "report.json", report)
        write_datasheet(tmp / "design" / "datasheet.html", report, net)
    print(summary_table(report, f"design from {args.model.name}"))
    print(f"wrote {out}")
    return 0


def _add_output_arguments(p: argparse._ArgumentGroup, default: str | None) -> None:
    """``--out``, ``--force``, ``--quiet``; ``default`` describes --out's default (None:
    required)."""
    shown = "required" if default is None else f"default: {default}"
    p.add_argument("--out", type=Path, default=None, metavar="DIR", required=default is None,
                   help=f"output directory ({shown}); must be new, empty, or a previous output "
                        "of bespoke-mlp with --force")
    p.add_argument("--force", action="store_true",
                   help="replace a previous output of bespoke-mlp (only that)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _add_hardware_arguments(p: argparse._ArgumentGroup) -> None:
    """``--adc-mw``, ``--arch``, ``--lanes``, ``--tech``, ``--clock-hz``, ``--effort``."""
    p.add_argument("--adc-mw", type=float, default=DEFAULT_ADC_MW, metavar="MW",
                   help="power of one 4-bit printed flash ADC, 15 comparators; a feature read "
                        "at b bits costs 2**b - 1 of them (default: "
                        f"{DEFAULT_ADC_MW})")
    p.add_argument("--arch", choices=ARCHS, default="parallel",
                   help="parallel: combinational, one evaluation per clock (default); "
                        "sequential: folded onto one multiply-accumulate unit, one neuron "
                        "input per clock cycle per lane")
    p.add_argument("--lanes", type=_lanes, default=1, metavar="N",
                   help="sequential: neuron inputs per clock cycle, the fold factor (default: "
                        "1; more lanes take fewer, slightly longer cycles and more area); "
                        "run: 'auto', the fewest on which the exact network meets "
                        "--max-latency")
    add_tech_arguments(p)
    add_effort_argument(p, default=REPORT_EFFORT)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run``, ``ablate``, ``generate`` and ``implement`` subcommands."""
    p = subparsers.add_parser(
        "run", help="dataset to verified, synthesized design (exact or searched)",
        description=(
            "Train and quantize an MLP, then either implement it exactly (--exact) or search "
            "its approximations with NSGA-II and implement the lowest-power design within "
            "--max-loss. Every reported design is simulated (RTL and gates, bit-exact against "
            "the golden model) and synthesized onto the EGFET cells."),
    )
    p.add_argument("dataset", metavar="DATASET",
                   help=f"dataset name ({', '.join(known_datasets())}) or a CSV path")
    d, t, s, h, x, o = option_groups(p, *GROUPS)
    add_data_arguments(d)
    add_model_arguments(t)
    t.add_argument("--from-model", type=Path, default=None, metavar="MODEL.onnx",
                   help="start from this trained float ONNX or QONNX model instead of "
                        "training one (--hidden does not apply)")
    s.add_argument("--exact", action="store_true",
                   help="implement the exact network only (no search)")
    s.add_argument("--max-loss", type=float, default=None, metavar="PCT",
                   help="accuracy loss allowed against the exact network, in percentage "
                        "points, certified on the selection part for the whole run "
                        "(docs/selection.md); the lowest-power certified design is selected "
                        "(default: 1, or with --budget-mw alone: the least certified loss "
                        "within the budget)")
    s.add_argument("--confidence", type=float, default=SearchSettings.confidence, metavar="P",
                   help="confidence of that one-sided bound, in [0.5, 1) (default: "
                        f"{SearchSettings.confidence:g})")
    s.add_argument("--budget-mw", type=float, default=None, metavar="MW",
                   help="system power budget (classifier + ADCs): alone, select the verified "
                        "design within MW of least certified loss (power-first); with "
                        "--max-loss, the lowest-power design within both")
    s.add_argument("--battery", choices=sorted(BATTERIES_MW), default=None,
                   help="--budget-mw of a printed battery: " + ", ".join(
                       f"{k} {v:g} mW" for k, v in sorted(BATTERIES_MW.items())))
    s.add_argument("--max-latency", type=float, default=None, metavar="S",
                   help="also require one inference to take at most S seconds (sequential "
                        "designs; with --lanes auto the lanes are chosen for it)")
    s.add_argument("--objective", choices=OBJECTIVES, default=SearchSettings.objective,
                   help="what the search minimizes and the selection picks the lowest of: "
                        "system-power (classifier + flash ADCs, the default), power or area "
                        "(the classifier's); ABC maps the logic for power (area plus "
                        "weighted cell leakage), or for area with area (also with --exact)")
    s.add_argument("--quantizer", choices=QUANTIZERS, default=SearchSettings.quantizer,
                   help="uniform: a feature read at fewer bits takes the top bits of the "
                        "uniform code (default); learned: it is coded through flash-ADC "
                        "thresholds learned on the train part")
    s.add_argument("--generations", type=int, default=SearchSettings.generations, metavar="N",
                   help="NSGA-II generations in all, split over the rounds (default: "
                        f"{SearchSettings.generations})")
    s.add_argument("--rounds", type=int, default=SearchSettings.rounds, metavar="N",
                   help="search rounds: each after the first searches again from the smallest "
                        "retrained design within the loss budget (default: "
                        f"{SearchSettings.rounds})")
    s.add_argument("--population", type=int, default=SearchSettings.pop_size, metavar="N",
                   help=f"NSGA-II population (default: {SearchSettings.pop_size})")
    s.add_argument("--verify", type=int, default=SearchSettings.n_verify, metavar="N",
                   help="front points to retrain, synthesize and simulate "
                        f"(default: {SearchSettings.n_verify})")
    s.add_argument("--no-feature-seeds", action="store_true",
                   help="start the search from all features only (default: also from the most "
                        "important ones by permutation importance on train samples, "
                        "recorded in features.json, and retrain tiny designs reading the top "
                        "1-4 of them at 1-3 bits through learned thresholds, and tiny designs "
                        "grown bit by bit on the validation part)")
    _add_hardware_arguments(h)
    add_executor_arguments(x)
    x.add_argument("--resume", action="store_true",
                   help="continue an interrupted search from its checkpoint (same settings)")
    x.add_argument("--baseline-cache", type=Path, default=None, metavar="DIR",
                   help="keep the exact baseline's figures in DIR, keyed by a hash of the "
                        "network and settings, so that runs at other budgets skip its "
                        "synthesis and simulation (default: no cache)")
    _add_output_arguments(o, "runs/DATASET, or runs/DATASET-exact with --exact")
    p.set_defaults(func=_run)

    a = subparsers.add_parser(
        "ablate", help="apply the approximation operators one by one and implement each step",
        description=(
            "Starting from the exact design, apply the operators cumulatively with default "
            "settings (power-of-two coefficients, input-bit masks, column truncation, "
            "activation windows, argmax bits, input precision, retraining); synthesize and "
            "gate-simulate every step. Writes OUT/ablation.json."),
    )
    a.add_argument("dataset", metavar="DATASET",
                   help=f"dataset name ({', '.join(known_datasets())}) or a CSV path")
    d, t, h, x, o = option_groups(a, "data", "training", "hardware", "execution", "output")
    add_data_arguments(d)
    add_model_arguments(t)
    _add_hardware_arguments(h)
    add_executor_arguments(x)
    _add_output_arguments(o, "runs/DATASET-ablation")
    a.set_defaults(func=_ablate)

    g = subparsers.add_parser(
        "generate", help="Verilog from a model.json or an ONNX model (and a verified design, "
                         "given data)",
        description=(
            "Emit the bespoke Verilog of an integer network (model.json from 'train' or the "
            "Python API), or of a trained ONNX/QONNX MLP classifier. With --data, also simulate "
            "it on that dataset's test split, synthesize it and write report.json."),
    )
    g.add_argument("model", type=Path, metavar="MODEL",
                   help="model.json, or a trained float ONNX / QONNX classifier (.onnx)")
    d, t, h, o = option_groups(g, "data", "training", "hardware", "output")
    d.add_argument("--data", metavar="DATASET", default=None,
                   help="dataset to verify and report on (name or CSV path)")
    add_data_arguments(d)
    d.add_argument("--split-seed", type=int, default=42,
                   help="train/test split seed of --data (default: 42)")
    t.description = ("ONNX models: a float model is quantized (calibrated on --data's training "
                     "split, inputs scaled by its range unless the model's metadata gives "
                     "feature_min/feature_max); a QONNX model is imported exactly")
    for name, default in (("input", 4), ("weight", 8), ("activation", 8)):
        t.add_argument(f"--{name}-bits", type=int, default=default, metavar="N",
                       help=f"{name} width of a float model's quantization (default: {default})")
    t.add_argument("--qat", action="store_true",
                   help="fine-tune a float model quantization-aware on --data's training split")
    t.add_argument("--seed", type=int, default=0, help="fine-tuning seed (default: 0)")
    h.add_argument("--form", choices=("tree", "behavioral"), default="tree",
                   help="neuron description: compressor tree (default) or behavioral")
    _add_hardware_arguments(h)
    _add_output_arguments(o, None)
    g.set_defaults(func=_generate)
    register_implement(subparsers)
