"""The search rounds: NSGA-II over a base network's approximations, retraining of the front,
and the next round's base (the smallest retrained design within the loss budget)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from .._util import counted
from ..approx import (
    SPARSE_KEEP,
    ApproxConfig,
    apply_config,
    learn_thresholds,
    retrain,
    sparse_po2_family,
)
from ..data import Split, label_indices
from ..ir import Network, encode_inputs, network_codes, predict_codes
from ..parallel import Executor
from ..search import (
    AREA,
    CostModel,
    Objective,
    Progress,
    SearchSpace,
    feature_importance,
    few_input_area_cm2,
    run_search,
    search_fingerprint,
)
from ..train import WIDE_MIN_FEATURES
from ._log import Log
from ._paired import PairedLoss, paired_loss
from ._selection import spread
from ._settings import BASE_REACH, SearchSettings
from ._tiny import Backfill, grow_tiny, worth_verifying

__all__ = ["TINY_LR", "TINY_SHAPES", "Parts", "Retrained", "aimed_spread", "class_counts",
           "estimated_cost", "search_rounds", "subsample", "tiny_precisions",
           "with_learned_thresholds"]

#: Narrow starts apply to bases reading at least this many features, the threshold of a wide
#: dataset's feature selection in training. Measured at default settings: Arrhythmia's ≤1 %
#: design fell to 156 mW (217 of 261 features) from 220 mW in an earlier run without them;
#: Cardio's (21 features) grew from 3.95 to 4.69 and 7.67 cm² in two runs with them.
NARROW_MIN_FEATURES = WIDE_MIN_FEATURES

#: The tiny designs round 1 retrains besides the search's front: ``(k, bits)``, the ``k`` most
#: important features read at ``bits`` bits through learned thresholds (one comparator each at
#: 1 bit), the others dropped. Measured (exact network retrained so, test accuracy, area at
#: ``normal`` with collapsing): Red Wine 2 x 1 bit 56.7 % in 0.005 cm² (exact 60.6 %), Seeds
#: 4 x 1 bit 85.7 % in 0.034 cm² (exact 87.3 %), Vertebral 2 x 1 bit 79.6 % in 0.011 cm², 3 x 2
#: bits 85.0 % in 0.031 cm² (exact 81.7 %); uniform thresholds lost 4-20 points more at 1 bit.
#: 2 x 3 bits (a 6-bit function): Red Wine's loss bound on the selection part 1.84 points, the
#: lowest of its tiny designs (2 x 2 bits 7.32), Breast Cancer 94.6 % test in 0.027 cm² (est.).
TINY_SHAPES = ((1, 1), (2, 1), (3, 1), (4, 1), (2, 2), (3, 2), (2, 3))

#: Retraining step size of the tiny designs (weight LSBs; the front's retraining keeps
#: ``finetune``'s default, 0.05): dropping most features moves the best weights far from the
#: exact network's. Measured at 40 epochs, loss bound on the selection part (test accuracy)
#: 0.05 -> 0.5: Seeds 3 x 1 bit 54.4 -> 18.4 points (54.0 -> 87.3 %), Breast Cancer 1 x 1 bit
#: 39.2 -> 9.5, Vertebral 1 x 1 bit 31.1 -> 17.7, Balance 3 x 1 bit 28.4 -> 26.8, none of
#: theirs higher (0.2 gained only Balance's 1 x 1 bit); Red Wine mixed: 4 x 1 bit 9.3 -> 7.9,
#: 3 x 1 bit 7.7 -> 7.9, 3 x 2 bits 5.0 -> 7.6.
TINY_LR = 0.5

#: ``{part name: (input codes, class indices)}``.
Parts = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class Retrained:
    """The retrained front designs of all search rounds, with their configurations (each
    relative to its round's base), loss on the validation part (``screen``: it orders and
    screens, never certifies), estimated area and round;
    ``importance`` holds each round's feature importance of its base (or is empty)."""

    bases: list[Network] = field(default_factory=list)
    importance: list[np.ndarray] = field(default_factory=list)
    nets: list[Network] = field(default_factory=list)
    #: Whether each design is one of the tiny ones (:data:`TINY_SHAPES`, or grown).
    tiny: list[bool] = field(default_factory=list)
    configs: list[ApproxConfig] = field(default_factory=list)
    screen: list[PairedLoss] = field(default_factory=list)
    area: list[float] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)

    def add(self, net: Network, config: ApproxConfig, loss: PairedLoss, area: float,
            search_round: int, *, tiny: bool = False) -> None:
        self.nets.append(net)
        self.tiny.append(tiny)
        self.configs.append(config)
        self.screen.append(loss)
        self.area.append(area)
        self.rounds.append(search_round)

    @property
    def estimates(self) -> list[float]:
        """The designs' losses on the validation part (points)."""
        return [loss.estimate for loss in self.screen]

    def most_accurate_within(self, limit: float, since: int = 1) -> int | None:
        """Index of the design most accurate on the validation part (then the smallest) whose
        estimated cost is within ``limit``, of round ``since`` or later, never a tiny one (or
        None)."""
        est = self.estimates
        ok = [i for i, a in enumerate(self.area)
              if a <= limit and not self.tiny[i] and self.rounds[i] >= since]
        return min(ok, key=lambda i: (est[i], self.area[i], i), default=None)

    def smallest_within(self, max_loss: float, since: int = 1) -> int | None:
        """Index of the smallest (estimated area) design whose loss on the validation part is
        within ``max_loss`` points, the next round's base (the selection part is never read
        before the designs it judges are fixed); never a tiny one, which leaves a search
        little to approximate (Breast Cancer at ``--max-loss 5``: rounds 2 and 3 from its
        4 x 1-bit design found none smaller than 0.0131 cm², from the searched design 0.0056)."""
        est = self.estimates
        ok = [i for i, e in enumerate(est)
              if e <= max_loss + 1e-9 and not self.tiny[i] and self.rounds[i] >= since]
        return min(ok, key=lambda i: (self.area[i], est[i], i), default=None)


