"""Random networks and approximation configurations shared by the tests."""

from __future__ import annotations

import numpy as np

from bespoke_mlp.approx import ApproxConfig, LayerApprox
from bespoke_mlp.ir import Layer, Network, Window


def random_network(rng: np.random.Generator, *, n_features: int = 5, hidden: int = 3,
                   n_classes: int = 3, input_bits: int = 4, approximate: bool = False
                   ) -> Network:
    """A random two-layer network; with ``approximate``, random masks, truncation, windows
    and argmax shift too."""
    full = (1 << input_bits) - 1
    w0 = rng.integers(-128, 128, (hidden, n_features))
    windows = tuple(Window(int(rng.integers(0, 6)), int(rng.integers(1, 6))) for _ in range(hidden))
    m0 = rng.integers(0, full + 1, w0.shape) if approximate else np.full(w0.shape, full)
    l0 = Layer(w0, rng.integers(-800, 800, hidden), m0,
               rng.integers(0, 5, hidden) if approximate else (0,) * hidden, windows)
    w1 = rng.integers(-128, 128, (n_classes, hidden))
    m1 = [[((1 << w.bits) - 1) & (int(rng.integers(0, 64)) if approximate else -1)
           for w in windows] for _ in range(n_classes)]
    l1 = Layer(w1, rng.integers(-200, 200, n_classes), m1,
               rng.integers(0, 4, n_classes) if approximate else (0,) * n_classes)
    return Network(input_bits, (l0, l1), tuple(range(n_classes)),
                   argmax_shift=int(rng.integers(0, 4)) if approximate else 0)


def random_config(rng: np.random.Generator, net: Network) -> ApproxConfig:
    """A random configuration using every operator."""
    l0, l1 = net.layers
    return ApproxConfig(
        layers=(
            LayerApprox(digits=rng.integers(0, 4, (l0.n_out, l0.n_in)),
                        masks=rng.integers(0, 16, (l0.n_out, l0.n_in)),
                        truncation=rng.integers(0, 5, l0.n_out),
                        windows=[(w.msb, min(w.msb, w.lsb + int(rng.integers(0, 2))))
                                 for w in l0.activation]),
            LayerApprox(digits=rng.integers(1, 3, (l1.n_out, l1.n_in)),
                        truncation=rng.integers(0, 3, l1.n_out)),
        ),
        input_precision=rng.integers(0, net.input_bits + 1, net.n_features),
        removed_neurons=((int(rng.integers(0, l0.n_out)),),) if l0.n_out > 1 else (),
        argmax_bits=int(rng.integers(2, 8)),
    )
