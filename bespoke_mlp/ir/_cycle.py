"""The folded (sequential) schedule of a :class:`Network` and its cycle-accurate golden model.

A sequential classifier computes ``lanes`` neuron inputs per clock cycle on one shared
multiply-accumulate unit (the fold factor: one lane folds the most). Cycle ``s`` of an inference
executes step ``s`` of the schedule:

* ``sum = base + sum_l sum_b operand_l[b] * coef[s][l][b]``, where ``operand_l`` is lane ``l``'s
  source (input code ``i`` of layer 0, or hidden activation ``i`` of the previous layer) and
  ``coef[s][l][b]`` is the integer weight of its bit ``b`` in the neuron's linear form
  (coefficient digits, masks and truncation applied, see
  :func:`~bespoke_mlp.ir.layer_linear_form`); ``base`` is the neuron's
  constant on its first step, else the accumulator register. The accumulator register takes
  ``sum`` (``acc_bits`` wide, two's complement: exact, since every neuron's final value and
  range fit).
* In the cycle after a neuron's last step (the accumulator then holds its sum): a hidden
  neuron's ReLU window of the accumulator is written to the neuron's activation register; for
  an output neuron, ``v = acc >> argmax_shift`` replaces the running maximum (and the class
  register takes the neuron's index) if it is the first output neuron or ``v`` is strictly
  greater, so the lowest index wins ties. So the comparison and the windows are off the
  accumulator's path, and the last output neuron's update takes one more (drain) cycle:
  ``cycles = len(steps) + 1``.

Connections that contribute nothing (zero coefficient or mask, or fully truncated) get no lane;
a neuron's inputs are spread over the lanes by index (input ``i`` preferably on lane
``i % lanes``, so that each lane's operand multiplexer sees few sources, and at step
``i // lanes`` where that takes no more steps, so that the selects follow the counter), its
steps fill unused lanes with zero coefficients, and a neuron with no connection keeps one step
of zero coefficients. The first step of a layer never reads the activation the previous layer
writes in that cycle (its last neuron's): that source is read last, after an idle first step
if need be. After the drain cycle the class register holds the prediction, and the counter wraps
to the next inference.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._golden import accumulator_range, layer_linear_form, signed_width
from ._network import Network
from ._scale import normalize

__all__ = ["SEQUENTIAL_CM2", "SEQUENTIAL_COST_FEATURES", "Step", "Schedule", "cycle_predict",
           "schedule", "sequential_area_cm2"]


@dataclass(frozen=True)
class Step:
    """One clock cycle of the folded datapath.

    ``sources[l]`` is lane ``l``'s operand: input code ``sources[l]`` for layer 0, else
    activation ``sources[l]`` of layer ``layer - 1``. ``coefs[l][b]`` multiplies that operand's
    bit ``b``. ``constant`` is the neuron's constant (used on its first step). ``weights[l]`` is
    lane ``l``'s coefficient before masks and truncation (0 for an idle lane): ``coefs[l][b]``
    is ``weights[l] << b`` unless the bit is masked or truncation drops some of its digits.
    """

    layer: int
    neuron: int
    sources: tuple[int, ...]
    coefs: tuple[tuple[int, ...], ...]
    constant: int
    first: bool
    last: bool
    weights: tuple[int, ...] = ()


@dataclass(frozen=True)
class Schedule:
    """The steps of one inference and the register widths they need."""

    net: Network
    steps: tuple[Step, ...]
    acc_bits: int
    operand_bits: int
    lanes: int = 1

    @property
    def cycles(self) -> int:
        """Clock cycles per inference: the steps and the drain cycle."""
        return len(self.steps) + 1

    @cached_property
    def output_bits(self) -> int:
        """Width of the output neurons' accumulators (the argmax compares their top part)."""
        out = self.net.layers[-1]
        return max(signed_width(*accumulator_range(out, j)) for j in range(out.n_out))

    @property
    def best_bits(self) -> int:
        """Width of the running-maximum register: ``acc >> argmax_shift`` of an output."""
        return max(1, self.output_bits - self.net.argmax_shift)

    @property
    def class_bits(self) -> int:
        return max(1, (self.net.n_classes - 1).bit_length())

    @property
    def activation_bits(self) -> int:
        """Bits of the hidden activations kept for the next layer."""
        return sum(w.bits for layer in self.net.layers[:-1] for w in layer.activation or ())

    @property
    def loop_bits(self) -> int:
        """Bits of the registers read in the cycle they are written: counter and accumulator
        (flip-flops in hardware)."""
        return max(1, (self.cycles - 1).bit_length()) + self.acc_bits

    @property
    def latch_bits(self) -> int:
        """Bits of the registers written on one clock phase (latches in hardware): the
        activations, the running maximum, the class and the comparison's result."""
        return self.activation_bits + self.best_bits + self.class_bits + 1

    @property
    def state_bits(self) -> int:
        """Register bits: counter, accumulator, activations, running maximum, class and
        comparison."""
        return self.loop_bits + self.latch_bits

    def cost_features(self) -> tuple[int, ...]:
        """The hardware features of :data:`SEQUENTIAL_COST_FEATURES`, from the schedule alone.

        Adder-tree bits: the accumulator plus, per lane and operand bit, the width of the
        largest coefficient that bit is gated with (what the datapath's rows hold). Operand
        multiplexer bits: per lane, one 2-way selection per source beyond the first, times the
        operand width. Control bits: per lane, its operand select and the coefficient words
        of its bits (at the weight's width), plus the start constant, times the cycles (the
        constant logic indexed by the counter).
        """
        tree = self.acc_bits
        mux = control = 0
        for lane in range(self.lanes):
            coefs = [s.coefs[lane] for s in self.steps]
            for b in range(self.operand_bits):
                top = max(abs(c[b]) >> b for c in coefs)
                tree += top.bit_length() + (1 if top else 0)
            sources = {(s.layer, s.sources[lane]) for s in self.steps}
            mux += (len(sources) - 1) * self.operand_bits
            weights = max(abs(w) for s in self.steps for w in s.weights[lane:lane + 1] or (0,))
            control += max(1, (len(sources) - 1).bit_length()) + weights.bit_length() + 1
        control = (control + self.acc_bits) * self.cycles
        return (self.loop_bits, self.latch_bits, tree, mux, control)


