"""Reading an ONNX graph as a chain of MLP steps.

The graph must be one chain from its single input: optional per-feature preprocessing
(``Scaler``, ``Sub``/``Add``/``Mul``/``Div`` by constants, ``Cast``), then ``MatMul`` + ``Add``
or ``Gemm`` layers separated by ``Relu``, possibly with QONNX ``Quant``/``BipolarQuant`` nodes on
the input, the weights, the biases and the activations, and finally the classifier
post-processing (``Softmax``, ``Sigmoid``, ``ArgMax``, ``ZipMap``, ``ArrayFeatureExtractor`` …),
which only picks the argmax of the last layer and is read for its class labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UsageError

__all__ = ["Quantizer", "Step", "Chain", "json_list", "read_chain"]

#: Operators of the post-processing that follows the last layer; they keep its argmax.
_HEAD_OPS = frozenset({
    "Softmax", "LogSoftmax", "Sigmoid", "ArgMax", "ZipMap", "ArrayFeatureExtractor", "Cast",
    "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Sub", "Label",
})
_PASS_OPS = frozenset({"Identity", "Dropout"})
_FLOAT_TYPES = (1, 10, 11, 16)  # float, float16, double, bfloat16
_QUANT_OPS = frozenset({"Quant", "IntQuant", "BipolarQuant"})


@dataclass(frozen=True, eq=False)
class Quantizer:
    """A QONNX ``Quant`` (or ``BipolarQuant``) node with constant parameters.

    ``scale`` and ``zero_point`` are float arrays broadcastable to the quantized tensor. A
    bipolar quantizer maps to ``±scale``.
    """

    node: str
    scale: np.ndarray
    zero_point: np.ndarray
    bits: int
    signed: bool
    narrow: bool
    rounding: str
    bipolar: bool = False

    @property
    def qmin(self) -> int:
        if self.bipolar:
            return -1
        if not self.signed:
            return 0
        return -(1 << (self.bits - 1)) + int(self.narrow)

    @property
    def qmax(self) -> int:
        if self.bipolar:
            return 1
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1 - int(
            self.narrow)

    def integers(self, x: np.ndarray) -> np.ndarray:
        """The integer values ``q - zero_point`` of constant ``x``, as QONNX computes them."""
        if self.bipolar:
            return np.where(x >= 0, 1, -1).astype(np.int64)
        y = np.clip(x / self.scale.astype(x.dtype) + self.zero_point.astype(x.dtype),
                    self.qmin, self.qmax)
        q = _ROUNDING[self.rounding](y) - self.zero_point
        if not np.all(q == np.rint(q)):
            raise UsageError(f"Quant node {self.node!r}: zero point {self.zero_point!r} is not "
                             "an integer")
        return np.rint(q).astype(np.int64)


_ROUNDING = {
    "ROUND": np.round, "HALF_EVEN": np.round, "FLOOR": np.floor, "DOWN": np.fix,
    "CEIL": np.ceil, "UP": lambda v: np.sign(v) * np.ceil(np.abs(v)),
    "HALF_UP": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5),
    "HALF_DOWN": lambda v: np.sign(v) * np.ceil(np.abs(v) - 0.5),
}


@dataclass(frozen=True, eq=False)
class Step:
    """One step of the chain.

    ``kind`` is ``"linear"`` (``value``: the ``(n_in, n_out)`` float weights), ``"bias"``
    (``value``: added vector), ``"scale"`` (``value``: multiplied vector), ``"relu"`` or
    ``"quant"`` (``quant``: an activation or input quantizer). A quantized constant carries its
    quantizer ``quant``, its integers ``ints`` and each integer's real step ``unit``
    (``value == ints * unit``). ``node`` names the ONNX node for error messages.
    """

    kind: str
    node: str
    op: str
    value: np.ndarray | None = None
    quant: Quantizer | None = None
    ints: np.ndarray | None = None
    unit: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Chain:
    """An ONNX MLP read as steps.

    ``n_features`` is the input width; ``classes`` the labels the post-processing names
    (``None``: not named); ``binary`` is set when one logit is turned into two classes by a
    sigmoid; ``logits`` is the name of the last layer's output tensor; ``metadata`` the model's
    metadata properties.
    """

    input_name: str
    input_type: int
    n_features: int
    steps: tuple[Step, ...]
    classes: tuple[Any, ...] | None
    binary: bool
    logits: str
    metadata: dict[str, str]

    @property
    def quantized(self) -> bool:
        return any(s.quant is not None for s in self.steps)


def _node_name(node: Any, index: int) -> str:
    return node.name or f"#{index} ({node.output[0] if node.output else 'no output'})"


def _unsupported(name: str, op: str, why: str = "") -> UsageError:
    tail = f": {why}" if why else ""
    return UsageError(f"unsupported operator {op!r} at node {name!r}{tail}")


def read_chain(model: Any) -> Chain:
    """Read an ``onnx.ModelProto`` as a :class:`Chain`; anything else raises a one-line
    :class:`~bespoke_mlp.errors.UsageError` naming the node and its operator."""
    from onnx import numpy_helper

    graph = model.graph
    consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    # One list of node objects: the walk identifies nodes by id().
    nodes = list(graph.node)
    names = {id(n): _node_name(n, i) for i, n in enumerate(nodes)}
    producers: dict[str, Any] = {}
    consumers: dict[str, list[Any]] = {}
    for node in nodes:
        if node.op_type == "Constant":
            consts[node.output[0]] = _constant_value(node, names[id(node)])
            continue
        for out in node.output:
            producers[out] = node
        for inp in node.input:
            consumers.setdefault(inp, []).append(node)
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise UsageError(f"the model must have one input, it has {len(inputs)}: "
                         f"{[i.name for i in inputs]!r}")
    inp = inputs[0]
    ttype = inp.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in ttype.shape.dim]
    if len(dims) != 2:
        raise UsageError(f"model input {inp.name!r} has shape {dims!r}; expected (batch, "
                         "features)")
    walker = _Walker(consts, producers, consumers, names, dims[1])
    steps, logits = walker.trunk(inp.name)
    classes, binary = walker.head(logits)
    n_features = walker.n_features
    outputs = {o.name for o in graph.output}
    unused = [n for n in nodes if id(n) not in walker.used and n.op_type != "Constant"
              and any(o in outputs or o in consumers for o in n.output)]
    if unused:
        node = unused[0]
        raise _unsupported(names[id(node)], node.op_type, "not part of the MLP chain")
    meta = {p.key: p.value for p in model.metadata_props}
    if classes is None and "classes" in meta:
        classes = tuple(json_list(meta, "classes"))
    return Chain(input_name=inp.name, input_type=ttype.elem_type, n_features=n_features,
                 steps=tuple(steps), classes=classes, binary=binary, logits=logits,
                 metadata=meta)


def json_list(meta: dict[str, str], key: str) -> list[Any]:
    """Metadata property ``key``, a JSON list."""
    try:
        value = json.loads(meta[key])
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        raise UsageError(f"model metadata {key!r} must be a JSON list, got {meta[key]!r}")
    return value


def _constant_value(node: Any, name: str) -> np.ndarray:
    from onnx import helper, numpy_helper

    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if attr.name == "value":
            return numpy_helper.to_array(value)
        if attr.name in ("value_float", "value_int"):
            return np.asarray(value)
        if attr.name in ("value_floats", "value_ints"):
            return np.asarray(list(value))
    raise _unsupported(name, "Constant", "only tensor or numeric constants are read")


class _Walker:
    """Follows the chain from the input, recording steps and the nodes it used."""

    def __init__(self, consts, producers, consumers, names, width):
        self.consts = consts
        self.producers = producers
        self.consumers = consumers
        self.names = names
        self.width = width
        self.n_features = width
        self.used: set[int] = set()
        self.linear_seen = False

    def _const(self, tensor: str, node: Any, what: str) -> tuple[np.ndarray, Quantizer | None,
                                                              np.ndarray | None, np.ndarray | None]:
        """A constant input (an initializer, possibly through a Quant node): its value, and
        when quantized its quantizer, integers and their steps."""
        if tensor in self.consts:
            return np.asarray(self.consts[tensor], dtype=np.float64), None, None, None
        prod = self.producers.get(tensor)
        if prod is not None and prod.op_type in _QUANT_OPS and prod.input[0] in self.consts:
            quant = self._quantizer(prod)
            self.used.add(id(prod))
            # QONNX computes in the constant's own precision (float32): so does this.
            raw = np.asarray(self.consts[prod.input[0]])
            ints = quant.integers(raw)
            unit = np.broadcast_to(np.asarray(quant.scale, dtype=np.float64), raw.shape).copy()
            return ints * unit, quant, ints, unit
        raise _unsupported(self.names[id(node)], node.op_type, f"its {what} is not a constant")

    def _quantizer(self, node: Any) -> Quantizer:
        from onnx import helper

        name = self.names[id(node)]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        params = []
        for tensor in node.input[1:]:
            if tensor not in self.consts:
                raise _unsupported(name, node.op_type, f"parameter {tensor!r} is not a constant")
            params.append(np.asarray(self.consts[tensor], dtype=np.float64))
        if node.op_type == "BipolarQuant":
            return Quantizer(name, params[0], np.zeros(()), 1, True, False, "ROUND", True)
        scale, zero_point, bits = params
        if bits.size != 1 or bits.item() != int(bits.item()) or bits.item() < 1:
            raise UsageError(f"Quant node {name!r}: bit width {bits.tolist()!r} is not a "
                             "positive integer")
        rounding = attrs.get("rounding_mode", b"ROUND")
        rounding = (rounding.decode() if isinstance(rounding, bytes) else rounding).upper()
        if rounding not in _ROUNDING:
            raise UsageError(f"Quant node {name!r}: unknown rounding mode {rounding!r}")
        if int(bits.item()) == 1 and attrs.get("signed", 1):
            raise UsageError(f"Quant node {name!r}: 1-bit signed Quant is bipolar; use "
                             "BipolarQuant")
        return Quantizer(name, scale, zero_point, int(bits.item()), bool(attrs.get("signed", 1)),
                         bool(attrs.get("narrow", 0)), rounding)

    def _other(self, node: Any, tensor: str) -> tuple[str, int]:
        """The other input of a binary node and the position of ``tensor``."""
        if len(node.input) != 2:
            raise _unsupported(self.names[id(node)], node.op_type, "expected two inputs")
        pos = list(node.input).index(tensor)
        return node.input[1 - pos], pos

    def _vector(self, value: np.ndarray, node: Any) -> np.ndarray:
        """A constant broadcast along the features of the current width."""
        v = np.asarray(value, dtype=np.float64)
        width = self.width or v.size
        if v.ndim > 2 or (v.ndim == 2 and v.shape[0] != 1) or v.size not in (1, width):
            raise _unsupported(self.names[id(node)], node.op_type,
                               f"constant of shape {v.shape!r} for {width} values")
        if self.width is None:
            self.width = self.n_features = width
        return np.broadcast_to(v.reshape(-1), (width,)).copy()

    def trunk(self, tensor: str) -> tuple[list[Step], str]:
        steps: list[Step] = []
        while True:
            nodes = self.consumers.get(tensor, [])
            if not nodes:
                if not self.linear_seen:
                    raise UsageError("the model has no MatMul or Gemm layer")
                return steps, tensor
            if len(nodes) > 1 or self._is_head(nodes[0], tensor):
                if not self.linear_seen:
                    node = nodes[0]
                    raise _unsupported(self.names[id(node)], node.op_type,
                                       "no linear layer before it")
                return steps, tensor
            node = nodes[0]
            steps.extend(self._step(node, tensor))
            self.used.add(id(node))
            tensor = node.output[0]

    def _is_head(self, node: Any, tensor: str) -> bool:
        if node.op_type in ("Softmax", "LogSoftmax", "Sigmoid", "ArgMax", "ZipMap", "Concat"):
            return True
        return node.op_type == "Sub" and node.input[0] != tensor and self.linear_seen

    def _step(self, node: Any, tensor: str) -> list[Step]:
        from onnx import helper

        op, name = node.op_type, self.names[id(node)]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if op in _PASS_OPS:
            return []
        if op == "Cast":
            if attrs.get("to") not in _FLOAT_TYPES:
                raise _unsupported(name, op, f"cast to type {attrs.get('to')!r} in the network")
            return []
        if op == "Flatten":
            return []
        if op in _QUANT_OPS:
            return [Step("quant", name, op, quant=self._quantizer(node))]
        if op == "Relu":
            if not self.linear_seen:
                raise _unsupported(name, op, "no linear layer before it")
            return [Step("relu", name, op)]
        if op == "Scaler":
            offset = self._vector(np.asarray(attrs.get("offset", [0.0])), node)
            scale = self._vector(np.asarray(attrs.get("scale", [1.0])), node)
            return [Step("bias", name, op, -offset), Step("scale", name, op, scale)]
        if op in ("Add", "Sub", "Mul", "Div"):
            other, pos = self._other(node, tensor)
            value, quant, _, _ = self._const(other, node, "other operand")
            v = self._vector(value, node)
            if op == "Sub" and pos == 1:
                raise _unsupported(name, op, "constant minus activations")
            if op == "Div" and (pos == 1 or np.any(v == 0)):
                raise _unsupported(name, op, "division by activations or zero")
            kind = "bias" if op in ("Add", "Sub") else "scale"
            v = {"Sub": -v, "Div": 1.0 / v}.get(op, v)
            return [Step(kind, name, op, v, quant)]
        if op in ("MatMul", "Gemm"):
            return self._linear(node, tensor, attrs)
        raise _unsupported(name, op)

    def _linear(self, node: Any, tensor: str, attrs: dict[str, Any]) -> list[Step]:
        op, name = node.op_type, self.names[id(node)]
        if node.input[0] != tensor:
            raise _unsupported(name, op, "activations must be the first operand")
        weights, quant, ints, unit = self._const(node.input[1], node, "weight matrix")
        if op == "Gemm":
            if attrs.get("transA", 0):
                raise _unsupported(name, op, "transA=1")
            if attrs.get("transB", 0):
                weights, ints, unit = (None if a is None else a.T for a in (weights, ints, unit))
            if attrs.get("alpha", 1.0) != 1.0:
                if quant is not None:
                    raise _unsupported(name, op, "alpha != 1 with quantized weights")
                weights = weights * float(attrs["alpha"])
        if weights.ndim != 2 or (self.width is not None and weights.shape[0] != self.width):
            raise _unsupported(name, op, f"weights of shape {weights.shape!r} for "
                                         f"{self.width} inputs")
        if self.width is None:
            self.n_features = weights.shape[0]
        self.width = weights.shape[1]
        self.linear_seen = True
        steps = [Step("linear", name, op, weights, quant, ints, unit)]
        if op == "Gemm" and len(node.input) > 2 and node.input[2]:
            bias, bquant, _, _ = self._const(node.input[2], node, "bias")
            steps.append(Step("bias", name, op, self._vector(bias, node)
                              * float(attrs.get("beta", 1.0)), bquant))
        return steps

    def head(self, logits: str) -> tuple[tuple[Any, ...] | None, bool]:
        """Check the post-processing after ``logits``; return its class labels and whether a
        sigmoid makes one logit two classes."""
        from onnx import helper

        classes, binary = None, False
        todo = [logits]
        while todo:
            tensor = todo.pop()
            for node in self.consumers.get(tensor, []):
                if id(node) in self.used:
                    continue
                self.used.add(id(node))
                name = self.names[id(node)]
                if node.op_type not in _HEAD_OPS:
                    raise _unsupported(name, node.op_type, "after the last layer")
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                if node.op_type == "ZipMap":
                    labels = attrs.get("classlabels_int64s") or attrs.get("classlabels_strings")
                    classes = tuple(_label(v) for v in labels)
                elif node.op_type == "ArrayFeatureExtractor" and node.input[0] in self.consts:
                    arr = self.consts[node.input[0]].reshape(-1)
                    classes = tuple(_label(v) for v in arr)
                elif node.op_type == "Sigmoid":
                    binary = self.width == 1
                todo.extend(node.output)
        if self.width == 1:
            binary = True
        return classes, binary



def _label(value: Any) -> Any:
    """A class label stored in a graph as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value
