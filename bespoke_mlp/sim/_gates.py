"""Gate-level simulation of a combinational mapped netlist in numpy, bit-parallel.

A mapped netlist is library cells whose functions the Liberty file gives as truth tables, so
its simulation needs no compiler: every net's values over all vectors are packed into 64-bit
words, and the cells are evaluated level by level (all cells of one type and level at once)
from their truth tables. It gives what a Verilator run of the netlist and its cell models
gives (:func:`~bespoke_mlp.sim.simulate` with ``count_toggles``): the predictions, the
toggles of every named net and their values after every vector, equal bit for bit (tested
against Verilator), without the build, which takes seconds to minutes for large netlists.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..synth import Library, Netlist, load_library, read_netlist
from ._simulate import SimResult

__all__ = ["GATE_EVALUATOR", "evaluate_netlist"]

#: How reports name this simulator.
GATE_EVALUATOR = "bespoke-mlp netlist evaluator"

_WORD = 64
_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_BYTE_POPCOUNT = np.array([bin(b).count("1") for b in range(256)], dtype=np.int64)


def evaluate_netlist(netlist_json: Path, top: str, codes: np.ndarray, *, input_bits: int,
                     liberty: Path, count_toggles: bool = False) -> SimResult:
    """Apply ``codes`` to module ``top`` of a combinational mapped netlist (Yosys JSON).

    Parameters
    ----------
    netlist_json:
        The netlist, e.g. :attr:`~bespoke_mlp.synth.SynthResult.netlist_json`; input port
        ``x``, output port ``y``.
    top:
        The design's module.
    codes:
        ``(n_vectors, n_features)`` unsigned input codes, each below ``2**input_bits``;
        feature ``i`` drives ``x[b*i + b-1 : b*i]``.
    input_bits:
        Bits per code ``b``.
    liberty:
        The library the netlist is mapped onto (the cells' functions).
    count_toggles:
        Also give the toggles and values of every named net bit, as
        :class:`~bespoke_mlp.sim.SimResult` describes (keys: the nets' Verilog names).

    Raises
    ------
    UsageError
        On codes out of range or of the wrong width, a netlist with registers, undriven or
        unknown (``x``/``z``) inputs, or a combinational loop.
    """
    start = time.perf_counter()
    library = load_library(liberty)
    netlist = read_netlist(netlist_json, library, top=top)
    if netlist.registers:
        raise UsageError(f"{top!r} has {len(netlist.registers)} registers: the netlist "
                         "evaluator simulates combinational netlists only")
    codes = np.asarray(codes)
    n_vectors = len(codes)
    words = _pack_inputs(netlist, codes, input_bits)
    values = _evaluate(netlist, library, words)
    y = netlist.ports.get("y")
    if y is None or y[0] != "output":
        raise UsageError(f"{top!r} has no output port 'y'")
    predictions = np.zeros(n_vectors, dtype=np.int64)
    for k, bit in enumerate(y[1]):
        predictions |= _unpack(_bit_words(values, bit, words.shape[1]), n_vectors) << k
    toggles = net_values = None
    if count_toggles:
        toggles, net_values = _activity(netlist, values, n_vectors, words.shape[1])
    return SimResult(predictions=predictions, n_vectors=n_vectors, toggles=toggles,
                     build_seconds=0.0, run_seconds=time.perf_counter() - start,
                     net_values=net_values, activity_samples=n_vectors)


def _pack_inputs(netlist: Netlist, codes: np.ndarray, input_bits: int) -> np.ndarray:
    """Port ``x``'s bits, one row of packed vector words per bit (``x[0]`` first)."""
    x = netlist.ports.get("x")
    if x is None or x[0] != "input":
        raise UsageError(f"{netlist.top!r} has no input port 'x'")
    if codes.ndim != 2 or codes.shape[1] * input_bits != len(x[1]):
        raise UsageError(f"codes of shape {codes.shape!r} at {input_bits!r} bits do not drive "
                         f"port x of {netlist.top!r}, {len(x[1])} bits wide")
    if codes.size and (codes.min() < 0 or codes.max() >= 1 << input_bits):
        raise UsageError(f"codes must lie in [0, {(1 << input_bits) - 1}] for "
                         f"input_bits={input_bits!r}")
    shifts = np.arange(input_bits)
    bits = (codes.astype(np.int64)[:, :, None] >> shifts) & 1  # (n_vectors, features, bits)
    return _pack(bits.reshape(len(codes), -1).T.astype(bool))


def _pack(rows: np.ndarray) -> np.ndarray:
    """Boolean ``(n, n_vectors)`` rows as ``(n, words)`` uint64: vector ``v`` at bit
    ``v % 64`` of word ``v // 64``."""
    n_words = max(1, -(-rows.shape[1] // _WORD))
    padded = np.zeros((rows.shape[0], n_words * _WORD), dtype=bool)
    padded[:, :rows.shape[1]] = rows
    return np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64)


def _unpack(words: np.ndarray, n_vectors: int) -> np.ndarray:
    packed = words.astype("<u8").view(np.uint8)
    return np.unpackbits(packed, bitorder="little")[:n_vectors].astype(np.int64)


def _bit_words(values: dict, bit: int | str, n_words: int) -> np.ndarray:
    if bit == "0":
        return np.zeros(n_words, dtype=np.uint64)
    if bit == "1":
        return np.full(n_words, _ONES, dtype=np.uint64)
    if bit not in values:
        raise UsageError(f"net bit {bit!r} is driven by no cell or input port")
    return values[bit]


def _levels(netlist: Netlist, inputs: set) -> list[list[int]]:
    """Instance indices by logic level (a level reads only earlier levels and inputs)."""
    driver = {inst.output: i for i, inst in enumerate(netlist.instances)}
    for inst in netlist.instances:
        for bit in inst.inputs:
            if bit not in driver and bit not in inputs and bit not in ("0", "1"):
                raise UsageError(f"input {bit!r} of cell {inst.name!r} of {netlist.top!r} is "
                                 "driven by no cell, input port or constant")
    pending = [sum(b in driver for b in inst.inputs) for inst in netlist.instances]
    readers = defaultdict(list)
    for i, inst in enumerate(netlist.instances):
        for bit in inst.inputs:
            if bit in driver:
                readers[driver[bit]].append(i)
    level = [i for i, p in enumerate(pending) if p == 0]
    levels = []
    done = 0
    while level:
        levels.append(level)
        done += len(level)
        following = []
        for i in level:
            for r in readers[i]:
                pending[r] -= 1
                if pending[r] == 0:
                    following.append(r)
        level = sorted(following)
    if done != len(netlist.instances):
        raise UsageError(f"{netlist.top!r} has a combinational loop")
    return levels


def _evaluate(netlist: Netlist, library: Library, x_words: np.ndarray) -> dict:
    """Every net bit's packed values: the inputs', then each level's cells' outputs."""
    n_words = x_words.shape[1]
    values = {bit: x_words[k] for k, bit in enumerate(netlist.ports["x"][1])}
    inputs = set(values)
    tables = {name: library.cells[name].truth_table for name in
              {inst.cell for inst in netlist.instances}}
    for level in _levels(netlist, inputs):
        by_cell = defaultdict(list)
        for i in level:
            by_cell[netlist.instances[i].cell].append(netlist.instances[i])
        for cell, insts in by_cell.items():
            ins = np.stack([np.stack([_bit_words(values, b, n_words) for b in inst.inputs])
                            for inst in insts])  # (cells, pins, words)
            out = np.zeros((len(insts), n_words), dtype=np.uint64)
            for state, high in enumerate(tables[cell]):
                if not high:
                    continue
                term = np.full((len(insts), n_words), _ONES, dtype=np.uint64)
                for pin in range(ins.shape[1]):
                    term &= ins[:, pin] if (state >> pin) & 1 else ~ins[:, pin]
                out |= term
            for inst, row in zip(insts, out):
                values[inst.output] = row
    return values


def _activity(netlist: Netlist, values: dict, n_vectors: int, n_words: int,
              ) -> tuple[dict[str, int], tuple[tuple[str, ...], np.ndarray]]:
    """Toggles between consecutive vectors and the packed values of every named net bit."""
    named = [(name, bit) for bit, names in netlist.bit_names.items() for name in names]
    names = tuple(name for name, _ in named)
    # A named bit no cell drives (or an x/z constant) reads 0, as in a two-state simulator.
    zero = np.zeros(n_words, dtype=np.uint64)
    rows = np.stack([values[bit] if bit in values else
                     _bit_words(values, bit, n_words) if bit == "1" else zero
                     for _, bit in named]) if named else np.zeros((0, n_words), dtype=np.uint64)
    valid = np.zeros(n_words * _WORD, dtype=bool)
    valid[:n_vectors] = True
    valid = _pack(valid[None, :])[0]
    rows &= valid
    # Vector v's previous value: v - 1's (vector 0 against itself: no toggle).
    carry = np.zeros_like(rows)
    carry[:, 1:] = rows[:, :-1] >> np.uint64(_WORD - 1)
    carry[:, 0] |= rows[:, 0] & np.uint64(1)
    previous = (rows << np.uint64(1)) | carry
    changed = (rows ^ previous) & valid
    counts = _BYTE_POPCOUNT[changed.astype("<u8").view(np.uint8)].sum(axis=1)
    packed = rows.astype("<u8").view(np.uint8)[:, :-(-n_vectors // 8)].copy()
    return {name: int(c) for name, c in zip(names, counts)}, (names, packed)
