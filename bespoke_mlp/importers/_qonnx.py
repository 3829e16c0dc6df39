"""QONNX MLPs to the integer network, exactly: no re-quantization.

Real values are tracked as exact fractions. Input ``i`` of a layer is ``unit_i * c_i +
offset_i`` for its integer code ``c_i``; neuron ``j``'s real accumulator is then
``u_j * n_j + B_j`` with ``n_j`` an integer combination of the codes, ``u_j`` the smallest
product of a weight step and an input step (the others must be integer multiples of it) and
``B_j`` the real bias (offsets included).

* A hidden neuron's activation quantizer (step ``s``, rounding ``R``) computes
  ``clip(R((u_j * n_j + B_j) / s), 0, 2**bits - 1)``. When ``u_j / s = m / 2**L`` this is
  ``R((m * n_j + c) / 2**L)`` with ``c = B_j * 2**L / s``, and every rounding of ``(n + c) /
  2**L`` for an integer ``n`` is a floor ``(n + C) >> L`` with an integer ``C`` (e.g. ``floor(c +
  2**(L-1))`` for halves up): the IR's ReLU window with that bias. Round-half-even (QONNX's
  ``ROUND``) equals halves-up unless a tie is reachable, which is checked.
* The output layer's argmax of ``u * n_j + B_j`` equals that of ``n_j + c_j`` (``c_j = B_j /
  u``), ordered by the integer ``n_j + floor(c_j)`` first and the fraction of ``c_j`` second:
  the IR gets ``2**k * (n_j + floor(c_j)) + rank_j``, ``rank_j`` the rank of the fraction.

This is exact in real arithmetic. QONNX executes in float32: the two differ only where float32
rounding of an accumulator (its float bias, mostly) crosses a rounding boundary.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import UsageError
from ..ir import Layer, Network, Window
from ._graph import Chain, Quantizer, Step

__all__ = ["exact_network"]

_WEIGHT_LIMIT = 1 << 13  # the golden model's coefficient range


def _misfit(node: str, why: str) -> UsageError:
    return UsageError(f"QONNX node {node!r} does not fit the integer network: {why}")


def _fractions(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(values, dtype=np.float64), shape)
    return np.array([Fraction(float(v)) for v in arr.reshape(-1)], dtype=object).reshape(shape)


def _input_codes(q: Quantizer, n_features: int) -> tuple[int, np.ndarray, np.ndarray,
                                                          np.ndarray, np.ndarray]:
    """Input bits, per-feature min-max range and the real value ``unit * c + offset`` of a
    code ``c`` under the input quantizer."""
    if q.bipolar:
        raise _misfit(q.node, "a bipolar input has no ADC code (inputs are unsigned codes)")
    if q.qmax - q.qmin != (1 << q.bits) - 1:
        raise _misfit(q.node, f"narrow-range input codes ({q.qmin}..{q.qmax}); the ADC codes "
                              f"use all {q.bits}-bit values")
    if q.bits > 8:
        raise _misfit(q.node, f"{q.bits}-bit inputs; the IR takes at most 8")
    if q.rounding not in ("ROUND", "HALF_EVEN"):
        raise _misfit(q.node, f"input rounding {q.rounding!r}; the ADC rounds to nearest")
    scale = np.broadcast_to(np.asarray(q.scale, dtype=np.float64).reshape(-1), (n_features,))
    zp = np.broadcast_to(np.asarray(q.zero_point, dtype=np.float64).reshape(-1), (n_features,))
    if np.any(scale <= 0) or np.any(zp != np.rint(zp)):
        raise _misfit(q.node, "input scales must be positive and zero points integers")
    lo = (q.qmin - zp) * scale
    hi = (q.qmax - zp) * scale
    unit = _fractions(scale, (n_features,))
    offset = np.array([Fraction(q.qmin - int(z)) * u for z, u in zip(zp, unit)], dtype=object)
    return q.bits, lo, hi, unit, offset


def _window_bits(q: Quantizer, after_relu: bool) -> int:
    """Width of the unsigned activation a quantizer (on a ReLU's output, or acting as one)
    delivers."""
    if q.bipolar:
        raise _misfit(q.node, "bipolar activations (the IR's activations are ReLU windows)")
    if np.any(np.asarray(q.zero_point) != 0):
        raise _misfit(q.node, "activation zero point is not 0")
    if q.qmin > 0 or (q.qmin < 0 and not after_relu):
        raise _misfit(q.node, "signed activations without a ReLU")
    top = q.qmax
    if top & (top + 1):
        raise _misfit(q.node, f"activation range 0..{top} is not a full unsigned range")
    bits = top.bit_length()
    if bits > 16:
        raise _misfit(q.node, f"{bits}-bit activations; the IR windows hold at most 16")
    return bits


def _pow2_log(den: int) -> int | None:
    return den.bit_length() - 1 if den & (den - 1) == 0 else None


def _tie_reachable(weights: list[int], widths: list[int], residue: int, modulus: int) -> bool:
    """Whether ``sum(w_i * a_i) % modulus == residue`` for some ``a_i`` in ``0..2**width_i-1``."""
    reach = np.zeros(modulus, dtype=bool)
    reach[0] = True
    for w, width in zip(weights, widths):
        if w % modulus == 0:
            continue
        step = np.zeros(modulus, dtype=bool)
        for a in range(min(1 << width, modulus)):
            step |= np.roll(reach, (w * a) % modulus)
        reach = step
        if reach.all():
            break
    return bool(reach[residue % modulus])


def _floor_bias(c: Fraction, shift: int, rounding: str, node: str,
                ints: list[int], widths: list[int]) -> int:
    """The integer ``C`` with ``R((n + c) / 2**shift) == (n + C) >> shift`` for every integer
    ``n`` that occurs."""
    m = 1 << shift
    half = Fraction(m, 2)
    if rounding in ("FLOOR", "DOWN"):
        return _floor(c)
    if rounding in ("CEIL", "UP"):
        return -_floor(-c) + m - 1
    if rounding == "HALF_DOWN":
        return -_floor(half - c) + m - 1
    if rounding in ("ROUND", "HALF_EVEN") and (c + half).denominator == 1:
        if _tie_reachable(ints, widths, -int(c + half), m):
            raise _misfit(node, "round-half-even ties occur (the IR rounds halves up); use "
                                "rounding_mode HALF_UP or FLOOR, or a bias off the grid")
    return _floor(c + half)


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def _layer_terms(step: Step, unit: np.ndarray, offset: np.ndarray, bias: np.ndarray
                 ) -> tuple[np.ndarray, list[Fraction | None], list[Fraction]]:
    """Integer weights ``(n_out, n_in)`` in units ``u_j`` and the real biases ``B_j``."""
    if step.ints is None:
        raise _misfit(step.node, "its weights are not quantized (no Quant node on them)")
    ints = step.ints.T.astype(object)
    steps = _fractions(step.unit, step.unit.shape).T
    n_out, n_in = ints.shape
    out = np.zeros((n_out, n_in), dtype=object)
    units: list[Fraction | None] = []
    biases: list[Fraction] = []
    for j in range(n_out):
        real = [steps[j, i] * unit[i] for i in range(n_in)]
        nonzero = [real[i] for i in range(n_in) if ints[j, i]]
        u = min(nonzero) if nonzero else None
        for i in range(n_in):
            if ints[j, i]:
                ratio = real[i] / u
                if ratio.denominator != 1:
                    raise _misfit(step.node, f"neuron {j}: weight and input scales are not "
                                             f"integer multiples of each other ({ratio})")
                out[j, i] = int(ints[j, i]) * ratio.numerator
        units.append(u)
        biases.append(Fraction(float(bias[j])) + sum(
            (int(ints[j, i]) * steps[j, i] * offset[i] for i in range(n_in)), Fraction(0)))
    return out, units, biases


def _hidden(step: Step, terms, act: Quantizer, after_relu: bool, widths: list[int]
            ) -> tuple[Layer, np.ndarray]:
    weights, units, biases = terms
    n_out = weights.shape[0]
    bits = _window_bits(act, after_relu)
    scales = _fractions(np.asarray(act.scale).reshape(-1), (n_out,))
    rows, consts, windows = [], [], []
    for j in range(n_out):
        u = units[j] if units[j] is not None else scales[j]
        ratio = u / scales[j]
        shift = _pow2_log(ratio.denominator)
        if shift is None:
            raise _misfit(act.node, f"neuron {j}: accumulator step / activation step = "
                                    f"{ratio} is not an integer times a power of two")
        row = [int(w) * ratio.numerator for w in weights[j]]
        c = biases[j] * (1 << shift) / scales[j]
        consts.append(_floor_bias(c, shift, act.rounding, act.node, row, widths))
        rows.append(row)
        windows.append(Window(shift, bits))
    return _layer(step, rows, consts, widths, tuple(windows)), scales


def _output(step: Step, terms, binary: bool, widths: list[int]) -> Layer:
    weights, units, biases = terms
    known = [u for u in units if u is not None]
    base = min(known) if known else Fraction(1)
    rows, reals = [], []
    for j in range(weights.shape[0]):
        ratio = Fraction(1) if units[j] is None else units[j] / base
        if ratio.denominator != 1:
            raise _misfit(step.node, f"output {j}: its step is not an integer multiple of the "
                                     f"smallest output step ({ratio})")
        rows.append([int(w) * ratio.numerator for w in weights[j]])
        reals.append(biases[j] / base)
    if binary:
        rows.insert(0, [0] * len(rows[0]))
        reals.insert(0, Fraction(0))
    fracs = sorted({c - _floor(c) for c in reals})
    k = (len(fracs) - 1).bit_length()
    rows = [[w << k for w in row] for row in rows]
    consts = [(_floor(c) << k) + fracs.index(c - _floor(c)) for c in reals]
    return _layer(step, rows, consts, widths, None)


def _layer(step: Step, rows: list[list[int]], consts: list[int], widths: list[int],
           windows: tuple[Window, ...] | None) -> Layer:
    peak = max(abs(w) for row in rows for w in row)
    if peak > _WEIGHT_LIMIT:
        raise _misfit(step.node, f"its integer weights reach {peak} once the scales are "
                                 f"aligned; the IR holds up to ±{_WEIGHT_LIMIT}")
    masks = [[(1 << widths[i]) - 1 for i in range(len(row))] for row in rows]
    return Layer(weights=rows, biases=consts, masks=masks, truncation=[0] * len(rows),
                 activation=windows)


def exact_network(chain: Chain, classes: tuple[Any, ...]) -> Network:
    """The integer network computing exactly what a QONNX chain computes (see the module
    docstring); a part that does not fit raises a one-line
    :class:`~bespoke_mlp.errors.UsageError`."""
    steps = list(chain.steps)
    if not steps or steps[0].kind != "quant":
        first = steps[0] if steps else None
        where = f"node {first.node!r} ({first.op})" if first else "the input"
        raise UsageError(f"QONNX model: {where} comes before any input Quant; the inputs "
                         "must be quantized first")
    input_bits, lo, hi, unit, offset = _input_codes(steps[0].quant, chain.n_features)
    widths = [input_bits] * chain.n_features
    layers: list[Layer] = []
    pos = 1
    while pos < len(steps):
        step = steps[pos]
        if step.kind != "linear":
            raise _misfit(step.node, f"{step.op} where a MatMul/Gemm layer was expected")
        n_out = step.value.shape[1]
        bias = np.zeros(n_out)
        pos += 1
        tail: list[Step] = []
        while pos < len(steps) and steps[pos].kind != "linear":
            if steps[pos].kind == "bias" and not tail:
                bias = bias + steps[pos].value
            else:
                tail.append(steps[pos])
            pos += 1
        terms = _layer_terms(step, unit, offset, bias)
        kinds = [t.kind for t in tail]
        if not tail:
            if pos < len(steps):
                raise _misfit(step.node, "two linear layers without an activation between")
            layers.append(_output(step, terms, chain.binary, widths))
            break
        if kinds == ["relu"]:
            raise _misfit(tail[0].node, "the ReLU output is not quantized")
        if kinds not in (["relu", "quant"], ["quant", "relu"], ["quant"]):
            bad = next((t for t in tail if t.kind not in ("relu", "quant")), tail[-1])
            raise _misfit(bad.node, f"{bad.op} after layer {len(layers)} (expected Relu and "
                                    "one activation Quant)")
        act = tail[kinds.index("quant")].quant
        if pos >= len(steps):
            raise _misfit(act.node, "a quantized output layer (the IR's argmax reads the "
                                    "accumulators)")
        layer, scales = _hidden(step, terms, act, "relu" in kinds, widths)
        layers.append(layer)
        widths = [w.bits for w in layer.activation]
        unit = scales
        offset = np.array([Fraction(0)] * len(scales), dtype=object)
    if len(layers) < 2:
        raise UsageError("QONNX model: no hidden layer")
    try:
        return Network(input_bits=input_bits, layers=tuple(layers), classes=classes,
                       feature_min=tuple(lo), feature_max=tuple(hi))
    except ValueError as exc:
        raise UsageError(f"QONNX model does not fit the integer network: {exc}") from None
