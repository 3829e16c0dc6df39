"""Multi-objective search with pymoo's NSGA-II: validation error vs estimated area, under an
accuracy-loss constraint."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from .._util import read_json, write_json
from ..errors import UsageError
from ..parallel import Executor, SerialExecutor
from ._cost import AREA, CostModel, Objective
from ._fingerprint import check_fingerprint
from ._genome import SearchSpace

__all__ = ["SearchResult", "Progress", "run_search"]

_CHECKPOINT_FORMAT = "bespoke-mlp/search-checkpoint"
#: Candidates × samples below which a generation is scored in-process: sending it to workers
#: costs more than it saves (measured: Cardio's 100 × 1 190 ran 0.8× on 2 processes,
#: Pendigits' 100 × 6 155 ran 1.45×).
_MIN_PARALLEL_WORK = 250_000


@dataclass(frozen=True)
class Progress:
    """Reported after every generation (with the surviving population's genomes)."""

    generation: int
    generations: int
    evaluations: int
    best_feasible_area_cm2: float | None
    elapsed_s: float
    population: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64),
                                   repr=False, compare=False)


@dataclass(frozen=True)
class SearchResult:
    """The feasible non-dominated candidates of the final population, sorted by the cost
    objective (``area_cm2`` holds its value: cm² for ``area``, mW for the power objectives)."""

    genomes: np.ndarray
    val_accuracy: np.ndarray
    area_cm2: np.ndarray
    evaluations: int
    generations: int
    runtime_s: float
    history: tuple[Progress, ...] = field(default=())


