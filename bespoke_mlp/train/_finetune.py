"""Quantization-aware fine-tuning of an integer :class:`Network`, in numpy.

The trainable parameters are real-valued shadows of the integer weights and biases; every step
projects them to integers and runs the golden model's arithmetic, with the non-differentiable
parts (rounding, masks, the ReLU window's shift and clip) passed through by the
straight-through estimator. Working on the integer network itself makes the same routine serve
approximation-aware retraining: a caller's ``project`` keeps weights in an allowed set.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable

import numpy as np

from ..errors import UsageError
from ..ir import Network, bit_planes, layer_linear_form, predict_codes
from ._checks import check_int

__all__ = ["finetune", "Projection", "DEFAULT_EPOCHS", "DEFAULT_LR"]

#: ``project(layer_index, shadow_weights) -> integer_weights`` (arrays of shape (n_out, n_in)).
Projection = Callable[[int, np.ndarray], np.ndarray]

DEFAULT_EPOCHS = 30
DEFAULT_LR = 0.05
_BATCH = 64
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


@dataclasses.dataclass
class _Param:
    """A shadow tensor with its Adam moments, trainable entries and learning rate."""

    value: np.ndarray
    trainable: np.ndarray
    lr: float
    m: np.ndarray = dataclasses.field(init=False)
    v: np.ndarray = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.m = np.zeros_like(self.value)
        self.v = np.zeros_like(self.value)

    def step(self, grad: np.ndarray, t: int, scale: float) -> None:
        grad = np.where(self.trainable, grad, 0.0)
        self.m = _BETA1 * self.m + (1 - _BETA1) * grad
        self.v = _BETA2 * self.v + (1 - _BETA2) * grad * grad
        m_hat = self.m / (1 - _BETA1**t)
        v_hat = self.v / (1 - _BETA2**t)
        self.value -= scale * self.lr * m_hat / (np.sqrt(v_hat) + _EPS)


@dataclasses.dataclass(frozen=True)
class _LayerInfo:
    """Fixed structure of one layer, as arrays."""

    masks: np.ndarray  # (n_out, n_in) int64
    passes: np.ndarray  # (n_out, n_in) float: 1 where the mask lets the input through
    full: bool  # every mask selects every input bit: the masked product is a plain matmul
    truncated: bool
    lsb: np.ndarray | None  # (n_out,) window shifts of a hidden layer
    top: np.ndarray | None  # (n_out,) largest activation code


def _layer_info(net: Network, k: int) -> _LayerInfo:
    layer = net.layers[k]
    masks = np.array(layer.masks, dtype=np.int64)
    widths = np.array(net.input_widths(k), dtype=np.int64)
    act = layer.activation
    return _LayerInfo(
        masks=masks,
        passes=(masks != 0).astype(np.float64),
        full=bool(np.all(masks == (np.left_shift(1, widths) - 1)[None, :])),
        truncated=any(layer.truncation),
        lsb=None if act is None else np.array([w.lsb for w in act], dtype=np.int64),
        top=None if act is None else np.array([(1 << w.bits) - 1 for w in act], dtype=np.int64),
    )


def _masked(a: np.ndarray, info: _LayerInfo) -> np.ndarray:
    """Per-connection masked inputs ``a_i & mask_ji``, shape (n, n_out, n_in)."""
    return (a.astype(np.int64)[:, None, :] & info.masks[None, :, :]).astype(np.float64)


def _plain_acc(a: np.ndarray, w: np.ndarray, b: np.ndarray, info: _LayerInfo) -> np.ndarray:
    if info.full:
        return a @ w.T + b
    return np.einsum("nji,ji->nj", _masked(a, info), w) + b


def _truncation_offsets(net: Network, codes: np.ndarray, infos: list[_LayerInfo]) -> list[float]:
    """Mean effect of each neuron's truncation on its accumulator over ``codes`` (0 if none):
    the surrogate forward pass models truncation as this constant."""
    offsets: list = []
    a = codes
    for k, (layer, info) in enumerate(zip(net.layers, infos, strict=True)):
        w = np.array(layer.weights, dtype=np.float64)
        b = np.array(layer.biases, dtype=np.float64)
        plain = _plain_acc(a.astype(np.float64), w, b, info)
        if info.truncated:
            width = max(net.input_widths(k))
            coef, const = layer_linear_form(layer, width)
            exact = bit_planes(a, width) @ coef + const
            offsets.append(np.mean(exact - plain, axis=0))
            acc = exact
        else:
            offsets.append(0.0)
            acc = plain.astype(np.int64)
        if info.lsb is not None:
            a = np.clip(acc >> info.lsb, 0, info.top)
    return offsets


def _temperature(out: np.ndarray, y: np.ndarray) -> float:
    """Logit scale for the loss: the factor on the integer outputs that minimizes the initial
    network's cross-entropy (temperature calibration), searched over a log grid."""
    spread = float(np.std(out))
    if spread == 0.0:
        return 1.0
    best_t, best_loss = 1.0 / spread, np.inf
    for i in range(-24, 25):
        t = 2.0 ** (i / 3) / spread
        loss = float(np.mean(_cross_entropy(out * t, y)[0]))
        if loss < best_loss:
            best_t, best_loss = t, loss
    return best_t


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample cross-entropy and softmax probabilities."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    return -np.log(np.maximum(p[rows, y], 1e-300)), p


