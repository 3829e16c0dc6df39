"""The approximation configuration and its application to a quantized network."""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..ir import Layer, Network, Window, accumulator_width, truncation_compensation
from ._csd_round import nearest_csd

__all__ = ["LayerApprox", "ApproxConfig", "apply_config", "input_bit_counts", "round_to_step",
           "weight_step"]

_FORMAT = "bespoke-mlp/approximation"

Matrix = tuple[tuple[int, ...], ...]


def _matrix(m: Any) -> Matrix | None:
    return None if m is None else tuple(tuple(int(v) for v in row) for row in m)


def _vector(v: Any) -> tuple[int, ...] | None:
    return None if v is None else tuple(int(x) for x in v)


@dataclass(frozen=True)
class LayerApprox:
    """Approximations of one layer; ``None`` leaves that aspect exact.

    Parameters
    ----------
    digits : ``[n_out][n_in]`` nonzero-CSD-digit budget per coefficient (0 prunes it, 1 makes it
        a power of two).
    masks : ``[n_out][n_in]`` input-bit masks, ANDed with the connection's input width.
    truncation : per neuron, least-significant accumulator columns dropped (their expected value
        is added to the bias).
    windows : hidden layers only: per neuron ``(msb, lsb)`` of the accumulator kept by the ReLU.
        The next layer's coefficients are rescaled by the change of ``lsb`` so the function is
        preserved up to precision.
    weight_bits : significant bits kept of the layer's coefficients (``None``: all): with
        ``m`` the bit length of the largest magnitude among the neurons that remain (after the
        windows' rescaling and the digits), every coefficient is rounded to the nearest
        multiple of ``2**(m - weight_bits)`` (half away from zero), and of the output layer the
        biases too. The folded datapath divides that factor out
        (:func:`bespoke_mlp.ir.normalize`), so its shared coefficient word narrows.
    """

    digits: Matrix | None = None
    masks: Matrix | None = None
    truncation: tuple[int, ...] | None = None
    windows: tuple[tuple[int, int], ...] | None = None
    weight_bits: int | None = None

    def __post_init__(self) -> None:
        if self.weight_bits is not None and (
                isinstance(self.weight_bits, bool) or not isinstance(self.weight_bits, int)
                or self.weight_bits < 1):
            raise ValueError(f"weight_bits must be an int >= 1 or None, not {self.weight_bits!r}")
        object.__setattr__(self, "digits", _matrix(self.digits))
        object.__setattr__(self, "masks", _matrix(self.masks))
        object.__setattr__(self, "truncation", _vector(self.truncation))
        if self.windows is not None:
            object.__setattr__(
                self, "windows", tuple((int(a), int(b)) for a, b in self.windows)
            )
            for msb, lsb in self.windows:
                if lsb < 0 or msb < lsb:
                    raise ValueError(f"window (msb, lsb) = {(msb, lsb)!r} is not msb >= lsb >= 0")

    def to_dict(self) -> dict[str, Any]:
        # Without weight bits the JSON stays as it was before the operator existed.
        step = {} if self.weight_bits is None else {"weight_bits": self.weight_bits}
        return {
            **step,
            "digits": None if self.digits is None else [list(r) for r in self.digits],
            "masks": None if self.masks is None else [list(r) for r in self.masks],
            "truncation": None if self.truncation is None else list(self.truncation),
            "windows": None if self.windows is None else [list(w) for w in self.windows],
        }


