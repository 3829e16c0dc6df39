"""The search flow's stages, each a function of typed inputs and outputs: data parts and the
reference network -> candidates (:func:`~._rounds.search_rounds`) -> judged designs -> verified
front -> selection. :func:`~._search.run_search_flow` runs them in order and writes the
report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._util import counted
from ..approx import ApproxConfig
from ..ir import Network, predict_codes
from ..parallel import Executor
from ._implement import Implementation, implement_many
from ._log import Log, family_stage, train_stage
from ._paired import PairedLoss, paired_loss, round_up
from ._report import split_parts
from ._rounds import Parts, Retrained, with_learned_thresholds
from ._selection import (
    LOSS_FIRST,
    POWER_FIRST,
    Certified,
    certify,
    judging_order,
    min_certifiable_loss,
    pick_for_verification,
    power_first,
    select_design,
    uncertifiable_advice,
)
from ._settings import SearchSettings

__all__ = ["Choice", "Front", "Judged", "Reference", "choose", "judge", "train_exact_run",
           "train_reference", "verify_front"]

@dataclass(frozen=True)
class Reference:
    """The search's exact network (the reference every loss is measured against), the
    training result it came from, the same network with learned thresholds (or None), the
    data parts (codes for the thresholded network when there is one), and the family of
    widths it was chosen from (None with ``--hidden`` or an imported model)."""

    trained: Any
    net: Network
    thresholded: Network | None
    parts: Parts
    family: Any = None

    @property
    def test_accuracy(self) -> float:
        return float(self.trained.accuracy["quantized"])

    @property
    def n_select(self) -> int:
        return len(self.parts["select"][1])


def train_reference(dataset: Any, settings: SearchSettings, log: Log, *, seed: int,
                    executor: Executor, **train_options: Any) -> Reference:
    """Train (or import) the search's exact network on the train part and prepare the parts.

    ``train_options`` go to :func:`~._log.family_stage` (``hidden``, ``data_dir``,
    ``split_seed``, bits, ``from_model``, ``feature_selection``): without ``hidden``, a
    family of widths trains on ``executor`` and its reference is the exact network. The
    selection part is ``settings.select_size`` of the non-test samples. This is the one place
    the search's exact network is trained.
    """
    trained, family = family_stage(dataset, log, seed=seed, select_size=settings.select_size,
                                   executor=executor, **train_options)
    net = trained.network
    thresholded = None
    if settings.quantizer == "learned" or settings.feature_seeds:
        thresholded = with_learned_thresholds(net, trained.split, fidelity=settings.fidelity,
                                              samples=settings.search_samples, seed=seed,
                                              log=log, executor=executor)
    if settings.quantizer == "learned":
        net = thresholded
    # The codes of the learned quantizers too (resolution codes) when the tiny designs read
    # them: a network without thresholds reads the uniform codes of those.
    return Reference(trained, net, thresholded, split_parts(thresholded or net, trained.split),
                     family)


def train_exact_run(dataset: Any, log: Log, *, seed: int, **train_options: Any) -> Any:
    """The network ``run --exact`` trains on the same split and options (no selection part
    held out, so every non-test sample trains or validates it): what a loss-first fallback
    delivers, so that "the exact network" means the same network in both commands."""
    log("training the network run --exact trains (every non-test sample, no selection part)")
    return train_stage(dataset, log, seed=seed, **train_options)


def announce_certifiable(ref: Reference, settings: SearchSettings, log: Log) -> float:
    """The smallest loss (points) the selection part can certify, said before the search
    trains; when it exceeds the loss budget, one line says what would work (the search still
    runs: its front holds the uncertified alternative, see ``docs/selection.md``)."""
    least = min_certifiable_loss(ref.n_select, settings.confidence)
    log(f"exact network {'-'.join(map(str, ref.net.topology))}: test "
        f"{100 * ref.test_accuracy:.2f} %; {ref.n_select} selection samples judge the loss "
        f"(they can certify {round_up(least):.2f} points at best)")
    advice = None if settings.power_first else \
        uncertifiable_advice(ref.n_select, settings.max_loss, settings.confidence)
    if advice:
        log(advice)
    return least


@dataclass(frozen=True)
class Judged:
    """Every candidate's paired loss on the selection part, the loss-first certification
    (None under power-first, which judges verified designs), and why the exact network was
    added (or None)."""

    losses: list[PairedLoss]
    certified: Certified | None
    fallback: str | None


def judge(found: Retrained, ref: Reference, settings: SearchSettings, exact_cost: float,
          log: Log, *, fallback_net: Callable[[], Network],
          exact_fits_budget: bool = False) -> Judged:
    """Measure every candidate on the selection part and, loss-first, certify along the
    order fixed on the validation part. When no design is certified (loss-first), the
    network of ``fallback_net()`` (``run --exact``'s, :func:`train_exact_run`) joins
    ``found`` (round 0) with loss 0; so does the search's exact network under power-first
    when it fits the budget."""
    select = ref.parts["select"]
    exact_pred = predict_codes(ref.net, select[0])
    losses = [paired_loss(exact_pred, predict_codes(n, select[0]), select[1],
                          settings.confidence) for n in found.nets]
    exact_loss = PairedLoss(len(select[1]), 0, 0, settings.confidence, exact=True)
    if settings.power_first:
        if exact_fits_budget:
            found.add(ref.net, ApproxConfig(), exact_loss, exact_cost, 0)
            losses.append(exact_loss)
        return Judged(losses, None, None)
    order = judging_order(found.screen, found.area, settings.max_loss)
    certified = certify(losses, order, settings.max_loss, settings.confidence)
    log(f"{len(found.nets)} candidates, {certified.n_judged} judged on the selection part "
        f"(order fixed on the validation part), {len(certified.certified)} certified within "
        f"{counted(settings.max_loss, 'point')} at {100 * settings.confidence:g} % "
        "for the whole run")
    if certified.certified:
        return Judged(losses, certified, None)
    # Testing stopped at the first design of the order (fixed-sequence testing).
    first = (f"; the first judged was bounded at {round_up(losses[order[0]].upper_bound):.2f}"
             if order else "; none was within it on the validation part")
    fallback = ("exact network, as run --exact trains it (no design certified within "
                f"{counted(settings.max_loss, 'point')}{first})")
    log(fallback)
    found.add(fallback_net(), ApproxConfig(), exact_loss, exact_cost, 0)
    losses.append(exact_loss)
    i = len(losses) - 1
    return Judged(losses, Certified(certified.procedure, certified.judged, (i,),
                                    {**certified.bounds, i: 0.0}), fallback)


@dataclass(frozen=True)
class Front:
    """The verified designs: their indices in the candidates, implementations and
    ``pareto.json`` entries (same order, by estimated cost)."""

    picks: list[int]
    verified: list[Implementation]
    points: list[dict[str, Any]]


def verification_picks(found: Retrained, judged: Judged, settings: SearchSettings,
                       areas: list[float]) -> list[int]:
    """The candidates to implement: ``settings.n_verify`` of the front, every tiny design and
    the exact network if it joined.

    Loss-first, half of the front's picks are the smallest certified designs, the rest
    spread over the front. Power-first, all of them go to the designs estimated within
    :data:`~._settings.BUDGET_MARGIN` times the budget (half the most accurate on the
    validation part, the rest spread over them), the front filling what they leave: the most
    accurate design under the budget is then implemented, not only estimated. Power-first
    picks read no selection data, so that the designs it judges are fixed before it is
    read."""
    rest = [i for i, tiny in enumerate(found.tiny) if not tiny and found.rounds[i] > 0]
    k = settings.n_verify
    if settings.power_first:
        limit = settings.estimate_limit()
        near = [i for i in rest if limit is None or found.area[i] <= limit]
        est = [found.screen[i].estimate for i in near]
        order = sorted(range(len(near)), key=lambda j: (est[j], areas[near[j]], j))
        chosen = {near[j] for j in pick_for_verification(est, [areas[i] for i in near],
                                                         order, k)}
        bound = [found.screen[i].estimate for i in rest]
        preferred, k = [], k - len(chosen)
    else:
        chosen = set()
        bound = [judged.losses[i].upper_bound for i in rest]
        ok = set(judged.certified.certified)
        preferred = sorted((j for j, i in enumerate(rest) if i in ok),
                           key=lambda j: (areas[rest[j]], j))
    others = [j for j, i in enumerate(rest) if i not in chosen]
    chosen |= {rest[others[j]] for j in pick_for_verification(
        [bound[j] for j in others], [areas[rest[j]] for j in others],
        [others.index(j) for j in preferred if j in others], k)} if k > 0 else set()
    chosen |= {i for i, tiny in enumerate(found.tiny) if tiny or found.rounds[i] == 0}
    return sorted(chosen, key=lambda i: (areas[i], i))


def verify_front(found: Retrained, judged: Judged, picks: list[int], test: tuple, *,
                 exact_test: float, work_dir: Path, **implement_kw: Any) -> Front:
    """Implement the picked candidates on the test vectors (:func:`implement_many`,
    ``implement_kw``) and make their ``pareto.json`` entries."""
    verified = implement_many([found.nets[i] for i in picks], *test, work_dir=work_dir,
                              **implement_kw)
    points = [{**point_entry(impl, found.configs[i], judged.losses[i], exact_test),
               "validation": found.screen[i].to_dict(),
               "search_round": found.rounds[i], "tiny": found.tiny[i]}
              for impl, i in zip(verified, picks)]
    return Front(picks, verified, points)


@dataclass(frozen=True)
class Choice:
    """The selection: the chosen index into the front's points (or None), the rule, the
    certification it rests on, and the best uncertified alternative (an index, or None)."""

    chosen: int | None
    rule: str
    certified: Certified
    alternative: int | None


def choose(front: Front, judged: Judged, settings: SearchSettings, screen: list[PairedLoss],
           log: Log) -> Choice:
    """Select among the verified designs by ``settings.rule``."""
    pts = front.points
    power = [p["system_power_mw"] for p in pts]
    fast = [settings.max_latency_s is None or p["latency_s"] <= settings.max_latency_s
            for p in pts]
    if settings.power_first:
        # Too slow a design is out of the family, as one over the budget.
        cert = power_first([judged.losses[i] for i in front.picks],
                           [pw if ok else np.inf for pw, ok in zip(power, fast)],
                           [screen[i] for i in front.picks], settings.budget_mw,
                           settings.confidence)
        # Back from positions in the front to candidate indices, as loss-first's.
        at = front.picks
        cert = Certified(cert.procedure, tuple(at[k] for k in cert.judged),
                         tuple(at[k] for k in cert.certified),
                         {at[k]: b for k, b in cert.bounds.items()})
        chosen = at.index(cert.certified[0]) if cert.certified else None
        return Choice(chosen, POWER_FIRST, cert, None)
    cert = judged.certified
    ok = set(cert.certified)
    bound = [judged.losses[i].upper_bound if i in ok else np.inf for i in front.picks]
    key = {"system-power": "system_power_mw", "power": "power_mw",
           "area": "area_cm2"}[settings.objective]
    chosen = select_design(bound, power, [p["area_cm2"] for p in pts], settings.max_loss,
                           settings.budget_mw, key=[p[key] for p in pts],
                           latency_s=[p["latency_s"] for p in pts],
                           max_latency_s=settings.max_latency_s)
    return Choice(chosen, LOSS_FIRST, cert, alternative(front, judged, chosen, settings))


def alternative(front: Front, judged: Judged, chosen: int | None,
                settings: SearchSettings) -> int | None:
    """The lowest-power verified design, not selected and of lower system power than the
    selected one, whose estimated loss on the selection part is within the budget (or
    None): a design the user may implement, uncertified."""
    pts = front.points
    top = np.inf if chosen is None else pts[chosen]["system_power_mw"]
    ok = [k for k, i in enumerate(front.picks) if k != chosen
          and judged.losses[i].estimate <= settings.max_loss + 1e-9
          and pts[k]["system_power_mw"] < top
          and (settings.budget_mw is None or pts[k]["system_power_mw"] <= settings.budget_mw)]
    return min(ok, key=lambda k: (pts[k]["system_power_mw"], k), default=None)


def point_entry(impl: Implementation, config: ApproxConfig, loss: PairedLoss,
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
            "simulator": m["verification"]["simulator"],
            "activity": m["technology"]["activity"], "topology": list(impl.network.topology),
            "configuration": config.to_dict(), "network": impl.network.to_dict()}