def search_rounds(net: Network, fitted: Parts, screen: tuple[np.ndarray, np.ndarray],
                  scored: tuple[np.ndarray, np.ndarray],
                  stats: tuple[np.ndarray, int], cost: CostModel, settings: SearchSettings, *,
                  search_min: float, seed: int, checkpoints: Callable[[int], Path],
                  resume: bool, progress: Callable[[str], Callable[[Progress], None]],
                  executor: Executor, log: Log,
                  objective: Objective = AREA, tiny_base: Network | None = None,
                  found: Retrained | None = None,
                  judge_against: Network | None = None) -> Retrained:
    """NSGA-II in ``settings.rounds`` rounds, each followed by retraining of its front.

    Candidates are scored on ``scored`` (train samples), retraining fits ``fitted["train"]``
    and chooses epochs on ``fitted["val"]`` (codes and target classes: labels, or the exact
    network's predictions); every retrained design's loss against ``net`` is measured on
    ``screen`` (the validation part's codes and labels). The selection part is not read
    here. A later round searches from the smallest retrained design whose loss on ``screen``
    is within ``settings.search_loss`` so far (the exact network until there is one).
    "Smallest" and the search's cost are ``objective``'s estimate (``Retrained.area``).

    Each round offers the search class removal (:class:`SearchSpace`): the output neurons of
    the classes its base predicts least often on the train part, as many as make up at most
    ``search_loss + slack`` points of its predictions there.

    With ``settings.feature_seeds``, each round ranks its base's features by permutation
    importance on ``scored`` (train samples only) and, when the base reads at least
    :data:`NARROW_MIN_FEATURES` features, seeds NSGA-II with designs narrowed to the top
    features (:class:`SearchSpace`); round 1 also retrains the exact network on the top ``k``
    features for each ``k`` of :meth:`SearchSpace.narrow_sizes`, so that a narrow design
    within the loss budget can be a later round's base. With a ``tiny_base`` (``net`` with
    learned thresholds) and the ranking, round 1 also retrains the tiny designs of
    :func:`tiny_precisions` from it, and those of :func:`~._tiny.grow_tiny` (chosen on
    ``fitted["val"]``): the search's constraint keeps its front within ``max_loss + slack``
    points of the exact network's predictions, far above them.

    Round 1 also trains its base into sparse power-of-two networks
    (:func:`~bespoke_mlp.approx.sparse_po2_family`, aiming at ``fitted``'s targets): each
    coefficient pruned or a power of two (a shifted input, no adders of its own), which the
    search approximates further when one within the loss budget is a later round's base.

    With ``found`` (a second search, from another network of the family), the rounds
    continue its numbering (their first round is "round 1" above) and add to it, and losses
    on ``screen`` are measured against ``judge_against`` (the reference) instead of ``net``.
    """
    found = found or Retrained()
    first = len(found.bases) + 1
    ctx = _Round(net, fitted, screen, predict_codes(judge_against or net, screen[0]), scored,
                 stats, cost, settings, search_min, seed, checkpoints, resume, progress,
                 executor, log, objective, tiny_base, first)
    origin = net
    for r, gens in enumerate(_split(settings.generations, settings.rounds), start=first):
        if r > first:
            origin = _round_base(found, r, ctx)
        found.bases.append(origin)
        space, front = _search_round(found, origin, r, gens, ctx)
        _retrain_round(found, origin, space, front, r, ctx)
    return found


