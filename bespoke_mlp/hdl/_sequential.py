"""The folded (sequential) classifier: one shared bespoke multiply-accumulate unit driven by a
counter, following :func:`~bespoke_mlp.ir.schedule` cycle for cycle.

Per cycle the counter selects, through synthesized constant logic (no memory), the operand
(an input code or a stored hidden activation), the per-bit coefficients of the current
connection, whether the neuron starts (its constant replaces the accumulator) and whether it
ends. The operand bits gate the coefficients into one compressor tree with the accumulator
(signed coefficients enter with the sign-bit trick: the inverted sign bit plus a constant), so
one step is one tree and one carry-propagate adder. In the cycle after a neuron's last step
(the accumulator then holds its sum), a hidden neuron's ReLU window of the accumulator is
written into its activation register, and an output neuron updates the running maximum and
the class register, which is the output ``y``: the comparison and the windows are off the
accumulator's path, and the last update takes a drain cycle.

Registers written on one clock phase are latches (:data:`LATCH_MODULE`, half a flip-flop's
area and leakage in EGFET); only the counter and the accumulator, read in the cycle they are
written, are flip-flops. The activation registers, the running maximum and the class register
are written while the clock is low in their cycle: their enables ``~clk & (count == n)`` (and
the held comparison) cannot glitch, as the counter changes only on the rising edge, and their
data (from the accumulator) are stable from early in the cycle to the rising edge that closes
it. The comparison ``acc >> argmax_shift > best`` is held by a latch open while the clock is
high, so the running maximum's update does not feed back into its own enable; its data must
settle within the high phase, which the static timing checks
(``synth.HALF_PERIOD_SUFFIX``). No step writes an activation register it reads.

Ports: ``x`` (input codes, held stable for the inference), ``y`` (the class, valid after the
inference's last cycle until the next inference's first output neuron ends), and the ``sync``
domain's ``clk`` and active-high asynchronous ``rst`` (only the counter is reset; every other
register is written before it is read).
"""

from __future__ import annotations

