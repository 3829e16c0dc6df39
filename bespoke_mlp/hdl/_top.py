"""The top-level classifier component."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import UsageError
from ..ir import Network
from ._neuron import Argmax, Form, NeuronLayer, check_form

__all__ = ["Classifier"]


class Classifier(wiring.Component):
    """A bespoke MLP classifier: ``x`` packs the input codes (feature ``i`` at bits
    ``[b*i + b - 1 : b*i]``), ``y`` is the predicted class index."""

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
        widths = net.input_widths(0)
        for k, layer in enumerate(net.layers):
            nl = NeuronLayer(layer, net.input_widths(k), form=form)
            self.layers.append(nl)
            widths = nl.out_widths
        self.argmax = Argmax(widths, shift=net.argmax_shift)
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
        m.d.comb += [self.argmax.v.eq(prev), self.y.eq(self.argmax.y)]
        return m