@dataclass(frozen=True)
class _Round:
    """What every round of :func:`search_rounds` works with (its arguments)."""

    net: Network
    fitted: Parts
    screen: tuple[np.ndarray, np.ndarray]
    exact_screen: np.ndarray
    scored: tuple[np.ndarray, np.ndarray]
    stats: tuple[np.ndarray, int]
    cost: CostModel
    settings: SearchSettings
    search_min: float
    seed: int
    checkpoints: Callable[[int], Path]
    resume: bool
    progress: Callable[[str], Callable[[Progress], None]]
    executor: Executor
    log: Log
    objective: Objective
    tiny_base: Network | None
    #: The number of this search's first round.
    first: int

    def screen_loss(self, design: Network) -> PairedLoss:
        """``design``'s loss against the exact network on the validation part."""
        return paired_loss(self.exact_screen, predict_codes(design, self.screen[0]),
                           self.screen[1], self.settings.confidence)

    def cost_of(self, design: Network) -> float:
        return estimated_cost(design, self.stats, self.cost, self.objective)


def _round_base(found: Retrained, r: int, ctx: _Round) -> Network:
    """Round ``r``'s base: the smallest retrained design within the search's loss on the
    validation part (the exact network until there is one); power-first, the most accurate
    one estimated within :data:`~._settings.BASE_REACH` times the budget, if any."""
    reach = ctx.settings.estimate_limit(BASE_REACH)
    base = None if reach is None else found.most_accurate_within(reach, since=ctx.first)
    if base is None:
        base = found.smallest_within(ctx.settings.search_loss, since=ctx.first)
    origin = ctx.net if base is None else found.nets[base]
    area = ctx.cost_of(ctx.net) if base is None else found.area[base]
    ctx.log(f"round {r}: searching from a design of {area:.3f} {ctx.objective.unit} (est.)")
    return origin


def _search_round(found: Retrained, origin: Network, r: int, gens: int,
                  ctx: _Round) -> tuple[SearchSpace, Any]:
    """Round ``r``'s NSGA-II over ``origin``'s approximations (its feature importance joins
    ``found.importance``): the search space and the front."""
    settings, log, scored, cost = ctx.settings, ctx.log, ctx.scored, ctx.cost
    order = None
    if settings.feature_seeds:
        with log.stage("importance"):
            importance = feature_importance(origin, *scored, seed=ctx.seed)
        found.importance.append(importance)
        if origin.n_used_features >= NARROW_MIN_FEATURES:
            order = np.argsort(-importance, kind="stable")
    space = SearchSpace(origin, ctx.stats, feature_order=order,
                        class_counts=class_counts(origin, ctx.fitted["train"][0]),
                        max_class_share=(settings.search_loss + settings.slack) / 100.0,
                        datapath=bool(cost.lanes))
    if len(space.class_order):
        rare = [origin.classes[origin.output_classes[j]] for j in space.class_order]
        log(f"class removal: up to {len(rare)} of {origin.layers[-1].n_out} outputs, "
            f"least predicted on the train part first: classes {rare!r}")
    last = ctx.first + settings.rounds - 1
    label = "search" if last == 1 else f"round {r}/{last}"
    with log.stage("search", f"NSGA-II: {space.n_genes} genes, population "
                             f"{settings.pop_size}, {gens} generations, "
                             f"{len(scored[0])} train samples"):
        front = run_search(space, cost, *scored, min_accuracy=ctx.search_min,
                           pop_size=settings.pop_size, generations=gens,
                           seed=ctx.seed + 1000 * (r - 1), checkpoint=ctx.checkpoints(r),
                           resume=ctx.resume, progress=ctx.progress(label),
                           executor=ctx.executor,
                           fingerprint=search_fingerprint(
                               origin, *scored, **fingerprinted(settings, ctx.seed),
                               **({"lanes": cost.lanes} if cost.lanes else {})),
                           objective=ctx.objective)
    target = "the exact network's predictions" if settings.fidelity else "the labels"
    log(f"{counted(len(front.genomes), 'front point')} within "
        f"{counted(settings.search_loss + settings.slack, 'point')} of train-sample loss "
        f"against {target} from {front.evaluations} "
        f"candidates ({front.evaluations / max(front.runtime_s, 1e-9):.0f}/s)")
    return space, front