def _score(shared: tuple[SearchSpace, CostModel, np.ndarray, np.ndarray, int, Objective],
           x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy on ``codes`` and estimated cost objective of integer genomes, ``batch`` at a
    time (the work unit that executors run)."""
    space, cost, codes, y, batch, objective = shared
    acc, area = [], []
    for start in range(0, len(x), batch):
        d = space.decode(x[start:start + batch])
        pred = space.predict(d, codes)
        acc.append((pred == y[None, :]).mean(axis=1))
        area.append(objective.values(cost, cost.features(d), space.adc_comparators(d)))
    return np.concatenate(acc), np.concatenate(area)


class _Problem(Problem):
    def __init__(self, space: SearchSpace, cost: CostModel, codes: np.ndarray, y: np.ndarray,
                 min_accuracy: float, batch: int, executor: Executor | None,
                 objective: Objective):
        super().__init__(n_var=space.n_genes, n_obj=2, n_ieq_constr=1,
                         xl=space.lower.astype(float), xu=space.upper.astype(float), vtype=int)
        self.shared = (space, cost, codes, y, batch, objective)
        self.min_accuracy = min_accuracy
        self.executor = executor
        self.evaluations = 0
        # Scores of the last generations' genomes: NSGA-II re-ranks its survivors, whose
        # scores are already known (and cannot change: evaluation is deterministic).
        self._known: dict[bytes, tuple[float, float]] = {}

    def evaluate_genomes(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accuracy and estimated area of integer genomes."""
        if len(self._known) > 20 * len(x):
            self._known.clear()
        keys = [row.tobytes() for row in x]
        new = sorted({k: i for i, k in enumerate(keys) if k not in self._known}.values())
        if new:
            todo = x[new]
            codes = self.shared[2]
            if (self.executor is None or isinstance(self.executor, SerialExecutor)
                    or len(todo) * len(codes) < _MIN_PARALLEL_WORK):
                acc, area = _score(self.shared, todo)
            else:
                chunks = np.array_split(todo, min(self.executor.n_workers, len(todo)))
                done = self.executor.map(_score, chunks, shared=self.shared)
                acc = np.concatenate([a for a, _ in done])
                area = np.concatenate([b for _, b in done])
            self._known.update((keys[i], (float(a), float(b)))
                               for i, a, b in zip(new, acc, area))
            self.evaluations += len(new)
        scores = np.array([self._known[k] for k in keys]).reshape(len(x), 2)
        return scores[:, 0], scores[:, 1]

    def _evaluate(self, x, out, *args, **kwargs):
        acc, area = self.evaluate_genomes(np.rint(x).astype(np.int64))
        out["F"] = np.stack([1.0 - acc, area], axis=1)
        out["G"] = (self.min_accuracy - acc)[:, None]


def _initial_population(space: SearchSpace, size: int, rng: np.random.Generator) -> np.ndarray:
    """The seeds, then mutants of the seeds other than the narrow ones (each gene redrawn
    with a small probability). Narrow seeds (top-k features) enter unmutated: their mutants
    crowded out the others (Cardio: ≤1 % design 4.69 instead of 3.95 cm²)."""
    seeds = space.seeds()
    out = [seeds]
    n = max(0, size - len(seeds))  # a small population keeps the first seeds only
    wide = seeds[:len(seeds) - 2 * len(space.narrow_sizes())]
    base = wide[rng.integers(0, len(wide), n)]
    redraw = rng.random(base.shape) < rng.uniform(0.02, 0.3, (n, 1))
    fresh = rng.integers(space.lower, space.upper + 1, base.shape)
    out.append(np.where(redraw, fresh, base))
    return np.concatenate(out)[:size]


def _checkpoint(path: Path, seed: int, generation: int, x: np.ndarray, evaluations: int,
                elapsed: float, fingerprint: dict | None) -> None:
    tmp = path.with_suffix(".tmp")
    # Compact JSON: it is rewritten every generation, and indented text goes through Python's
    # slow encoder (a population of 3 000 genes: 160 ms instead of 40 ms per generation).
    write_json(tmp, {"format": _CHECKPOINT_FORMAT, "seed": seed, "generation": generation,
                     "population": x.tolist(), "evaluations": evaluations,
                     "elapsed_s": elapsed, "fingerprint": fingerprint}, indent=None)
    tmp.replace(path)


def _load_checkpoint(path: Path, space: SearchSpace, seed: int, pop_size: int,
                     generations: int, fingerprint: dict | None) -> tuple[np.ndarray, int, float,
                                                                          int]:
    """Population, generation, elapsed seconds and evaluations of a checkpoint, after checking
    it belongs to this search; a damaged or foreign one raises a one-line UsageError."""
    where = str(path)
    try:
        state = read_json(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"checkpoint {where!r} is damaged ({exc}); delete it or run "
                         "without --resume") from None
    if not isinstance(state, dict) or state.get("format") != _CHECKPOINT_FORMAT \
            or state.get("seed") != seed:
        raise UsageError(f"checkpoint {where!r} belongs to another search")
    if fingerprint is not None:
        check_fingerprint(state.get("fingerprint"), fingerprint, where)
    try:
        x = np.array(state["population"], dtype=np.int64)
        gen, elapsed, evals = (int(state["generation"]), float(state["elapsed_s"]),
                               int(state["evaluations"]))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise UsageError(f"checkpoint {where!r} is damaged ({exc}); delete it or run "
                         "without --resume") from None
    if (x.shape != (pop_size, space.n_genes) or (x < space.lower).any()
            or (x > space.upper).any() or not 0 <= gen <= generations):
        raise UsageError(f"checkpoint {where!r} does not fit this search (population of shape "
                         f"{x.shape!r}, generation {gen!r}); delete it or run without --resume")
    return x, gen, elapsed, evals


def run_search(space: SearchSpace, cost: CostModel, codes_val: np.ndarray, y_val: np.ndarray,
               *, min_accuracy: float, pop_size: int = 100, generations: int = 60, seed: int = 0,
               batch: int = 100, checkpoint: Path | None = None, resume: bool = False,
               progress: Callable[[Progress], None] | None = None,
               executor: Executor | None = None,
               fingerprint: dict | None = None,
               objective: Objective = AREA) -> SearchResult:
    """Run NSGA-II over ``space``.

    Objectives: validation error (golden model) and the estimated ``objective`` (``cost``,
    plus the ADCs for ``system-power``); constraint:
    validation accuracy ``>= min_accuracy``. Each generation restarts NSGA-II from the
    surviving population with a seed derived from ``(seed, generation)``, so a run resumed from
    a ``checkpoint`` (written after every generation) reaches the same result as an
    uninterrupted one. ``fingerprint`` (:func:`search_fingerprint`) is stored in the
    checkpoint; resuming from one with another fingerprint raises a UsageError naming what
    differs.
    """
    if pop_size < 8 or generations < 0:
        raise UsageError(f"need pop_size >= 8 and generations >= 0, got {pop_size!r}, "
                         f"{generations!r}")
    problem = _Problem(space, cost, codes_val, np.asarray(y_val), min_accuracy, batch, executor,
                       objective)
    start = time.perf_counter()
    first, elapsed0, evals0 = 0, 0.0, 0
    if resume and checkpoint is not None and checkpoint.exists():
        x, first, elapsed0, evals0 = _load_checkpoint(checkpoint, space, seed, pop_size,
                                                      generations, fingerprint)
        problem.evaluate_genomes(x)  # scored before the interruption: not counted again
    else:
        x = _initial_population(space, pop_size, np.random.default_rng([seed, 0]))
    history = []
    problem.evaluations = evals0
    for gen in range(first, generations):
        algorithm = NSGA2(
            pop_size=pop_size, sampling=x.astype(float),
            crossover=SBX(prob=0.9, eta=3.0, vtype=float, repair=RoundingRepair()),
            mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
            eliminate_duplicates=True,
        )
        algorithm.setup(problem, termination=("n_gen", 2), seed=_generation_seed(seed, gen),
                        verbose=False)
        algorithm.next()  # evaluate and rank the survivors
        algorithm.next()  # one generation: mating, evaluation, survival
        x = np.rint(algorithm.pop.get("X")).astype(np.int64)
        feasible = algorithm.pop.get("G")[:, 0] <= 0
        area = algorithm.pop.get("F")[:, 1]
        elapsed = elapsed0 + time.perf_counter() - start
        p = Progress(gen + 1, generations, problem.evaluations,
                     float(area[feasible].min()) if feasible.any() else None, elapsed, x)
        history.append(replace(p, population=np.zeros((0, 0), np.int64)))
        if checkpoint is not None:
            _checkpoint(checkpoint, seed, gen + 1, x, problem.evaluations, elapsed, fingerprint)
        if progress is not None:
            progress(p)
    acc, area = problem.evaluate_genomes(x)
    keep = acc >= min_accuracy
    x, acc, area = x[keep], acc[keep], area[keep]
    if len(x):
        front = NonDominatedSorting().do(np.stack([1.0 - acc, area], axis=1),
                                         only_non_dominated_front=True)
        x, acc, area = x[front], acc[front], area[front]
        # Genomes that differ only in genes without effect score alike: keep one of each.
        _, first_idx = np.unique(np.stack([acc, area], axis=1), axis=0, return_index=True)
        x, acc, area = x[first_idx], acc[first_idx], area[first_idx]
        order = np.lexsort((-acc, area))
        x, acc, area = x[order], acc[order], area[order]
    return SearchResult(x, acc, area, problem.evaluations, generations,
                        elapsed0 + time.perf_counter() - start, tuple(history))


def _generation_seed(seed: int, generation: int) -> int:
    return int(np.random.default_rng([seed, generation + 1]).integers(2**31 - 1))
