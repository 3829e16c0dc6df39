"""The search flow: exact baseline, NSGA-II over the approximations, retraining and real
verification of the front, selection within the loss (and power) budget on the selection
part."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .._util import atomic_output_dir, write_json
from ..approx import input_bit_counts
from ..errors import NoDesignError, UsageError
from ..hdl import Architecture, check_arch
from ..ir import Network, predict_codes, schedule, sequential_area_cm2
from ..parallel import Executor, SerialExecutor
from ..search import CostModel, Objective, Progress, check_resumable
from ..synth import DEFAULT_EFFORT, Effort, MappingCost, Technology, technology
from ._cache import BaselineCache, baseline_key
from ._datasheet import FrontPoints, write_datasheet
from ._implement import (
    DEFAULT_ADC_MW,
    DESIGN_FILES,
    Implementation,
    check_size,
    concurrently,
    implement,
    mapping_for,
    verilator_gate_check,
)
from ._log import Log, quiet
from ._paired import round_up
from ._plot import plot_pareto
from ._report import design_report
from ._rounds import Retrained, estimated_cost, fingerprinted, search_rounds, subsample
from ._selection import METHOD, none_fits
from ._settings import QUANTIZERS, SearchSettings
from ._stages import (
    Choice,
    Front,
    Judged,
    Reference,
    announce_certifiable,
    choose,
    judge,
    train_exact_run,
    train_reference,
    verification_picks,
    verify_front,
)

__all__ = ["QUANTIZERS", "SearchSettings", "checkpoint_path", "lanes_for_latency",
           "run_search_flow"]

logger = logging.getLogger(__name__)

#: ``run_search_flow``'s default settings.
DEFAULT_SETTINGS = SearchSettings()


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


def run_search_flow(dataset: str, *, out: Path, settings: SearchSettings = DEFAULT_SETTINGS,
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
                    feature_selection: bool | None = None,
                    exact_run_key: str | None = None) -> dict[str, Any]:
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
    (``settings.select_size`` of the non-test samples) is neither fitted nor read before
    the candidates and the order they are judged in are fixed: then it certifies them for
    the whole run (:mod:`._selection`: fixed-sequence testing, or Bonferroni under
    power-first selection). The search runs in ``settings.rounds`` rounds; each later round
    searches the approximations of the smallest retrained design whose loss on the
    validation part is within the budget. Retrained designs near the budget and spread over
    the front are implemented; loss-first, the selected design is the lowest-power verified
    certified one (within ``budget_mw`` too, if given); power-first, the verified design
    within ``budget_mw`` of least certified loss. When no design is certified (loss-first),
    the network ``run --exact`` trains on the same split is verified and selected instead,
    and ``selection.fallback`` says so.
    The test split is only reported (``accuracy.test_loss``).

    With a ``baseline_cache`` holding ``run --exact``'s test accuracy under
    ``exact_run_key`` (:func:`~._cache.exact_run_key`), or after a fallback, the report also
    gives the loss against that network (``selection.loss_vs_exact_run``).

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
    if resume:
        check_resumable(checkpoint_path(out), **fingerprinted(settings, seed))
    with atomic_output_dir(out, force=force) as tmp:
        train_options = {"data_dir": data_dir, "hidden": hidden, "split_seed": split_seed,
                         "input_bits": input_bits, "weight_bits": weight_bits,
                         "activation_bits": activation_bits, "from_model": from_model,
                         "feature_selection": feature_selection}
        ref = train_reference(dataset, settings, log, seed=seed, executor=executor,
                              **train_options)
        check_size(ref.net, force=force)
        least = announce_certifiable(ref, settings, log)
        hw = _Hardware(adc_mw=adc_mw, tech=tech, clock_hz=clock_hz, effort=effort,
                       mapping=mapping_for(settings.objective), arch=arch)
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work_name:
            work = Path(work_name)
            hw = _choose_lanes(ref, settings, hw, work, log)
            if cost is None:
                # A sequential design's area follows its schedule, not its partial products.
                cost = (CostModel.sequential(hw.arch.lanes) if hw.arch.sequential
                        else CostModel.default())
            objective = Objective(settings.objective, adc_mw)
            stats = input_bit_counts(ref.parts["train"][0], input_bits)
            # The baseline's tools run while the search computes: a core the search leaves.
            found, (base, implemented) = concurrently(
                lambda: _candidates(ref, settings, stats, cost, objective, seed=seed, out=out,
                                    resume=resume, executor=executor, log=log),
                lambda: _baseline_stage(ref, hw, baseline_cache, work, log))
            exact_cost = estimated_cost(ref.net, stats, cost, objective)
            judged = judge(found, ref, settings, exact_cost, log, exact_fits_budget=(
                settings.power_first
                and base.get("system_power_mw", np.inf) <= settings.budget_mw),
                fallback_net=lambda: train_exact_run(dataset, log, seed=seed,
                                                     **train_options).network)
            picks = verification_picks(found, judged, settings, _pick_areas(found, hw.arch))
            # The front only ranks the designs (at most normal effort: high effort on every
            # front point would take minutes); the selected design is re-implemented below.
            front = verify_front(found, judged, picks, ref.parts["test"],
                                 exact_test=ref.test_accuracy, work_dir=work / "front",
                                 executor=executor, log=log,
                                 **hw.kw(effort="normal" if effort == "high" else effort))
            choice = choose(front, judged, settings, found.screen, log)
            selected = _implement_selected(ref, front, choice, implemented, hw, tmp, work, log)
        _write_front(tmp, ref, base, found, front, choice, settings, hw.arch)
        if selected is None:
            # Nothing is written; a finished search has nothing left to resume either.
            _remove_checkpoints(out, settings.rounds)
            raise NoDesignError(f"no design selected: {no_design_reason(front, choice, settings)}"
                                "; nothing was written")
        report = _write_selected(tmp, ref, base, found, front, judged, choice, selected,
                                 settings, log, least=least,
                                 exact_run=_exact_run(baseline_cache, exact_run_key),
                                 run_settings=_run_settings(
                                     settings, hidden=hidden, seed=seed, split_seed=split_seed,
                                     input_bits=input_bits, weight_bits=weight_bits,
                                     activation_bits=activation_bits, adc_mw=adc_mw,
                                     feature_selection=feature_selection, arch=hw.arch,
                                     from_model=from_model))
    _remove_checkpoints(out, settings.rounds)
    _warn_test_loss(report, settings, len(ref.parts["test"][1]))
    return report


@dataclass(frozen=True)
class _Hardware:
    """How every design is implemented (see :func:`implement`)."""

    adc_mw: float
    tech: Technology | None
    clock_hz: float | None
    effort: Effort
    mapping: MappingCost
    arch: Architecture

    def kw(self, **override: Any) -> dict[str, Any]:
        return {"adc_mw": self.adc_mw, "tech": self.tech, "clock_hz": self.clock_hz,
                "effort": self.effort, "mapping": self.mapping, "arch": self.arch, **override}


def _choose_lanes(ref: Reference, settings: SearchSettings, hw: _Hardware, work: Path,
                  log: Log) -> _Hardware:
    """``hw`` with the lanes chosen for ``settings.max_latency_s`` (with ``auto_lanes``)."""
    if not settings.auto_lanes:
        return hw
    with log.stage("lanes", f"choosing the lanes for {settings.max_latency_s:g} s per "
                            "inference"):
        kw = hw.kw()
        kw.pop("arch")
        arch = lanes_for_latency(ref.net, *ref.parts["test"],
                                 max_latency_s=settings.max_latency_s,
                                 work_dir=work / "lanes", log=log, **kw)
    return replace(hw, arch=arch)


def _baseline_stage(ref: Reference, hw: _Hardware, cache: BaselineCache | None, work: Path,
                    log: Log) -> tuple[dict[str, Any], list[Implementation]]:
    """The exact baseline's figures, and its implementation when this run made it (not read
    from the cache): a fallback's design files are a copy of it."""
    implemented: list[Implementation] = []

    def compute() -> dict[str, Any]:
        # Its gates are evaluated without Verilator's build: a run writes it only when
        # selected (checked by Verilator then, _implement_selected).
        impl = implement(ref.net, *ref.parts["test"], design_dir=work / "baseline",
                         work_dir=work / "baseline_work", log=log, verilator_gates=False,
                         **hw.kw())
        implemented.append(impl)
        m = impl.metrics()
        return {"accuracy": round(impl.accuracy, 6), **{
            k: m[k] for k in ("area_cm2", "power_mw", "n_cells", "delay_ms", "arch", "lanes",
                              "cycles", "clock_hz", "latency_s", "energy_mj",
                              "system_power_mw")}}

    base = _baseline(compute, cache, ref.net, *ref.parts["test"], log, **hw.kw())
    base["selection_accuracy"] = round(_accuracy(ref.net, ref.parts["select"]), 6)
    return base, implemented


