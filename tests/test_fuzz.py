"""Property-based fuzzing: random small networks under random approximation configurations must
simulate exactly like the golden model, as RTL and (for a subset) as synthesized gates.

To fit CI, one hypothesis example draws a whole batch of designs, verified with one Verilog
emission and one Verilator build per level.
"""

import time

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bespoke_mlp.approx import ApproxConfig, LayerApprox, apply_config, input_bit_counts
from bespoke_mlp.hdl import write_verilog_many
from bespoke_mlp.ir import Layer, Network, Window, predict_codes
from bespoke_mlp.sim import Design, check_agreement, simulate_many
from bespoke_mlp.synth import CELL_MODELS, synthesize

N_DESIGNS = 200
N_GATE_LEVEL = 12


@st.composite
def approximated_networks(draw) -> Network:
    """A random 1-hidden-layer network, exact or under a random configuration of every
    operator. Hypothesis draws the structure and a seed; numpy fills the matrices (so that a
    batch of hundreds fits hypothesis's data budget)."""
    bits = draw(st.integers(2, 4))
    n_in, n_hid, n_out = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(2, 4))
    exact = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    windows = tuple(Window(int(rng.integers(0, 6)), int(rng.integers(1, 7)))
                    for _ in range(n_hid))
    full = (1 << bits) - 1
    l0 = Layer(rng.integers(-128, 128, (n_hid, n_in)), rng.integers(-600, 601, n_hid),
               np.full((n_hid, n_in), full), (0,) * n_hid, windows)
    l1 = Layer(rng.integers(-128, 128, (n_out, n_hid)), rng.integers(-300, 301, n_out),
               [[(1 << w.bits) - 1 for w in windows]] * n_out, (0,) * n_out)
    net = Network(bits, (l0, l1), tuple(range(n_out)))
    if exact:
        return net
    config = ApproxConfig(
        layers=(
            LayerApprox(digits=rng.integers(0, 5, (n_hid, n_in)),
                        masks=rng.integers(0, full + 1, (n_hid, n_in)),
                        truncation=rng.integers(0, 7, n_hid),
                        windows=[(w.msb, int(rng.integers(w.lsb, w.msb + 1))) for w in windows]),
            LayerApprox(digits=rng.integers(0, 4, (n_out, n_hid)),
                        truncation=rng.integers(0, 5, n_out)),
        ),
        input_precision=rng.integers(0, bits + 1, n_in),
        removed_neurons=(tuple(j for j in range(1, n_hid) if rng.random() < 0.3),),
        argmax_bits=None if rng.random() < 0.3 else int(rng.integers(1, 11)),
    )
    codes = rng.integers(0, full + 1, (16, n_in))
    return apply_config(net, config, input_bit_counts(codes, bits))


def _codes(net: Network, rng: np.random.Generator) -> np.ndarray:
    top = (1 << net.input_bits) - 1
    extremes = np.array([[0] * net.n_features, [top] * net.n_features])
    return np.concatenate([extremes, rng.integers(0, top + 1, (62, net.n_features))])


# One example is a whole batch; shrinking it would re-run minutes of builds for little gain.
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck),
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(st.lists(approximated_networks(), min_size=N_DESIGNS, max_size=N_DESIGNS),
       st.integers(0, 2**32 - 1))
def test_random_designs_simulate_exactly(tmp_path_factory, nets, seed):
    start = time.perf_counter()
    work = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(seed)
    names = [f"fz{k}" for k in range(len(nets))]
    codes = [_codes(net, rng) for net in nets]
    rtl = write_verilog_many(nets, names, work / "designs.v", work_dir=work / "emit")
    preds = [r.predictions for r in simulate_many(
        [Design((rtl,), n, c, net.input_bits) for n, c, net in zip(names, codes, nets)],
        work_dir=work / "rtl")]
    for k, (net, c, p) in enumerate(zip(nets, codes, preds)):
        check_agreement(p, predict_codes(net, c), what=f"RTL of fuzzed design {k}", codes=c)
    gate_designs = []
    for k in range(N_GATE_LEVEL):
        single = write_verilog_many([nets[k]], [names[k]], work / f"g{k}.v",
                                    work_dir=work / f"g{k}")
        syn = synthesize([single], names[k], work / f"g{k}" / "synth")
        gate_designs.append(Design((syn.netlist_v, *((CELL_MODELS,) if k == 0 else ())),
                                   names[k], codes[k], nets[k].input_bits))
    gates = [r.predictions for r in simulate_many(gate_designs, work_dir=work / "gates")]
    for k, p in enumerate(gates):
        check_agreement(p, predict_codes(nets[k], codes[k]), what=f"gates of fuzzed design {k}",
                        codes=codes[k])
    print(f"fuzzed {len(nets)} designs ({N_GATE_LEVEL} at gate level) in "
          f"{time.perf_counter() - start:.1f} s")