def _retrain_round(found: Retrained, origin: Network, space: SearchSpace, front: Any, r: int,
                   ctx: _Round) -> None:
    """Retrain round ``r``'s front points (round 1: also the narrow starts, the sparse
    power-of-two networks and the tiny designs, fixed and grown) into ``found``."""
    settings, log, fitted, seed = ctx.settings, ctx.log, ctx.fitted, ctx.seed
    configs = [space.config(front.genomes[i])
               for i in aimed_spread(front.area_cm2, settings.n_retrain,
                                     settings.estimate_limit())]
    if r == ctx.first:
        configs += [ApproxConfig(input_precision=tuple(space.top_k_precision(k)))
                    for k in space.narrow_sizes()]
    # A folded datapath narrows in steps, each retrained (coarse widths lose accuracy before
    # retraining that the search's constraint would refuse).
    configs += [space.config(x) for x in space.datapath_ladder()]
    keeps = SPARSE_KEEP if r == ctx.first else ()
    grow = r == ctx.first and ctx.tiny_base is not None and bool(found.importance)
    tiny = [ApproxConfig(input_precision=p)
            for p in (tiny_precisions(origin, found.importance[0]) if grow else [])]
    lanes = bool(ctx.cost.lanes)
    shared = ((origin, fitted, ctx.stats, settings.retrain_epochs, seed, None, lanes),
              (origin, fitted, seed),
              (ctx.tiny_base, fitted, ctx.stats, settings.retrain_epochs, seed, TINY_LR, False))
    backfill = Backfill(_retrainer(ctx.executor, shared[2]), ctx.executor.n_workers,
                        [c.input_precision for c in tiny])
    grown = []
    if grow:
        with log.stage("retrain", "growing tiny designs bit by bit on the validation part"):
            grown = [(c, n) for c, n in grow_tiny(ctx.tiny_base, found.importance[0], backfill,
                                                  fitted["val"])
                     if ApproxConfig(input_precision=c) not in tiny]
    # One map for the rest: the long sparse units first, so that the shorter ones fill the
    # workers around them.
    pending = backfill.pending
    units = ([(_sparse_unit, 1, keep) for keep in keeps]
             + [(_retrain_unit, 0, c.to_json()) for c in configs]
             + [(_retrain_unit, 2, ApproxConfig(input_precision=p).to_json()) for p in pending])
    with log.stage("retrain", _retrain_message(len(configs), len(keeps), len(pending))):
        done = ctx.executor.map(_unit, units, shared=shared,
                                progress=_every(8, lambda d, t: log(f"retrained {d}/{t}")))
    backfill.add(pending, done[len(keeps) + len(configs):])
    # In the serial order: front points, sparse networks, tiny designs.
    sparse, nets = done[:len(keeps)], done[len(keeps):len(keeps) + len(configs)]
    nets += [n for _, n in sparse] + [backfill[c.input_precision] for c in tiny]
    configs += [config for config, _ in sparse]
    for k, (tuned, config) in enumerate(zip(nets, configs + tiny)):
        found.add(tuned, config, ctx.screen_loss(tuned), ctx.cost_of(tuned), r,
                  tiny=k >= len(configs))
    _add_grown(found, grown, r, ctx)


