"""The search flow: exact baseline, NSGA-II over the approximations, retraining and real
verification of the front, selection within the loss (and power) budget on the selection
part."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._util import atomic_output_dir, write_json
from ..approx import ApproxConfig, input_bit_counts
from ..errors import NoDesignError, UsageError
from ..hdl import Architecture, check_arch
from ..ir import Network, predict_codes, schedule, sequential_area_cm2
from ..parallel import Executor, SerialExecutor
from ..search import CostModel, Objective, Progress, check_resumable
from ..synth import DEFAULT_EFFORT, Effort, MappingCost, Technology, technology
from ._cache import BaselineCache, baseline_key
from ._implement import (
    DEFAULT_ADC_MW,
    DESIGN_FILES,
    Implementation,
    check_size,
    implement,
    implement_many,
    mapping_for,
)
from ._log import Log, family_stage, quiet
from ._plot import plot_pareto
from ._report import design_report, split_parts
from ._rounds import (
    Retrained,
    estimated_cost,
    fingerprinted,
    search_rounds,
    subsample,
    with_learned_thresholds,
)
from ._selection import (
    METHOD,
    PairedLoss,
    none_fits,
    pick_for_verification,
    select_design,
)

__all__ = ["QUANTIZERS", "SearchSettings", "checkpoint_path", "lanes_for_latency",
           "run_search_flow"]

#: ``--quantizer`` choices.
QUANTIZERS = ("learned", "uniform")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the search flow (defaults sized for a 2-core machine)."""

    max_loss: float = 1.0
    budget_mw: float | None = None
    pop_size: int = 100
    #: NSGA-II generations in all, split evenly over the rounds.
    generations: int = 300
    #: Search rounds: each after the first searches again from the smallest retrained design
    #: within the loss budget, so retraining's recovered accuracy is spent on further
    #: approximation (measured on cardio at 300 generations: ≤1 % front area 2.58 cm² in one
    #: round, 1.77 cm² in three).
    rounds: int = 3
    n_verify: int = 8
    n_retrain: int = 16
    retrain_epochs: int = 40
    #: The search may lose this many more points than ``max_loss``: retraining wins them back.
    slack: float = 3.0
    #: Train samples the search scores candidates on (a stratified subset of a larger train
    #: part; None: all). 2 000 samples resolve 0.05 points of accuracy.
    search_samples: int | None = 2000
    #: Confidence of the one-sided upper bound of the loss that ``max_loss`` applies to.
    confidence: float = 0.95
    #: Fraction of the non-test samples held out as the selection part (never fitted).
    select_size: float = 0.3
    #: The search and retraining aim at the exact network's predictions, not the labels: the
    #: loss bound grows with every prediction a design changes, right or wrong.
    fidelity: bool = True
    #: Rank features by importance on train samples and start part of the search (and, in
    #: round 1, retrained candidates) from the top ``k`` features: a wide dataset's search
    #: does not start at one ADC per feature only. Round 1 also retrains tiny designs (the
    #: top 1-4 features at 1-3 bits through learned thresholds, ``_rounds.TINY_SHAPES``,
    #: and those grown bit by bit on the validation part, ``_tiny.grow_tiny``), which are
    #: verified as the small end of the front.
    feature_seeds: bool = True
    #: What the search minimizes and the selection picks the lowest of: ``system-power``
    #: (classifier + flash ADCs), ``power`` or ``area`` (the classifier's). ``budget_mw``
    #: always applies to system power.
    objective: str = "system-power"
    #: Learn each feature's flash-ADC thresholds at reduced resolutions on the train part
    #: (``learned``) or keep the uniform quantizer's (``uniform``). Uniform by measurement:
    #: at ``--max-loss 1`` learned thresholds made Vertebral fall back to the exact network
    #: (uniform: 3.99 mW system) and did not lower Cardio's system power.
    quantizer: str = "uniform"
    #: A sequential design's latency limit (s): slower verified designs are not selected.
    max_latency_s: float | None = None
    #: Choose the lane count (the fold factor): the fewest lanes whose exact network meets
    #: ``max_latency_s`` (see :func:`lanes_for_latency`).
    auto_lanes: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_loss <= 100.0:
            raise UsageError(f"--max-loss must be within [0, 100] (percent), got {self.max_loss!r}")
        if self.budget_mw is not None and not self.budget_mw > 0:
            raise UsageError(f"--budget-mw must be > 0, got {self.budget_mw!r}")
        if self.pop_size < 8:
            raise UsageError(f"--population must be >= 8, got {self.pop_size!r}")
        if self.generations < 1:
            raise UsageError(f"--generations must be >= 1, got {self.generations!r}")
        if not 1 <= self.rounds <= max(1, self.generations):
            raise UsageError(f"--rounds must be within 1..generations "
                             f"({self.generations!r}), got {self.rounds!r}")
        if self.n_verify < 1:
            raise UsageError(f"--verify must be >= 1, got {self.n_verify!r}")
        if self.search_samples is not None and self.search_samples < 10:
            raise UsageError(f"search_samples must be >= 10, got {self.search_samples!r}")
        if not 0.5 <= self.confidence < 1.0:
            raise UsageError(f"--confidence must be within [0.5, 1), got {self.confidence!r}")
        Objective(self.objective)
        if self.quantizer not in QUANTIZERS:
            raise UsageError(f"--quantizer must be one of {', '.join(QUANTIZERS)}, "
                             f"got {self.quantizer!r}")
        if not 0.0 < self.select_size < 1.0:
            raise UsageError(f"select_size must be within (0, 1), got {self.select_size!r}")
        if self.max_latency_s is not None and not self.max_latency_s > 0:
            raise UsageError(f"--max-latency must be > 0 (s), got {self.max_latency_s!r}")
        if self.auto_lanes and self.max_latency_s is None:
            raise UsageError("--lanes auto chooses the lanes for --max-latency: give it")


