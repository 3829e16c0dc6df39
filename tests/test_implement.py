"""Implementation: the ADCs a synthesized netlist needs, and which simulator checked its
gates."""

import json

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.errors import VerificationError
from bespoke_mlp.flow._implement import (
    EVALUATED,
    SIMULATOR,
    Implementation,
    implement,
    unread_features,
    verilator_gate_check,
)


def _netlist(tmp_path, read_bits, outputs_from=()):
    """A Yosys JSON netlist of module ``top`` with a 12-bit ``x`` (nets 2..13): one cell reads
    the ``x`` bits ``read_bits``; the output is wired straight to ``outputs_from`` bits."""
    x = list(range(2, 14))
    y = [x[b] for b in outputs_from] or [100]
    module = {"ports": {"x": {"direction": "input", "bits": x},
                        "y": {"direction": "output", "bits": y}},
              "cells": {"c": {"connections": {"A": [x[b] for b in read_bits], "Y": [100]}}}}
    path = tmp_path / "netlist.json"
    path.write_text(json.dumps({"modules": {"top": module}}))
    return path


def test_features_no_cell_reads_need_no_adc(tmp_path):
    net = random_network(np.random.default_rng(0), n_features=3)  # 4 bits each, all read
    assert unread_features(_netlist(tmp_path, [5]), net, "top") == (0, 2)
    # An input wired straight to the output (a 0-cell comparator design) is read.
    assert unread_features(_netlist(tmp_path, [], outputs_from=[11]), net, "top") == (0, 1)
    impl = Implementation(net, None, 1.0, 1.0, 1.0, 1, 0.33, unread=(0, 2))
    assert impl.feature_bits == (0, 4, 0)
    assert impl.adc_power_mw == pytest.approx(0.33)  # one 4-bit ADC of three


def test_gates_evaluated_alone_give_the_same_figures_and_verilator_checks_them_later(
        tmp_path):
    net = random_network(np.random.default_rng(8), n_features=3, hidden=2)
    codes = np.random.default_rng(4).integers(0, 1 << net.input_bits, (50, net.n_features))
    labels = np.random.default_rng(5).integers(0, len(net.classes), 50)
    both = implement(net, codes, labels, design_dir=tmp_path / "a", work_dir=tmp_path / "wa")
    alone = implement(net, codes, labels, design_dir=tmp_path / "b", work_dir=tmp_path / "wb",
                      verilator_gates=False)
    assert (both.simulator, alone.simulator) == (SIMULATOR, EVALUATED)
    assert alone.synth.to_dict() == both.synth.to_dict() and alone.accuracy == both.accuracy
    checked = verilator_gate_check(alone, tmp_path / "b", codes, work_dir=tmp_path / "wc")
    assert checked.metrics() == both.metrics()
    assert verilator_gate_check(checked, tmp_path / "b", codes,
                                work_dir=tmp_path / "wd") is checked
    # Verilator simulates the written netlist: with its output tied to class 0 it disagrees
    # (the network predicts classes 0 and 2).
    netlist = tmp_path / "b" / "netlist.v"
    text = netlist.read_text()
    start = text.index("  assign y = ")
    end = text.index(";", start)
    netlist.write_text(text[:start] + "  assign y = 0" + text[end:])
    with pytest.raises(VerificationError, match="gate-level simulation"):
        verilator_gate_check(alone, tmp_path / "b", codes, work_dir=tmp_path / "we")
