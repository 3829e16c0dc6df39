import re

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.hdl import write_verilog
from bespoke_mlp.synth import synthesize
from bespoke_mlp.verify import prove_equivalent


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    work = tmp_path_factory.mktemp("formal")
    net = random_network(np.random.default_rng(13), n_features=3, hidden=2)
    top = write_verilog(net, work / "top.v")
    syn = synthesize([top], "bespoke_mlp", work / "synth")
    assert syn.n_cells > 100
    return work, top, syn.netlist_v


def test_synthesized_netlist_is_proven_equivalent(design):
    work, top, netlist = design
    result = prove_equivalent([top], netlist, "bespoke_mlp", work_dir=work / "ok")
    assert result.equivalent and result.and_nodes > 0


def test_tampered_netlist_is_refuted(design):
    work, top, netlist = design
    text = netlist.read_text()
    swaps = {"NAND2X1": "NOR2X1", "NOR2X1": "NAND2X1", "AND2X1": "OR2X1", "OR2X1": "AND2X1",
             "XOR2X1": "XNOR2X1", "XNOR2X1": "XOR2X1"}
    cell = re.search(r"\b(" + "|".join(swaps) + r")\b", text).group(1)
    swap = swaps[cell]
    bad = work / "bad.v"
    bad.write_text(re.sub(rf"\b{cell}\b", swap, text, count=1))
    result = prove_equivalent([top], bad, "bespoke_mlp", work_dir=work / "bad")
    assert not result.equivalent
