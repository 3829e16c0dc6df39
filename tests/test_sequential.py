"""Tests of the folded (sequential) architecture: schedule, cycle-accurate model, RTL and gate
netlist against the golden model, flow figures."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from _nets import random_config, random_network

from bespoke_mlp.approx import ApproxConfig, LayerApprox, apply_config, input_bit_counts
from bespoke_mlp.cli import main
from bespoke_mlp.errors import NoDesignError, UsageError
from bespoke_mlp.flow import lanes_for_latency, quiet
from bespoke_mlp.flow._implement import implement
from bespoke_mlp.hdl import Architecture, to_rtlil, write_verilog
from bespoke_mlp.ir import (
    Layer,
    Network,
    Window,
    cycle_predict,
    predict_codes,
    schedule,
    sequential_area_cm2,
)
from bespoke_mlp.sim import Design, simulate_many
from bespoke_mlp.sim._clocked import ClockedDesign, record_vectors, render_clocked_testbench


def _two_hidden(rng: np.random.Generator) -> Network:
    """A 4-3-2-3 network (two hidden layers), one hidden neuron without inputs."""
    w0 = rng.integers(-60, 60, (3, 4))
    w0[1] = 0
    l0 = Layer(w0, rng.integers(-300, 300, 3), np.full((3, 4), 15), (0, 0, 1),
               (Window(2, 4), Window(0, 3), Window(3, 5)))
    l1 = Layer(rng.integers(-40, 40, (2, 3)), rng.integers(-50, 50, 2),
               [[15, 7, 31]] * 2, (0, 0), (Window(1, 4), Window(2, 3)))
    l2 = Layer(rng.integers(-40, 40, (3, 2)), rng.integers(-50, 50, 3), [[15, 7]] * 3,
               (1, 0, 0))
    return Network(4, (l0, l1, l2), (0, 1, 2), argmax_shift=1)


def test_cycle_model_equals_golden_model() -> None:
    rng = np.random.default_rng(5)
    nets = [random_network(rng, approximate=bool(k % 2)) for k in range(40)]
    nets += [_two_hidden(rng) for _ in range(5)]
    base = random_network(rng)
    stats = input_bit_counts(rng.integers(0, 16, (50, base.n_features)), base.input_bits)
    nets += [apply_config(base, random_config(rng, base), stats) for _ in range(20)]
    nets += [apply_config(random_network(rng, n_classes=4), ApproxConfig(removed_classes=r))
             for r in [(0,), (1, 3)]]
    # Coarse weights: the schedule executes the normalized network.
    nets += [apply_config(random_network(rng, approximate=bool(b % 2)), ApproxConfig(
        layers=(LayerApprox(weight_bits=b), LayerApprox(weight_bits=1 + b % 3))))
        for b in range(1, 7)]
    for k, net in enumerate(nets):
        codes = rng.integers(0, 1 << net.input_bits, (200, net.n_features))
        sched = schedule(net, lanes=1 + k % 3)
        assert np.array_equal(cycle_predict(sched, codes), predict_codes(net, codes))


def test_schedule_skips_connections_that_contribute_nothing() -> None:
    net = _two_hidden(np.random.default_rng(0))
    sched = schedule(net)
    # Hidden neuron 1 has no inputs: one step with zero coefficients keeps its constant.
    idle = [s for s in sched.steps if s.layer == 0 and s.neuron == 1]
    assert len(idle) == 1 and not any(map(any, idle[0].coefs)) and idle[0].first
    assert idle[0].last
    # Steps of the neurons, and the drain cycle of the last output neuron's update.
    assert sched.cycles == 4 + 1 + 4 + 3 + 3 + 3 * 2 + 1
    assert sched.operand_bits == 5
    assert sched.loop_bits == 5 + sched.acc_bits
    assert sched.latch_bits == (4 + 3 + 5) + (4 + 3) + sched.best_bits + 2 + 1
    # Three lanes: a neuron of n inputs takes ceil(n / 3) cycles; idle lanes add nothing. A
    # layer's first neuron reading all of the previous layer in one step gets an idle step.
    folded = schedule(net, lanes=3)
    assert folded.cycles == 2 + 1 + 2 + (1 + 1) + 1 + (1 + 1) + 1 + 1 + 1
    assert all(len(s.sources) == len(s.coefs) == 3 for s in folded.steps)
    # Input i on lane i % 3 where the lane has room.
    assert [s.sources for s in folded.steps[:2]] == [(0, 1, 2), (3, 1, 2)]


def test_inputs_keep_their_positions_where_that_costs_no_step() -> None:
    """Input ``i`` is read at step ``i // lanes`` when that takes no more steps, so that the
    operand selects follow the counter: a pruned connection leaves an idle slot, which reads
    with zero coefficients its position's source if its lane reads that anyway, else the
    lane's first; else the inputs are packed."""
    masks = [[15] * 6] * 2
    net = Network(4, (Layer([[5, 0, 7, 9, 3, 2], [5, 0, 0, 0, 3, 2]], [1, 2], masks, (0, 0)),),
                  (0, 1))
    steps = schedule(net, lanes=2).steps
    assert [s.sources for s in steps] == [(0, 3), (2, 3), (4, 5), (0, 5), (4, 3)]
    assert [s.weights for s in steps] == [(5, 0), (7, 9), (3, 2), (5, 2), (3, 0)]
    codes = np.random.default_rng(1).integers(0, 16, (100, 6))
    assert np.array_equal(cycle_predict(schedule(net, 2), codes), predict_codes(net, codes))
    # Idle slots add no source to a lane's multiplexer: input 1, read by no neuron, stays out.
    assert {s.sources[1] for s in steps} == {3, 5}