def _candidates(ref: Reference, settings: SearchSettings, stats: tuple[np.ndarray, int],
                cost: CostModel, objective: Objective, *, seed: int, out: Path, resume: bool,
                executor: Executor, log: Log) -> Retrained:
    """The search rounds' retrained candidates (:func:`search_rounds`), screened on the
    validation part; the selection part is not read. Power-first, the rounds run again from
    the family's member most accurate on validation when it is not the reference
    (:func:`second_member`), their designs judged against the reference as the others."""

    def rounds(net: Network, **kw: Any) -> Retrained:
        # Tens of thousands of candidates would overfit a small part: the search scores
        # them on train samples (a stratified subset of a large train part), never on the
        # selection part.
        fitted = {k: (ref.parts[k][0], predict_codes(net, ref.parts[k][0])
                      if settings.fidelity else ref.parts[k][1]) for k in ("train", "val")}
        scored = subsample(fitted["train"], settings.search_samples, seed)
        search_min = _accuracy(net, scored) - (settings.search_loss + settings.slack) / 100.0
        return search_rounds(net, fitted, ref.parts["val"], scored, stats, cost, settings,
                             search_min=search_min, seed=seed,
                             checkpoints=lambda r: checkpoint_path(out, r), resume=resume,
                             progress=lambda label: _ProgressBar(log, label, objective.unit),
                             executor=executor, log=log, objective=objective, **kw)

    found = rounds(ref.net, tiny_base=ref.thresholded)
    i = second_member(ref, settings)
    if i is None:
        return found
    member = ref.family.candidates[i]
    log(f"power-first: searching again from the {'-'.join(map(str, member.hidden))} "
        f"{member.weight_bits}-bit network, the most accurate on the validation part "
        f"({100 * member.val_accuracy:.2f} %)")
    return rounds(ref.family.results[i].network, found=found, judge_against=ref.net)


