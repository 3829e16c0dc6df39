"""The top-level classifier component."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import UsageError
from ..ir import Network
from ._neuron import Argmax, Form, NeuronLayer, PairwiseArgmax, check_form

__all__ = ["Classifier"]


def _pairwise(net: Network) -> bool:
    """Whether the output layer and argmax are built as :class:`PairwiseArgmax`: for two or
    three classes compared in full (``argmax_shift`` 0) when the output neurons' inputs are
    neither masked differently (a zero coefficient's mask does not count) nor truncated.
    Their differences then share and cancel CSD digits. Measured at high effort, exact
    networks: Cardio 15.215 -> 14.612 cm², Seeds 7.756 -> 7.313, Breast Cancer 7.832 ->
    7.706; on Cardio's truncated ≤1 % output layer the tournament was smaller (normal
    effort: 6.848 against 7.213)."""
    last = net.layers[-1]
    used = [{m for w, m in zip(ws, ms) if w} for ws, ms in zip(zip(*last.weights),
                                                            zip(*last.masks))]
    return (net.argmax_shift == 0 and last.activation is None and 2 <= last.n_out <= 3
            and not any(last.truncation) and all(len(u) <= 1 for u in used))


class Classifier(wiring.Component):
    """A bespoke MLP classifier: ``x`` packs the input codes (feature ``i`` at bits
    ``[b*i + b - 1 : b*i]``), ``y`` is the predicted class index (after class removal still
    the original one: each remaining output neuron maps to its class's index)."""

    def __init__(self, net: Network, *, form: Form = "tree"):
        try:
            for layer in net.layers:
                check_form(layer, form)  # before any sub-component exists
        except UsageError:
            # A component refused at construction was never meant to be elaborated: don't let
            # Amaranth warn that it went unused.
            self._MustUse__silence = True
            raise
        self._net = net
        self.layers = []
        last = net.layers[-1]
        pairwise = form == "tree" and _pairwise(net)
        for k, layer in enumerate(net.layers[:-1] if pairwise else net.layers):
            nl = NeuronLayer(layer, net.input_widths(k), form=form)
            self.layers.append(nl)
            widths = nl.out_widths
        if pairwise:
            self.argmax = PairwiseArgmax(last, net.input_widths(len(net.layers) - 1),
                                         labels=net.output_classes)
        else:
            self.argmax = Argmax(widths, shift=net.argmax_shift, labels=net.output_classes)
        super().__init__({
            "x": In(net.input_bits * net.n_features),
            "y": Out(max(1, (net.n_classes - 1).bit_length())),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        prev = self.x
        for k, layer in enumerate(self.layers):
            m.submodules[f"l{k}"] = layer
            m.d.comb += layer.a.eq(prev)
            prev = layer.out
        m.submodules.argmax = self.argmax
        port = self.argmax.a if isinstance(self.argmax, PairwiseArgmax) else self.argmax.v
        m.d.comb += [port.eq(prev), self.y.eq(self.argmax.y)]
        return m