def _check_codes(net: Network, name: str, codes: np.ndarray, y: np.ndarray) -> None:
    top = (1 << net.input_bits) - 1
    if codes.ndim != 2 or codes.shape[1] != net.n_features:
        raise UsageError(f"{name} codes must have shape (n, {net.n_features}), got {codes.shape!r}")
    if codes.size and (codes.min() < 0 or codes.max() > top):
        raise UsageError(
            f"{name} codes must lie in 0..{top}, found {int(codes.min())!r}..{int(codes.max())!r}"
        )
    if y.shape != (codes.shape[0],):
        raise UsageError(f"{name} labels must have shape ({codes.shape[0]},), got {y.shape!r}")
    if y.size and (y.min() < 0 or y.max() >= net.n_classes):
        raise UsageError(
            f"{name} labels must be class indices in 0..{net.n_classes - 1}, found "
            f"{int(y.min())!r}..{int(y.max())!r}"
        )


def _as_int_array(name: str, values: object) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.rint(arr)):
            raise UsageError(f"{name} must be integers, got dtype {arr.dtype!r}")
    return arr.astype(np.int64)


def _weight_bits(net: Network) -> int:
    """Smallest signed width that holds every weight of ``net`` (at least 2)."""
    peak = max(max(max(w, -w - 1) for row in layer.weights for w in row) for layer in net.layers)
    return max(2, peak.bit_length() + 1)