def second_member(ref: Reference, settings: SearchSettings) -> int | None:
    """Power-first, the index of the family member the search also runs from: the most
    accurate on validation, when it is not the reference (else None). A budget asks for the
    most accurate design it affords, and a wider network's approximations can be more
    accurate at the same power: measured on Cardio at 6 mW (split seed 42), 87.30 % test at
    5.07 mW from 21-12-3 against 86.68 % at 2.70 mW from 21-3-3; but not always, so both are
    searched (Balance: 79.79 % at 0.55 mW from 4-12-3 alone, 89.36 % from 4-3-3)."""
    fam = ref.family
    if not settings.power_first or fam is None:
        return None
    i = fam.most_accurate
    return None if fam.candidates[i].reference else i


def _implement_selected(ref: Reference, front: Front, choice: Choice,
                        implemented: list[Implementation], hw: _Hardware, tmp: Path,
                        work: Path, log: Log) -> Implementation | None:
    """The selected design implemented at full effort into ``tmp/design`` (None if none)."""
    if choice.chosen is None:
        return None
    net = front.verified[choice.chosen].network
    if implemented and net.to_json() == ref.net.to_json():
        # The exact network was implemented above with the same vectors and settings.
        log("the selected design is the exact baseline implemented above")
        impl = verilator_gate_check(implemented[0], work / "baseline", ref.parts["test"][0],
                                    work_dir=work / "baseline_check", log=log)
        _copy_design(work / "baseline", tmp / "design")
        return impl
    return implement(net, *ref.parts["test"], design_dir=tmp / "design",
                     work_dir=work / "selected", log=log, **hw.kw())


