import numpy as np
import pytest
from _nets import random_network
from amaranth.hdl import Const, Fragment, Module, Signal
from amaranth.sim import Simulator

from bespoke_mlp.errors import UsageError
from bespoke_mlp.hdl import (
    Classifier,
    check_module_name,
    compress,
    dadda_heights,
    to_rtlil,
)
from bespoke_mlp.hdl._top import _pairwise
from bespoke_mlp.ir import Layer, Network, Window, predict_codes


def simulate_amaranth(net: Network, codes: np.ndarray, form: str = "tree") -> np.ndarray:
    dut = Classifier(net, form=form)
    sim = Simulator(dut)
    out = []

    async def bench(ctx):
        for row in codes:
            ctx.set(dut.x, sum(int(v) << (net.input_bits * i) for i, v in enumerate(row)))
            out.append(ctx.get(dut.y))

    sim.add_testbench(bench)
    sim.run()
    return np.array(out)


@pytest.mark.parametrize("seed", range(6))
def test_tree_form_matches_golden_model(seed):
    rng = np.random.default_rng(seed)
    net = random_network(rng, approximate=seed % 2 == 1)
    codes = rng.integers(0, 16, (80, net.n_features))
    assert np.array_equal(simulate_amaranth(net, codes), predict_codes(net, codes))


@pytest.mark.parametrize("seed", range(3))
def test_behavioral_form_matches_golden_model(seed):
    rng = np.random.default_rng(100 + seed)
    net = random_network(rng)
    codes = rng.integers(0, 16, (80, net.n_features))
    assert np.array_equal(simulate_amaranth(net, codes, "behavioral"),
                          predict_codes(net, codes))


def test_behavioral_form_refuses_truncation():
    net = random_network(np.random.default_rng(7), approximate=True)
    with pytest.raises(UsageError, match="cannot express column truncation"):
        to_rtlil(net, form="behavioral")


def test_unknown_form_is_refused():
    with pytest.raises(UsageError, match="'wallace'"):
        Classifier(random_network(np.random.default_rng(0)), form="wallace")


def test_argmax_ties_go_to_lowest_index():
    # Two identical output neurons and a third that is never larger.
    l0 = Layer([[1], [1], [0]], [0, 0, -1], [[15], [15], [0]], [0, 0, 0])
    net = Network(4, (l0,), ("a", "b", "c"))
    codes = np.arange(16)[:, None]
    assert simulate_amaranth(net, codes).tolist() == [0] * 16
    assert predict_codes(net, codes).tolist() == [0] * 16


def test_relu_window_saturates_and_truncates():
    # Hidden activation = clip((x - 3) >> 1, 0, 3); the output compares it against 1.5.
    l0 = Layer([[1]], [-3], [[15]], [0], (Window(1, 2),))
    l1 = Layer([[0], [2]], [3, 0], [[0], [3]], [0, 0])
    net = Network(4, (l0, l1), (0, 1))
    codes = np.arange(16)[:, None]
    expected = (np.clip((np.arange(16) - 3) >> 1, 0, 3) * 2 > 3).astype(int)
    assert predict_codes(net, codes).tolist() == expected.tolist()
    assert simulate_amaranth(net, codes).tolist() == expected.tolist()


def test_rtlil_is_deterministic():
    rng = np.random.default_rng(3)
    net = random_network(rng, approximate=True)
    assert to_rtlil(net) == to_rtlil(net)


@pytest.mark.parametrize("bad", ["1abc", "top module", "a" * 80, "x;y", ""])
def test_module_names_must_be_identifiers(bad):
    with pytest.raises(UsageError, match="identifier"):
        check_module_name(bad)


def test_dadda_heights():
    assert dadda_heights(2) == []
    assert dadda_heights(3) == [2]
    assert dadda_heights(10) == [9, 6, 4, 3, 2]


