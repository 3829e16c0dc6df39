"""The folded (sequential) classifier: one shared bespoke multiply-accumulate unit driven by a
counter, following :func:`~bespoke_mlp.ir.schedule` cycle for cycle.

Per cycle the counter selects, through synthesized constant logic (no memory), the operand
(an input code or a stored hidden activation), the per-bit coefficients of the current
connection, whether the neuron starts (its constant replaces the accumulator) and whether it
ends. The operand bits gate the coefficients into one compressor tree with the accumulator
(signed coefficients enter with the sign-bit trick: the inverted sign bit plus a constant), so
one step is one tree and one carry-propagate adder. A hidden neuron's last step writes its ReLU
window into its activation register; an output neuron's last step updates the running maximum
and the class register, which is the output ``y``.

The activation registers are latches (:data:`LATCH_MODULE`, half a flip-flop's area and
leakage in EGFET), written while the clock is low in the cycle of the neuron's last step: the
enable ``~clk & (count == step)`` cannot glitch, as the counter changes only on the rising edge,
and the latch's data (the adder tree's sum) is stable from the middle of the cycle to the
rising edge that closes it. No step writes an activation register it reads.

Ports: ``x`` (input codes, held stable for the inference), ``y`` (the class, valid after the
inference's last cycle until the next inference's first output neuron ends), and the ``sync``
domain's ``clk`` and active-high asynchronous ``rst`` (only the counter is reset; every other
register is written before it is read).
"""

from __future__ import annotations

from amaranth.hdl import (
    Array,
    ClockDomain,
    ClockSignal,
    Const,
    Instance,
    Module,
    Mux,
    ResetSignal,
    Signal,
    signed,
    unsigned,
)
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..ir import Network, Schedule, schedule
from ._tree import compress

__all__ = ["LATCH_MODULE", "LATCH_VERILOG", "SequentialClassifier"]

#: The level-sensitive latch the activation registers instantiate; its Verilog definition
#: (:data:`LATCH_VERILOG`) is read beside the design and flattened into it.
LATCH_MODULE = "bespoke_mlp_latch"
LATCH_VERILOG = f"""\
module {LATCH_MODULE} #(parameter WIDTH = 1) (
  input en, input [WIDTH-1:0] d, output reg [WIDTH-1:0] q);
  always @* if (en) q = d;
endmodule
"""


def _window(m: Module, total, acc_bits: int, lsb: int, bits: int):
    """The ReLU window ``clip(total >> lsb, 0, 2**bits - 1)`` of a signed ``acc_bits`` value."""
    if lsb >= acc_bits - 1:
        return Const(0, bits)
    top = min(lsb + bits, acc_bits - 1)
    field = total[lsb:top]
    over = total[lsb + bits:acc_bits - 1].any() if lsb + bits < acc_bits - 1 else Const(0, 1)
    return Mux(total[acc_bits - 1], 0, Mux(over, (1 << bits) - 1, field))


