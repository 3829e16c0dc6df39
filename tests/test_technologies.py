"""Tests of the technologies (built-in libraries, user Liberty files), state-dependent leakage,
clock choice, registers and generated cell models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from _designs import argmax3_verilog

from bespoke_mlp.errors import UsageError
from bespoke_mlp.sim import simulate
from bespoke_mlp.synth import (
    BUILTIN_TECHNOLOGIES,
    DEFAULT_TOGGLE_RATE,
    choose_clock,
    derive_library,
    input_state_probabilities,
    load_library,
    netlist_power,
    power,
    static_timing,
    synthesize,
    technology,
    toggle_rates,
    write_cell_models,
)
from bespoke_mlp.synth._netlist import read_netlist
from bespoke_mlp.synth._power import netlist_activity_power

ROOT = Path(__file__).resolve().parents[1]
TECH = ROOT / "bespoke_mlp" / "tech"
PUBLIC = ROOT.parent / "shared" / "reference" / "liberty"
needs_public = pytest.mark.skipif(not PUBLIC.is_dir(), reason="../shared/reference absent")

# The default library's figures on the argmax3 design before technologies existed (a6feddf):
# the default results must not change.
ARGMAX3_DEFAULT = {"cells": {"AND2X1": 8, "INVX1": 56, "NAND2X1": 171, "NOR2X1": 7,
                             "OR2X1": 6, "XOR2X1": 3},
                   "area_um2": 67949660.0, "static_power_mw": 2.20931,
                   "dynamic_power_mw": 0.080501, "power_mw": 2.289811, "delay_ms": 46.69}


@pytest.fixture(scope="module")
def argmax3(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("src") / "argmax3.v"
    path.write_text(argmax3_verilog(2))
    return path


def test_default_library_figures_are_unchanged(argmax3, tmp_path):
    # Area mapping: the netlist these figures were pinned on (power mapping depends on the
    # library's leakage, which this test guards).
    d = synthesize([argmax3], "argmax3", tmp_path, mapping="area").to_dict()
    assert {k: d[k] for k in ARGMAX3_DEFAULT} == ARGMAX3_DEFAULT
    assert technology().name == "egfet-1.0v" and technology().liberty == TECH / "egfet_1v0.lib"


@pytest.mark.parametrize("name", sorted(BUILTIN_TECHNOLOGIES))
def test_builtin_technologies(name):
    tech = technology(name)
    lib = load_library(tech.liberty)
    assert tech.voltage == {"egfet-0.6v": 0.6, "egfet-0.8v": 0.8, "egfet-1.0v": 1.0,
                            "egfet-1.2v": 1.2, "cnt-3.0v": 3.0}[name]
    assert len(lib.cells) == 7 and len(lib.registers) == 2
    kinds = sorted(r.kind for r in lib.registers.values())
    assert kinds == ["ff", "latch"]
    assert tech.to_dict()["library_sha256"] == tech.sha256 and len(tech.sha256) == 64
    if name.startswith("egfet"):
        # Same cells, same areas at every voltage.
        default = load_library()
        assert {n: c.area_um2 for n, c in lib.cells.items()} == {
            n: c.area_um2 for n, c in default.cells.items()}
    if name != "egfet-1.0v":
        for cell in lib.cells.values():
            assert len(cell.leakage_states) == 1 << len(cell.inputs)
            if name.startswith("egfet"):  # the mean figure is the mean over input states
                assert np.mean(cell.leakage_states) == pytest.approx(cell.leakage_uw, rel=0.02)


@needs_public
@pytest.mark.parametrize("volts,name", [("0.6", "egfet_0v6"), ("0.8", "egfet_0v8"),
                                        ("1.2", "egfet_1v2")])
def test_builtin_libraries_are_derived_from_the_public_figures(volts, name, tmp_path):
    out = derive_library(PUBLIC / f"egfet_{volts}V.lib", tmp_path / f"{name}.lib", name=name,
                         delays=(TECH / "egfet_1v0.lib", PUBLIC / "egfet_1.0V.lib"))
    assert out.path.read_text() == (TECH / f"{name}.lib").read_text()


@needs_public
def test_public_liberty_file_is_read():
    lib = load_library(PUBLIC / "egfet_1.0V.lib")
    assert lib.voltage == 1.0
    assert set(lib.skipped) == {"LATCHX1", "TSBUF"} and "tri-state" in lib.skipped["TSBUF"]
    nand = lib.cells["NAND2X1"]
    # Leaks when the output is 0 (both inputs 1); entry k has A1 = bit 0, A2 = bit 1.
    assert nand.leakage_states == pytest.approx((0.248054, 0.391073, 0.490604, 18.5691))
    assert nand.leakage_uw == pytest.approx(4.92472)
    dff = lib.registers["DFFNRX1"]
    assert (dff.kind, dff.clock, dff.data, dff.clear, dff.clear_active) == (
        "ff", "CP", "D", "RST_N", 0)
    assert lib.registers["DFFX1"].kind == "latch"
    assert technology(PUBLIC / "egfet_0.8V.lib").name == "egfet_0.8V"


def _library(tmp_path: Path, cells: str) -> Path:
    path = tmp_path / "user.lib"
    path.write_text('library (user) {\n  time_unit : "1ns";\n  leakage_power_unit : "1nW";\n'
                    + cells + "}\n")
    return path


def _cell(name: str, function: str, pins: str = "A B") -> str:
    inputs = "".join(f"    pin ({p}) {{ direction : input; }}\n" for p in pins.split())
    return (f"  cell ({name}) {{\n    area : 1;\n{inputs}    pin (Y) {{ direction : output; "
            f'function : "{function}"; }}\n  }}\n')


def test_technology_errors_name_the_problem(tmp_path):
    with pytest.raises(UsageError, match=r"'egfet-9v' not found: .* no built-in of that name "
                                         r"\(egfet-1.0v"):
        technology("egfet-9v")
    # A missing Liberty file is "not found" (issue 31, defect 6); a directory is no file.
    missing = tmp_path / "missing.lib"
    with pytest.raises(UsageError, match=rf"{re.escape(repr(str(missing)))} not found"):
        technology(missing)
    with pytest.raises(UsageError, match="is not a Liberty file"):
        technology(tmp_path)
    with pytest.raises(UsageError, match="has no inverter cell"):
        technology(_library(tmp_path, _cell("NAND2", "!(A&B)")))
    with pytest.raises(UsageError, match="no 2-input NAND, NOR, AND or OR cell"):
        technology(_library(tmp_path, _cell("INV", "!A", "A") + _cell("XOR2", "A^B")))
    with pytest.raises(UsageError, match=r"cell 'BAD': .*unknown pin 'C'"):
        technology(_library(tmp_path, _cell("INV", "!A", "A") + _cell("BAD", "A&C")))


def test_state_probabilities_weight_the_leakage(tmp_path):
    # x[0], x[1] -> NAND2 n1 -> y[0]; its inputs: 4 vectors (0,0) (1,0) (1,1) (1,1).
    module = {
        "attributes": {"top": "1"},
        "ports": {"x": {"direction": "input", "bits": [2, 3]},
                  "y": {"direction": "output", "bits": [4]}},
        "cells": {"n1": {"type": "NAND2X1", "connections": {"A1": [2], "A2": [3], "Y": [4]}}},
        "netnames": {"x": {"bits": [2, 3]}, "y": {"bits": [4]}},
    }
    path = tmp_path / "n.json"
    path.write_text(json.dumps({"modules": {"t": module}}))
    lib = load_library(TECH / "egfet_0v6.lib")
    netlist = read_netlist(path, lib)
    packed = np.packbits(np.array([[0, 1, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0]], dtype=np.uint8),
                         axis=1, bitorder="little")
    probs = input_state_probabilities(netlist, lib, (("x[0]", "x[1]", "y"), packed), 4)
    assert probs == {"n1": (0.25, 0.25, 0.0, 0.5)}
    leak = lib.cells["NAND2X1"].leakage_states
    activity = {"y": 0.0, "x[0]": 0.25, "x[1]": 0.5}
    report = netlist_power(path, activity, liberty=lib.path)
    assert report.static_mw == pytest.approx(lib.cells["NAND2X1"].leakage_uw * 1e-3)
    # The input pins draw their internal energy per transition of what they read.
    a1, a2 = lib.cells["NAND2X1"].pin_pj
    assert report.dynamic_mw == pytest.approx((0.25 * a1 + 0.5 * a2) * 5.0 * 1e-9)
    weighted = netlist_activity_power(netlist, lib, activity, 5.0, probs)
    assert weighted.static_mw == pytest.approx(
        (0.25 * leak[0] + 0.25 * leak[1] + 0.5 * leak[3]) * 1e-3)
    with pytest.raises(UsageError, match=r"the activity names no net of input bit 3 of 't', "
                                         r"which a NAND2X1 pin reads"):
        netlist_power(path, {"y": 0.0, "x[0]": 0.25}, liberty=lib.path)


@pytest.mark.parametrize("name", ["egfet-1.0v", "egfet-0.6v"])
def test_a_clock_pin_draws_energy_on_every_cycle(name, tmp_path):
    # clk -> DFFNRX1.CP, x -> D, Q -> y: the clock port's edges are not in the activity.
    module = {
        "attributes": {"top": "1"},
        "ports": {"clk": {"direction": "input", "bits": [2]},
                  "x": {"direction": "input", "bits": [3]},
                  "y": {"direction": "output", "bits": [4]}},
        "cells": {"r": {"type": "DFFNRX1",
                        "connections": {"CP": [2], "D": [3], "RST_N": ["1"], "Q": [4]}}},
        "netnames": {"clk": {"bits": [2]}, "x": {"bits": [3]}, "y": {"bits": [4]}},
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"modules": {"t": module}}))
    lib = load_library(technology(name).liberty)
    ff = lib.registers["DFFNRX1"]
    cp, d, clear = (dict(zip(ff.inputs, ff.pin_pj))[p] for p in ("CP", "D", "RST_N"))
    assert cp > ff.internal_pj and d > 0 and clear > 0
    report = netlist_power(path, {"y": 0.5, "x": 0.25}, freq_hz=8.0, liberty=lib.path)
    assert report.dynamic_mw == pytest.approx(
        (0.5 * ff.internal_pj + 2 * cp + 0.25 * d) * 8.0 * 1e-9)
    default = power({"DFFNRX1": 1}, freq_hz=8.0, liberty=lib.path)
    assert default.dynamic_mw == pytest.approx(
        (DEFAULT_TOGGLE_RATE * (ff.internal_pj + d + clear) + 2 * cp) * 8.0 * 1e-9)


def test_choose_clock():
    assert choose_clock(150.0, None) == 5.0
    assert choose_clock(212.5, None) == 4.7
    assert choose_clock(1234.0, None) == 0.81
    assert choose_clock(150.0, 2.0) == 2.0
    with pytest.raises(UsageError, match=r"critical path \(250.0 ms\) exceeds the period of the "
                                         r"5 Hz clock .* at most 4 Hz"):
        choose_clock(250.0, 5.0)
    with pytest.raises(UsageError, match="positive number of Hz"):
        choose_clock(10.0, -1.0)


REGISTERS = """\
module regs(x, y);
  input [5:0] x;            // x[0]: clock, x[1]: active-low clear, x[2]: latch enable
  output [5:0] y;
  reg [2:0] q;
  reg [2:0] l;
  always @(posedge x[0] or negedge x[1]) if (!x[1]) q <= 3'd0; else q <= q + x[5:3];
  always @* if (x[2]) l = x[5:3] ^ q;
  assign y = {l, q};