class _ProgressBar:
    """Logs the search's progress after every generation (the CLI draws it as a bar)."""

    def __init__(self, log: Log, label: str = "search", unit: str = "cm²"):
        self._log = log
        self._label = label
        self._unit = unit

    def __call__(self, p: Progress) -> None:
        best = "none yet" if p.best_feasible_area_cm2 is None else \
            f"{p.best_feasible_area_cm2:.3f} {self._unit} (est.)"
        self._log.progress(p.generation, p.generations,
                           f"{self._label}: generation {p.generation}/{p.generations}, "
                           f"{p.evaluations} candidates, best feasible {best}")


def _pick_areas(found: Retrained, arch: Architecture) -> list[float]:
    """Estimated costs that pick the front points to implement: the search objective's
    (parallel) estimate, or for a sequential design :func:`~bespoke_mlp.ir.sequential_area_cm2`."""
    if not arch.sequential:
        return list(found.area)
    return [sequential_area_cm2(schedule(n, arch.lanes)) for n in found.nets]


def lanes_for_latency(net: Network, codes: np.ndarray, labels: np.ndarray, *,
                      max_latency_s: float, work_dir: Path, log: Log,
                      **implement_kw: Any) -> Architecture:
    """The sequential architecture of the fewest lanes on which ``net``, implemented and
    measured (:func:`implement`, ``implement_kw``), takes at most ``max_latency_s`` per
    inference. Lanes beyond the widest neuron's inputs shorten nothing.

    Raises
    ------
    NoDesignError
        When no lane count meets the limit (with the shortest latency measured).
    """
    widest = max(int((np.array(layer.weights) != 0).sum(axis=1).max(initial=1))
                 for layer in net.layers)
    latency = float("inf")
    for lanes in range(1, min(64, max(1, widest)) + 1):
        arch = Architecture("sequential", lanes)
        impl = implement(net, codes, labels, design_dir=work_dir / str(lanes) / "design",
                         work_dir=work_dir / str(lanes) / "work", log=log, arch=arch,
                         **implement_kw)
        latency = impl.metrics()["latency_s"]
        log(f"{lanes} lane(s): the exact network takes {latency:g} s per inference")
        if latency <= max_latency_s:
            return arch
    raise NoDesignError(f"no lane count meets {max_latency_s:g} s per inference: the exact "
                        f"network takes {latency:g} s on {min(64, max(1, widest))} lanes")