def test_first_step_of_a_layer_never_reads_the_activation_written_then() -> None:
    """The previous layer's last neuron is written during the layer's first step: that
    source is read last, after an idle first step if it is the only one."""
    net = _two_hidden(np.random.default_rng(0))
    for lanes in (1, 2, 3):
        steps = schedule(net, lanes).steps
        for k in (1, 2):
            first = next(n for n, s in enumerate(steps) if s.layer == k)
            written = net.layers[k - 1].n_out - 1
            reads = [i for i, c in zip(steps[first].sources, steps[first].coefs) if any(c)]
            assert written not in reads and steps[first].first
    lone = Network(4, (Layer([[20, 30]], [5], [[15, 15]], (0,), (Window(0, 4),)),
                       Layer([[7], [-7]], [0, 1], [[15]] * 2, (0, 0))), (0, 1))
    steps = schedule(lone).steps
    assert [(s.layer, s.first, s.last, any(map(any, s.coefs))) for s in steps[2:4]] == [
        (1, True, False, False), (1, False, True, True)]
    with pytest.raises(ValueError, match="lanes must be an int >= 1"):
        schedule(net, lanes=0)


def test_generation_is_deterministic_and_refuses_behavioral_form() -> None:
    net = random_network(np.random.default_rng(2), approximate=True)
    assert to_rtlil(net, arch="sequential") == to_rtlil(net, arch="sequential")
    with pytest.raises(UsageError, match="no 'behavioral' form"):
        to_rtlil(net, arch="sequential", form="behavioral")
    with pytest.raises(UsageError, match="architecture must be one of"):
        to_rtlil(net, arch="folded")
    with pytest.raises(UsageError, match="lanes apply to the sequential architecture"):
        Architecture("parallel", 2)
    with pytest.raises(UsageError, match="lanes must be an integer in 1..64"):
        Architecture("sequential", 0)


def test_clocked_testbench_records_the_first_vectors_cycles() -> None:
    assert record_vectors(3000, 100) == 200
    assert record_vectors(10, 100) == 10
    text = render_clocked_testbench(
        [ClockedDesign("a", 8, 5, 7, "v0.hex", "p0.txt"),
         ClockedDesign("b", 8, 5, 3, "v1.hex", "p1.txt")])
    assert "c_0 < 7" in text and "c_1 < 3" in text and "wait (done_0 && done_1)" in text


def test_clocked_and_combinational_designs_are_not_mixed(tmp_path: Path) -> None:
    v = tmp_path / "a.v"
    v.write_text("module a(input [3:0] x, output y); assign y = x[0]; endmodule\n")
    codes = np.zeros((2, 1), dtype=np.int64)
    with pytest.raises(UsageError, match="cannot be simulated together"):
        simulate_many([Design((v,), "a", codes, 4), Design((v,), "a2", codes, 4, cycles=3)],
                      work_dir=tmp_path)


