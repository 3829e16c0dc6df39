"""Greedy growth of tiny designs: per-feature input bits added one at a time, each step
keeping the retrained candidate that agrees most with the targets on the validation part."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..ir import Network, predict_codes

__all__ = ["GROW_MAX_BITS", "Backfill", "grow_tiny", "worth_verifying"]

#: Input bits in all (the sum over features) that the growth stops at. Measured (default
#: run, 2 x 3-bit tiny design's loss bound 1.16 points on White Wine's 1029 selection
#: samples): the grown path reached bound 0.11 at 10 bits (4 features at 4/3/1/2 bits,
#: test loss 0.61); Red Wine and Cardio stayed above 1.7 and 5.1 points up to 20 bits.
GROW_MAX_BITS = 12

#: ``fit(precisions)``: the base network retrained at each per-feature precision, in order.
Fit = Callable[[list[tuple[int, ...]]], list[Network]]


def grow_tiny(net: Network, importance: np.ndarray, fit: Fit,
              val: tuple[np.ndarray, np.ndarray], *,
              max_bits: int = GROW_MAX_BITS) -> list[tuple[tuple[int, ...], Network]]:
    """The designs of a greedy growth from nothing, each a per-feature precision of ``net``
    and its retrained network.

    Each step adds one input bit: to a feature already read (up to ``net.input_bits``), or
    the most important feature not yet read (``importance``; only features ``net`` reads) at
    one bit. Of these candidates, retrained by ``fit``, the step keeps the one whose
    predictions on ``val`` (codes, targets: the validation part, never the selection part)
    agree most often with the targets; ties go to the fewer added comparators (a flash ADC of
    ``b`` bits has ``2**b - 1``), then the more important feature. The growth stops at
    ``max_bits`` input bits or full agreement.

    Returns the steps whose agreement exceeds every earlier step's, in order (cost rises
    along the path: a step that gains nothing on ``val`` is no design to offer).
    """
    if max_bits < 1:
        raise ValueError(f"max_bits must be >= 1, got {max_bits!r}")
    codes, targets = val
    read = np.array(net.feature_resolution) > 0
    order = [int(i) for i in np.argsort(-np.asarray(importance), kind="stable") if read[i]]
    bits = [0] * net.n_features
    path: list[tuple[tuple[int, ...], Network]] = []
    best = -1.0
    while sum(bits) < max_bits:
        used = [i for i in order if bits[i]]
        unused = [i for i in order if not bits[i]][:1]
        grown = [i for i in used if bits[i] < net.input_bits] + unused
        if not grown:
            break
        candidates = [_plus_one(bits, i) for i in grown]
        nets = fit(candidates)
        agree = [float(np.mean(predict_codes(n, codes) == targets)) for n in nets]
        # The added comparators: 2**(b-1) for a feature going from b-1 to b bits.
        k = min(range(len(grown)),
                key=lambda j: (-agree[j], 1 << bits[grown[j]], order.index(grown[j])))
        bits = list(candidates[k])
        if agree[k] > best:
            path.append((candidates[k], nets[k]))
            best = agree[k]
        if best >= 1.0:
            break
    return path


class Backfill:
    """A :data:`Fit` for :func:`grow_tiny` that retrains each precision once and fills the
    workers its steps leave idle with precisions from a backlog (the fixed tiny designs).

    A growth step of ``c`` candidates on ``workers`` workers leaves ``-c % workers`` of them
    idle at its end; the step takes as many backlog precisions along. A candidate retrained
    before (a backlog one, e.g. the most important feature at 1 bit) is not retrained again:
    retraining is deterministic, so the networks are those of retraining each precision on
    its own. Measured on Pendigits (2 workers, load 2): the 7 fixed tiny designs and the
    growth took 31.4-32.8 s one after the other, 25.3-26.6 s backfilled.
    """

    def __init__(self, fit: Fit, workers: int, backlog: Sequence[tuple[int, ...]]):
        self._fit, self._workers = fit, workers
        self._backlog = list(dict.fromkeys(backlog))
        self._done: dict[tuple[int, ...], Network] = {}

    @property
    def pending(self) -> list[tuple[int, ...]]:
        """The backlog precisions not retrained yet, in backlog order."""
        return list(self._backlog)

    def add(self, precisions: Sequence[tuple[int, ...]], nets: Sequence[Network]) -> None:
        """Record ``nets``, the networks of ``precisions`` retrained elsewhere."""
        self._done.update(zip(precisions, nets, strict=True))
        self._backlog = [p for p in self._backlog if p not in self._done]

    def __call__(self, precisions: list[tuple[int, ...]]) -> list[Network]:
        new = [p for p in dict.fromkeys(precisions) if p not in self._done]
        rest = [p for p in self._backlog if p not in new]
        extra = rest[:-len(new) % self._workers] if new else []
        batch = new + extra
        self.add(batch, self._fit(batch) if batch else [])
        return [self._done[p] for p in precisions]

    def __getitem__(self, precision: tuple[int, ...]) -> Network:
        return self._done[precision]


def worth_verifying(bounds: Sequence[float], max_loss: float, slack: float) -> list[int]:
    """Indices of the grown designs (in path order, so in rising cost) worth verifying, given
    their losses on the validation part (``bounds``; the selection part is read only after
    the designs it judges are fixed): those within ``max_loss + slack`` points whose loss
    is below every earlier kept one's, up to the first within ``max_loss`` (a later one
    costs more, and the selection takes the cheapest within the budget).

    Each verified design costs seconds of synthesis and simulation; the designs of
    :data:`~._rounds.TINY_SHAPES` already make the small end of the front. Measured on White
    Wine (default run, load 3-5.5): all 9 grown designs verified (22 in all) took 398 s, the
    4 kept here (17 in all) 227 s.
    """
    kept: list[int] = []
    for i, b in enumerate(bounds):
        if b <= max_loss + slack + 1e-9 and (not kept or b < bounds[kept[-1]]):
            kept.append(i)
            if b <= max_loss + 1e-9:
                break
    return kept


def _plus_one(bits: Sequence[int], i: int) -> tuple[int, ...]:
    out = list(bits)
    out[i] += 1
    return tuple(out)
