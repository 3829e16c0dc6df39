import json
import re
import shutil

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp._util import write_json
from bespoke_mlp.cli import main
from bespoke_mlp.flow._implement import implement
from bespoke_mlp.hdl import Architecture, write_verilog
from bespoke_mlp.synth import load_library, synthesize, technology, write_cell_models
from bespoke_mlp.verify import prove_equivalent, prove_sequential


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


@pytest.fixture(scope="module")
def sequential_design(tmp_path_factory):
    """A sequential design mapped onto EGFET 0.6 V, in the layout ``run`` writes."""
    d = tmp_path_factory.mktemp("seq")
    net = random_network(np.random.default_rng(13), n_features=3, hidden=2)
    codes = np.random.default_rng(1).integers(0, 1 << net.input_bits, (40, net.n_features))
    impl = implement(net, codes, None, design_dir=d / "design", work_dir=d / "work",
                     tech=technology("egfet-0.6v"), arch=Architecture("sequential", 2))
    write_json(d / "report.json", impl.metrics())
    return d


def test_verify_reads_architecture_and_technology_from_report(sequential_design, capsys):
    assert main(["verify", str(sequential_design), "--formal"]) == 0
    out = capsys.readouterr().out
    assert "design: sequential, 2 lanes, 9 cycles per inference" in out
    assert "mapped onto egfet-0.6v" in out
    assert "gate netlist: agrees with the golden model on all 40 vectors" in out
    assert "proven sequentially equivalent" in out


def test_verify_notes_a_library_that_changed(sequential_design, tmp_path, capsys):
    d = tmp_path / "d"
    shutil.copytree(sequential_design / "design", d / "design")
    report = json.loads((sequential_design / "report.json").read_text())
    report["technology"]["library_sha256"] = "0" * 64
    del report["technology"]["name"]  # an older report names the library file only
    write_json(d / "report.json", report)
    assert main(["verify", str(d)]) == 0
    out = capsys.readouterr().out
    assert "note: the design was mapped onto a library of SHA-256 000000000000..." in out
    assert "mapped onto egfet-0.6v" in out


def test_tampered_sequential_netlist_is_refuted(sequential_design, tmp_path):
    design = sequential_design / "design"
    models = write_cell_models(load_library(technology("egfet-0.6v").liberty),
                               tmp_path / "cells.v")
    ok = prove_sequential([design / "top.v"], design / "netlist.v", "bespoke_mlp",
                          work_dir=tmp_path / "ok", models=models)
    assert ok.equivalent and ok.registers > 0
    text = (design / "netlist.v").read_text()
    bad = tmp_path / "bad.v"
    bad.write_text(re.sub(r"\bNAND2X1\b", "NOR2X1", text, count=1))
    result = prove_sequential([design / "top.v"], bad, "bespoke_mlp",
                              work_dir=tmp_path / "bad", models=models)
    assert not result.equivalent
