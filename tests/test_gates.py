"""Tests of bespoke_mlp.sim._gates: the numpy netlist evaluator equals Verilator bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _designs import argmax3_verilog
from _nets import random_network

from bespoke_mlp.errors import UsageError
from bespoke_mlp.hdl import write_verilog
from bespoke_mlp.ir import predict_codes
from bespoke_mlp.sim import Design, evaluate_netlist, simulate_many
from bespoke_mlp.synth import (
    DEFAULT_LIBERTY,
    load_library,
    synthesize,
    toggle_rates,
    write_cell_models,
)


@pytest.fixture(scope="module")
def netlists(tmp_path_factory) -> list[tuple[str, Path, Path, np.ndarray, int]]:
    """(top, netlist.v, netlist.json, codes, input bits) of synthesized designs: the
    hand-written argmax on every code, and random approximate networks on random codes (not
    a multiple of 64 vectors)."""
    root = tmp_path_factory.mktemp("gates")
    src = root / "argmax3.v"
    src.write_text(argmax3_verilog(2))
    syn = synthesize([src], "argmax3", root / "argmax3")
    codes = np.array([[(k >> 4 * f) & 15 for f in range(3)] for k in range(1 << 12)])
    out = [("argmax3", syn.netlist_v, syn.netlist_json, codes, 4)]
    rng = np.random.default_rng(11)
    for k in range(3):
        net = random_network(rng, n_features=4, hidden=3, approximate=k > 0)
        top = f"net{k}"
        rtl = write_verilog(net, root / f"{top}.v", name=top)
        syn = synthesize([rtl], top, root / top, effort="normal")
        out.append((top, syn.netlist_v, syn.netlist_json, rng.integers(0, 16, (333, 4)), 4))
    return out


def test_evaluator_equals_verilator_bit_for_bit(netlists, tmp_path):
    models = write_cell_models(load_library(DEFAULT_LIBERTY), tmp_path / "cells.v")
    sims = simulate_many([Design((v, models), top, codes, bits, count_toggles=True)
                          for top, v, _, codes, bits in netlists], work_dir=tmp_path / "sim")
    for (top, _, js, codes, bits), sim in zip(netlists, sims):
        ours = evaluate_netlist(js, top, codes, input_bits=bits, liberty=DEFAULT_LIBERTY,
                                count_toggles=True)
        assert np.array_equal(ours.predictions, sim.predictions)
        assert ours.n_vectors == ours.activity_samples == sim.activity_samples == len(codes)
        # Every net Verilator counts, with the same count and the same values.
        assert set(sim.toggles) <= set(ours.toggles)
        assert {n: ours.toggles[n] for n in sim.toggles} == sim.toggles
        assert sum(sim.toggles.values()) > 0
        assert ours.net_values[1].shape[1] == sim.net_values[1].shape[1]
        row = {n: i for i, n in enumerate(ours.net_values[0])}
        # The bits beyond the last vector are padding (the power model masks them).
        ours_bits = np.unpackbits(ours.net_values[1], axis=1, bitorder="little")
        sim_bits = np.unpackbits(sim.net_values[1], axis=1, bitorder="little")
        for i, name in enumerate(sim.net_values[0]):
            assert np.array_equal(ours_bits[row[name], :len(codes)],
                                  sim_bits[i, :len(codes)]), name


def test_power_from_the_evaluator_equals_power_from_verilator(netlists, tmp_path):
    top, v, js, codes, bits = netlists[-1]
    models = write_cell_models(load_library(DEFAULT_LIBERTY), tmp_path / "cells.v")
    sim = simulate_many([Design((v, models), top, codes, bits, count_toggles=True)],
                        work_dir=tmp_path / "sim")[0]
    ours = evaluate_netlist(js, top, codes, input_bits=bits, liberty=DEFAULT_LIBERTY,
                            count_toggles=True)
    syn = synthesize([v.parent.parent / f"{top}.v"], top, tmp_path / "syn", effort="normal")
    figures = [syn.with_activity(toggle_rates(s.toggles, s.activity_samples),
                                 net_values=s.net_values, n_vectors=s.activity_samples).to_dict()
               for s in (sim, ours)]
    assert figures[0] == figures[1]


def test_evaluator_without_toggles_gives_the_golden_model(tmp_path):
    net = random_network(np.random.default_rng(3), approximate=True)
    rtl = write_verilog(net, tmp_path / "top.v", name="top")
    syn = synthesize([rtl], "top", tmp_path / "syn", effort="normal")
    codes = np.random.default_rng(4).integers(0, 16, (70, 5))
    res = evaluate_netlist(syn.netlist_json, "top", codes, input_bits=4,
                           liberty=DEFAULT_LIBERTY)
    assert res.toggles is None and res.net_values is None
    assert np.array_equal(res.predictions, predict_codes(net, codes))


def _netlist(path: Path, cells: dict[str, tuple[str, list, int]], *, x: int = 2,
             registers: bool = False) -> Path:
    """A hand-made Yosys JSON netlist of module ``m``; ``cells``: name -> (type, input bits,
    output bit); ports ``x`` (bits 2, 3, …) and ``y`` (bit 9)."""
    module = {
        "ports": {"x": {"direction": "input", "bits": list(range(2, 2 + x))},
                  "y": {"direction": "output", "bits": [9]}},
        "cells": {name: {"type": t, "connections": {**dict(zip("AB", ([b] for b in ins))),
                                                    "Y": [out]}}
                  for name, (t, ins, out) in cells.items()},
        "netnames": {"y": {"bits": [9]}, "x": {"bits": list(range(2, 2 + x))}},
    }
    if registers:
        module["cells"]["r"] = {"type": "DFFX1", "connections": {"D": [2], "CP": [3],
                                                                  "Q": [8]}}
    path.write_text(json.dumps({"modules": {"m": module}}))
    return path


def test_constants_and_cells_in_any_order(tmp_path):
    # y = !(x0 & x1) ^ 1, the XOR listed before the NAND it reads.
    js = _netlist(tmp_path / "n.json", {"g2": ("XOR2X1", [5, "1"], 9),
                                        "g1": ("NAND2X1", [2, 3], 5)})
    codes = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    res = evaluate_netlist(js, "m", codes, input_bits=1, liberty=DEFAULT_LIBERTY,
                           count_toggles=True)
    assert res.predictions.tolist() == [0, 0, 0, 1]
    assert res.toggles["y"] == 1 and res.toggles["x[0]"] == 3


@pytest.mark.parametrize("cells, kw, match", [
    ({"g1": ("NAND2X1", [2, 9], 5), "g2": ("INVX1", [5], 9)}, {}, "combinational loop"),
    ({"g1": ("NAND2X1", [2, 7], 9)}, {}, "input 7 of cell 'g1'"),
    ({"g1": ("NAND2X1", [2, 3], 9)}, {"registers": True}, "1 registers"),
])
def test_netlists_it_cannot_evaluate_are_refused(tmp_path, cells, kw, match):
    js = _netlist(tmp_path / "n.json", cells, **kw)
    with pytest.raises(UsageError, match=match):
        evaluate_netlist(js, "m", np.zeros((2, 2), int), input_bits=1, liberty=DEFAULT_LIBERTY)


@pytest.mark.parametrize("codes, bits, match", [
    (np.zeros((2, 3), int), 1, r"shape \(2, 3\) at 1 bits"),
    (np.full((2, 2), 2), 1, r"lie in \[0, 1\] for input_bits=1"),
])
def test_codes_that_do_not_fit_port_x_are_refused(tmp_path, codes, bits, match):
    js = _netlist(tmp_path / "n.json", {"g1": ("NAND2X1", [2, 3], 9)})
    with pytest.raises(UsageError, match=match):
        evaluate_netlist(js, "m", codes, input_bits=bits, liberty=DEFAULT_LIBERTY)