def _add_grown(found: Retrained, grown: list[tuple[tuple[int, ...], Network]], r: int,
               ctx: _Round) -> None:
    """The grown tiny designs worth verifying (:func:`~._tiny.worth_verifying`) into
    ``found``."""
    losses = [ctx.screen_loss(n) for _, n in grown]
    kept = worth_verifying([loss.estimate for loss in losses], ctx.settings.search_loss,
                           ctx.settings.slack)
    if grown:
        ctx.log(f"{len(grown)} grown tiny designs ({', '.join(str(sum(c)) for c, _ in grown)} "
                f"input bits), {len(kept)} kept")
    for k in kept:
        found.add(grown[k][1], ApproxConfig(input_precision=grown[k][0]), losses[k],
                  ctx.cost_of(grown[k][1]), r, tiny=True)


def aimed_spread(costs: np.ndarray, k: int, limit: float | None) -> list[int]:
    """``k`` indices of a front sorted by estimated cost ``costs`` to retrain: :func:`spread`
    over it; with a ``limit`` (power-first), spread over the points estimated within it, and
    over the rest only with the picks they leave."""
    n = len(costs)
    under = n if limit is None else int(np.searchsorted(costs, limit, side="right"))
    if under >= k:
        return spread(under, k)
    return list(range(under)) + [under + i for i in spread(n - under, k - under)]


def class_counts(net: Network, codes: np.ndarray) -> np.ndarray:
    """How often ``net`` predicts the class of each of its output neurons on ``codes`` (the
    train part: class removal is ranked on it, never on the selection or test part)."""
    pred = predict_codes(net, codes)
    return np.array([int(np.sum(pred == c)) for c in net.output_classes], dtype=np.int64)


def tiny_precisions(net: Network, importance: np.ndarray) -> list[tuple[int, ...]]:
    """Per-feature input bits of the tiny designs (:data:`TINY_SHAPES`) of ``net``: its ``k``
    most important read features at ``bits`` bits, for the shapes whose ``k`` it reads."""
    read = np.array(net.feature_resolution) > 0
    order = [int(i) for i in np.argsort(-np.asarray(importance), kind="stable") if read[i]]
    out = []
    for k, bits in TINY_SHAPES:
        if k <= len(order) and bits < net.input_bits:
            p = [0] * net.n_features
            for i in order[:k]:
                p[i] = bits
            out.append(tuple(p))
    return out


def fingerprinted(settings: SearchSettings, seed: int) -> dict[str, Any]:
    """The settings a search checkpoint depends on (by option name), for ``--resume``."""
    return {"seed": seed, "population": settings.pop_size, "generations": settings.generations,
            "rounds": settings.rounds, "max_loss": settings.max_loss, "slack": settings.slack,
            "search_samples": settings.search_samples, "n_retrain": settings.n_retrain,
            "retrain_epochs": settings.retrain_epochs, "confidence": settings.confidence,
            "select_size": settings.select_size, "fidelity": settings.fidelity,
            "feature_seeds": settings.feature_seeds,
            "objective": settings.objective, "quantizer": settings.quantizer}


def _every(n: int, report: Callable[[int, int], None]) -> Callable[[int, int], None]:
    """A progress callback that passes on every ``n``-th unit and the last one."""
    return lambda done, total: report(done, total) if done % n == 0 or done == total else None