def checkpoint_path(out: Path, search_round: int = 1) -> Path:
    """Where round ``search_round`` of the search of a run into ``out`` keeps its resumable
    state: a hidden file beside ``out``, so that an interrupted run leaves no partial output
    directory."""
    out = Path(out)
    suffix = "" if search_round == 1 else f"-round{search_round}"
    return out.resolve().parent / f".{out.name}.search-checkpoint{suffix}.json"


def run_search_flow(dataset: str, *, out: Path, settings: SearchSettings = SearchSettings(),
                    data_dir: Path | None = None, hidden: tuple[int, ...] | None = None,
                    seed: int = 0, split_seed: int = 42, input_bits: int = 4,
                    weight_bits: int = 8, activation_bits: int = 8,
                    adc_mw: float = DEFAULT_ADC_MW, cost: CostModel | None = None,
                    force: bool = False, resume: bool = False,
                    executor: Executor | None = None, tech: Technology | None = None,
                    clock_hz: float | None = None, effort: Effort = DEFAULT_EFFORT,
                    log: Log | None = None, from_model: Path | None = None,
                    arch: Architecture | str = "parallel",
                    baseline_cache: BaselineCache | None = None,
                    feature_selection: bool | None = None) -> dict[str, Any]:
    """Search the approximations of ``dataset``'s network and implement the selected design.
    With ``from_model`` (an ONNX file) that network is imported instead of trained (else
    ``feature_selection`` is :func:`~bespoke_mlp.train.train_model`'s). Without
    ``hidden``, the exact network is the reference of a family of widths
    (:func:`~bespoke_mlp.train.train_family`: the most accurate on the validation part, or a
    cheaper one it does not clearly beat); ``report.json`` ``candidates`` lists them.

    Writes ``out/report.json`` (the selected design, plus ``baseline``, ``max_loss`` and
    ``selection``), ``out/pareto.json`` (every verified front point), ``out/pareto.png``,
    ``out/model.json``, ``out/features.json`` (:func:`features_record`; with
    ``settings.feature_seeds``), ``out/approximation.json`` (plus
    ``out/approximation_base.json``, the design it applies to, when that is not the exact
    network) and ``out/design/``. The search checkpoints every generation
    (:func:`checkpoint_path`); with ``resume`` an interrupted run continues from there and
    reaches the same result as an uninterrupted one.

    The data (see :func:`~bespoke_mlp.data.split_dataset`): the exact network fits the train
    part (restarts and epochs chosen on the validation part); NSGA-II scores candidates on
    train samples, allowing ``max_loss + slack`` points of loss; front points are retrained
    on the train part (epochs chosen on the validation part). With ``settings.fidelity``
    (default), scoring and retraining aim at the exact network's predictions instead of the
    labels. The selection part
    (``settings.select_size`` of the non-test samples) is fitted by none of these: on it,
    every retrained design's loss against the exact network is measured on the same samples
    and bounded from above at ``settings.confidence`` (:mod:`._selection`). The search runs
    in ``settings.rounds`` rounds; each later round searches the approximations of the
    smallest retrained design whose bound is within ``max_loss``. Retrained designs near the
    budget and spread over the front are implemented; the selected design is the
    lowest-power verified one whose bound is within ``max_loss`` points (and within
    ``budget_mw``, if given). When no retrained design's bound is within ``max_loss``, the
    exact network is verified and selected instead, and ``selection.fallback`` says why. The
    test split is only reported (``accuracy.test_loss``).

    The search's candidate batches, the retraining and the implementation of front points run
    on ``executor`` (default: in-process); the result does not depend on it. Designs are
    mapped onto ``tech`` and clocked at ``clock_hz`` in architecture ``arch`` (see
    :func:`implement`; the search ranks a sequential design's candidates by the sequential
    estimate, :meth:`~bespoke_mlp.search.CostModel.sequential`); every implemented
    design (baseline, selected design) is synthesized at ``effort``, the verified front at
    ``effort`` but at most ``"normal"`` (it ranks the designs; see ``tech/README.md``), ABC
    mapping for the objective (:func:`mapping_for`: area for ``"area"``, else power).
    """
    log = log or quiet()
    executor = executor or SerialExecutor()
    arch = check_arch(arch)
    if settings.auto_lanes and not arch.sequential:
        raise UsageError("--lanes auto applies to the sequential architecture (--arch "
                         "sequential)")
    checkpoint = checkpoint_path(out)
    if resume:
        check_resumable(checkpoint, **fingerprinted(settings, seed))
    with atomic_output_dir(out, force=force) as tmp:
        # Without --hidden, the exact network is the reference of a family of widths (issue
        # 32); with it, that one network.
        trained, family = family_stage(dataset, log, data_dir=data_dir, hidden=hidden,
                                       seed=seed, split_seed=split_seed, input_bits=input_bits,
                                       weight_bits=weight_bits,
                                       activation_bits=activation_bits,
                                       select_size=settings.select_size, from_model=from_model,
                                       feature_selection=feature_selection,
                                       executor=executor)
        net = trained.network
        check_size(net, force=force)
        objective = Objective(settings.objective, adc_mw)
        mapping = mapping_for(settings.objective)
        thresholded = None
        if settings.quantizer == "learned" or settings.feature_seeds:
            thresholded = with_learned_thresholds(net, trained.split,
                                                  fidelity=settings.fidelity,
                                                  samples=settings.search_samples, seed=seed,
                                                  log=log)
        if settings.quantizer == "learned":
            net = thresholded
        # The codes of the learned quantizers too (resolution codes) when the tiny designs
        # read them: a network without thresholds reads the uniform codes of those.
        parts = split_parts(thresholded or net, trained.split)
        codes_test, y_test = parts["test"]
        exact_test = trained.accuracy["quantized"]
        log(f"exact network {'-'.join(map(str, net.topology))}: test {100 * exact_test:.2f} %; "
            f"{len(parts['select'][1])} selection samples judge the loss")
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work_name:
            work = Path(work_name)
            if settings.auto_lanes:
                with log.stage("lanes", "choosing the lanes for "
                                        f"{settings.max_latency_s:g} s per inference"):
                    arch = lanes_for_latency(net, codes_test, y_test,
                                             max_latency_s=settings.max_latency_s,
                                             work_dir=work / "lanes", adc_mw=adc_mw, tech=tech,
                                             clock_hz=clock_hz, effort=effort,
                                             mapping=mapping, log=log)
            if cost is None:
                # A sequential design's area follows its schedule, not its partial products.
                cost = CostModel.sequential(arch.lanes) if arch.sequential else \
                    CostModel.default()
            # The baseline implemented in this run (not read from the cache), for a fallback.
            implemented: list[Implementation] = []

            def baseline() -> dict[str, Any]:
                impl = implement(net, codes_test, y_test, design_dir=work / "baseline",
                                 work_dir=work / "baseline_work", adc_mw=adc_mw, tech=tech,
                                 clock_hz=clock_hz, effort=effort, mapping=mapping, log=log,
                                 arch=arch)
                implemented.append(impl)
                return {"accuracy": round(impl.accuracy, 6), **{
                    k: impl.metrics()[k] for k in ("area_cm2", "power_mw", "n_cells", "delay_ms",
                                                   "arch", "lanes", "cycles", "clock_hz",
                                                   "latency_s", "energy_mj")}}

            base = _baseline(baseline, baseline_cache, net, codes_test, y_test, log, adc_mw=adc_mw,
                             tech=tech, clock_hz=clock_hz, effort=effort, mapping=mapping,
                             arch=arch)
            base["selection_accuracy"] = round(_accuracy(net, parts["select"]), 6)
            stats = input_bit_counts(parts["train"][0], input_bits)
            # Tens of thousands of candidates would overfit a small part: the search scores
            # them on train samples (a stratified subset of a large train part), never on the
            # selection part.
            fitted = {k: (parts[k][0], predict_codes(net, parts[k][0]) if settings.fidelity
                          else parts[k][1]) for k in ("train", "val")}
            scored = subsample(fitted["train"], settings.search_samples, seed)
            search_min = _accuracy(net, scored) - (settings.max_loss + settings.slack) / 100.0
            found = search_rounds(net, fitted, parts["select"], scored, stats, cost, settings,
                                  search_min=search_min, seed=seed,
                                  checkpoints=lambda r: checkpoint_path(out, r), resume=resume,
                                  progress=lambda label: _ProgressBar(log, label,
                                                                      objective.unit),
                                  executor=executor, log=log, objective=objective,
                                  tiny_base=thresholded)
            fallback = None
            if found.smallest_within(settings.max_loss) is None:
                fallback = (f"no retrained design's accuracy loss is within "
                            f"{settings.max_loss:g} points at {100 * settings.confidence:g} % "
                            f"confidence (smallest bound {min(found.bounds, default=100):.2f} "
                            "points): the exact network is selected")
                log(fallback)
                found.add(net, ApproxConfig(),
                          PairedLoss(len(parts["select"][1]), 0, 0, settings.confidence,
                                     exact=True),
                          estimated_cost(net, stats, cost, objective), 0)
            areas = _pick_areas(found, arch)
            # The tiny designs are all verified apart, so that they take none of the picks of
            # the front the selection chooses from. All of them, not only those no other tiny
            # one dominates in loss bound and estimated area: the bound says little of their
            # test accuracy (Vertebral 3C's 3 x 2-bit design, bound 16.0 points, 84.95 % on
            # test, was dominated by its 4 x 1-bit one, bound 12.9, 79.57 %), and each reads
            # at most 12 input bits, so it synthesizes in seconds.
            rest = [i for i, tiny in enumerate(found.tiny) if not tiny]
            picks = sorted({rest[j] for j in pick_for_verification(
                                [found.bounds[i] for i in rest], [areas[i] for i in rest],
                                settings.max_loss, settings.n_verify)}
                           | {i for i, tiny in enumerate(found.tiny) if tiny},
                           key=lambda i: (areas[i], i))
            # The front only ranks the designs (at most normal effort: high effort on every
            # front point would take minutes); the selected design is re-implemented below.
            verified = implement_many([found.nets[i] for i in picks], codes_test, y_test,
                                      work_dir=work / "front", adc_mw=adc_mw,
                                      executor=executor, tech=tech, clock_hz=clock_hz,
                                      effort="normal" if effort == "high" else effort,
                                      mapping=mapping, log=log, arch=arch)
            points = [{**_point(impl, found.configs[i], found.losses[i], exact_test),
                       "search_round": found.rounds[i], "tiny": found.tiny[i]}
                      for impl, i in zip(verified, picks)]
            key = {"system-power": "system_power_mw", "power": "power_mw",
                   "area": "area_cm2"}[settings.objective]
            chosen = select_design([found.bounds[i] for i in picks],
                                   [p["system_power_mw"] for p in points],
                                   [p["area_cm2"] for p in points], settings.max_loss,
                                   settings.budget_mw, key=[p[key] for p in points],
                                   latency_s=[p["latency_s"] for p in points],
                                   max_latency_s=settings.max_latency_s)
            selected = None
            if chosen is not None and implemented and \
                    verified[chosen].network.to_json() == net.to_json():
                # The exact network was selected and implemented above with the same
                # vectors and settings: its verified design files are the selected design's.
                log("the selected design is the exact baseline implemented above")
                _copy_design(work / "baseline", tmp / "design")
                selected = implemented[0]
            elif chosen is not None:
                selected = implement(verified[chosen].network, codes_test, y_test,
                                     design_dir=tmp / "design", work_dir=work / "selected",
                                     adc_mw=adc_mw, tech=tech, clock_hz=clock_hz,
                                     effort=effort, mapping=mapping, log=log, arch=arch)
        # Round r's configurations apply to round_bases[r - 1] (null: the exact network).
        write_json(tmp / "pareto.json", {
            "dataset": trained.dataset, "baseline": base, "max_loss": settings.max_loss,
            "confidence": settings.confidence,
            "round_bases": [None if b is net else b.to_dict() for b in found.bases],
            "points": points})
        plot_pareto(tmp / "pareto.png", title=f"{trained.dataset}: verified designs",
                    power_mw=[p["power_mw"] for p in points],
                    accuracy=[p["accuracy"] for p in points],
                    baseline=(base["power_mw"], base["accuracy"]),
                    selected=None if selected is None else
                    (selected.synth.power_mw, selected.accuracy), arch=arch.kind)
        (tmp / "model.json").write_text(net.to_json())
        run_settings = {"hidden": None if hidden is None else list(hidden), "seed": seed,
                        "split_seed": split_seed, "input_bits": input_bits,
                        "weight_bits": weight_bits, "activation_bits": activation_bits,
                        "feature_selection": feature_selection,
                        "max_loss": settings.max_loss, "budget_mw": settings.budget_mw,
                        "pop_size": settings.pop_size, "generations": settings.generations,
                        "rounds": settings.rounds, "n_verify": settings.n_verify,
                        "n_retrain": settings.n_retrain,
                        "retrain_epochs": settings.retrain_epochs, "slack": settings.slack,
                        "search_samples": settings.search_samples,
                        "confidence": settings.confidence,
                        "select_size": settings.select_size, "fidelity": settings.fidelity,
                        "feature_seeds": settings.feature_seeds,
                        "objective": settings.objective, "quantizer": settings.quantizer,
                        "adc_mw": adc_mw, "arch": arch.to_dict()}
        if settings.max_latency_s is not None:
            run_settings.update(max_latency_s=settings.max_latency_s,
                                auto_lanes=settings.auto_lanes)
        if from_model is not None:
            run_settings["from_model"] = str(from_model)
        if selected is None:
            reason = none_fits([found.bounds[i] for i in picks],
                               [p["system_power_mw"] for p in points], settings.max_loss,
                               settings.budget_mw, settings.confidence,
                               latency_s=[p["latency_s"] for p in points],
                               max_latency_s=settings.max_latency_s)
            # Nothing is written; a finished search has nothing left to resume either.
            _remove_checkpoints(out, settings.rounds)
            raise NoDesignError(f"no design selected: {reason}; nothing was written")
        i = picks[chosen]
        (tmp / "approximation.json").write_text(found.configs[i].to_json())
        if found.rounds[i] > 1:
            # A later round's configuration applies to that round's starting design.
            (tmp / "approximation_base.json").write_text(
                found.bases[found.rounds[i] - 1].to_json())
        (tmp / "selected_model.json").write_text(selected.network.to_json())
        if found.importance:
            write_json(tmp / "features.json",
                       features_record(net, found.importance[0], selected.network))
        loss = found.losses[i]
        report = design_report(
            dataset=trained.dataset, impl=selected,
            accuracy={**trained.accuracy,
                      "selection": _accuracy(selected.network, parts["select"])},
            settings=run_settings, runtime_s=log.runtime())
        report["accuracy"]["test_loss"] = round(100 * (exact_test - selected.accuracy), 4)
        report.update(selected=chosen, baseline=base, max_loss=settings.max_loss,
                      selection={"method": METHOD, "n_samples": loss.n,
                                 "estimated_loss": round(loss.estimate, 4),
                                 "loss_upper_bound": round(loss.upper_bound, 4),
                                 "confidence": settings.confidence,
                                 "fallback": fallback},
                      candidates=None if family is None else family.to_list())
        write_json(tmp / "report.json", report)
    _remove_checkpoints(out, settings.rounds)
    test_loss = report["accuracy"]["test_loss"]
    if test_loss > settings.max_loss + 1e-9:
        logger.warning(
            "the test loss (%.2f points on %d test samples) exceeds the budget (%g points); "
            "the selection part bounded it by %.2f points at %g %% confidence",
            test_loss, len(y_test), settings.max_loss, loss.upper_bound,
            100 * settings.confidence)
    return report