@pytest.mark.parametrize("seed", range(4))
def test_compressor_tree_sums_columns(seed):
    rng = np.random.default_rng(seed)
    width = 10
    heights = rng.integers(0, 9, width)
    m = Module()
    inputs = Signal(int(heights.sum()))
    columns, pos = [], 0
    for h in heights:
        columns.append([inputs[pos + k] for k in range(h)])
        pos += int(h)
    columns[0].append(Const(1, 1))
    total = Signal(width)
    m.d.comb += total.eq(compress(m, columns, width, "t_"))
    sim = Simulator(m)
    cols = np.repeat(np.arange(width), heights)

    async def bench(ctx):
        for _ in range(40):
            bits = rng.integers(0, 2, int(heights.sum()))
            ctx.set(inputs, int(sum(int(b) << k for k, b in enumerate(bits))))
            expected = (int((bits << cols).sum()) + 1) % (1 << width)
            assert ctx.get(total) == expected

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_pairwise_argmax_matches_golden_model(n_classes):
    rng = np.random.default_rng(40 + n_classes)
    net = random_network(rng, n_classes=n_classes)
    assert _pairwise(net)
    codes = rng.integers(0, 16, (120, net.n_features))
    assert np.array_equal(simulate_amaranth(net, codes), predict_codes(net, codes))


def test_pairwise_argmax_ties_go_to_lowest_index():
    # Every pair ties somewhere: v0 = 2x, v1 = x + 8, v2 = 3x - 8 (equal at x = 8).
    l0 = Layer([[2], [1], [3]], [0, 8, -8], [[15], [15], [15]], [0, 0, 0])
    net = Network(4, (l0,), ("a", "b", "c"))
    codes = np.arange(16)[:, None]
    assert _pairwise(net)
    assert simulate_amaranth(net, codes).tolist() == predict_codes(net, codes).tolist()
    assert predict_codes(net, codes)[8] == 0


def test_approximated_output_layer_keeps_the_tournament():
    net = random_network(np.random.default_rng(3), approximate=True)
    assert not _pairwise(net)


@pytest.mark.parametrize("n_classes,removed", [(5, (0, 3)), (4, (1,)), (3, (0,)), (4, (0, 2))])
def test_class_removal_keeps_original_class_indices(n_classes, removed):
    # The tournament (5, 4 outputs) and the pairwise form (2-3 outputs) alike.
    from bespoke_mlp.approx import ApproxConfig, apply_config

    rng = np.random.default_rng(60 + n_classes)
    net = apply_config(random_network(rng, n_classes=n_classes),
                       ApproxConfig(removed_classes=removed))
    codes = rng.integers(0, 16, (120, net.n_features))
    gold = predict_codes(net, codes)
    assert not set(gold.tolist()) & set(removed)
    assert np.array_equal(simulate_amaranth(net, codes), gold)
    dut = Classifier(net)
    Fragment.get(dut, None)  # elaborated, so no "created but never used" warnings
    assert dut.y.shape().width == (n_classes - 1).bit_length()


def test_design_verilog_is_hierarchical_with_a_header(tmp_path):
    """A design directory's top.v: one module per layer and per neuron (plain names), each
    neuron's constants in a comment, and a header with the port and class maps that data
    cannot close early (issue 31)."""
    import dataclasses

    from bespoke_mlp.hdl import HEADER_END, write_design_verilog

    rng = np.random.default_rng(3)
    net = random_network(rng, approximate=True, n_classes=4)
    names = ("a", "b */ module evil; /*", "c", "d", "e")
    net = dataclasses.replace(net, feature_names=names, classes=("x", "y", "z", "w"),
                              feature_min=(0.0,) * 5, feature_max=(1.0,) * 5)
    path = write_design_verilog(net, tmp_path / "top.v", work_dir=tmp_path / "w")
    text = path.read_text()
    header, _, body = text.partition(HEADER_END)
    assert header.startswith("/*\n") and "*/" not in header
    assert "module evil" not in body and "\\" not in body.split("module", 1)[0]
    modules = [line.split("(")[0].split()[1] for line in body.splitlines()
               if line.startswith("module ")]
    assert modules[0] == "bespoke_mlp" and "bespoke_mlp_l0" in modules
    assert {f"bespoke_mlp_l0_n{j}" for j in range(net.layers[0].n_out)} <= set(modules)
    assert all(m.isidentifier() for m in modules)
    for i, r in enumerate(net.feature_resolution):
        line = next(h for h in header.splitlines() if f"feature {i} " in h)
        assert line.startswith(f" *   x[{4 * i + 3}:{4 * i}]")
        assert ("ignored" in line) == (r == 0)
    assert " *   3 = 'w'" in header
    w = net.layers[0].weights[0]
    first = next(i for i, v in enumerate(w) if v)
    assert f"// Layer 0 neuron 0: acc = {'+' if w[first] > 0 else '-'} {abs(w[first])}*a{first}" \
        in body
    # Deterministic, and the same module whatever the work directory.
    again = write_design_verilog(net, tmp_path / "again.v", work_dir=tmp_path / "w2")
    assert again.read_text() == text
