"""Implementation figures: the ADCs a synthesized netlist needs."""

import json

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.flow._implement import Implementation, unread_features


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