@dataclass(frozen=True)
class ApproxConfig:
    """A complete approximation of a network; the default is the exact design.

    Parameters
    ----------
    layers : one :class:`LayerApprox` per layer (or empty: no per-layer approximation).
    input_precision : per feature, the input bits kept (most significant first); 0 drops the
        feature and its ADC.
    removed_neurons : per hidden layer, indices of neurons removed entirely.
    argmax_bits : compare only this many top bits of the widest output (``None``: all).
    removed_classes : class indices (positions in the network's ``classes``) whose output
        neurons, accumulators and argmax inputs are removed: the design never predicts them.
        Each must be one the network still has an output for; at least one must remain.
    """

    layers: tuple[LayerApprox, ...] = ()
    input_precision: tuple[int, ...] | None = None
    removed_neurons: tuple[tuple[int, ...], ...] = ()
    argmax_bits: int | None = None
    removed_classes: tuple[int, ...] = ()
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "input_precision", _vector(self.input_precision))
        object.__setattr__(
            self, "removed_neurons", tuple(tuple(sorted(set(r))) for r in self.removed_neurons)
        )
        if self.argmax_bits is not None and self.argmax_bits < 1:
            raise ValueError(f"argmax_bits must be >= 1, not {self.argmax_bits!r}")
        removed = tuple(self.removed_classes)
        if not all(isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 0
                   for c in removed):
            raise ValueError(f"removed_classes must be class indices >= 0, not {removed!r}")
        object.__setattr__(self, "removed_classes", tuple(sorted({int(c) for c in removed})))

    def to_dict(self) -> dict[str, Any]:
        # Without class removal the JSON stays as it was before the operator existed.
        removed = {"removed_classes": list(self.removed_classes)} if self.removed_classes else {}
        return {
            **removed,
            "format": _FORMAT,
            "name": self.name,
            "layers": [la.to_dict() for la in self.layers],
            "input_precision": None
            if self.input_precision is None else list(self.input_precision),
            "removed_neurons": [list(r) for r in self.removed_neurons],
            "argmax_bits": self.argmax_bits,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: Any) -> ApproxConfig:
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            raise ModelFileError("not a bespoke-mlp approximation configuration")
        try:
            return cls(
                layers=tuple(LayerApprox(**la) for la in d["layers"]),
                input_precision=d["input_precision"],
                removed_neurons=tuple(tuple(r) for r in d["removed_neurons"]),
                argmax_bits=d["argmax_bits"],
                removed_classes=tuple(d.get("removed_classes", ())),
                name=d.get("name", ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupted approximation configuration: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> ApproxConfig:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"approximation file is not valid JSON: {exc}") from exc


def _check_shape(what: str, m: Matrix | tuple | None, rows: int, cols: int | None) -> None:
    if m is None:
        return
    ok = len(m) == rows and (cols is None or all(len(r) == cols for r in m))
    if not ok:
        raise ValueError(f"{what} must be {rows}x{cols if cols is not None else ''}, got {m!r}")


def input_bit_counts(codes: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """How often each input bit is 1 over training codes: ``(ones[n_features, bits], total)``
    (of resolution codes: their full-resolution codes)."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim == 3:
        codes = codes[:, -1]
    return ((codes[:, :, None] >> np.arange(bits)) & 1).sum(axis=0), len(codes)


def _compensate(layer: Layer, before: tuple[int, ...], width: int,
                stats: tuple[np.ndarray, int] | None) -> Layer:
    """Add the expected value of the partial-product bits that truncation newly drops (columns
    ``before[j]`` up to ``layer.truncation[j]``) to each neuron's bias; without statistics
    (hidden activations) every bit counts as 1 with probability 1/2."""
    if tuple(layer.truncation) == tuple(before):
        return layer
    ones, total = stats if stats is not None else (np.ones((layer.n_in, width), np.int64), 2)
    w, m = np.array(layer.weights), np.array(layer.masks)
    comp = (truncation_compensation(w, m, np.array(layer.truncation), width, ones, total)
            - truncation_compensation(w, m, np.array(before), width, ones, total))
    return replace(layer, biases=tuple(int(b + c) for b, c in zip(layer.biases, comp)))


def apply_config(net: Network, config: ApproxConfig,
                 input_stats: tuple[np.ndarray, int] | None = None) -> Network:
    """Apply ``config`` to ``net`` and return the approximated network.

    ``input_stats`` (:func:`input_bit_counts` of the training codes) give the first
    layer's bit statistics for truncation compensation; without them, and for hidden
    activations, every bit counts as 1 with probability 1/2. Indices in ``config`` refer to
    ``net``'s neurons before any removal.
    """
    n_layers = len(net.layers)
    if config.layers and len(config.layers) != n_layers:
        raise ValueError(f"config has {len(config.layers)} layers, network has {n_layers}")
    weights = [np.array(layer.weights, dtype=np.int64) for layer in net.layers]
    masks = [np.array(layer.masks, dtype=np.int64) for layer in net.layers]
    biases = [np.array(layer.biases, dtype=np.int64) for layer in net.layers]
    windows = [None if layer.activation is None else list(layer.activation)
               for layer in net.layers]

    # Activation windows first: they change the widths and scales the next layer sees.
    for k, la in enumerate(config.layers):
        if la.windows is None:
            continue
        if windows[k] is None:
            raise ValueError(f"layer {k} is the output layer and has no activation windows")
        _check_shape(f"layer {k} windows", la.windows, net.layers[k].n_out, None)
        for j, (msb, lsb) in enumerate(la.windows):
            old = windows[k][j]
            windows[k][j] = Window(lsb, msb - lsb + 1)
            shift = lsb - old.lsb
            col = weights[k + 1][:, j]
            # Keep the next layer's function: its input is now scaled by 2**-shift.
            if shift >= 0:
                weights[k + 1][:, j] = col << shift
            else:  # round to nearest
                weights[k + 1][:, j] = (col + (1 << (-shift - 1))) >> -shift
            masks[k + 1][:, j] = (1 << (msb - lsb + 1)) - 1

    if config.input_precision is not None:
        _check_shape("input_precision", (config.input_precision,), 1, net.n_features)
        for i, p in enumerate(config.input_precision):
            if not 0 <= p <= net.input_bits:
                raise ValueError(
                    f"input precision {p!r} of feature {i} is outside 0..{net.input_bits}")
            keep = ((1 << p) - 1) << (net.input_bits - p)
            masks[0][:, i] &= keep

    steps = [0] * n_layers
    for k, la in enumerate(config.layers):
        layer = net.layers[k]
        _check_shape(f"layer {k} digits", la.digits, layer.n_out, layer.n_in)
        _check_shape(f"layer {k} masks", la.masks, layer.n_out, layer.n_in)
        if la.digits is not None:
            weights[k] = np.array(
                [[nearest_csd(int(w), d) for w, d in zip(wr, dr)]
                 for wr, dr in zip(weights[k], la.digits)], dtype=np.int64)
        if la.masks is not None:
            masks[k] &= np.array(la.masks, dtype=np.int64)
        if la.weight_bits is not None:
            steps[k] = weight_step(np.where(_kept_entries(net, config, k), weights[k], 0),
                                   la.weight_bits)
            weights[k] = round_to_step(weights[k], steps[k])

    layers = []
    for k, layer in enumerate(net.layers):
        trunc = config.layers[k].truncation if config.layers else None
        _check_shape(f"layer {k} truncation", (trunc,) if trunc else None, 1, layer.n_out)
        w, m = weights[k], masks[k]
        m = np.where(w == 0, 0, m)
        layers.append(Layer(
            weights=w.tolist(), biases=biases[k].tolist(), masks=m.tolist(),
            truncation=trunc if trunc is not None else layer.truncation,
            activation=None if windows[k] is None else tuple(windows[k]),
        ))
    truncation_before = [layer.truncation for layer in net.layers]
    for k, idx in enumerate(config.removed_neurons):
        truncation_before[k] = tuple(t for j, t in enumerate(truncation_before[k]) if j not in idx)
    layers = _remove_neurons(layers, config.removed_neurons)
    outputs = net.outputs
    if config.removed_classes:
        keep = _kept_outputs(net, config.removed_classes)
        outputs = tuple(net.output_classes[j] for j in keep)
        truncation_before[-1] = tuple(truncation_before[-1][j] for j in keep)
        layers[-1] = _kept_neurons(layers[-1], keep)

    partial = replace(net, layers=tuple(layers), outputs=outputs)
    layers = [_compensate(layer, before, max(partial.input_widths(k)),
                          input_stats if k == 0 else None)
              for k, (layer, before) in enumerate(zip(layers, truncation_before))]

    if steps[-1]:
        last = layers[-1]
        layers[-1] = replace(last, biases=tuple(round_to_step(
            np.array(last.biases, dtype=np.int64), steps[-1]).tolist()))
    shift = net.argmax_shift
    if config.argmax_bits is not None:
        last = layers[-1]
        top = max(accumulator_width(last, j) for j in range(last.n_out))
        shift = max(0, top - config.argmax_bits)
    return replace(net, layers=tuple(layers), argmax_shift=shift, outputs=outputs)


def weight_step(weights: np.ndarray, bits: int | np.ndarray) -> np.ndarray:
    """The rounding step (log2) that keeps ``bits`` significant bits of the largest magnitude
    of ``weights`` (over the last two axes)."""
    top = np.abs(np.asarray(weights, dtype=np.int64)).max(axis=(-2, -1))
    # frexp's exponent is the bit length, exactly (weights are far below 2**53).
    length = np.frexp(top.astype(np.float64))[1].astype(np.int64)
    return np.maximum(0, length - bits)


def _kept_entries(net: Network, config: ApproxConfig, k: int) -> np.ndarray:
    """Which coefficients of layer ``k`` belong to neurons that neuron and class removal
    keep (rows and, of the previous layer, columns)."""
    layer = net.layers[k]
    rows = np.ones(layer.n_out, dtype=bool)
    cols = np.ones(layer.n_in, dtype=bool)
    if k < len(config.removed_neurons):
        removed = list(config.removed_neurons[k])
        if len(removed) < layer.n_out:  # invalid removals are refused later
            rows[[j for j in removed if 0 <= j < layer.n_out]] = False
    if 0 < k <= len(config.removed_neurons):
        prev = list(config.removed_neurons[k - 1])
        if len(prev) < layer.n_in:
            cols[[j for j in prev if 0 <= j < layer.n_in]] = False
    if k == len(net.layers) - 1 and config.removed_classes:
        have = net.output_classes
        rows &= np.array([c not in config.removed_classes for c in have])
    return rows[:, None] & cols[None, :]


def round_to_step(v: np.ndarray, step: int | np.ndarray) -> np.ndarray:
    """Integers ``v`` rounded to the nearest multiple of ``2**step`` (half away from zero)."""
    v = np.asarray(v, dtype=np.int64)
    step = np.asarray(step, dtype=np.int64)
    half = np.where(step > 0, 1 << np.maximum(step - 1, 0), 0)
    return np.sign(v) * (((np.abs(v) + half) >> step) << step)


def _kept_outputs(net: Network, removed: tuple[int, ...]) -> list[int]:
    """The output neurons of ``net`` that class removal keeps."""
    have = net.output_classes
    missing = [c for c in removed if c not in have]
    if missing:
        raise ValueError(f"removed_classes {list(removed)!r}: class indices {missing!r} have no "
                         f"output neuron (the network's are {list(have)!r})")
    keep = [j for j, c in enumerate(have) if c not in removed]
    if not keep:
        raise ValueError(f"removed_classes {list(removed)!r} would remove every output")
    return keep


def _kept_neurons(layer: Layer, keep: list[int]) -> Layer:
    """``layer`` with only its neurons ``keep`` (their rows, biases, truncation, windows)."""
    return Layer(
        weights=[layer.weights[j] for j in keep], biases=[layer.biases[j] for j in keep],
        masks=[layer.masks[j] for j in keep], truncation=[layer.truncation[j] for j in keep],
        activation=None if layer.activation is None else tuple(layer.activation[j] for j in keep),
    )


def _remove_neurons(layers: list[Layer], removed: tuple[tuple[int, ...], ...]) -> list[Layer]:
    for k, idx in enumerate(removed):
        if not idx:
            continue
        if k >= len(layers) - 1:
            raise ValueError(f"removed_neurons[{k}] does not name a hidden layer")
        layer, nxt = layers[k], layers[k + 1]
        keep = [j for j in range(layer.n_out) if j not in idx]
        if not keep:
            raise ValueError(f"cannot remove every neuron of hidden layer {k}")
        if any(not 0 <= j < layer.n_out for j in idx):
            raise ValueError(f"removed_neurons[{k}] = {idx!r} is out of range")
        layers[k] = _kept_neurons(layer, keep)
        layers[k + 1] = replace(
            nxt,
            weights=tuple(tuple(r[j] for j in keep) for r in nxt.weights),
            masks=tuple(tuple(r[j] for j in keep) for r in nxt.masks),
        )
    return layers