def finetune(
    net: Network,
    codes_train: np.ndarray,
    y_train: np.ndarray,
    codes_val: np.ndarray,
    y_val: np.ndarray,
    *,
    epochs: int = DEFAULT_EPOCHS,
    lr: float = DEFAULT_LR,
    seed: int = 0,
    project: Projection | None = None,
    weight_bits: int | None = None,
    bias_steps: list[int] | None = None,
) -> Network:
    """Quantization-aware fine-tuning of an integer network (straight-through estimator).

    Trainable are real-valued shadows of the integer weights and biases, initialized to them.
    Each mini-batch step (Adam; batches of 64 samples, smaller for small sets so an epoch has
    about 16 steps; step size cosine-annealed over the epochs) maps the shadows to integers —
    weights by ``project``, biases by rounding (not range-limited) — and evaluates the golden
    model's arithmetic on them:

    * per-connection masks applied to the inputs (``a & mask``), the accumulator
      ``sum(w * (a & mask)) + bias``, plus a per-neuron constant standing in for truncation
      (its mean effect on the training set, re-estimated every epoch);
    * hidden neurons: the ReLU window ``clip(floor(acc / 2**lsb), 0, 2**bits - 1)``;
    * outputs: ``floor(acc / 2**argmax_shift)``, scaled by a temperature fitted once to the
      initial network (the factor minimizing its cross-entropy) into softmax cross-entropy.

    The backward pass treats rounding, masking and flooring as identity (straight-through)
    and the window's clip as a gate (gradient only inside ``0..2**bits - 1``). Weights whose
    value and mask are both 0 (pruned connections) stay 0, and so does a constant-zero neuron
    (all weights, masks and its bias 0, e.g. output 0 of a binary network).

    After every epoch the projected network is scored with the exact golden model
    (:func:`bespoke_mlp.ir.predict_codes`); the network with the best validation accuracy
    (ties: best training accuracy, then the earliest) is returned. The candidates include
    the projected initial network, so with the default projection the validation accuracy
    never gets worse. Deterministic for a given ``seed``.

    Parameters
    ----------
    net : the integer network; its masks, truncations, windows and argmax shift are kept.
    codes_train, codes_val : input codes, shape (n, n_features), values in
        ``0..2**input_bits - 1``. An empty validation set selects by training accuracy only.
    y_train, y_val : class indices (positions in ``net.classes``).
    epochs : training epochs (0 returns the projected initial network).
    lr : Adam step size in weight LSBs (integer units); a bias step is a weight step times
        the layer's mean input. Small steps suit fine weights (8 bits: the rounding error is
        tiny and large moves mostly overfit the validation pick) and coarse ones alike;
        approximated weights restricted to few CSD digits, whose allowed values lie further
        apart, may profit from larger steps (e.g. 0.2).
    seed : seed of the mini-batch shuffling.
    project : ``project(layer_index, W) -> W_int`` maps a layer's shadow weights (float
        array, shape (n_out, n_in)) to allowed integer weights of the same shape. Default:
        round and clip to the signed ``weight_bits`` range.
    weight_bits : signed weight width for the default projection and the shadows' range;
        default: the smallest width holding the network's current weights.
    bias_steps : per layer, biases are rounded to multiples of ``2**step`` (default: 0, to
        integers).

    Returns
    -------
    Network
        ``net`` with fine-tuned weights and biases.

    Raises
    ------
    UsageError
        For malformed data, out-of-range parameters, or a projection returning the wrong
        shape or non-integers.
    """
    if not isinstance(net, Network):
        raise UsageError(f"finetune needs a Network, got {type(net).__name__!r}")
    codes_train = _as_int_array("training codes", codes_train)
    codes_val = _as_int_array("validation codes", codes_val)
    y_train = _as_int_array("training labels", y_train)
    y_val = _as_int_array("validation labels", y_val)
    _check_codes(net, "training", codes_train, y_train)
    _check_codes(net, "validation", codes_val, y_val)
    if len(codes_train) == 0:
        raise UsageError("fine-tuning needs at least one training sample")
    epochs = check_int("epochs", epochs, 0)
    seed = check_int("seed", seed, 0)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < np.inf:
        raise UsageError(f"learning rate must be a positive number, got {lr!r}")
    if weight_bits is None:
        weight_bits = _weight_bits(net)
    weight_bits = check_int("weight_bits", weight_bits, 2, 32)
    w_lo, w_hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1

    def round_clip(_k: int, w: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(w), w_lo, w_hi)

    projection = round_clip if project is None else project
    if bias_steps is None:
        bias_steps = [0] * len(net.layers)
    if len(bias_steps) != len(net.layers) or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in bias_steps):
        raise UsageError(f"bias_steps must be {len(net.layers)} ints >= 0, got {bias_steps!r}")
    bias_units = [float(1 << s) for s in bias_steps]
    infos = [_layer_info(net, k) for k in range(len(net.layers))]

    # Shadows and their frozen entries; bias learning rates are set below.
    weights: list[_Param] = []
    biases: list[_Param] = []
    for layer, info in zip(net.layers, infos, strict=True):
        w0 = np.array(layer.weights, dtype=np.float64)
        b0 = np.array(layer.biases, dtype=np.float64)
        pruned = (w0 == 0) & (info.masks == 0)
        constant_zero = pruned.all(axis=1) & (b0 == 0)
        weights.append(_Param(w0, ~pruned, float(lr)))
        biases.append(_Param(b0, ~constant_zero, float(lr)))

    def integer_params() -> tuple[list[np.ndarray], list[np.ndarray]]:
        wq, bq = [], []
        for k, (w, b, unit) in enumerate(zip(weights, biases, bias_units, strict=True)):
            q = np.asarray(projection(k, w.value.copy()))
            if q.shape != w.value.shape:
                raise UsageError(
                    f"project({k}, W) returned shape {q.shape!r}, expected {w.value.shape!r}"
                )
            if q.dtype.kind not in "iuf" or (
                q.dtype.kind == "f" and (not np.all(np.isfinite(q)) or np.any(q != np.rint(q)))
            ):
                raise UsageError(f"project({k}, W) returned non-integer weights")
            wq.append(np.where(w.trainable, q, 0).astype(np.float64))
            bq.append(np.where(b.trainable, np.rint(b.value / unit) * unit, 0.0))
        return wq, bq

    def to_network(wq: list[np.ndarray], bq: list[np.ndarray]) -> Network:
        layers = tuple(
            dataclasses.replace(
                layer,
                weights=w.astype(np.int64).tolist(),
                biases=b.astype(np.int64).tolist(),
            )
            for layer, w, b in zip(net.layers, wq, bq, strict=True)
        )
        return dataclasses.replace(net, layers=layers)

    def score(candidate: Network) -> tuple[float, float]:
        val = float(np.mean(predict_codes(candidate, codes_val) == y_val)) if len(y_val) else 0.0
        return val, float(np.mean(predict_codes(candidate, codes_train) == y_train))

    def forward(
        x: np.ndarray, wq: list[np.ndarray], bq: list[np.ndarray], offsets: list
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray | None]]]:
        """Output values and, per layer, (inputs as multiplied, window gradient or None)."""
        cache = []
        a = x.astype(np.float64)
        for info, w, b, c in zip(infos, wq, bq, offsets, strict=True):
            inputs = a if info.full else _masked(a, info)
            acc = (a @ w.T if info.full else np.einsum("nji,ji->nj", inputs, w)) + b + c
            if info.lsb is None:
                cache.append((inputs, None))
                return np.floor(acc / 2.0**net.argmax_shift), cache
            z = np.floor(acc / 2.0**info.lsb)
            cache.append((inputs, ((z >= 0) & (z <= info.top)) / 2.0**info.lsb))
            a = np.clip(z, 0, info.top)
        raise AssertionError("the last layer of a Network has no activation")

    wq, bq = integer_params()
    best = to_network(wq, bq)
    best_score = score(best)
    # The loss sees the output neurons; samples of a class without one (class removal) are
    # left out of it (their prediction is wrong whatever the weights).
    position = np.full(net.n_classes, -1, dtype=np.int64)
    position[list(net.output_classes)] = np.arange(net.layers[-1].n_out)
    target = position[y_train]
    fit = np.flatnonzero(target >= 0)
    if len(fit) == 0:
        return best
    offsets = _truncation_offsets(best, codes_train, infos)
    out, cache = forward(codes_train, wq, bq, offsets)
    temperature = _temperature(out[fit], target[fit])
    for weight, bias, (inputs, _) in zip(weights, biases, cache, strict=True):
        # A bias step comparable to one weight step on a typical input.
        bias.lr = weight.lr * max(1.0, float(inputs.mean()))

    rng = np.random.default_rng(seed)
    n = len(fit)
    # At least ~16 steps per epoch, so that small datasets get trained too.
    batch = min(_BATCH, max(8, n // 16))
    t = 0
    for epoch in range(epochs):
        anneal = 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = fit[order[start:start + batch]]
            y = target[idx]
            out, cache = forward(codes_train[idx], wq, bq, offsets)
            _, p = _cross_entropy(out * temperature, y)
            p[np.arange(len(idx)), y] -= 1.0
            grad = p * (temperature / 2.0**net.argmax_shift / len(idx))
            t += 1
            for k in reversed(range(len(infos))):
                inputs, _ = cache[k]
                if infos[k].full:
                    dw = grad.T @ inputs
                else:
                    dw = np.einsum("nj,nji->ji", grad, inputs)
                db = grad.sum(axis=0)
                if k:
                    grad = (grad @ (wq[k] * infos[k].passes)) * cache[k - 1][1]
                weights[k].step(dw, t, anneal)
                biases[k].step(db, t, anneal)
                # Shadows far outside the weight range could not come back in reasonable time.
                np.clip(weights[k].value, w_lo - 0.5, w_hi + 0.5, out=weights[k].value)
            wq, bq = integer_params()
        current = to_network(wq, bq)
        current_score = score(current)
        if current_score > best_score:
            best, best_score = current, current_score
        offsets = _truncation_offsets(current, codes_train, infos)
    return best