class SequentialClassifier(wiring.Component):
    """A folded bespoke MLP classifier for ``net`` (see the module docstring)."""

    def __init__(self, net: Network, *, lanes: int = 1):
        self._net = net
        self.schedule: Schedule = schedule(net, lanes)
        super().__init__({
            "x": In(net.input_bits * net.n_features),
            "y": Out(self.schedule.class_bits),
            "clk": In(1),
            "rst": In(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.sync = ClockDomain(async_reset=True)
        m.d.comb += [ClockSignal().eq(self.clk), ResetSignal().eq(self.rst)]
        net, sched = self._net, self.schedule
        steps, w = sched.steps, sched.acc_bits
        n_cycles = sched.cycles
        count = Signal(range(max(2, n_cycles)), name="count")
        m.d.sync += count.eq(Mux(count == n_cycles - 1, 0, count + 1))

        # Registers other than the counter need no reset.
        acc = Signal(signed(w), name="acc", reset_less=True)
        acts = [[Signal(unsigned(win.bits), name=f"h{k}_{j}")
                 for j, win in enumerate(layer.activation)]
                for k, layer in enumerate(net.layers[:-1])]
        best = Signal(signed(sched.best_bits), name="best", reset_less=True)
        cls = Signal(sched.class_bits, name="cls", reset_less=True)
        m.d.comb += self.y.eq(cls)

        # Operand sources: the input codes, then every hidden layer's activations.
        b_in = net.input_bits
        sources = [self.x[b_in * i:b_in * (i + 1)] for i in range(net.n_features)]
        offsets = [0]
        for layer_acts in acts:
            offsets.append(len(sources))
            sources += layer_acts
        lanes = range(sched.lanes)
        src_index = [[offsets[s.layer] + src for src in s.sources] for s in steps]
        # Only sources some step reads in a lane enter that lane's operand multiplexer.
        used = [sorted({srcs[lane] for srcs in src_index}) for lane in lanes]
        slot = [{src: n for n, src in enumerate(u)} for u in used]
        sel = [Signal(range(max(2, len(used[lane]))), name=f"src{lane}") for lane in lanes]
        operand = [Signal(sched.operand_bits, name=f"operand{lane}") for lane in lanes]
        for lane in lanes:
            m.d.comb += operand[lane].eq(Array(sources[src] for src in used[lane])[sel[lane]])

        # Constant logic indexed by the counter: a coefficient per lane and operand bit (only
        # the bit positions some step uses), the start constant and the step's flags.
        coef_ranges = {(lane, b): (min(s.coefs[lane][b] for s in steps),
                                   max(s.coefs[lane][b] for s in steps))
                       for lane in lanes for b in range(sched.operand_bits)}
        coef_sigs = {key: Signal(w, name=f"coef{key[0]}_{key[1]}")
                     for key, (lo, hi) in coef_ranges.items() if lo or hi}
        constant = Signal(w, name="constant")
        first = Signal(name="first")
        with m.Switch(count):
            for n, (s, srcs) in enumerate(zip(steps, src_index)):
                with m.Case(n):
                    m.d.comb += first.eq(s.first)
                    m.d.comb += [sel[lane].eq(slot[lane][srcs[lane]]) for lane in lanes]
                    if s.first:
                        m.d.comb += constant.eq(s.constant % (1 << w))
                    for (lane, b), sig in coef_sigs.items():
                        m.d.comb += sig.eq(s.coefs[lane][b] % (1 << w))

        # One compressor tree: base (constant or accumulator) + gated coefficients.
        base = Signal(w, name="base")
        m.d.comb += base.eq(Mux(first, constant, acc))
        columns: list[list] = [[base[c]] for c in range(w)]
        correction = 0
        for (lane, b), sig in coef_sigs.items():
            lo, hi = coef_ranges[lane, b]
            gate = operand[lane][b]
            if lo >= 0:
                for c in range(w):
                    columns[c].append(gate & sig[c])
                continue
            # A negative coefficient's sign-extension bits are all equal: its value is the low
            # bits minus sign * 2**top, entered as ~(gate & sign) at column top minus 2**top.
            top = min(w - 1, max((-lo - 1).bit_length(), hi.bit_length()))
            for c in range(top):
                columns[c].append(gate & sig[c])
            columns[top].append(~(gate & sig[w - 1]))
            correction -= 1 << top
        correction %= 1 << w
        for c in range(w):
            if correction >> c & 1:
                columns[c].append(Const(1, 1))
        total = Signal(signed(w), name="total")
        m.d.comb += total.eq(compress(m, columns, w, "mac_"))
        m.d.sync += acc.eq(total)

        # End of a neuron: the ReLU window into its register, or the argmax update.
        last_layer = len(net.layers) - 1
        shifted = total[net.argmax_shift:sched.output_bits].as_signed() \
            if net.argmax_shift < sched.output_bits - 1 else total[sched.output_bits - 1:
                                                                   sched.output_bits].as_signed()
        greater = Signal(name="greater")
        m.d.comb += greater.eq(shifted > best)
        for n, s in enumerate(steps):
            if not s.last:
                continue
            if s.layer < last_layer:
                win = net.layers[s.layer].activation[s.neuron]
                enable = Signal(name=f"we{s.layer}_{s.neuron}")
                data = Signal(win.bits, name=f"wd{s.layer}_{s.neuron}")
                m.d.comb += [enable.eq(~self.clk & (count == n)),
                             data.eq(_window(m, total, w, win.lsb, win.bits))]
                m.submodules[f"latch{s.layer}_{s.neuron}"] = Instance(
                    LATCH_MODULE, p_WIDTH=win.bits, i_en=enable, i_d=data,
                    o_q=acts[s.layer][s.neuron])
            else:
                cond = count == n if s.neuron == 0 else (count == n) & greater
                with m.If(cond):
                    m.d.sync += [best.eq(shifted), cls.eq(s.neuron)]
        return m
