"""Bit-level compressor trees: Dadda reduction with full/half adders, then one carry-propagate
adder. Used for every neuron, whose partial-product bits and folded constant are known."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Cat, Const, Module, Signal, Value

__all__ = ["dadda_heights", "compress"]


def dadda_heights(height: int) -> list[int]:
    """Dadda's stage targets below ``height``, largest first (…, 9, 6, 4, 3, 2)."""
    seq = [2]
    while seq[-1] * 3 // 2 < height:
        seq.append(seq[-1] * 3 // 2)
    return [d for d in reversed(seq) if d < height]


class _Adders:
    """Creates named full/half adders in a module's combinational domain."""

    def __init__(self, m: Module, prefix: str) -> None:
        self._m = m
        self._prefix = prefix
        self.n_full = 0
        self.n_half = 0

    def full(self, a: Value, b: Value, c: Value) -> tuple[Value, Value]:
        k = self.n_full
        self.n_full += 1
        s = Signal(name=f"{self._prefix}fa{k}_s")
        co = Signal(name=f"{self._prefix}fa{k}_c")
        self._m.d.comb += [s.eq(a ^ b ^ c), co.eq((a & b) | (c & (a ^ b)))]
        return s, co

    def half(self, a: Value, b: Value) -> tuple[Value, Value]:
        k = self.n_half
        self.n_half += 1
        s = Signal(name=f"{self._prefix}ha{k}_s")
        co = Signal(name=f"{self._prefix}ha{k}_c")
        self._m.d.comb += [s.eq(a ^ b), co.eq(a & b)]
        return s, co


def compress(m: Module, columns: Sequence[Sequence[Value]], width: int, prefix: str) -> Value:
    """Sum weighted bits: ``columns[c]`` holds the 1-bit values of weight ``2**c``.

    The result is the ``width``-bit sum modulo ``2**width`` (carries out of the top column are
    dropped, which is exact when the true sum fits the two's-complement range of ``width``).
    """
    cols: list[list[Value]] = [list(columns[c]) if c < len(columns) else [] for c in range(width)]
    adders = _Adders(m, prefix)
    for target in dadda_heights(max((len(c) for c in cols), default=0)):
        new: list[list[Value]] = [[] for _ in range(width)]
        for c in range(width):
            pool = cols[c]
            height = len(pool) + len(new[c])
            while height > target:
                if height - target >= 2 and len(pool) >= 3:
                    s, co = adders.full(pool.pop(0), pool.pop(0), pool.pop(0))
                    height -= 2
                else:
                    s, co = adders.half(pool.pop(0), pool.pop(0))
                    height -= 1
                new[c].append(s)
                if c + 1 < width:
                    new[c + 1].append(co)
            new[c].extend(pool)
        cols = new
    rows = [
        Cat(*(col[r] if len(col) > r else Const(0, 1) for col in cols)) for r in range(2)
    ]
    return (rows[0] + rows[1])[:width]
