"""Neuron, layer and argmax components."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import UsageError
from ..ir import Layer, accumulator_width, csd_digits, layer_linear_form, neuron_sum, signed_width
from ._tree import compress

__all__ = ["Form", "Neuron", "NeuronLayer", "Argmax", "PairwiseArgmax", "check_form"]

#: How a neuron's sum is described: ``"tree"`` (one bit-level compressor tree with the constants
#: folded in) or ``"behavioral"`` (``sum(x_i * w_i) + b``, left to synthesis).
Form = str
_FORMS = ("tree", "behavioral")


def check_form(layer: Layer, form: Form) -> None:
    """Refuse an unknown form, or a behavioral description of a truncated layer."""
    if form not in _FORMS:
        raise UsageError(f"form must be one of {_FORMS!r}, not {form!r}")
    if form == "behavioral" and any(layer.truncation):
        raise UsageError(f"the behavioral form cannot express column truncation (a layer "
                         f"truncates {layer.truncation!r}); use --form tree")


def _offsets(widths: Sequence[int]) -> list[int]:
    out, acc = [], 0
    for w in widths:
        out.append(acc)
        acc += w
    return out


class Neuron(wiring.Component):
    """One bespoke neuron: constant coefficients, a compressor tree, and (for hidden neurons)
    the ReLU window.

    Ports: ``a`` (the layer's packed inputs, input ``i`` at its width) and ``out`` (the unsigned
    activation of a hidden neuron, or the signed accumulator of an output neuron).
    """

    def __init__(self, layer: Layer, j: int, in_widths: Sequence[int], *, form: Form = "tree"):
        check_form(layer, form)
        self._layer = layer
        self._j = j
        self._form = form
        self._in_widths = tuple(in_widths)
        self.acc_width = accumulator_width(layer, j)
        self._window = None if layer.activation is None else layer.activation[j]
        shape = signed(self.acc_width) if self._window is None else unsigned(self._window.bits)
        super().__init__({"a": In(sum(self._in_widths)), "out": Out(shape)})

    def _inputs(self) -> list:
        return [
            self.a[off:off + w] for off, w in zip(_offsets(self._in_widths), self._in_widths)
        ]

    def elaborate(self, platform) -> Module:
        m = Module()
        width = self.acc_width
        acc = Signal(signed(width))
        inputs = self._inputs()
        if self._form == "tree":
            s = neuron_sum(self._layer, self._j)
            columns: list[list] = [[] for _ in range(width)]
            # The sum is exact modulo 2**width (its true range fits), so bits at or above
            # column ``width`` contribute nothing.
            for p in s.bits:
                if p.column < width:
                    bit = inputs[p.source][p.bit]
                    columns[p.column].append(~bit if p.inverted else bit)
            constant = s.constant % (1 << width)
            for c in range(width):
                if constant >> c & 1:
                    columns[c].append(Const(1, 1))
            m.d.comb += acc.eq(compress(m, columns, width, "t_"))
        else:
            terms = [
                (x & mask) * Const(w, signed(w.bit_length() + 1))
                for x, w, mask in zip(inputs, self._layer.weights[self._j],
                                      self._layer.masks[self._j])
                if w and mask
            ]
            m.d.comb += acc.eq(sum(terms, Const(self._layer.biases[self._j], signed(width))))
        if self._window is None:
            m.d.comb += self.out.eq(acc)
            return m
        lsb, bits = self._window.lsb, self._window.bits
        if lsb >= width - 1:
            # A non-negative accumulator is below 2**lsb: the activation is always 0.
            m.d.comb += self.out.eq(0)
            return m
        top = min(lsb + bits, width - 1)
        field = acc[lsb:top]
        over = acc[lsb + bits:width - 1].any() if lsb + bits < width - 1 else Const(0, 1)
        m.d.comb += self.out.eq(
            Mux(acc[width - 1], 0, Mux(over, (1 << bits) - 1, field))
        )
        return m


class NeuronLayer(wiring.Component):
    """A layer of bespoke neurons. ``out`` packs the neurons' outputs, neuron 0 lowest."""

    def __init__(self, layer: Layer, in_widths: Sequence[int], *, form: Form = "tree"):
        self.neurons = [Neuron(layer, j, in_widths, form=form) for j in range(layer.n_out)]
        self.out_widths = tuple(n.out.shape().width for n in self.neurons)
        super().__init__({"a": In(sum(in_widths)), "out": Out(sum(self.out_widths))})

    def elaborate(self, platform) -> Module:
        m = Module()
        for j, neuron in enumerate(self.neurons):
            m.submodules[f"n{j}"] = neuron
            m.d.comb += neuron.a.eq(self.a)
        m.d.comb += self.out.eq(Cat(*(n.out for n in self.neurons)))
        return m