def _write_front(tmp: Path, ref: Reference, base: dict[str, Any], found: Retrained,
                 front: Front, choice: Choice, settings: SearchSettings,
                 arch: Architecture) -> None:
    """``pareto.json``, ``pareto.png`` and ``model.json``."""
    # Round r's configurations apply to round_bases[r - 1] (null: the exact network).
    write_json(tmp / "pareto.json", {
        "dataset": ref.trained.dataset, "baseline": base, "max_loss": settings.max_loss,
        "confidence": settings.confidence,
        "round_bases": [None if b is ref.net else b.to_dict() for b in found.bases],
        "points": front.points})
    pts = front.points
    certified = set(choice.certified.certified)
    plot_pareto(tmp / "pareto.png", title=f"{ref.trained.dataset}: verified designs",
                system_power_mw=[p["system_power_mw"] for p in pts],
                accuracy=[p["accuracy"] for p in pts],
                baseline=(base["system_power_mw"], base["accuracy"]),
                within=[i in certified for i in front.picks], selected=choice.chosen,
                alternative=choice.alternative, arch=arch.kind)
    (tmp / "model.json").write_text(ref.net.to_json())


def no_design_reason(front: Front, choice: Choice, settings: SearchSettings) -> str:
    """Why no verified design was selected, in one line."""
    power = [p["system_power_mw"] for p in front.points]
    if settings.power_first:
        return (f"no verified design fits {settings.budget_mw:g} mW of system power; the "
                f"smallest system power found is {min(power, default=np.inf):.3f} mW")
    ok = set(choice.certified.certified)
    bound = [choice.certified.bounds[i] if i in ok else np.inf for i in front.picks]
    return none_fits(bound, power, settings.max_loss, settings.budget_mw, settings.confidence,
                     latency_s=[p["latency_s"] for p in front.points],
                     max_latency_s=settings.max_latency_s)


def _exact_run(cache: BaselineCache | None, key: str | None) -> float | None:
    """The test accuracy of ``run --exact``'s network, when ``cache`` holds it."""
    value = None if cache is None or key is None else cache.get(key)
    return None if value is None else float(value["test_accuracy"])


def _selection_record(ref: Reference, front: Front, judged: Judged, choice: Choice,
                      settings: SearchSettings, least: float,
                      exact_run: float | None) -> dict[str, Any]:
    """``report.json``'s ``selection``: the rule, the procedure, the selected design's loss
    on the selection part and its certified bound, and the best uncertified alternative."""
    i = front.picks[choice.chosen]
    loss, cert = judged.losses[i], choice.certified
    ok = set(cert.certified)
    if judged.fallback:
        # The selected design is run --exact's network: its verified test accuracy.
        exact_run = front.verified[choice.chosen].accuracy
    alt = None
    if choice.alternative is not None:
        p = front.points[choice.alternative]
        alt = {"index": choice.alternative, "area_cm2": p["area_cm2"],
               "system_power_mw": p["system_power_mw"],
               "estimated_loss": p["selection"]["estimated_loss"],
               "loss_upper_bound": p["selection"]["loss_upper_bound"]}
    return {"rule": choice.rule, "method": METHOD, "procedure": cert.procedure,
            "n_judged": cert.n_judged, "n_certified": len(cert.certified),
            "n_verified": len(front.picks),
            "n_verified_certified": sum(1 for j in front.picks if j in ok),
            "min_certifiable_loss": round_up(least, 4), "n_samples": loss.n,
            "estimated_loss": round(loss.estimate, 4),
            "loss_upper_bound": round_up(cert.bounds.get(i, loss.upper_bound), 4),
            "confidence": settings.confidence, "max_loss": settings.max_loss,
            "budget_mw": settings.budget_mw, "fallback": judged.fallback,
            "reference_test_accuracy": round(ref.test_accuracy, 6), "alternative": alt,
            **({} if exact_run is None else {
                "exact_run_test_accuracy": round(exact_run, 6),
                "loss_vs_exact_run": round(100 * (exact_run - front.verified[
                    choice.chosen].accuracy), 4)})}