def _baseline(compute: Callable[[], dict[str, Any]], cache: BaselineCache | None, net: Network,
              codes: np.ndarray, labels: np.ndarray, log: Log, *, adc_mw: float,
              tech: Technology | None, clock_hz: float | None, effort: Effort,
              mapping: MappingCost, arch: Architecture | str) -> dict[str, Any]:
    """The exact baseline's figures: implemented, or read from ``cache`` when a run has
    implemented the same network with the same settings."""
    if cache is None:
        base = compute()
    else:
        key = baseline_key(net, codes, labels, adc_mw=adc_mw, clock_hz=clock_hz, effort=effort,
                           mapping=mapping,
                           arch=check_arch(arch).to_dict(),
                           library_sha256=(tech or technology()).sha256)
        base, hit = cache.get_or_compute(key, compute)
        if hit:
            log(f"exact baseline: figures from the cache ({cache.root / key}.json)")
    log(f"exact baseline: {base['area_cm2']:.3f} cm², {base['power_mw']:.3f} mW")
    return dict(base)


def features_record(net, importance: np.ndarray, selected) -> dict[str, Any]:
    """``features.json``: each feature's permutation importance in the exact network (accuracy
    lost on train samples when its column is shuffled, against the search's targets), its
    rank, and the input bits the exact and the selected design read of it."""
    rank = np.empty(len(importance), dtype=np.int64)
    rank[np.argsort(-importance, kind="stable")] = np.arange(1, len(importance) + 1)
    names = net.feature_names or tuple(f"x{i}" for i in range(net.n_features))
    return {"method": "permutation", "samples": "train (the search's scored samples)",
            "n_features": net.n_features, "n_used_exact": net.n_used_features,
            "n_used_selected": selected.n_used_features,
            "features": [{"input": f"x{i}", "name": names[i],
                          "importance": round(float(importance[i]), 6), "rank": int(rank[i]),
                          "bits_exact": net.feature_resolution[i],
                          "bits_selected": selected.feature_resolution[i]}
                         for i in range(net.n_features)]}