from amaranth.hdl import (
    Array,
    Cat,
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

from ..ir import Network, Schedule, schedule, signed_width
from ..synth import HALF_PERIOD_SUFFIX
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


def _top_part(value, shift: int, bits: int):
    """``value >> shift`` of the signed ``bits`` low bits of ``value`` (at least its sign)."""
    return value[min(shift, bits - 1):bits].as_signed()


def _latch(m: Module, name: str, enable, data, q) -> None:
    """One :data:`LATCH_MODULE` per bit: ``q`` follows ``data`` while ``enable`` is high."""
    for b in range(len(q)):
        m.submodules[f"{name}_{b}"] = Instance(LATCH_MODULE, i_en=enable, i_d=data[b],
                                               o_q=q[b])


def _width(lo: int, hi: int) -> int:
    """Bits of a register holding every value in ``[lo, hi]`` (two's complement if ``lo < 0``)."""
    return signed_width(lo, hi) if lo < 0 else max(1, hi.bit_length())


class _Rows:
    """The coefficient logic of one lane: per operand bit ``b``, the value gated by that bit.

    A bit whose coefficient is, on every step, either 0 or the lane's weight (the coefficient
    before masks and truncation) shifted by ``b`` (no truncation reaches it) reads that shared
    weight, with a 1-bit mask function
    where the weight is nonzero but the bit is masked; the other bits get a coefficient
    function of their own. So a multiplier-like datapath needs the constant logic of one
    weight, not one per bit.
    """

    def __init__(self, weights: list[int], coefs: list[tuple[int, ...]], acc_bits: int,
                 lane: int):
        self._coefs = coefs
        self._w = acc_bits
        n_bits = len(coefs[0])
        # The shared weight: the step's coefficient before masks and truncation. (Correcting
        # truncated bits from it instead of giving them functions of their own measured
        # larger: 10.3 against 8.4 cm² on the Pendigits reference network.)
        self.weight = list(weights)
        self.shared: dict[int, Signal | None] = {}
        self.own: dict[int, Signal] = {}
        for b in range(n_bits):
            if not any(c[b] for c in coefs):
                continue
            if all(c[b] in (0, v << b) for c, v in zip(coefs, self.weight)):
                masked = any(v and not c[b] for c, v in zip(coefs, self.weight))
                self.shared[b] = Signal(name=f"mask{lane}_{b}") if masked else None
            else:
                self.own[b] = Signal(acc_bits, name=f"coef{lane}_{b}")
        lo, hi = min(self.weight), max(self.weight)
        self._weight_range = (lo, hi)
        self.weight_sig = Signal(_width(lo, hi), name=f"weight{lane}")

    def assign(self, n: int) -> list:
        """Statements giving step ``n``'s constants."""
        c, v = self._coefs[n], self.weight[n]
        out = [self.weight_sig.eq(v % (1 << len(self.weight_sig)))] if self.shared else []
        out += [sig.eq(c[b] != 0) for b, sig in self.shared.items() if sig is not None]
        out += [sig.eq(c[b] % (1 << self._w)) for b, sig in self.own.items()]
        return out

    def enter(self, columns: list[list], operand) -> int:
        """Add the gated rows to ``columns``; returns the constant correction to add."""
        correction = 0
        for b, mask in self.shared.items():
            gate = operand[b] if mask is None else operand[b] & mask
            correction += _row(columns, gate, self.weight_sig, *self._weight_range, b, self._w)
        for b, sig in self.own.items():
            lo = min(c[b] for c in self._coefs)
            hi = max(c[b] for c in self._coefs)
            correction += _row(columns, operand[b], sig, lo, hi, 0, self._w)
        return correction


def _row(columns: list[list], gate, value, lo: int, hi: int, shift: int, w: int) -> int:
    """Enter ``gate * value << shift`` (``value`` in ``[lo, hi]``) into ``columns`` modulo
    ``2**w``; returns the constant correction. A negative value's sign-extension bits are all
    equal: its value is the low bits minus ``sign * 2**top``, entered as ``~(gate & sign)`` at
    column ``top`` plus the constant ``-2**top``."""
    bits = _width(lo, hi)
    top = bits - 1 if lo < 0 else bits
    for j in range(top):
        if shift + j < w:
            columns[shift + j].append(gate & value[j])
    if lo >= 0 or shift + top >= w:
        return 0
    columns[shift + top].append(~(gate & value[top]))
    return -(1 << (shift + top))


class SequentialClassifier(wiring.Component):
    """A folded bespoke MLP classifier for ``net`` (see the module docstring)."""

    def __init__(self, net: Network, *, lanes: int = 1):
        self.schedule: Schedule = schedule(net, lanes)
        # The schedule's network: ``net`` with its power-of-two factors divided out.
        self._net = self.schedule.net
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
        best = Signal(signed(sched.best_bits), name="best")
        cls = Signal(sched.class_bits, name="cls")
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

        # Constant logic indexed by the counter (see _Rows): the operand selects, the
        # coefficients, the start constant and the first-step flag.
        rows = [_Rows([s.weights[lane] for s in steps], [s.coefs[lane] for s in steps], w, lane)
                for lane in lanes]
        constant = Signal(w, name="constant")
        first = Signal(name="first")
        with m.Switch(count):
            for n, (s, srcs) in enumerate(zip(steps, src_index)):
                with m.Case(n):
                    m.d.comb += first.eq(s.first)
                    m.d.comb += [sel[lane].eq(slot[lane][srcs[lane]]) for lane in lanes]
                    if s.first:
                        m.d.comb += constant.eq(s.constant % (1 << w))
                    for r in rows:
                        m.d.comb += r.assign(n)

        # One compressor tree: base (constant or accumulator) + gated coefficients.
        base = Signal(w, name="base")
        m.d.comb += base.eq(Mux(first, constant, acc))
        columns: list[list] = [[base[c]] for c in range(w)]
        correction = 0
        for lane, r in zip(lanes, rows):
            correction += r.enter(columns, operand[lane])
        correction %= 1 << w
        for c in range(w):
            if correction >> c & 1:
                columns[c].append(Const(1, 1))
        total = Signal(signed(w), name="total")
        m.d.comb += total.eq(compress(m, columns, w, "mac_"))
        m.d.sync += acc.eq(total)

        # End of a neuron, in the next cycle (from the accumulator): the ReLU window into its
        # register, or the argmax update (see the module docstring).
        last_layer = len(net.layers) - 1
        shifted = _top_part(acc, net.argmax_shift, sched.output_bits)
        greater = Signal(name="greater")
        m.d.comb += greater.eq(shifted > best)
        greater_held = Signal(name=f"greater{HALF_PERIOD_SUFFIX}")
        _latch(m, "latch_greater", self.clk, greater, greater_held)
        takes, compares = [], []
        cls_next = Signal(sched.class_bits, name="cls_next")
        with m.Switch(count):
            for n, s in enumerate(steps):
                if s.last and s.layer == last_layer:
                    with m.Case(n + 1):
                        m.d.comb += cls_next.eq(net.output_classes[s.neuron])
        for n, s in enumerate(steps):
            if not s.last:
                continue
            if s.layer < last_layer:
                win = net.layers[s.layer].activation[s.neuron]
                enable = Signal(name=f"we{s.layer}_{s.neuron}")
                data = Signal(win.bits, name=f"wd{s.layer}_{s.neuron}")
                m.d.comb += [enable.eq(~self.clk & (count == n + 1)),
                             data.eq(_window(m, acc, w, win.lsb, win.bits))]
                _latch(m, f"latch{s.layer}_{s.neuron}", enable, data,
                       acts[s.layer][s.neuron])
            else:
                (takes if s.neuron == 0 else compares).append(count == n + 1)
        update = Signal(name="update")
        m.d.comb += update.eq(~self.clk & (Cat(*takes).any()
                                           | (Cat(*compares).any() & greater_held)))
        _latch(m, "latch_best", update, shifted, best)
        _latch(m, "latch_cls", update, cls_next, cls)
        return m