def _write_selected(tmp: Path, ref: Reference, base: dict[str, Any], found: Retrained,
                    front: Front, judged: Judged, choice: Choice, selected: Implementation,
                    settings: SearchSettings, log: Log, *, least: float,
                    exact_run: float | None, run_settings: dict[str, Any]) -> dict[str, Any]:
    """The selected design's files and ``report.json``; returns the report."""
    i = front.picks[choice.chosen]
    (tmp / "approximation.json").write_text(found.configs[i].to_json())
    if found.rounds[i] > 1:
        # A later round's configuration applies to that round's starting design.
        (tmp / "approximation_base.json").write_text(
            found.bases[found.rounds[i] - 1].to_json())
    if found.importance:
        write_json(tmp / "features.json",
                   features_record(ref.net, found.importance[0], selected.network))
    report = design_report(
        dataset=ref.trained.dataset, impl=selected,
        accuracy={**ref.trained.accuracy,
                  "selection": _accuracy(selected.network, ref.parts["select"])},
        settings=run_settings, runtime_s=log.runtime())
    report["accuracy"]["test_loss"] = round(100 * (ref.test_accuracy - selected.accuracy), 4)
    report.update(selected=choice.chosen, baseline=base, max_loss=settings.max_loss,
                  selection=_selection_record(ref, front, judged, choice, settings, least,
                                              exact_run),
                  candidates=None if ref.family is None else ref.family.to_list(
                      also=second_member(ref, settings)))
    write_json(tmp / "report.json", report)
    write_datasheet(tmp / "design" / "datasheet.html", report, selected.network,
                    front=FrontPoints(tuple(front.points), choice.chosen, base))
    return report


def _run_settings(settings: SearchSettings, *, hidden: tuple[int, ...] | None,
                  from_model: Path | None, arch: Architecture, **options: Any) -> dict[str, Any]:
    """``report.json``'s ``settings`` of a search run (``options``: the run's own)."""
    out = {"hidden": None if hidden is None else list(hidden), **options,
           "max_loss": settings.max_loss, "budget_mw": settings.budget_mw,
           "power_first": settings.power_first,
           "pop_size": settings.pop_size, "generations": settings.generations,
           "rounds": settings.rounds, "n_verify": settings.n_verify,
           "n_retrain": settings.n_retrain, "retrain_epochs": settings.retrain_epochs,
           "slack": settings.slack, "search_samples": settings.search_samples,
           "confidence": settings.confidence, "select_size": settings.select_size,
           "fidelity": settings.fidelity, "feature_seeds": settings.feature_seeds,
           "objective": settings.objective,
           "quantizer": settings.quantizer, "arch": arch.to_dict()}
    if settings.max_latency_s is not None:
        out.update(max_latency_s=settings.max_latency_s, auto_lanes=settings.auto_lanes)
    if from_model is not None:
        out["from_model"] = str(from_model)
    return out


def _warn_test_loss(report: dict[str, Any], settings: SearchSettings, n_test: int) -> None:
    """A warning when the test loss (reported only) exceeds the loss budget."""
    test_loss, sel = report["accuracy"]["test_loss"], report["selection"]
    if sel["rule"] == "loss-first" and not sel["fallback"] \
            and test_loss > settings.max_loss + 1e-9:
        logger.warning(
            "the test loss (%.2f points on %d test samples) exceeds the budget (%g points); "
            "the selection part bounded it by %.2f points at %g %% confidence",
            test_loss, n_test, settings.max_loss, sel["loss_upper_bound"],
            100 * settings.confidence)


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
    # Twice the rounds: a power-first search may run its rounds from a second network.
    for r in range(1, 2 * rounds + 1):
        checkpoint_path(out, r).unlink(missing_ok=True)


def _accuracy(net, part: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.mean(predict_codes(net, part[0]) == part[1])) if len(part[1]) else 0.0