def subsample(part: tuple[np.ndarray, np.ndarray], n: int | None,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified random subset of ``n`` samples of ``part`` (all of it if not larger)."""
    codes, y = part
    if n is None or len(y) <= n:
        return part
    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y,
                               random_state=seed)
    keep = np.sort(keep)
    return codes[keep], y[keep]


def with_learned_thresholds(net: Network, split: Split, *, fidelity: bool, samples: int | None,
                            seed: int, log: Log, executor: Executor | None = None) -> Network:
    """``net`` with flash-ADC thresholds learned on (a stratified subset of ``samples`` of)
    the train part, aiming at its own predictions (``fidelity``) or the labels (the
    resolutions on ``executor``)."""
    with log.stage("quantizers", "learning per-feature ADC thresholds on the train part"):
        codes = encode_inputs(net, split.X_train)
        y = label_indices(net.classes, split.y_train)
        targets = predict_codes(net, codes) if fidelity else y
        rows, _ = subsample((np.arange(len(y)), y), samples, seed)
        return learn_thresholds(net, split.X_train[rows], codes[rows], targets[rows],
                                executor=executor)


def _retrain_unit(shared: tuple[Network, Parts, tuple[np.ndarray, int], int, int,
                                 float | None, bool], config: str) -> Network:
    """Work unit: apply an approximation (JSON) to the round's base network and retrain it
    (fitting the train part, epochs chosen on the validation part, step size ``lr`` or
    retraining's default; ``keep_steps`` for a folded datapath, see
    :func:`~bespoke_mlp.approx.retrain`)."""
    net, parts, input_stats, epochs, seed, lr, keep_steps = shared
    approx = apply_config(net, ApproxConfig.from_json(config), input_stats)
    # Retraining sees the codes of the approximation's own quantizers (its resolutions).
    (train, y_train), (val, y_val) = parts["train"], parts["val"]
    return retrain(approx, network_codes(approx, train), y_train, network_codes(approx, val),
                   y_val, epochs=epochs, seed=seed, lr=lr, keep_steps=keep_steps)


def _sparse_unit(shared: tuple[Network, Parts, int],
                 keep: float) -> tuple[ApproxConfig, Network]:
    """Work unit: the round's base network trained into the sparse power-of-two network of
    :func:`~bespoke_mlp.approx.sparse_po2_family` that keeps ``keep`` of its coefficients."""
    net, parts, seed = shared
    (train, y_train), (val, y_val) = parts["train"], parts["val"]
    [out] = sparse_po2_family(net, network_codes(net, train), y_train, network_codes(net, val),
                              y_val, seed=seed, keeps=(keep,))
    return out


def _unit(shared: tuple[Any, ...], unit: tuple[Callable[[Any, Any], Any], int, Any]) -> Any:
    """Work unit of several kinds in one map: ``unit = (fn, k, item)`` is ``fn(shared[k],
    item)``, so that units of unequal length share the workers. Measured on Pendigits' round
    1 (16 front points, 5 sparse networks, 7 tiny designs; 2 workers, load 2): 27.6-31.0 s
    with the sparse networks trained in the main process between two maps, 19.7-20.6 s in
    one map."""
    fn, k, item = unit
    return fn(shared[k], item)


def _retrain_message(n_front: int, n_sparse: int, n_tiny: int) -> str:
    parts = [f"retraining {n_front} front points"]
    if n_sparse:
        parts.append(f"training {n_sparse} sparse power-of-two networks")
    if n_tiny:
        parts.append(f"retraining {n_tiny} tiny designs (learned thresholds, 1-3 bits)")
    return ", ".join(parts)


def _retrainer(executor: Executor, shared: tuple[Network, Parts, tuple[np.ndarray, int], int,
                                                  int, float | None, bool]
               ) -> Callable[[list[tuple[int, ...]]], list[Network]]:
    """Retraining of ``shared``'s base at per-feature precisions (:func:`_retrain_unit`)."""
    return lambda precisions: executor.map(
        _retrain_unit, [ApproxConfig(input_precision=p).to_json() for p in precisions],
        shared=shared)


def _split(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal positive shares, larger ones first."""
    return [total // parts + (k < total % parts) for k in range(parts)]


def estimated_cost(net: Network, stats: tuple[np.ndarray, int], cost: CostModel,
                   objective: Objective) -> float:
    """``objective``'s estimate of a network (its own exact genome; a network reading few
    input bits at most :func:`~bespoke_mlp.search.few_input_area_cm2`)."""
    space = SearchSpace(net, stats)
    d = space.decode(space.exact[None])
    area = float(cost.area_cm2(cost.features(d))[0])
    if not cost.lanes:
        # Synthesis collapses a parallel network that reads few input bits: its area is
        # bounded by theirs.
        area = min(area, few_input_area_cm2(sum(net.feature_resolution), len(net.classes)))
    return float(objective.of_area(cost, np.array([area]), space.adc_comparators(d))[0])