@pytest.mark.parametrize("lanes", [1, 2])
def test_rtl_and_gates_equal_golden_model_and_figures(tmp_path: Path, lanes: int) -> None:
    rng = np.random.default_rng(7)
    net = _two_hidden(rng)
    codes = rng.integers(0, 16, (60, 4))
    labels = predict_codes(net, codes)
    impl = implement(net, codes, labels, design_dir=tmp_path / "design",
                     work_dir=tmp_path / "work", arch=Architecture("sequential", lanes))
    assert impl.rtl_agreement == impl.gate_agreement == impl.accuracy == 1.0
    m = impl.metrics()
    sched = schedule(net, lanes)
    assert m["arch"] == "sequential" and m["lanes"] == lanes and m["cycles"] == sched.cycles
    # Flip-flops where a register is read as it is written (counter, accumulator), latches
    # for the activations, the running maximum, the class and the comparison.
    assert m["cells"]["DFFNRX1"] == sched.loop_bits
    assert m["cells"]["DFFX1"] == sched.latch_bits
    # The clock is as fast as one step allows, rounded down.
    assert 0.9 * m["fmax_hz"] <= m["clock_hz"] <= m["fmax_hz"]
    assert m["latency_s"] == pytest.approx(m["cycles"] / m["clock_hz"], rel=1e-5)
    assert m["energy_mj"] == pytest.approx(m["power_mw"] * m["latency_s"], rel=1e-4)
    assert m["technology"]["activity"] == "measured"


def test_rtl_of_approximated_networks_equals_golden_model(tmp_path: Path) -> None:
    """Masks, truncation, windows, argmax shift, removed neurons and classes, 1 and 3 lanes:
    the RTL of each (one Verilator build for all) predicts exactly what the golden model
    does."""
    rng = np.random.default_rng(11)
    base = random_network(rng)
    stats = input_bit_counts(rng.integers(0, 16, (50, base.n_features)), base.input_bits)
    nets = [random_network(rng, approximate=True) for _ in range(2)]
    nets += [apply_config(base, random_config(rng, base), stats) for _ in range(2)]
    # Class removal: the class register takes the original class indices.
    nets.append(apply_config(random_network(rng, n_classes=4, n_features=base.n_features),
                             ApproxConfig(removed_classes=(0, 2))))
    # Coarse weights, divided out of the datapath.
    nets.append(apply_config(base, ApproxConfig(layers=(LayerApprox(weight_bits=3),
                                                       LayerApprox(weight_bits=2)))))
    codes = rng.integers(0, 16, (80, base.n_features))
    designs, goldens = [], []
    for k, net in enumerate(nets):
        lanes = 1 + 2 * (k % 2)
        top = write_verilog(net, tmp_path / f"d{k}" / "top.v", name=f"seq{k}",
                            arch=Architecture("sequential", lanes))
        designs.append(Design((top,), f"seq{k}", codes, 4, cycles=schedule(net, lanes).cycles))
        goldens.append(predict_codes(net, codes))
    for sim, golden in zip(simulate_many(designs, work_dir=tmp_path / "sim"), goldens):
        assert np.array_equal(sim.predictions, golden)


def test_generate_cli_writes_sequential_rtl(tmp_path: Path) -> None:
    net = random_network(np.random.default_rng(3))
    model = tmp_path / "model.json"
    model.write_text(net.to_json())
    assert main(["generate", str(model), "--arch", "sequential", "--out",
                 str(tmp_path / "out"), "--quiet"]) == 0
    top = (tmp_path / "out" / "design" / "top.v").read_text()
    assert "input clk;" in top and "input rst;" in top
    assert json.loads((tmp_path / "out" / "design" / "network.json").read_text())


