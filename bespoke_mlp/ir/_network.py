"""The integer network IR: an immutable, typed description of a quantized (and possibly
approximated) MLP, with a lossless JSON round-trip.

Semantics (the golden model in ``_golden.py`` is the executable definition):

* Inputs are unsigned integer codes of ``input_bits`` bits, one per feature.
* Layer ``l`` neuron ``j`` forms its accumulator from bit-level partial products: every weight
  ``w`` is recoded in canonical signed digits; each digit ``±2^e`` contributes the input bits
  selected by the connection's ``mask``, shifted by ``e`` (inverted for a negative digit, whose
  two's-complement correction joins the constant). Partial-product bits in the
  ``truncation`` lowest columns are dropped. The bias is the constant added to the tree.
  With no truncation the accumulator is exactly ``sum_i w_ij * (a_i & mask_ij) + bias_j``.
* Hidden neurons apply a ReLU window: ``clip(acc >> lsb, 0, 2**bits - 1)`` (arithmetic shift:
  truncate below, saturate above).
* The output layer has no activation; the class is the argmax of ``acc >> argmax_shift``,
  lowest index winning ties. Binary problems use two outputs, the first a constant zero.
  Output ``j`` stands for class ``outputs[j]`` (class removal drops the output neurons of
  classes the network never needs; without it output ``j`` is class ``j``).
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import ModelFileError
from ._adc import ADC_REFERENCE_BITS, MW_PER_CM2, adc_comparators
from ._csd import csd_weight
from ._quantizer import check_thresholds
from ._range import InputRange

__all__ = ["Window", "Layer", "Network", "FORMAT"]

FORMAT = "bespoke-mlp/network"
_VERSION = 1
#: Largest coefficient magnitude (the golden model's CSD tables; 14-bit signed weights).
MAX_WEIGHT = 1 << 13

Label = int | float | str


@dataclass(frozen=True)
class Window:
    """ReLU re-quantization window of a hidden neuron: keep bits ``[lsb + bits - 1 : lsb]``."""

    lsb: int
    bits: int

    def __post_init__(self) -> None:
        if not isinstance(self.lsb, int) or self.lsb < 0:
            raise ValueError(f"window lsb must be an int >= 0, not {self.lsb!r}")
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 16:
            raise ValueError(f"window bits must be an int in 1..16, not {self.bits!r}")

    @property
    def msb(self) -> int:
        return self.lsb + self.bits - 1


def _int_matrix(name: str, rows: Any) -> tuple[tuple[int, ...], ...]:
    out = tuple(tuple(int(v) for v in row) for row in rows)
    for row in rows:
        for v in row:
            if int(v) != v:
                raise ValueError(f"{name} must hold integers, found {v!r}")
    return out


@dataclass(frozen=True)
class Layer:
    """One fully connected layer of bespoke neurons.

    Parameters
    ----------
    weights : n_out rows of n_in integer coefficients.
    biases : n_out integer constants in accumulator units (compensations included).
    masks : n_out rows of n_in input-bit masks (bit ``b`` set: input bit ``b`` enters); the
        mask of a zero coefficient is normalized to 0.
    truncation : n_out counts of dropped least-significant accumulator columns.
    activation : n_out ReLU windows for a hidden layer, ``None`` for the output layer.
    """

    weights: tuple[tuple[int, ...], ...]
    biases: tuple[int, ...]
    masks: tuple[tuple[int, ...], ...]
    truncation: tuple[int, ...]
    activation: tuple[Window, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", _int_matrix("weights", self.weights))
        object.__setattr__(self, "masks", _int_matrix("masks", self.masks))
        object.__setattr__(self, "biases", tuple(int(b) for b in self.biases))
        object.__setattr__(self, "truncation", tuple(int(t) for t in self.truncation))
        if self.activation is not None:
            object.__setattr__(self, "activation", tuple(self.activation))
        if any(abs(w) > MAX_WEIGHT for r in self.weights for w in r):
            raise ValueError(f"weights must lie within ±{MAX_WEIGHT} (14-bit signed), found "
                             f"{max((w for r in self.weights for w in r), key=abs)!r}")
        n_out = len(self.weights)
        if n_out == 0:
            raise ValueError("a layer needs at least one neuron")
        n_in = len(self.weights[0])
        if n_in == 0 or any(len(r) != n_in for r in self.weights):
            raise ValueError(
                f"weights must be a non-empty rectangular matrix, got {self.weights!r}")
        if len(self.masks) != n_out or any(len(r) != n_in for r in self.masks):
            raise ValueError(f"masks must be {n_out}x{n_in}, got {self.masks!r}")
        if any(m < 0 for r in self.masks for m in r):
            raise ValueError(f"masks must be non-negative, got {self.masks!r}")
        # Canonical form: a zero coefficient reads no input bits.
        object.__setattr__(self, "masks", tuple(
            tuple(m if w else 0 for w, m in zip(wrow, mrow))
            for wrow, mrow in zip(self.weights, self.masks)))
        if len(self.biases) != n_out:
            raise ValueError(f"expected {n_out} biases, got {self.biases!r}")
        if len(self.truncation) != n_out or any(t < 0 for t in self.truncation):
            raise ValueError(f"expected {n_out} truncations >= 0, got {self.truncation!r}")
        if self.activation is not None:
            if len(self.activation) != n_out or not all(
                isinstance(w, Window) for w in self.activation
            ):
                raise ValueError(f"expected {n_out} activation windows, got {self.activation!r}")

    @property
    def n_in(self) -> int:
        return len(self.weights[0])

    @property
    def n_out(self) -> int:
        return len(self.weights)

    @property
    def is_hidden(self) -> bool:
        return self.activation is not None

    @property
    def output_bits(self) -> tuple[int, ...] | None:
        """Width of each neuron's activation (hidden layers), else ``None``."""
        return None if self.activation is None else tuple(w.bits for w in self.activation)

    @property
    def n_csd_terms(self) -> int:
        """Nonzero CSD digits over all connections with a nonzero mask."""
        return sum(
            csd_weight(w)
            for wrow, mrow in zip(self.weights, self.masks)
            for w, m in zip(wrow, mrow)
            if m
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": [list(r) for r in self.weights],
            "biases": list(self.biases),
            "masks": [list(r) for r in self.masks],
            "truncation": list(self.truncation),
            "activation": None
            if self.activation is None
            else [[w.lsb, w.bits] for w in self.activation],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Layer:
        act = d["activation"]
        return cls(
            weights=d["weights"],
            biases=d["biases"],
            masks=d["masks"],
            truncation=d["truncation"],
            activation=None if act is None else tuple(Window(int(a), int(b)) for a, b in act),
        )


@dataclass(frozen=True)
class Network:
    """A quantized MLP: integer layers plus the input preprocessing and the class labels.

    Parameters
    ----------
    input_bits : width of every input code (the ADC resolution), 1..8.
    layers : hidden layers (with activation windows) followed by one output layer.
    classes : the class label of each output index.
    argmax_shift : low accumulator bits the argmax ignores (compare ``acc >> argmax_shift``).
    feature_min, feature_max : each raw feature's input range (the span of its ADC, fitted on
        training data); a raw value ``x`` becomes
        ``round(clip((x - min) / (max - min), 0, 1) * (2**bits - 1))``.
    input_range : the rule that fitted the range (None: not recorded, e.g. an imported model's
        own scaling or a model file from before ranges were recorded).
    input_clipped : per feature, whether the range clips some of the samples it was fitted on
        (empty: not recorded).
    feature_names : the data column that drives each input ``x[k]`` (empty: unknown).
    dropped_features : constant data columns that were dropped before training.
    thresholds : learned quantizers (empty: uniform only): per feature, for ``r`` in
        1..input_bits-1, ``2**r - 1`` sorted raw thresholds; a feature the circuit reads at
        ``r < input_bits`` bits is coded through them (see ``_quantizer.py``).
    outputs : the class index (position in ``classes``) of each output neuron, strictly
        increasing (so the lowest class wins ties as without removal); empty: output ``j`` is
        class ``j``, one output per class. Non-empty after class removal: the circuit's class
        output still gives the original class index.
    """

    input_bits: int
    layers: tuple[Layer, ...]
    classes: tuple[Label, ...]
    argmax_shift: int = 0
    feature_min: tuple[float, ...] = field(default=())
    feature_max: tuple[float, ...] = field(default=())
    feature_names: tuple[str, ...] = field(default=())
    dropped_features: tuple[str, ...] = field(default=())
    thresholds: tuple[tuple[tuple[float, ...], ...], ...] = field(default=())
    outputs: tuple[int, ...] = field(default=())
    input_range: InputRange | None = None
    input_clipped: tuple[bool, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_clipped", tuple(self.input_clipped))
        if not all(isinstance(c, bool) for c in self.input_clipped):
            raise ValueError(f"input_clipped must be booleans, got {list(self.input_clipped)!r}")
        if self.input_range is not None and not isinstance(self.input_range, InputRange):
            raise ValueError(f"input_range must be an InputRange, got {self.input_range!r}")
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if not all(isinstance(o, int) and not isinstance(o, bool) for o in self.outputs):
            raise ValueError(f"outputs must be class indices, got {list(self.outputs)!r}")
        object.__setattr__(self, "thresholds", tuple(
            tuple(tuple(float(v) for v in t) for t in per_bits) for per_bits in self.thresholds))
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "feature_min", tuple(float(v) for v in self.feature_min))
        object.__setattr__(self, "feature_max", tuple(float(v) for v in self.feature_max))
        for name in ("feature_names", "dropped_features"):
            names = tuple(getattr(self, name))
            if not all(isinstance(n, str) for n in names):
                raise ValueError(f"{name} must be strings, got {list(names)!r}")
            object.__setattr__(self, name, names)
        if not isinstance(self.input_bits, int) or not 1 <= self.input_bits <= 8:
            raise ValueError(f"input_bits must be an int in 1..8, not {self.input_bits!r}")
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        if not isinstance(self.argmax_shift, int) or self.argmax_shift < 0:
            raise ValueError(f"argmax_shift must be an int >= 0, not {self.argmax_shift!r}")
        for k, layer in enumerate(self.layers):
            last = k == len(self.layers) - 1
            if layer.is_hidden == last:
                raise ValueError(
                    f"layer {k}: hidden layers need activation windows and the output layer "
                    "must have none"
                )
            if k and layer.n_in != self.layers[k - 1].n_out:
                raise ValueError(
                    f"layer {k} has {layer.n_in} inputs but layer {k - 1} has "
                    f"{self.layers[k - 1].n_out} outputs"
                )
            widths = self.input_widths(k)
            for j, mrow in enumerate(layer.masks):
                for i, m in enumerate(mrow):
                    if m >> widths[i]:
                        raise ValueError(
                            f"layer {k} neuron {j} input {i}: mask {m!r} exceeds the "
                            f"{widths[i]}-bit input"
                        )
        for c in self.classes:
            if isinstance(c, bool) or not isinstance(c, numbers.Real | str):
                raise ValueError(f"class labels must be numbers or strings, found {c!r}")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"class labels must be distinct, got {list(self.classes)!r}")
        if self.outputs:
            if len(self.outputs) != self.layers[-1].n_out:
                raise ValueError(f"outputs {list(self.outputs)!r} name {len(self.outputs)} "
                                 f"classes for {self.layers[-1].n_out} output neurons")
            if any(b <= a for a, b in zip(self.outputs, self.outputs[1:])) or not (
                    0 <= self.outputs[0] and self.outputs[-1] < len(self.classes)):
                raise ValueError(f"outputs must be strictly increasing class indices in "
                                 f"0..{len(self.classes) - 1}, got {list(self.outputs)!r}")
        elif len(self.classes) != self.layers[-1].n_out:
            raise ValueError(
                f"{len(self.classes)} classes for {self.layers[-1].n_out} outputs"
            )
        for name, v in (("feature_min", self.feature_min), ("feature_max", self.feature_max),
                        ("feature_names", self.feature_names),
                        ("input_clipped", self.input_clipped)):
            if v and len(v) != self.n_features:
                raise ValueError(f"{name} has {len(v)} entries for {self.n_features} features")
        if self.thresholds:
            check_thresholds(self.thresholds, self.n_features, self.input_bits,
                             self.feature_min, self.feature_max)

    # -- structure ------------------------------------------------------------------------

    @property
    def n_features(self) -> int:
        return self.layers[0].n_in

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def output_classes(self) -> tuple[int, ...]:
        """The class index of each output neuron (:attr:`outputs`, or all classes)."""
        return self.outputs or tuple(range(self.n_classes))

    @property
    def topology(self) -> tuple[int, ...]:
        """Inputs, hidden sizes and output neurons, as the papers write it (e.g. 21-3-3)."""
        return (self.n_features, *(layer.n_out for layer in self.layers))

    def input_widths(self, k: int) -> tuple[int, ...]:
        """Bit width of each input of layer ``k``."""
        if k == 0:
            return (self.input_bits,) * self.layers[0].n_in
        bits = self.layers[k - 1].output_bits
        assert bits is not None  # guaranteed by validation: only the last layer has none
        return bits

    # -- cost properties ------------------------------------------------------------------

    @cached_property
    def feature_resolution(self) -> tuple[int, ...]:
        """ADC bits each feature needs (0: unused): down to the lowest bit any mask reads."""
        union = [0] * self.n_features
        first = self.layers[0]
        for j in range(first.n_out):
            for i in range(first.n_in):
                if first.weights[j][i]:
                    union[i] |= first.masks[j][i]
        return tuple(
            0 if u == 0 else self.input_bits - ((u & -u).bit_length() - 1) for u in union
        )

    @property
    def n_used_features(self) -> int:
        """Input features that need an ADC."""
        return sum(1 for r in self.feature_resolution if r)

    @property
    def adc_comparators(self) -> int:
        """Comparators of the flash ADCs (``2**bits - 1`` per used feature; see ``_adc.py``)."""
        return adc_comparators(self.feature_resolution)

    def adc_power_mw(self, mw_per_adc: float = 0.33) -> float:
        """Printed ADC power: ``mw_per_adc`` is the power of one full 4-bit flash ADC (15
        comparators); a feature read at ``b`` bits costs ``2**b - 1`` comparators of it."""
        return mw_per_adc * self.adc_comparators / ((1 << ADC_REFERENCE_BITS) - 1)

    def adc_area_cm2(self, mw_per_adc: float = 0.33) -> float:
        """Estimated area of the ADCs: their power at printed logic's power density."""
        return self.adc_power_mw(mw_per_adc) / MW_PER_CM2

    @property
    def n_csd_terms(self) -> int:
        return sum(layer.n_csd_terms for layer in self.layers)

    # -- JSON -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        # Names only when known, so that networks without them keep their JSON.
        names = {k: list(getattr(self, k)) for k in ("feature_names", "dropped_features")
                 if getattr(self, k)}
        if self.thresholds:
            names["thresholds"] = [[list(t) for t in per_bits] for per_bits in self.thresholds]
        if self.outputs:
            names["outputs"] = list(self.outputs)
        if self.input_range is not None:
            names["input_range"] = str(self.input_range)
        if self.input_clipped:
            names["input_clipped"] = list(self.input_clipped)
        return {
            **names,
            "format": FORMAT,
            "version": _VERSION,
            "input_bits": self.input_bits,
            "argmax_shift": self.argmax_shift,
            "classes": list(self.classes),
            "feature_min": list(self.feature_min),
            "feature_max": list(self.feature_max),
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: Any) -> Network:
        """Build a network from :meth:`to_dict` output; foreign or corrupted data raises
        :class:`~bespoke_mlp.errors.ModelFileError`."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ModelFileError(f"not a bespoke-mlp network (format {_peek_format(d)!r})")
        if d.get("version") != _VERSION:
            raise ModelFileError(f"unsupported network version {d.get('version')!r}")
        try:
            return cls(
                input_bits=d["input_bits"],
                layers=tuple(Layer.from_dict(layer) for layer in d["layers"]),
                classes=tuple(d["classes"]),
                argmax_shift=d["argmax_shift"],
                feature_min=tuple(d["feature_min"]),
                feature_max=tuple(d["feature_max"]),
                feature_names=tuple(d.get("feature_names", ())),
                dropped_features=tuple(d.get("dropped_features", ())),
                thresholds=tuple(d.get("thresholds", ())),
                outputs=tuple(d.get("outputs", ())),
                input_range=_range_rule(d.get("input_range")),
                input_clipped=tuple(d.get("input_clipped", ())),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ModelFileError(f"corrupted network description: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> Network:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"model file is not valid JSON: {exc}") from exc
        except RecursionError:
            raise ModelFileError("model file is nested too deeply to be a network") from None
        return cls.from_dict(data)


def _range_rule(text: Any) -> InputRange | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"input_range must be a rule name, got {text!r}")
    return InputRange.parse(text)


def _peek_format(d: Any) -> Any:
    return d.get("format") if isinstance(d, dict) else type(d).__name__