def _copy_design(src: Path, dst: Path) -> None:
    """Copy the design files :func:`implement` wrote into ``src`` to ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in DESIGN_FILES:
        shutil.copyfile(src / name, dst / name)


def _remove_checkpoints(out: Path, rounds: int) -> None:
    for r in range(1, rounds + 1):
        checkpoint_path(out, r).unlink(missing_ok=True)


def _accuracy(net, part: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.mean(predict_codes(net, part[0]) == part[1])) if len(part[1]) else 0.0


def _point(impl: Implementation, config: ApproxConfig, loss: PairedLoss,
           exact_test: float) -> dict[str, Any]:
    """A verified design's ``pareto.json`` entry: test accuracy and loss (reported only),
    the loss on the selection part, hardware figures, configuration and network."""
    m = impl.metrics()
    return {"accuracy": round(impl.accuracy, 6),
            "test_loss": round(100 * (exact_test - impl.accuracy), 4),
            "selection": loss.to_dict(),
            "area_cm2": m["area_cm2"], "power_mw": m["power_mw"], "n_cells": m["n_cells"],
            "delay_ms": m["delay_ms"], "system_power_mw": m["system_power_mw"],
            **{k: m[k] for k in ("arch", "lanes", "cycles", "clock_hz", "latency_s",
                                 "energy_mj")},
            "n_features_used": m["n_features_used"],
            "gate_agreement": impl.gate_agreement, "rtl_agreement": impl.rtl_agreement,
            "activity": m["technology"]["activity"], "topology": list(impl.network.topology),
            "configuration": config.to_dict(), "network": impl.network.to_dict()}
