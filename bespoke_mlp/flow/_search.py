"""The search flow: exact baseline, NSGA-II over the approximations, retraining and real
verification of the front, selection within the loss (and power) budget."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from .._util import atomic_output_dir, write_json
from ..approx import ApproxConfig, apply_config, input_bit_counts, retrain
from ..errors import UsageError
from ..hdl import Architecture, check_arch
from ..ir import Network, predict_codes
from ..parallel import Executor, SerialExecutor
from ..search import CostModel, Progress, SearchSpace, run_search
from ..synth import Technology
from ._implement import DEFAULT_ADC_MW, Implementation, check_size, implement, implement_many
from ._log import Log, quiet, train_stage
from ._plot import plot_pareto
from ._report import design_report, split_parts, summary_table

__all__ = ["SearchSettings", "checkpoint_path", "run_search_flow"]


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
    #: Training samples the search scores candidates on (a stratified subset of a larger
    #: training split; None: all). 2 000 samples resolve 0.05 points of accuracy.
    search_samples: int | None = 2000

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_loss <= 100.0:
            raise UsageError(f"--max-loss must be within [0, 100] (percent), got {self.max_loss!r}")
        if self.budget_mw is not None and not self.budget_mw > 0:
            raise UsageError(f"--budget-mw must be > 0, got {self.budget_mw!r}")
        if not 1 <= self.rounds <= max(1, self.generations):
            raise UsageError(f"--rounds must be within 1..generations "
                             f"({self.generations!r}), got {self.rounds!r}")
        if self.n_verify < 1:
            raise UsageError(f"--verify must be >= 1, got {self.n_verify!r}")
        if self.search_samples is not None and self.search_samples < 10:
            raise UsageError(f"search_samples must be >= 10, got {self.search_samples!r}")


class _ProgressBar:
    """One status line per generation: a redrawn bar on a terminal, sparse lines elsewhere."""

    def __init__(self, log: Log, label: str = "search"):
        self._log = log
        self._label = label
        self._tty = sys.stderr.isatty() and log.enabled

    def __call__(self, p: Progress) -> None:
        best = "none yet" if p.best_feasible_area_cm2 is None else \
            f"{p.best_feasible_area_cm2:.3f} cm² (est.)"
        done = int(30 * p.generation / p.generations)
        text = (f"{self._label} [{'#' * done}{'.' * (30 - done)}] generation {p.generation}/"
                f"{p.generations}, {p.evaluations} candidates, best feasible {best}")
        if self._tty:
            end = "\n" if p.generation == p.generations else ""
            print(f"\r{text}", end=end, file=sys.stderr, flush=True)
        elif p.generation == p.generations or p.generation % 10 == 0:
            self._log(text)


def checkpoint_path(out: Path, search_round: int = 1) -> Path:
    """Where round ``search_round`` of the search of a run into ``out`` keeps its resumable
    state: a hidden file beside ``out``, so that an interrupted run leaves no partial output
    directory."""
    out = Path(out)
    suffix = "" if search_round == 1 else f"-round{search_round}"
    return out.resolve().parent / f".{out.name}.search-checkpoint{suffix}.json"


def _spread(n_front: int, k: int) -> list[int]:
    """``k`` indices spread over a front sorted by area, always including the smallest."""
    if n_front <= k:
        return list(range(n_front))
    return sorted({int(round(i)) for i in np.linspace(0, n_front - 1, k)})


def _pick_for_verification(acc: np.ndarray, area: np.ndarray, min_acc: float,
                           k: int) -> list[int]:
    """Up to ``k`` retrained candidates to implement: the non-dominated ones (selection
    accuracy vs estimated area), the smallest within the loss budget always among them."""
    order = np.lexsort((-acc, area))
    front, best = [], -1.0
    for i in order:
        if acc[i] > best:
            front.append(int(i))
            best = acc[i]
    feasible = [i for i in front if acc[i] >= min_acc]
    chosen = {feasible[0]} if feasible else set()
    rest = [i for i in front if i not in chosen]
    chosen |= {rest[j] for j in _spread(len(rest), k - len(chosen))}
    return sorted(chosen, key=lambda i: area[i])


def run_search_flow(dataset: str, *, out: Path, settings: SearchSettings = SearchSettings(),
                    data_dir: Path | None = None, hidden: tuple[int, ...] | None = None,
                    seed: int = 0, split_seed: int = 42, input_bits: int = 4,
                    weight_bits: int = 8, activation_bits: int = 8,
                    adc_mw: float = DEFAULT_ADC_MW, cost: CostModel | None = None,
                    force: bool = False, resume: bool = False,
                    executor: Executor | None = None, tech: Technology | None = None,
                    clock_hz: float | None = None, log: Log | None = None,
                    arch: Architecture | str = "parallel") -> dict[str, Any]:
    """Search the approximations of ``dataset``'s network and implement the selected design.

    Writes ``out/report.json`` (the selected design, plus ``baseline`` and ``max_loss``),
    ``out/pareto.json`` (every verified front point), ``out/pareto.png``, ``out/model.json``,
    ``out/approximation.json`` (plus ``out/approximation_base.json``, the design it applies to,
    when that is not the exact network) and ``out/design/``. The search checkpoints every
    generation (:func:`checkpoint_path`); with ``resume`` an interrupted run continues from
    there and reaches the same result as an uninterrupted one.

    NSGA-II scores candidates on the training split, allowing ``max_loss + slack`` points of
    loss; front points are retrained (epochs chosen on the validation split). The search runs
    in ``settings.rounds`` rounds: each later round searches the approximations of the smallest
    retrained design within the loss budget so far. The non-dominated retrained designs of all
    rounds are implemented. The loss budget is judged on the whole training
    portion (train + validation: for these small networks a larger, far less noisy set than
    validation alone; the test split only reports): the selected design is the lowest-power
    verified one whose loss against the exact network there is at most ``max_loss`` points (and
    within ``budget_mw``, if given).

    The search's candidate batches, the retraining and the implementation of front points run
    on ``executor`` (default: in-process); the result does not depend on it. Designs are
    mapped onto ``tech`` and clocked at ``clock_hz`` in architecture ``arch`` (see
    :func:`implement`; the search's area estimate is the parallel one).
    """
    log = log or quiet()
    executor = executor or SerialExecutor()
    cost = cost or CostModel.default()
    checkpoint = checkpoint_path(out)
    if resume and not checkpoint.exists():
        raise UsageError(f"nothing to resume: no checkpoint {str(checkpoint)!r}")
    with atomic_output_dir(out, force=force) as tmp:
        trained = train_stage(dataset, log, data_dir=data_dir, hidden=hidden, seed=seed,
                              split_seed=split_seed, input_bits=input_bits,
                              weight_bits=weight_bits, activation_bits=activation_bits)
        net = trained.network
        check_size(net, force=force)
        parts = split_parts(net, trained.split)
        codes_test, y_test = parts["test"]
        parts["dev"] = tuple(np.concatenate([parts["train"][i], parts["val"][i]])
                             for i in range(2))
        dev_acc = _accuracy(net, parts["dev"])
        log(f"exact network {'-'.join(map(str, net.topology))}: training portion "
            f"{100 * dev_acc:.2f} %, test {100 * trained.accuracy['quantized']:.2f} %")
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work_name:
            work = Path(work_name)
            baseline = implement(net, codes_test, y_test, design_dir=work / "baseline",
                                 work_dir=work / "baseline_work", adc_mw=adc_mw,
                                 measure_activity=False, tech=tech, clock_hz=clock_hz,
                                 log=log, arch=arch)
            log(f"exact baseline: {baseline.synth.area_cm2:.3f} cm², "
                f"{baseline.synth.power_mw:.3f} mW")
            stats = input_bit_counts(parts["train"][0], input_bits)
            min_acc = dev_acc - settings.max_loss / 100.0
            # Tens of thousands of candidates would overfit a small validation split: the
            # search scores them on the training split (a stratified subset of a large one).
            scored = _subsample(parts["train"], settings.search_samples, seed)
            train_acc = _accuracy(net, scored)
            search_min = train_acc - (settings.max_loss + settings.slack) / 100.0
            found = _search_rounds(net, parts, scored, stats, cost, settings,
                                   min_acc=min_acc, search_min=search_min, seed=seed, out=out,
                                   resume=resume, executor=executor, log=log)
            if not any(a >= min_acc for a in found.dev_acc):
                # The exact network is always within the loss budget: verify it as well, so
                # that a design can be selected (small datasets: a few samples per point).
                log("no retrained front point is within the loss budget; verifying the exact "
                    "network too")
                found.add(net, ApproxConfig(), dev_acc, _estimated_area(net, stats, cost), 0)
            picks = _pick_for_verification(np.array(found.dev_acc), np.array(found.area),
                                           min_acc, settings.n_verify)
            verified = implement_many([found.nets[i] for i in picks], codes_test, y_test,
                                      work_dir=work / "front", adc_mw=adc_mw,
                                      executor=executor, tech=tech, clock_hz=clock_hz,
                                      log=log, arch=arch)
            points = [{**_point(impl, found.configs[i], parts, found.dev_acc[i], dev_acc),
                       "search_round": found.rounds[i]} for impl, i in zip(verified, picks)]
            chosen = _select(points, settings)
            selected = None
            if chosen is not None:
                selected = implement(verified[chosen].network, codes_test, y_test,
                                     design_dir=tmp / "design", work_dir=work / "selected",
                                     adc_mw=adc_mw, tech=tech, clock_hz=clock_hz, log=log,
                                     arch=arch)
        base = {"accuracy": round(baseline.accuracy, 6), **{
            k: baseline.metrics()[k] for k in ("area_cm2", "power_mw", "n_cells", "delay_ms",
                                               "arch", "lanes", "cycles", "clock_hz",
                                               "latency_s",
                                               "energy_mj")}}
        # Round r's configurations apply to round_bases[r - 1] (null: the exact network).
        write_json(tmp / "pareto.json", {
            "dataset": trained.dataset, "baseline": base, "max_loss": settings.max_loss,
            "round_bases": [None if b is net else b.to_dict() for b in found.bases],
            "points": points})
        plot_pareto(tmp / "pareto.png", title=f"{trained.dataset}: verified designs",
                    power_mw=[p["power_mw"] for p in points],
                    accuracy=[p["accuracy"] for p in points],
                    baseline=(base["power_mw"], base["accuracy"]),
                    selected=None if selected is None else
                    (selected.synth.power_mw, selected.accuracy), arch=check_arch(arch).kind)
        (tmp / "model.json").write_text(net.to_json())
        run_settings = {"hidden": None if hidden is None else list(hidden), "seed": seed,
                        "split_seed": split_seed, "input_bits": input_bits,
                        "weight_bits": weight_bits, "activation_bits": activation_bits,
                        "max_loss": settings.max_loss, "budget_mw": settings.budget_mw,
                        "pop_size": settings.pop_size, "generations": settings.generations,
                        "rounds": settings.rounds, "n_verify": settings.n_verify,
                        "n_retrain": settings.n_retrain,
                        "retrain_epochs": settings.retrain_epochs, "slack": settings.slack,
                        "search_samples": settings.search_samples,
                        "arch": check_arch(arch).to_dict()}
        if selected is None:
            report = {"dataset": trained.dataset, "selected": None,
                      "reason": _none_fits(points, settings), "baseline": base,
                      "max_loss": settings.max_loss, "settings": run_settings,
                      "runtime_s": log.runtime()}
        else:
            i = picks[chosen]
            (tmp / "approximation.json").write_text(found.configs[i].to_json())
            if found.rounds[i] > 1:
                # A later round's configuration applies to that round's starting design.
                (tmp / "approximation_base.json").write_text(
                    found.bases[found.rounds[i] - 1].to_json())
            (tmp / "selected_model.json").write_text(selected.network.to_json())
            report = design_report(dataset=trained.dataset, impl=selected,
                                   accuracy={**trained.accuracy,
                                             "validation": points[chosen]["val_accuracy"],
                                             "training_portion":
                                                 points[chosen]["dev_accuracy"]},
                                   settings=run_settings, runtime_s=log.runtime())
            report.update(selected=chosen, baseline=base, max_loss=settings.max_loss)
        write_json(tmp / "report.json", report)
    for r in range(1, settings.rounds + 1):
        checkpoint_path(out, r).unlink(missing_ok=True)
    if selected is None:
        print(f"no design selected: {report['reason']}")
    else:
        print(summary_table(report, f"selected design: {trained.dataset}, ≤ "
                                    f"{settings.max_loss:g} % loss (exact: "
                                    f"{base['area_cm2']:.3f} cm², {base['power_mw']:.2f} mW)"))
    return report


@dataclass
class _Retrained:
    """The retrained front designs of all search rounds, with their configurations (each
    relative to its round's base), training-portion accuracy, estimated area and round."""

    bases: list[Network] = field(default_factory=list)
    nets: list[Network] = field(default_factory=list)
    configs: list[ApproxConfig] = field(default_factory=list)
    dev_acc: list[float] = field(default_factory=list)
    area: list[float] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)

    def add(self, net: Network, config: ApproxConfig, dev_acc: float, area: float,
            search_round: int) -> None:
        self.nets.append(net)
        self.configs.append(config)
        self.dev_acc.append(dev_acc)
        self.area.append(area)
        self.rounds.append(search_round)

    def smallest_within(self, min_acc: float) -> int | None:
        """Index of the smallest (estimated area) design with accuracy at least ``min_acc``."""
        ok = [i for i, a in enumerate(self.dev_acc) if a >= min_acc]
        return min(ok, key=lambda i: (self.area[i], -self.dev_acc[i]), default=None)


def _search_rounds(net: Network, parts: dict[str, tuple[np.ndarray, np.ndarray]],
                   scored: tuple[np.ndarray, np.ndarray], stats: tuple[np.ndarray, int],
                   cost: CostModel, settings: SearchSettings, *, min_acc: float,
                   search_min: float, seed: int, out: Path, resume: bool, executor: Executor,
                   log: Log) -> _Retrained:
    """NSGA-II in ``settings.rounds`` rounds, each followed by retraining of its front; a
    later round searches from the smallest retrained design within ``min_acc`` so far."""
    found, origin = _Retrained(), net
    for r, gens in enumerate(_split(settings.generations, settings.rounds), start=1):
        if r > 1:
            # Until a retrained design is within budget, rounds restart from the exact one.
            smallest = found.smallest_within(min_acc)
            if smallest is None:
                area = _estimated_area(net, stats, cost)
            else:
                origin, area = found.nets[smallest], found.area[smallest]
            log(f"round {r}: searching from a design of {area:.3f} cm² (est.)")
        found.bases.append(origin)
        space = SearchSpace(origin, stats)
        label = "search" if settings.rounds == 1 else f"round {r}/{settings.rounds}"
        with log.stage("search", f"NSGA-II: {space.n_genes} genes, population "
                                 f"{settings.pop_size}, {gens} generations, "
                                 f"{len(scored[0])} training samples"):
            front = run_search(space, cost, *scored, min_accuracy=search_min,
                               pop_size=settings.pop_size, generations=gens,
                               seed=seed + 1000 * (r - 1), checkpoint=checkpoint_path(out, r),
                               resume=resume, progress=_ProgressBar(log, label),
                               executor=executor)
        log(f"{len(front.genomes)} front points within {settings.max_loss + settings.slack:g} "
            f"points of training-accuracy loss from {front.evaluations} candidates "
            f"({front.evaluations / max(front.runtime_s, 1e-9):.0f}/s)")
        configs = [space.config(front.genomes[i])
                   for i in _spread(len(front.genomes), settings.n_retrain)]
        with log.stage("retrain", f"retraining {len(configs)} front points"):
            nets = executor.map(_retrain_unit, [c.to_json() for c in configs],
                                shared=(origin, parts, stats, settings.retrain_epochs, seed),
                                progress=_every(8, lambda d, t: log(f"retrained {d}/{t}")))
        for tuned, config in zip(nets, configs):
            found.add(tuned, config, _accuracy(tuned, parts["dev"]),
                      _estimated_area(tuned, stats, cost), r)
    return found


def _every(n: int, report: Callable[[int, int], None]) -> Callable[[int, int], None]:
    """A progress callback that passes on every ``n``-th unit and the last one."""
    return lambda done, total: report(done, total) if done % n == 0 or done == total else None


def _subsample(part: tuple[np.ndarray, np.ndarray], n: int | None,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified random subset of ``n`` samples of ``part`` (all of it if not larger)."""
    codes, y = part
    if n is None or len(y) <= n:
        return part
    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y,
                               random_state=seed)
    keep = np.sort(keep)
    return codes[keep], y[keep]


def _retrain_unit(shared: tuple[Network, dict[str, tuple[np.ndarray, np.ndarray]],
                                 tuple[np.ndarray, int], int, int], config: str) -> Network:
    """Work unit: apply an approximation (JSON) to the round's base network and retrain it."""
    net, parts, input_stats, epochs, seed = shared
    approx = apply_config(net, ApproxConfig.from_json(config), input_stats)
    return retrain(approx, *parts["train"], *parts["val"], epochs=epochs, seed=seed)


def _split(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal positive shares, larger ones first."""
    return [total // parts + (k < total % parts) for k in range(parts)]


def _estimated_area(net: Network, stats: tuple[np.ndarray, int], cost: CostModel) -> float:
    """The cost model's area of a network (its own exact genome)."""
    space = SearchSpace(net, stats)
    return float(cost.area_cm2(space.cost_features(space.decode(space.exact[None])))[0])


def _accuracy(net, part: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.mean(predict_codes(net, part[0]) == part[1]))


def _point(impl: Implementation, config, parts: dict[str, tuple[np.ndarray, np.ndarray]],
           dev_acc: float, dev_exact: float) -> dict[str, Any]:
    """A verified design's ``pareto.json`` entry; ``dev_acc`` is its training-portion
    accuracy (``dev_exact`` the exact network's)."""
    m = impl.metrics()
    return {"accuracy": round(impl.accuracy, 6),
            "val_accuracy": round(_accuracy(impl.network, parts["val"]), 6),
            "dev_accuracy": round(dev_acc, 6), "loss": round(100 * (dev_exact - dev_acc), 4),
            "area_cm2": m["area_cm2"], "power_mw": m["power_mw"], "n_cells": m["n_cells"],
            "delay_ms": m["delay_ms"], "system_power_mw": m["system_power_mw"],
            **{k: m[k] for k in ("arch", "lanes", "cycles", "clock_hz", "latency_s",
                                 "energy_mj")},
            "n_features_used": m["n_features_used"],
            "gate_agreement": impl.gate_agreement, "rtl_agreement": impl.rtl_agreement,
            "activity": m["technology"]["activity"], "topology": list(impl.network.topology),
            "configuration": config.to_dict(), "network": impl.network.to_dict()}


def _select(points: list[dict[str, Any]], settings: SearchSettings) -> int | None:
    ok = [i for i, p in enumerate(points) if p["loss"] <= settings.max_loss + 1e-9
          and (settings.budget_mw is None or p["power_mw"] <= settings.budget_mw)]
    return min(ok, key=lambda i: (points[i]["power_mw"], -points[i]["dev_accuracy"]),
               default=None)


def _none_fits(points: list[dict[str, Any]], settings: SearchSettings) -> str:
    best = min((p["power_mw"] for p in points if p["loss"] <= settings.max_loss),
               default=None)
    if settings.budget_mw is not None and best is not None:
        return (f"no verified design fits {settings.budget_mw:g} mW within "
                f"{settings.max_loss:g} % loss; the lowest is {best:.3f} mW")
    return f"no verified design stays within {settings.max_loss:g} points of accuracy loss"