#: Features of the sequential area estimate: flip-flop bits, latch bits, adder-tree input
#: bits, operand-multiplexer bits and control bits x cycles (see
#: :meth:`Schedule.cost_features`).
SEQUENTIAL_COST_FEATURES = ("flip_flops", "latches", "tree_bits", "mux_bits", "control_bits")

#: cm² per feature: the EGFET registers' own areas (DFFNRX1, DFFX1), the rest fitted by
#: non-negative least squares on the eight synthesized Cardio and Pendigits designs of 1-4
#: lanes (``benchmarks/sequential.py --fit``, EGFET 1.0 V, normal effort; largest error
#: 0.52 cm², see ``benchmarks/results/sequential.md``).
SEQUENTIAL_CM2 = (0.02776032, 0.01413984, 0.0238, 0.00165, 0.00107)


def sequential_area_cm2(sched: Schedule) -> float:
    """Estimated area (cm², EGFET) of the sequential classifier of ``sched``: the search's
    ranking of sequential candidates (their measured area is what the flow reports)."""
    return float(sum(c * f for c, f in zip(SEQUENTIAL_CM2, sched.cost_features())))


def _lane_groups(sources: list[int], lanes: int,
                 last_read: int | None) -> list[list[int | None]]:
    """``sources`` spread over ``lanes`` lanes in as few steps as possible: per step, the
    source each lane reads (None: idle).

    Source ``i`` goes to step ``i // lanes`` of lane ``i % lanes`` if that takes no more steps
    (the operand selects then follow the counter: measured 1.3 % smaller on a Pendigits
    design); else it goes to lane ``i % lanes`` where that lane has room and the rest fill
    the lanes with room. ``last_read`` (if any) comes last in its lane.
    """
    n_steps = max(1, -(-len(sources) // lanes))
    if sources and max(sources) // lanes < n_steps:
        groups: list[list[int | None]] = [[None] * lanes for _ in range(n_steps)]
        for i in sources:
            groups[i // lanes][i % lanes] = i
        return groups  # ``last_read``, the highest index, is in the last step
    queues: list[list[int]] = [[] for _ in range(lanes)]
    spill = []
    for i in sources:
        (queues[i % lanes] if len(queues[i % lanes]) < n_steps else spill).append(i)
    for q in queues:
        while spill and len(q) < n_steps:
            q.append(spill.pop(0))
    for q in queues:
        if last_read in q:
            q.remove(last_read)
            q.append(last_read)
    return [[q[n] if n < len(q) else None for q in queues] for n in range(n_steps)]


def schedule(net: Network, lanes: int = 1) -> Schedule:
    """The folded schedule of ``net``: layer by layer, neuron by neuron, ``lanes`` inputs at a
    time. It executes :func:`~bespoke_mlp.ir.normalize` of ``net`` (the same predictions, with
    each neuron's common power-of-two factor divided out), which is its ``net``."""
    if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
        raise ValueError(f"lanes must be an int >= 1, not {lanes!r}")
    net = normalize(net)
    acc_bits = 1
    operand_bits = max(max(net.input_widths(k)) for k in range(len(net.layers)))
    pad = (0,) * operand_bits
    forms, plan = [], []
    for k, layer in enumerate(net.layers):
        width = max(net.input_widths(k))
        coef, const = layer_linear_form(layer, width)  # coef: (n_in * width, n_out)
        coef = coef.reshape(layer.n_in, width, layer.n_out)
        forms.append((coef, const, width))
        for j in range(layer.n_out):
            acc_bits = max(acc_bits, signed_width(*accumulator_range(layer, j)))
            sources = [i for i in range(layer.n_in) if coef[i, :, j].any()]
            # The previous layer's last neuron is written during this layer's first step.
            last_read = net.layers[k - 1].n_out - 1 if k and j == 0 else None
            groups = _lane_groups(sources, lanes, last_read)
            if last_read is not None and last_read in groups[0]:
                groups.insert(0, [None] * lanes)
            plan.append((k, j, groups))
    # An idle slot reads a source its lane's multiplexer has anyway (zero coefficients), not
    # the activation written in the layer's first step: its position's source where it can
    # (so that the selects keep following the counter), else the lane's first of the layer.
    read = [{(k, g[lane]) for k, _, groups in plan for g in groups} for lane in range(lanes)]
    lasts = [layer.n_in - 1 if k else None for k, layer in enumerate(net.layers)]
    fallbacks = [[min((i for kk, i in read[lane] if kk == k and i not in (None, last)),
                      default=lane % layer.n_in if lane % layer.n_in != last else 0)
                  for lane in range(lanes)]
                 for k, (layer, last) in enumerate(zip(net.layers, lasts))]
    steps: list[Step] = []
    for k, j, groups in plan:
        layer, last, fallback = net.layers[k], lasts[k], fallbacks[k]
        coef, const, width = forms[k]
        for n, group in enumerate(groups):
            coefs = tuple(pad if i is None else tuple(int(c) for c in coef[i, :, j])
                          + pad[width:] for i in group)
            weights = tuple(0 if i is None else layer.weights[j][i] for i in group)
            slots = [n * lanes + lane for lane in range(lanes)]
            srcs = tuple(
                i if i is not None
                else slots[lane] if slots[lane] != last and (k, slots[lane]) in read[lane]
                else fallback[lane] for lane, i in enumerate(group))
            steps.append(Step(k, j, srcs, coefs, int(const[j]), n == 0,
                              n == len(groups) - 1, weights))
    return Schedule(net, tuple(steps), acc_bits, operand_bits, lanes)


def _wrap(v: np.ndarray, bits: int) -> np.ndarray:
    """``v`` as a ``bits``-bit two's-complement register holds it."""
    half = 1 << (bits - 1)
    return ((v + half) & ((1 << bits) - 1)) - half


def cycle_predict(sched: Schedule, codes: np.ndarray) -> np.ndarray:
    """Class index per row of input codes, executing ``sched`` cycle by cycle (vectorized over
    the rows) with the registers' widths; must equal :func:`~bespoke_mlp.ir.predict_codes`."""
    net = sched.net
    a = np.asarray(codes, dtype=np.int64)
    if a.ndim != 2 or a.shape[1] != net.n_features:
        raise ValueError(f"expected codes of shape (n, {net.n_features}), got {a.shape!r}")
    n = len(a)
    acc = np.zeros(n, dtype=np.int64)
    acts = [np.zeros((n, layer.n_out), dtype=np.int64) for layer in net.layers[:-1]]
    best = np.zeros(n, dtype=np.int64)
    cls = np.zeros(n, dtype=np.int64)
    bits = np.arange(sched.operand_bits, dtype=np.int64)
    last_layer = len(net.layers) - 1
    ending: Step | None = None  # the neuron whose sum the accumulator holds
    for s in (*sched.steps, None):  # None: the drain cycle
        term = np.zeros(n, dtype=np.int64)
        for source, coefs in zip(s.sources, s.coefs) if s else ():
            operand = a[:, source] if s.layer == 0 else acts[s.layer - 1][:, source]
            term += ((operand[:, None] >> bits) & 1) @ np.array(coefs, dtype=np.int64)
        # The previous step's neuron ends in this cycle, after this step read its operands.
        if ending is not None and ending.layer < last_layer:
            w = net.layers[ending.layer].activation[ending.neuron]
            acts[ending.layer][:, ending.neuron] = np.clip(acc >> w.lsb, 0, (1 << w.bits) - 1)
        elif ending is not None:
            v = acc >> net.argmax_shift
            take = np.ones(n, dtype=bool) if ending.neuron == 0 else v > best
            best = np.where(take, v, best)
            cls = np.where(take, net.output_classes[ending.neuron], cls)
        if s is None:
            break
        base = np.full(n, s.constant, dtype=np.int64) if s.first else acc
        acc = _wrap(base + term, sched.acc_bits)
        ending = s if s.last else None
    return cls
