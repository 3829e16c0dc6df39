"""Tests of bespoke_mlp.synth: Yosys/ABC synthesis, netlist checks, timing and power."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from _designs import argmax3_verilog
from _nets import random_network

from bespoke_mlp._yosys import run_yosys
from bespoke_mlp.errors import ToolError, UsageError
from bespoke_mlp.hdl import TOP_MODULE, write_verilog
from bespoke_mlp.synth import (
    CELL_MODELS,
    COLLAPSE_MAX_INPUTS,
    DEEP_MAX_CELLS,
    DEEP_TINY_CELLS,
    DEFAULT_TOGGLE_RATE,
    EFFORTS,
    HALF_PERIOD_SUFFIX,
    MAPPINGS,
    abc_scripts_for,
    load_library,
    netlist_power,
    power,
    static_timing,
    synthesize,
    technology,
    toggle_rates,
    write_cell_models,
)
from bespoke_mlp.synth import _cli as synth_cli

AREA = {"INVX1": 228420, "NAND2X1": 247860, "NOR2X1": 399500, "AND2X1": 433500,
        "OR2X1": 563530, "XOR2X1": 1042800, "XNOR2X1": 1347557}

# ABC's "buffer" inserts buffers; the flow must expand each into two inverters.
BUFFERING_SCRIPT = "strash; dc2; amap; topo; buffer -N 2"


@pytest.fixture(scope="module")
def design(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("src") / "argmax3.v"
    path.write_text(argmax3_verilog(2))
    return path


@pytest.fixture(scope="module")
def result(design, tmp_path_factory):
    return synthesize([design], "argmax3", tmp_path_factory.mktemp("syn"))


def _instances(netlist_v: Path) -> list[str]:
    """Cell types instantiated in a Yosys-written netlist."""
    return re.findall(r"^\s*(\w+) \S+ \($", netlist_v.read_text(), re.MULTILINE)


def _equivalent(gold: Path, netlist: Path, top: str, work: Path,
                models: Path = CELL_MODELS) -> bool:
    """Prove with a SAT miter in Yosys that ``netlist`` (with the cell ``models``) equals
    ``gold``."""
    script = "\n".join([
        f'read_verilog "{gold}"', f"rename {top} gold",
        f'read_verilog "{netlist}"', f"rename {top} gate",
        f'read_verilog "{models}"', "proc",
        "miter -equiv -flatten -make_assert gold gate miter", "hierarchy -top miter",
        "sat -verify -prove-asserts",
    ]) + "\n"
    log = work / "equiv.log"
    try:
        run_yosys(script, script_path=work / "equiv.ys", log=log, timeout=60)
    except ToolError:
        assert "SAT proof finished - model found: FAIL!" in log.read_text()
        return False
    return "SAT proof finished - no model found: SUCCESS!" in log.read_text()


def test_netlist_has_only_library_cells_and_keeps_ports(result):
    assert set(result.cells) <= set(AREA)
    assert result.cells == dict(sorted(result.cells.items()))
    assert sorted(set(_instances(result.netlist_v))) == sorted(result.cells)
    assert len(_instances(result.netlist_v)) == result.n_cells == sum(result.cells.values())
    assert re.search(r"^module argmax3\(x, y\);", result.netlist_v.read_text(), re.MULTILINE)
    data = json.loads(result.netlist_json.read_text())
    assert list(data["modules"]) == ["argmax3"]
    assert set(data["modules"]["argmax3"]["ports"]) == {"x", "y"}
    assert result.log.is_file()


def test_area_is_the_sum_of_cell_areas(result):
    area = sum(AREA[c] * n for c, n in result.cells.items())
    assert result.area_um2 == area
    assert result.area_cm2 == pytest.approx(area / 1e8)


def test_power_and_timing_figures(result):
    lib = load_library()
    static = sum(lib.cells[c].leakage_uw * n for c, n in result.cells.items()) / 1e3
    assert result.static_power_mw == pytest.approx(static)
    assert result.power_mw == pytest.approx(result.static_power_mw + result.dynamic_power_mw)
    assert 0 < result.dynamic_power_mw < 0.1 * result.power_mw
    assert result.activity == "default" and result.freq_hz == 5.0
    assert 0 < result.delay_ms < 200
    assert result.fmax_hz == pytest.approx(1e3 / result.delay_ms)
    assert static_timing(result.netlist_json).delay_ms == pytest.approx(result.delay_ms)
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    for key in ("area_cm2", "power_mw", "static_power_mw", "dynamic_power_mw", "delay_ms",
                "cells", "n_cells"):
        assert key in data


def test_netlist_is_equivalent_to_its_source(design, result, tmp_path):
    assert _equivalent(design, result.netlist_v, "argmax3", tmp_path)
    # The check can fail: a source that differs in one constant is not equivalent.
    other = tmp_path / "other.v"
    other.write_text(argmax3_verilog(3))
    assert not _equivalent(other, result.netlist_v, "argmax3", tmp_path)


def test_synthesis_is_deterministic(design, result, tmp_path):
    again = synthesize([design], "argmax3", tmp_path)
    assert again.netlist_v.read_bytes() == result.netlist_v.read_bytes()
    assert again.netlist_json.read_bytes() == result.netlist_json.read_bytes()
    assert again.to_dict() == result.to_dict()
    assert result.to_dict()["effort"] == "normal"
    assert result.to_dict()["mapping"] == "power"  # the default


def test_netlist_does_not_name_the_source_path(tmp_path):
    # Yosys names a Verilog function's result (here the sequential classifier's class
    # multiplexer) after the source file's path; a design read from a temporary directory
    # must still give the same netlist.
    net = random_network(np.random.default_rng(3), n_classes=4)
    netlists = []
    for name in ("one", "two"):
        top = write_verilog(net, tmp_path / name / "top.v", arch="sequential")
        netlists.append(synthesize([top], TOP_MODULE, tmp_path / name / "out",
                                   liberty=technology("egfet-0.6v").liberty,
                                   effort="fast").netlist_v.read_text())
    assert netlists[0] == netlists[1] and str(tmp_path) not in netlists[0]


def test_effort_scripts_are_bounded_by_iterations_not_time():
    # Wall-clock limits (ABC's -T) would make the netlist depend on the machine's load.
    for effort in EFFORTS:
        for n_cells in (10, DEEP_MAX_CELLS + 1):
            for script in abc_scripts_for(effort, n_cells):
                assert not re.search(r"(^|\s)-T\b", script), (effort, script)
                assert script.rstrip().endswith("amap")
    for script in abc_scripts_for("high", DEEP_MAX_CELLS):
        assert re.search(r"&deepsyn .*-J \d+.*-S \d+", script)
    # The smallest designs get more variants (seeds), each with more rounds.
    tiny, small = abc_scripts_for("high", DEEP_TINY_CELLS), abc_scripts_for("high", DEEP_MAX_CELLS)
    assert (len(tiny), len(small)) == (6, 2)
    assert len(set(tiny)) == 6 and all("-J 50 " in s for s in tiny)
    assert "&deepsyn" not in "".join(abc_scripts_for("high", DEEP_MAX_CELLS + 1))


def test_few_input_designs_get_a_collapsing_candidate():
    for effort in EFFORTS:
        for n_cells in (10, DEEP_MAX_CELLS + 1):
            plain = abc_scripts_for(effort, n_cells)
            assert abc_scripts_for(effort, n_cells, COLLAPSE_MAX_INPUTS + 1) == plain
            few = abc_scripts_for(effort, n_cells, COLLAPSE_MAX_INPUTS)
            assert few[:-1] == plain and few[-1].startswith("strash; collapse; ")
            assert few[-1].endswith("amap") and "strash; strash" not in few[-1]


def test_candidates_map_the_design_prepared_once(tmp_path):
    # Two candidates (normal effort, 8 input bits: the collapsing one too) in one Yosys run:
    # the design is prepared once and each script maps a copy of it, giving the netlist of
    # the better one synthesized on its own.
    net = random_network(np.random.default_rng(2), n_features=2)
    rtl = write_verilog(net, tmp_path / "top.v")
    scripts = abc_scripts_for("normal", 0, 8)
    both = synthesize([rtl], TOP_MODULE, tmp_path / "both", support=8)
    assert both.log.read_text().count("design -load prepared") == 1
    alone = [synthesize([rtl], TOP_MODULE, tmp_path / f"s{k}", abc_script=script)
             for k, script in enumerate(scripts)]
    netlists = [a.netlist_v.read_bytes() for a in alone]
    assert len(scripts) == 2 and netlists[0] != netlists[1]
    assert both.netlist_v.read_bytes() in netlists
    assert both.area_um2 == min(a.area_um2 for a in alone)


def _reference_within(max_cells: int) -> Path:
    """``top.v`` of the largest design in ``netlists/`` of at most ``max_cells`` cells."""
    root = Path(__file__).resolve().parents[1] / "netlists"
    cells = {d: json.loads((d / "report.json").read_text()).get("n_cells") or 0
             for d in root.iterdir() if (d / "top.v").is_file()}
    return max((c, d) for d, c in cells.items() if c <= max_cells)[1] / "top.v"


def test_high_effort_is_deterministic_smaller_and_equivalent(tmp_path):
    # The largest committed reference design small enough to run &deepsyn (a few seconds per
    # synthesis); which one it is changes when netlists/ is regenerated.
    rtl = _reference_within(DEEP_MAX_CELLS)
    high = synthesize([rtl], "bespoke_mlp", tmp_path / "a", effort="high")
    assert "&deepsyn" in high.log.read_text()
    again = synthesize([rtl], "bespoke_mlp", tmp_path / "b", effort="high")
    assert again.netlist_v.read_bytes() == high.netlist_v.read_bytes()
    normal = synthesize([rtl], "bespoke_mlp", tmp_path / "c", effort="normal")
    assert high.area_um2 < normal.area_um2
    assert _equivalent(rtl, high.netlist_v, "bespoke_mlp", tmp_path)


def test_power_mapping_lowers_leakage_for_about_the_same_area(tmp_path):
    # A committed reference design at 0.6 V, normal effort (under a second per mapping).
    rtl = Path(__file__).resolve().parents[1] / "netlists" / "balance" / "top.v"
    lib = technology("egfet-0.6v").liberty
    res = {m: synthesize([rtl], "bespoke_mlp", tmp_path / m, liberty=lib, mapping=m)
           for m in MAPPINGS}
    area, low = res["area"], res["power"]
    assert (area.mapping, low.mapping) == ("area", "power")
    # Measured: static power -5.1 %, area +1.3 %.
    assert low.static_power_mw < 0.97 * area.static_power_mw
    assert low.area_um2 < 1.03 * area.area_um2
    # The reported figures are the library's, whatever ABC minimized.
    library = load_library(lib)
    assert low.area_um2 == pytest.approx(
        sum(library.cell(c).area_um2 * n for c, n in low.cells.items()))
    models = write_cell_models(library, tmp_path / "cells.v")
    assert _equivalent(rtl, low.netlist_v, "bespoke_mlp", tmp_path, models)


def test_mapper_buffers_become_two_inverters(design, tmp_path):
    res = synthesize([design], "argmax3", tmp_path, abc_script=BUFFERING_SCRIPT)
    log = res.log.read_text()
    abc_inv = int(re.search(r"ABC RESULTS:\s+INVX1 cells:\s+(\d+)", log).group(1))
    abc_buf = int(re.search(r"ABC RESULTS:\s+MAPBUF cells:\s+(\d+)", log).group(1))
    assert abc_buf > 0
    assert "MAPBUF" not in res.netlist_v.read_text()
    assert res.cells["INVX1"] == abc_inv + 2 * abc_buf
    assert _equivalent(design, res.netlist_v, "argmax3", tmp_path)


def test_measured_activity_scales_dynamic_power(result):
    data = json.loads(result.netlist_json.read_text())["modules"]["argmax3"]
    outputs = [c["connections"]["Y"][0] for c in data["cells"].values()]
    names = {bit: name for name, n in data["netnames"].items() for bit in n["bits"]
             if len(n["bits"]) == 1}
    # Keyed by output net where it has a scalar name, else by instance name.
    activity = {names[b]: 2 * DEFAULT_TOGGLE_RATE for b in outputs if b in names}
    for inst, cell in data["cells"].items():
        if cell["connections"]["Y"][0] not in names:
            activity[inst] = 2 * DEFAULT_TOGGLE_RATE
    measured = result.with_activity(activity)
    assert measured.activity == "measured"
    assert measured.static_power_mw == result.static_power_mw
    assert measured.dynamic_power_mw == pytest.approx(2 * result.dynamic_power_mw)
    direct = netlist_power(result.netlist_json, activity, freq_hz=10.0)
    assert direct.dynamic_mw == pytest.approx(4 * result.dynamic_power_mw)
    # One cell toggling once per vector, every other one never.
    inst, cell = next(iter(data["cells"].items()))
    energy_pj = load_library().cells[cell["type"]].internal_pj
    one = result.with_activity({**{k: 0.0 for k in activity}, inst: 1.0})
    assert one.dynamic_power_mw == pytest.approx(energy_pj * 5.0 * 1e-9)
    # A cell the activity does not name is an error, not a cell that never toggles.
    n = len(data["cells"])
    with pytest.raises(UsageError, match=f"names no output of {n} of the {n} cells"):
        result.with_activity({"no_such_net": 1.0})
    with pytest.raises(UsageError, match=f"names no output of 1 of the {n} cells"):
        key = names.get(cell["connections"]["Y"][0], inst)
        result.with_activity({k: v for k, v in activity.items() if k != key})
    with pytest.raises(UsageError, match="toggle rate"):
        result.with_activity({next(iter(activity)): -1.0})


def test_toggle_rates():
    assert toggle_rates({"a": 3, "b": 0}, 4) == {"a": 1.0, "b": 0.0}
    with pytest.raises(UsageError, match="at least 2 vectors"):
        toggle_rates({"a": 1}, 1)


def test_power_from_cell_counts():
    lib = load_library()
    counts = {"INVX1": 10, "XOR2X1": 2}
    report = power(counts)
    static = (10 * lib.cells["INVX1"].leakage_uw + 2 * lib.cells["XOR2X1"].leakage_uw) / 1e3
    dynamic = (10 * lib.cells["INVX1"].internal_pj + 2 * lib.cells["XOR2X1"].internal_pj) \
        * DEFAULT_TOGGLE_RATE * 5.0 * 1e-9
    assert report.static_mw == pytest.approx(static)
    assert report.dynamic_mw == pytest.approx(dynamic)
    assert report.power_mw == pytest.approx(static + dynamic)
    assert power(counts, toggle_rate=0.0).dynamic_mw == 0.0
    with pytest.raises(UsageError, match="frequency"):
        power(counts, freq_hz=0)
    with pytest.raises(UsageError, match="'DFF'"):
        power({"DFF": 1})


def _netlist_json(path: Path, cells: dict[str, tuple[str, list, int]], outputs: list) -> Path:
    """A hand-made Yosys JSON netlist; ``cells``: name -> (type, input bits, output bit)."""
    pins = ("A", "B")
    module = {
        "attributes": {"top": "1"},
        "ports": {"x": {"direction": "input", "bits": [2, 3, 4]},
                  "y": {"direction": "output", "bits": outputs}},
        "cells": {
            name: {"type": t, "connections": {**dict(zip(pins, ([b] for b in ins))), "Y": [out]}}
            for name, (t, ins, out) in cells.items()
        },
        "netnames": {},
    }
    path.write_text(json.dumps({"modules": {"chain": module}}))
    return path


def test_static_timing_of_a_chain(tmp_path):
    # x0 -> INV -> NAND -> XOR -> y[0]; a short path x1, x2 -> AND -> y[1].
    path = _netlist_json(tmp_path / "chain.json", {
        "i1": ("INVX1", [2], 10),
        "n1": ("NAND2X1", [10, 3], 11),
        "x1": ("XOR2X1", [11, 4], 12),
        "a1": ("AND2X1", [3, 4], 13),
    }, [12, 13, "0"])
    report = static_timing(path)
    assert report.delay_ms == pytest.approx(0.71 + 1.13 + 5.55)
    assert report.critical_path == ("i1", "n1", "x1")
    assert report.fmax_hz == pytest.approx(1e3 / report.delay_ms)
    empty = static_timing(_netlist_json(tmp_path / "wire.json", {}, [2]))
    assert empty.delay_ms == 0.0 and math.isinf(empty.fmax_hz) and empty.critical_path == ()


def test_static_timing_rejects_loops_and_foreign_cells(tmp_path):
    loop = _netlist_json(tmp_path / "loop.json", {
        "n1": ("NAND2X1", [2, 11], 10),
        "n2": ("NAND2X1", [10, 3], 11),
    }, [11])
    with pytest.raises(UsageError, match="combinational loop"):
        static_timing(loop)
    buf = _netlist_json(tmp_path / "buf.json", {"f": ("BUFX9", [2], 10)}, [10])
    with pytest.raises(UsageError, match=r"cannot model: \{'BUFX9': 1\}"):
        static_timing(buf)


def test_timeout_names_the_log(design, tmp_path):
    with pytest.raises(ToolError, match=r"time limit of 0\.01 s.*log: .*yosys\.log") as info:
        synthesize([design], "argmax3", tmp_path, timeout=0.01)
    log = Path(re.search(r"log: (\S+)", str(info.value)).group(1))
    assert log.is_file()


def test_yosys_error_names_the_log(design, tmp_path):
    with pytest.raises(ToolError, match=r"yosys failed: Module `nope' not found.*; log: "):
        synthesize([design], "nope", tmp_path)


def test_verilog_error_is_shown_and_exits_2(tmp_path, capsys):
    """``synth broken.v`` names the file, line and Yosys' message and exits 2, an input error
    (issue 31, defect 2)."""
    from bespoke_mlp.cli import main

    broken = tmp_path / "broken.v"
    broken.write_text("module top(input a, output y);\n  assign y = a &;\nendmodule\n")
    with pytest.raises(UsageError, match=r"broken\.v line 2: syntax error.*\(log: "):
        synthesize([broken], "top", tmp_path / "direct")
    assert main(["synth", str(broken), "--top", "top", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "broken.v line 2: syntax error, unexpected ';'" in err, err


def test_timing_report_and_constraints(design, tmp_path):
    """``timing.rpt`` lists the critical path cell by cell; its arrivals add up to the delay
    static timing finds; ``constraints.sdc`` sets the clock."""
    from bespoke_mlp.synth import sdc_text, timing_report_text

    syn = synthesize([design], "argmax3", tmp_path)
    text = timing_report_text(syn.netlist_json, clock_hz=5.0)
    rows = [line.split() for line in text.splitlines() if re.match(r"\s*\d+\s+\S+\s+\S+", line)]
    assert rows and [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    assert float(rows[-1][-1]) == pytest.approx(static_timing(syn.netlist_json).delay_ms, abs=2e-3)
    assert "clock period   200.000 ms (5 Hz" in text and "(met)" in text
    sdc = sdc_text("argmax3", clock_hz=5.0)
    assert "create_clock -name vclk -period 200" in sdc
    assert "create_clock -name clk -period 100 [get_ports clk]" in sdc_text("s", clock_hz=10,
                                                                             cycles=4)


def test_bad_arguments(design, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        synthesize([tmp_path / "none.v"], "argmax3", tmp_path)
    bad = tmp_path / "design.vhd"
    bad.write_text("")
    with pytest.raises(UsageError, match="not Verilog"):
        synthesize([bad], "argmax3", tmp_path)
    with pytest.raises(UsageError, match="sequence of paths"):
        synthesize(design, "argmax3", tmp_path)
    with pytest.raises(UsageError, match="timeout"):
        synthesize([design], "argmax3", tmp_path, timeout=0)
    with pytest.raises(UsageError, match="identifier"):
        synthesize([design], "arg max", tmp_path)
    with pytest.raises(UsageError, match="effort must be one of fast, normal, high, got 'max'"):
        synthesize([design], "argmax3", tmp_path, effort="max")
    with pytest.raises(UsageError, match="mapping must be one of area, power, got 'delay'"):
        synthesize([design], "argmax3", tmp_path, mapping="delay")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    synth_cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_synth_writes_report_and_refuses_non_empty_out(design, tmp_path, capsys):
    out = tmp_path / "out"
    args = _parse(["synth", str(design), "--top", "argmax3", "--out", str(out)])
    assert args.func(args) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".bespoke-mlp-output.json", "netlist.json", "netlist.v", "report.json", "yosys.log"]
    report = json.loads((out / "report.json").read_text())
    assert report["netlist"] == "netlist.v" and report["n_cells"] > 0
    assert "cm2" in capsys.readouterr().out
    with pytest.raises(UsageError, match="not empty"):
        args.func(args)
    assert report["mapping"] == "power"
    forced = _parse(["synth", str(design), "--top", "argmax3", "--out", str(out), "--force",
                     "--effort", "fast", "--mapping", "area"])
    assert forced.func(forced) == 0
    assert "&deepsyn" not in (out / "yosys.log").read_text()
    assert json.loads((out / "report.json").read_text())["mapping"] == "area"


def test_cli_calibrate(capsys):
    tech = Path(__file__).resolve().parents[1] / "bespoke_mlp" / "tech"
    calibration = tech / "egfet_calibration.json"
    args = _parse(["tech", "calibrate", str(calibration)])
    assert args.func(args) == 0
    assert "max |error| over 18 designs" in capsys.readouterr().out
    args = _parse(["tech", "calibrate", str(calibration), "--json"])
    assert args.func(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["designs"]) == 18 and data["max_abs_error"]["power_error"] < 0.03


def test_half_period_registers_count_twice(tmp_path):
    """A register named with HALF_PERIOD_SUFFIX must get its data in half a period (here
    the XOR tree into the latch is longer than the latch's clock-to-output delay)."""
    delays = {}
    for name in ("q", f"q{HALF_PERIOD_SUFFIX}"):
        src = tmp_path / f"{name}.v"
        src.write_text(f"module half(input clk, input [15:0] a, output y);\n"
                       f"  reg {name};\n  always @* if (clk) {name} = ^a;\n"
                       f"  assign y = {name} & clk;\nendmodule\n")
        lib = technology("egfet-0.6v").liberty
        result = synthesize([src], "half", tmp_path / name, liberty=lib)
        delays[name] = static_timing(result.netlist_json, liberty=lib).delay_ms
    assert delays[f"q{HALF_PERIOD_SUFFIX}"] == pytest.approx(2 * delays["q"])
    assert delays["q"] > 0