endmodule
"""


@pytest.mark.parametrize("name", ["egfet-1.0v", "cnt-3.0v"])
def test_sequential_design_maps_and_simulates(name, tmp_path):
    src = tmp_path / "regs.v"
    src.write_text(REGISTERS)
    tech = technology(name)
    lib = load_library(tech.liberty)
    result = synthesize([src], "regs", tmp_path / "syn", liberty=tech.liberty)
    ff = next(r for r in lib.registers.values() if r.kind == "ff")
    latch = next(r for r in lib.registers.values() if r.kind == "latch")
    assert result.cells[ff.name] == 3 and result.cells[latch.name] == 3
    # Paths start at register outputs (clock-to-Q) and end at register inputs.
    timing = static_timing(result.netlist_json, liberty=tech.liberty)
    assert timing.delay_ms >= ff.delay_ms and timing.critical_path[0] in {
        r for r in json.loads(result.netlist_json.read_text())["modules"]["regs"]["cells"]}
    codes = np.random.default_rng(1).integers(0, 64, (300, 1))
    codes[:4, 0] = [0b000000, 0b000010, 0b001011, 0b001010]  # clear, then clocked data
    models = write_cell_models(lib, tmp_path / "cells.v")
    rtl = simulate([src], "regs", codes, input_bits=6, work_dir=tmp_path / "rtl")
    gate = simulate([result.netlist_v, models], "regs", codes, input_bits=6,
                    work_dir=tmp_path / "gate", count_toggles=True)
    assert np.array_equal(rtl.predictions, gate.predictions)
    assert len(set(gate.predictions.tolist())) > 8
    measured = result.with_activity(toggle_rates(gate.toggles, gate.n_vectors),
                                    net_values=gate.net_values, n_vectors=gate.n_vectors)
    assert measured.static_power_mw > 0 and measured.dynamic_power_mw > 0


def test_registers_without_a_register_cell_are_an_error(tmp_path):
    text = (TECH / "egfet_0v6.lib").read_text()
    lib = tmp_path / "combinational.lib"
    lib.write_text(text[:text.index("  cell (DFFNRX1)")] + "}\n")
    src = tmp_path / "regs.v"
    src.write_text(REGISTERS)
    with pytest.raises(UsageError, match=r"cannot model: \{'\$_DFF_PN0_': 3, "
                                         r"'\$_DLATCH_P_': 3\} \(flip-flops or latches that no "
                                         r"register cell of the library implements \(its "
                                         r"registers: none\)\)"):
        synthesize([src], "regs", tmp_path / "syn", liberty=lib)


def test_cell_models_follow_the_liberty_functions(tmp_path):
    for name in BUILTIN_TECHNOLOGIES:
        lib = load_library(technology(name).liberty)
        text = write_cell_models(lib, tmp_path / "cells.v").read_text()
        for cell in lib.cells.values():
            expr = text.split(f"module {cell.name} (")[1].split("assign Y = ")[1].split(";")[0]
            py = expr.replace("1'b", "")  # Python's ~ acts alike on bit 0
            table = tuple(1 & eval(py, {p: (k >> i) & 1 for i, p in enumerate(cell.inputs)})
                          for k in range(1 << len(cell.inputs)))
            assert table == cell.truth_table, (name, cell.name, expr)


def test_synth_cli_tech_and_clock(argmax3, tmp_path, capsys):
    from bespoke_mlp.cli import main
    out = tmp_path / "out"
    assert main(["synth", str(argmax3), "--top", "argmax3", "--out", str(out),
                 "--tech", "egfet-0.6v"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["technology"]["name"] == "egfet-0.6v"
    assert report["technology"]["voltage"] == 0.6 and report["freq_hz"] == 5.0
    assert main(["synth", str(argmax3), "--top", "argmax3", "--out", str(tmp_path / "o2"),
                 "--clock-hz", "1000"]) == 2
    assert "exceeds the period of the 1000 Hz clock" in capsys.readouterr().err


def test_implement_on_another_technology(tmp_path):
    from _nets import random_network

    from bespoke_mlp.flow._implement import implement

    rng = np.random.default_rng(3)
    net = random_network(rng, n_features=3, hidden=2, n_classes=2)
    codes = rng.integers(0, 16, (40, 3))
    tech = technology("egfet-0.6v")
    impl = implement(net, codes, None, design_dir=tmp_path / "d", work_dir=tmp_path / "w",
                     tech=tech)
    m = impl.metrics()
    assert m["technology"]["name"] == "egfet-0.6v" and m["technology"]["voltage"] == 0.6
    assert m["technology"]["library_sha256"] == tech.sha256
    assert m["verification"]["gate_agreement"] == 1.0
    # The measured input states weight the leakage: not the mean figures' sum.
    mean = power(impl.synth.cells, liberty=tech.liberty).static_mw
    assert impl.synth.static_power_mw != pytest.approx(mean, rel=1e-6)
    with pytest.raises(UsageError, match="exceeds the period of the 1000 Hz clock"):
        implement(net, codes, None, design_dir=tmp_path / "d2", work_dir=tmp_path / "w2",
                  tech=tech, clock_hz=1000.0)