class Argmax(wiring.Component):
    """Index of the largest of signed values ``v`` (value ``j`` at its width, ``j = 0``
    lowest), comparing ``value >> shift``; the lowest index wins ties.

    A tournament tree whose left operand always holds the lower indices, and which takes the
    right operand only when it is strictly greater, keeps that tie rule. ``y`` gives
    ``labels[j]`` for value ``j`` (default ``j``): the class an output neuron stands for
    after class removal.
    """

    def __init__(self, widths: Sequence[int], *, shift: int = 0,
                 labels: Sequence[int] | None = None):
        self._widths = tuple(widths)
        self._shift = shift
        self._labels = _labels(labels, len(self._widths))
        super().__init__({
            "v": In(sum(self._widths)),
            "y": Out(max(1, max(self._labels).bit_length())),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        idx_width = self.y.shape().width
        entries = [
            (self.v[off:off + w].as_signed() >> self._shift, Const(label, idx_width))
            for label, off, w in zip(self._labels, _offsets(self._widths), self._widths)
        ]
        level = 0
        while len(entries) > 1:
            nxt = []
            for k in range(0, len(entries) - 1, 2):
                (vl, il), (vr, ir) = entries[k], entries[k + 1]
                right = Signal(name=f"cmp{level}_{k // 2}")
                m.d.comb += right.eq(vr > vl)
                nxt.append((Mux(right, vr, vl), Mux(right, ir, il)))
            if len(entries) % 2:
                nxt.append(entries[-1])
            entries = nxt
            level += 1
        m.d.comb += self.y.eq(entries[0][1])
        return m


class PairwiseArgmax(wiring.Component):
    """The class index of an output layer of two or three neurons, from the signs of its
    accumulators' pairwise differences (``argmax_shift`` 0; the lowest index wins ties).

    ``v_h > v_l`` is the sign of ``v_h - v_l - 1``, one compressor tree over the layer's input
    bits whose coefficient per bit is the difference of the two neurons' (CSD digits of the
    difference, so digits the two share cancel). Only that tree's carry chain is needed: no
    accumulator is ever formed, and no comparator or multiplexer follows.

    Ports: ``a`` (the layer's packed inputs, input ``i`` at its width) and ``y`` (``labels[j]``
    for neuron ``j``, default ``j``).
    """

    def __init__(self, layer: Layer, in_widths: Sequence[int],
                 labels: Sequence[int] | None = None):
        if not 2 <= layer.n_out <= 3 or layer.activation is not None:
            raise ValueError(f"pairwise argmax needs an output layer of 2 or 3 neurons, "
                             f"got {layer.n_out!r}")
        self._layer = layer
        self._in_widths = tuple(in_widths)
        self._labels = _labels(labels, layer.n_out)
        super().__init__({"a": In(sum(self._in_widths)),
                          "y": Out(max(1, max(self._labels).bit_length()))})

    def elaborate(self, platform) -> Module:
        m = Module()
        width = max(self._in_widths)
        coef, const = layer_linear_form(self._layer, width)
        offsets = _offsets(self._in_widths)

        def greater(hi: int, lo: int):
            diff = (coef[:, hi] - coef[:, lo]).tolist()
            constant = int(const[hi] - const[lo]) - 1
            low = constant + sum(c for c in diff if c < 0)
            high = constant + sum(c for c in diff if c > 0)
            if high < 0 or low >= 0:
                return Const(int(low >= 0), 1)
            w = signed_width(low, high)
            columns: list[list] = [[] for _ in range(w)]
            for k, c in enumerate(diff):
                if not c:
                    continue
                i, b = divmod(k, width)
                if b >= self._in_widths[i]:
                    raise ValueError(f"input {i} has {self._in_widths[i]} bits, but its "
                                     f"bit {b} has a coefficient")
                bit = self.a[offsets[i] + b]
                for sign, e in csd_digits(c):
                    if sign < 0:
                        constant -= 1 << e
                    # Exact modulo 2**w (the difference fits): higher columns add nothing.
                    if e < w:
                        columns[e].append(~bit if sign < 0 else bit)
            constant %= 1 << w
            for col in range(w):
                if constant >> col & 1:
                    columns[col].append(Const(1, 1))
            total = compress(m, columns, w, f"d{hi}{lo}_")
            g = Signal(name=f"gt{hi}{lo}")
            m.d.comb += g.eq(~total[w - 1])
            return g

        lab = self._labels
        g10 = greater(1, 0)
        if self._layer.n_out == 2:
            m.d.comb += self.y.eq(g10 if lab == (0, 1) else Mux(g10, lab[1], lab[0]))
            return m
        g20, g21 = greater(2, 0), greater(2, 1)
        m.d.comb += self.y.eq(Mux(g20 & g21, lab[2], Mux(g10, lab[1], lab[0])))
        return m


def _labels(labels: Sequence[int] | None, n: int) -> tuple[int, ...]:
    """The class index of each of ``n`` argmax entries (default: the entry's own)."""
    out = tuple(range(n)) if labels is None else tuple(int(v) for v in labels)
    if len(out) != n or min(out) < 0:
        raise ValueError(f"expected {n} class indices >= 0, got {labels!r}")
    return out