def test_cli_refuses_lanes_without_sequential(tmp_path: Path, capsys) -> None:
    model = tmp_path / "model.json"
    model.write_text(random_network(np.random.default_rng(4)).to_json())
    assert main(["generate", str(model), "--lanes", "2", "--out", str(tmp_path / "o")]) == 2
    assert "lanes apply to the sequential architecture, got 2" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_coarse_weights_narrow_the_folded_datapath() -> None:
    """Weight bits shrink the shared coefficient word and the accumulator: the schedule runs
    the normalized network, and the estimate sees it."""
    rng = np.random.default_rng(6)
    net = random_network(rng, n_features=8, hidden=4)
    # Windows above the steps (as a trained network's, 8 bits of an accumulator of ~18).
    l0 = net.layers[0]
    net = dataclasses.replace(net, layers=(dataclasses.replace(
        l0, activation=tuple(Window(6, w.bits) for w in l0.activation)), net.layers[1]))
    coarse = apply_config(net, ApproxConfig(layers=(LayerApprox(weight_bits=3),
                                                    LayerApprox(weight_bits=3))))
    fine, narrow = schedule(net), schedule(coarse)
    assert narrow.acc_bits < fine.acc_bits
    assert narrow.cost_features()[2] < fine.cost_features()[2]
    assert sequential_area_cm2(narrow) < sequential_area_cm2(fine)
    assert max(abs(w) for s in narrow.steps for w in s.weights) <= 8


def test_sequential_area_estimate_follows_the_schedule() -> None:
    net = _two_hidden(np.random.default_rng(0))
    one, three = schedule(net), schedule(net, lanes=3)
    f1, f3 = one.cost_features(), three.cost_features()
    assert f1[:2] == (one.loop_bits, one.latch_bits)
    # More lanes: a wider adder tree and more operand multiplexers, fewer control cycles.
    assert f3[2] > f1[2] and f3[3] >= f1[3] and f3[4] < f1[4]
    assert sequential_area_cm2(one) > one.loop_bits * 0.0277 + one.latch_bits * 0.0141


def test_sequential_search_run_verifies(tmp_path: Path, capsys) -> None:
    """End to end: a sequential search run at 0.6 V (lanes chosen for a latency limit every
    lane count meets) reports its timing, and ``verify`` re-checks it with the architecture
    and technology of its report."""
    out = tmp_path / "run"
    assert main(["run", "iris", "--quiet", "--generations", "3", "--population", "12",
                 "--verify", "2", "--max-loss", "5", "--arch", "sequential", "--tech",
                 "egfet-0.6v", "--lanes", "auto", "--max-latency", "1000",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["arch"] == "sequential" and report["technology"]["name"] == "egfet-0.6v"
    assert report["lanes"] == 1 and report["latency_s"] <= 1000
    assert report["settings"]["max_latency_s"] == 1000 and report["settings"]["auto_lanes"]
    assert "lanes" in report["runtime_s"]
    assert report["latency_s"] == pytest.approx(report["cycles"] / report["clock_hz"], rel=1e-5)
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "design: sequential, 1 lane, " in capsys.readouterr().out


def test_lanes_for_latency_takes_the_fewest_lanes_that_meet_the_limit(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    net = random_network(rng, n_features=2, hidden=2, n_classes=2)
    codes = rng.integers(0, 16, (20, 2))
    labels = predict_codes(net, codes)
    assert lanes_for_latency(net, codes, labels, max_latency_s=1e6, work_dir=tmp_path / "a",
                             log=quiet()) == Architecture("sequential", 1)
    # Two inputs at most per neuron: no more than two lanes are tried.
    with pytest.raises(NoDesignError, match=r"no lane count meets 1e-06 s per inference: "
                                            r"the exact network takes .* s on 2 lanes"):
        lanes_for_latency(net, codes, labels, max_latency_s=1e-6, work_dir=tmp_path / "b",
                          log=quiet())


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "iris", "--arch", "sequential", "--lanes", "auto"],
     "--lanes auto chooses the lanes for --max-latency: give it"),
    (["run", "iris", "--lanes", "auto", "--max-latency", "10"],
     "--lanes auto applies to the sequential architecture (--arch sequential)"),
    (["run", "iris", "--exact", "--arch", "sequential", "--max-latency", "10"],
     "--max-latency applies to a search run (without --exact)"),
    (["run", "iris", "--arch", "sequential", "--max-latency", "0"],
     "--max-latency must be > 0 (s), got 0.0"),
])
def test_lane_choice_usage_errors(tmp_path: Path, capsys, argv, message) -> None:
    assert main([*argv, "--quiet", "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_generate_has_no_lane_choice(tmp_path: Path, capsys) -> None:
    model = tmp_path / "model.json"
    model.write_text(random_network(np.random.default_rng(4)).to_json())
    assert main(["generate", str(model), "--arch", "sequential", "--lanes", "auto",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--lanes auto applies to a search run" in capsys.readouterr().err
