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
from ..ir import Network, bit_planes, linear_form_arrays, predict_with
from ._checks import check_int

__all__ = ["finetune", "Projection", "DEFAULT_EPOCHS", "DEFAULT_LR"]

#: ``project(layer_index, shadow_weights) -> integer_weights`` (arrays of shape (n_out, n_in)).
Projection = Callable[[int, np.ndarray], np.ndarray]

DEFAULT_EPOCHS = 30
DEFAULT_LR = 0.05
_BATCH = 64
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


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


def _truncation_offsets(net: Network, wq: list[np.ndarray], bq: list[np.ndarray],
                        codes: np.ndarray, infos: list[_LayerInfo]) -> list[float]:
    """Mean effect of each neuron's truncation on its accumulator over ``codes`` (0 if none)
    in ``net`` with integer weights ``wq`` and biases ``bq``: the surrogate forward pass
    models truncation as this constant."""
    if not any(info.truncated for info in infos):
        return [0.0] * len(infos)
    offsets: list = []
    a = codes
    for k, (layer, info, w, b) in enumerate(zip(net.layers, infos, wq, bq, strict=True)):
        plain = _plain_acc(a.astype(np.float64), w, b, info)
        if info.truncated:
            width = max(net.input_widths(k))
            coef, const = linear_form_arrays(w, info.masks, np.array(layer.truncation), b,
                                             width)
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
    codes_train, y_train, codes_val, y_val = _checked_data(net, codes_train, y_train,
                                                           codes_val, y_val)
    epochs = check_int("epochs", epochs, 0)
    seed = check_int("seed", seed, 0)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < np.inf:
        raise UsageError(f"learning rate must be a positive number, got {lr!r}")
    projection, w_range = _projection(net, project, weight_bits)
    bias_units = _bias_units(net, bias_steps)
    infos = [_layer_info(net, k) for k in range(len(net.layers))]
    shadows = _Shadows(net, infos, lr, projection, bias_units, w_range)
    params = shadows.integer()
    scorer = _Scorer(net, codes_train, y_train, codes_val, y_val)
    best, best_score = scorer.network(*params), scorer.score(*params)
    target, fit = _fitted_samples(net, y_train)
    if len(fit) == 0:
        return best
    offsets = _truncation_offsets(net, *params, codes_train, infos)
    temperature = _calibrate(net, infos, shadows, codes_train, target, *params, offsets)
    # At least ~16 steps per epoch, so that small datasets get trained too.
    task = _Task(net, infos, codes_train, target, fit, temperature,
                 batch=min(_BATCH, max(8, len(fit) // 16)))
    rng = np.random.default_rng(seed)
    t = 0
    for epoch in range(epochs):
        anneal = 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        params, t = _epoch(task, shadows, rng.permutation(len(fit)), t, anneal, params,
                           offsets)
        current_score = scorer.score(*params)
        if current_score > best_score:
            best, best_score = scorer.network(*params), current_score
        offsets = _truncation_offsets(net, *params, codes_train, infos)
    return best


class _Shadows:
    """The trainable shadows of every layer's weights and biases in one flat vector (weights
    of all layers, then biases), with their Adam moments, trainable entries and per-entry
    step sizes: one Adam update per step for the whole network (elementwise, so the same
    numbers as one update per tensor)."""

    def __init__(self, net: Network, infos: list[_LayerInfo], lr: float,
                 projection: Projection, bias_units: list[float], w_range: tuple[int, int]):
        w0 = [np.array(layer.weights, dtype=np.float64) for layer in net.layers]
        b0 = [np.array(layer.biases, dtype=np.float64) for layer in net.layers]
        pruned = [(w == 0) & (info.masks == 0) for w, info in zip(w0, infos, strict=True)]
        constant_zero = [p.all(axis=1) & (b == 0) for p, b in zip(pruned, b0, strict=True)]
        self.value = np.concatenate([t.ravel() for t in w0 + b0])
        self.trainable = ~np.concatenate([t.ravel() for t in pruned + constant_zero])
        self.base_lr = float(lr)
        self.lr = np.full(self.value.size, self.base_lr)
        self.m = np.zeros_like(self.value)
        self.v = np.zeros_like(self.value)
        self.n_weights = sum(w.size for w in w0)
        self.weights = _views(self.value, 0, w0)
        self.biases = _views(self.value, self.n_weights, b0)
        self.w_trainable = _views(self.trainable, 0, w0)
        self.b_trainable = _views(self.trainable, self.n_weights, b0)
        self.bias_lr = _views(self.lr, self.n_weights, b0)
        self.projection, self.bias_units, self.w_range = projection, bias_units, w_range

    def integer(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The integer weights (projected) and biases (rounded to their units) the shadows
        stand for, as float arrays; frozen entries 0."""
        wq, bq = [], []
        for k, (w, b, unit) in enumerate(zip(self.weights, self.biases, self.bias_units,
                                             strict=True)):
            q = np.asarray(self.projection(k, w.copy()))
            if q.shape != w.shape:
                raise UsageError(
                    f"project({k}, W) returned shape {q.shape!r}, expected {w.shape!r}"
                )
            if q.dtype.kind not in "iuf" or (
                q.dtype.kind == "f" and (not np.all(np.isfinite(q)) or np.any(q != np.rint(q)))
            ):
                raise UsageError(f"project({k}, W) returned non-integer weights")
            wq.append(np.where(self.w_trainable[k], q, 0).astype(np.float64))
            bq.append(np.where(self.b_trainable[k], np.rint(b / unit) * unit, 0.0))
        return wq, bq

    def step(self, grad: np.ndarray, t: int, scale: float) -> None:
        """Adam step ``t`` on the flat gradient, step sizes times ``scale``; weight shadows
        then clipped to half an LSB beyond the weight range (shadows far outside could not
        come back in reasonable time)."""
        grad = np.where(self.trainable, grad, 0.0)
        self.m = _BETA1 * self.m + (1 - _BETA1) * grad
        self.v = _BETA2 * self.v + (1 - _BETA2) * grad * grad
        m_hat = self.m / (1 - _BETA1**t)
        v_hat = self.v / (1 - _BETA2**t)
        self.value -= scale * self.lr * m_hat / (np.sqrt(v_hat) + _EPS)
        weights = self.value[:self.n_weights]
        np.clip(weights, self.w_range[0] - 0.5, self.w_range[1] + 0.5, out=weights)


def _views(flat: np.ndarray, start: int, shapes: list[np.ndarray]) -> list[np.ndarray]:
    """Views into ``flat`` from ``start`` shaped like each of ``shapes``, back to back."""
    views = []
    for t in shapes:
        views.append(flat[start:start + t.size].reshape(t.shape))
        start += t.size
    return views


class _Scorer:
    """Accuracy of candidate integer parameters with the exact golden model
    (:func:`bespoke_mlp.ir.predict_with`) on validation and training codes, in one pass over
    both; the network itself is built only for a candidate that is kept."""

    def __init__(self, net: Network, codes_train: np.ndarray, y_train: np.ndarray,
                 codes_val: np.ndarray, y_val: np.ndarray):
        self.net = net
        self.codes = np.concatenate([codes_val, codes_train])
        self.y_val, self.y_train = y_val, y_train

    def network(self, wq: list[np.ndarray], bq: list[np.ndarray]) -> Network:
        layers = tuple(
            dataclasses.replace(
                layer,
                weights=w.astype(np.int64).tolist(),
                biases=b.astype(np.int64).tolist(),
            )
            for layer, w, b in zip(self.net.layers, wq, bq, strict=True)
        )
        return dataclasses.replace(self.net, layers=layers)

    def score(self, wq: list[np.ndarray], bq: list[np.ndarray]) -> tuple[float, float]:
        """(validation, training) accuracy of ``(wq, bq)``; validation accuracy 0 without
        validation samples."""
        predicted = predict_with(self.net, wq, bq, self.codes)
        n_val = len(self.y_val)
        val = float(np.mean(predicted[:n_val] == self.y_val)) if n_val else 0.0
        return val, float(np.mean(predicted[n_val:] == self.y_train))


def _forward(net: Network, infos: list[_LayerInfo], x: np.ndarray, wq: list[np.ndarray],
             bq: list[np.ndarray], offsets: list
             ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray | None]]]:
    """The surrogate forward pass: output values and, per layer, (inputs as multiplied,
    window gradient or None)."""
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


def _gradient(net: Network, infos: list[_LayerInfo], shadows: _Shadows, x: np.ndarray,
              y: np.ndarray, wq: list[np.ndarray], bq: list[np.ndarray], offsets: list,
              temperature: float) -> np.ndarray:
    """The flat gradient (layout of :class:`_Shadows`) of the batch's mean cross-entropy,
    backpropagated straight through rounding, masks and floors."""
    out, cache = _forward(net, infos, x, wq, bq, offsets)
    _, p = _cross_entropy(out * temperature, y)
    p[np.arange(len(y)), y] -= 1.0
    grad = p * (temperature / 2.0**net.argmax_shift / len(y))
    flat = np.empty_like(shadows.value)
    dw_views = _views(flat, 0, shadows.weights)
    db_views = _views(flat, shadows.n_weights, shadows.biases)
    for k in reversed(range(len(infos))):
        inputs, _ = cache[k]
        dw_views[k][...] = grad.T @ inputs if infos[k].full else np.einsum(
            "nj,nji->ji", grad, inputs)
        db_views[k][...] = grad.sum(axis=0)
        if k:
            grad = (grad @ (wq[k] * infos[k].passes)) * cache[k - 1][1]
    return flat


def _checked_data(net: Network, codes_train: np.ndarray, y_train: np.ndarray,
                  codes_val: np.ndarray, y_val: np.ndarray) -> tuple[np.ndarray, ...]:
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
    return codes_train, y_train, codes_val, y_val


def _projection(net: Network, project: Projection | None, weight_bits: int | None
                ) -> tuple[Projection, tuple[int, int]]:
    """The projection to use and the weight range ``(lo, hi)`` of the shadows."""
    if weight_bits is None:
        weight_bits = _weight_bits(net)
    weight_bits = check_int("weight_bits", weight_bits, 2, 32)
    w_lo, w_hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1

    def round_clip(_k: int, w: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(w), w_lo, w_hi)

    return (round_clip if project is None else project), (w_lo, w_hi)


def _bias_units(net: Network, bias_steps: list[int] | None) -> list[float]:
    if bias_steps is None:
        bias_steps = [0] * len(net.layers)
    if len(bias_steps) != len(net.layers) or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in bias_steps):
        raise UsageError(f"bias_steps must be {len(net.layers)} ints >= 0, got {bias_steps!r}")
    return [float(1 << s) for s in bias_steps]


def _fitted_samples(net: Network, y_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each training label's output neuron (-1 for a class without one, e.g. after class
    removal) and the samples the loss sees: those with one (the others' predictions are
    wrong whatever the weights)."""
    position = np.full(net.n_classes, -1, dtype=np.int64)
    position[list(net.output_classes)] = np.arange(net.layers[-1].n_out)
    target = position[y_train]
    return target, np.flatnonzero(target >= 0)


def _calibrate(net: Network, infos: list[_LayerInfo], shadows: _Shadows, codes: np.ndarray,
               target: np.ndarray, wq: list[np.ndarray], bq: list[np.ndarray],
               offsets: list) -> float:
    """The loss's temperature, from the initial network on the fitted samples ``codes``
    (all training codes) and ``target``; sets each layer's bias step size to a weight step
    times its mean input (comparable to one weight step on a typical input)."""
    fit = np.flatnonzero(target >= 0)
    out, cache = _forward(net, infos, codes, wq, bq, offsets)
    for k, (inputs, _) in enumerate(cache):
        shadows.bias_lr[k][...] = shadows.base_lr * max(1.0, float(inputs.mean()))
    return _temperature(out[fit], target[fit])


@dataclasses.dataclass(frozen=True)
class _Task:
    """What every training step needs besides the shadows."""

    net: Network
    infos: list[_LayerInfo]
    codes: np.ndarray  # training codes
    target: np.ndarray  # output neuron of each training sample, -1 for none
    fit: np.ndarray  # the samples the loss sees
    temperature: float
    batch: int


def _epoch(task: _Task, shadows: _Shadows, order: np.ndarray, t: int, anneal: float,
           params: tuple[list[np.ndarray], list[np.ndarray]], offsets: list
           ) -> tuple[tuple[list[np.ndarray], list[np.ndarray]], int]:
    """One epoch of mini-batch steps over the fitted samples in ``order``, starting from the
    integer ``params`` at step ``t``; returns the new integer params and step count."""
    for start in range(0, len(order), task.batch):
        idx = task.fit[order[start:start + task.batch]]
        grad = _gradient(task.net, task.infos, shadows, task.codes[idx], task.target[idx],
                         *params, offsets, task.temperature)
        t += 1
        shadows.step(grad, t, anneal)
        params = shadows.integer()
    return params, t
