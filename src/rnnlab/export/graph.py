"""A small builder over ``onnx.helper``: nodes, weights, inputs and outputs of one graph,
each named as it is added, and the finished model checked by ``onnx.checker``.

    g = Graph("classify")
    x = g.input("x", np.int64, ["N", "T"], "token ids")
    e = g.op("Gather", g.weight("embed.E", E), x)          # returns the output's name
    g.output(e, "probs", np.float32, ["N", "T", 4], "...")
    model = g.model("what the graph computes", {"labels": "[...]"})

Opset 17 (onnxruntime 1.13 and later): the recurrent operators have had ``layout`` since
opset 14 (onnxruntime runs only layout 0, time-major, so the graphs transpose around them),
ReduceSum takes its axes as an input and ReduceMax as an attribute. The model's IR version
is the lowest that opset allows, so older runtimes load it too.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rnnlab import __version__

OPSET = 17
TENSOR_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
                np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32,
                np.dtype(np.bool_): TensorProto.BOOL}


def tensor_type(dtype) -> int:
    """The ONNX element type of a NumPy dtype."""
    return TENSOR_TYPES[np.dtype(dtype)]


class Graph:
    """One ONNX graph under construction. Every method returns the name of the value it made."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._used: Counter[str] = Counter()
        self._constants: dict[tuple, str] = {}

    def fresh(self, hint: str) -> str:
        """A name not used before in this graph: ``hint_0``, ``hint_1``, ... (the graph's
        inputs and outputs alone have names without a number)."""
        n = self._used[hint]
        self._used[hint] += 1
        return f"{hint}_{n}"

    def input(self, name: str, dtype, shape: list, doc: str) -> str:
        """A graph input; ``shape`` holds ints and names of dynamic axes ("N", "T")."""
        self.inputs.append(helper.make_tensor_value_info(name, tensor_type(dtype), shape, doc))
        return name

    def output(self, value: str, name: str, dtype, shape: list, doc: str) -> None:
        """Expose ``value`` as the graph output ``name``."""
        self.nodes.append(helper.make_node("Identity", [value], [name], name=self.fresh(f"{name}_out")))
        self.outputs.append(helper.make_tensor_value_info(name, tensor_type(dtype), shape, doc))

    def weight(self, name: str, array: np.ndarray) -> str:
        """A constant tensor stored in the model (a weight, a statistic, an index)."""
        name = self.fresh(name)
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))  # 0-d stays 0-d
        return name

    def ints(self, name: str, values) -> str:
        """A constant int64 tensor: axes, shapes, slice bounds; a scalar for an int. Stored
        once however often it is asked for."""
        array = np.array(values, dtype=np.int64)
        key = (array.shape, tuple(array.reshape(-1).tolist()))
        if key not in self._constants:
            self._constants[key] = self.weight(name, array)
        return self._constants[key]

    def op(self, op_type: str, *inputs: str, outputs: int = 1, hint: str | None = None, **attrs):
        """Add a node; returns its output's name (a list of names when ``outputs`` > 1).
        An input given as "" is an omitted optional input."""
        hint = hint or op_type.lower()
        names = [self.fresh(hint if outputs == 1 else f"{hint}_{k}") for k in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=self.fresh(f"{hint}_node"),
                                           **attrs))
        return names[0] if outputs == 1 else names

    # ----- small compositions used by every model ------------------------------------------

    def time_major(self, x: str) -> str:
        """(N, T, ...) -> (T, N, ...) for a 3-D x."""
        return self.op("Transpose", x, perm=[1, 0, 2], hint="time_major")

    def batch_first(self, y: str) -> str:
        """(T, N, ...) -> (N, T, ...) for a 3-D y."""
        return self.op("Transpose", y, perm=[1, 0, 2], hint="batch_first")

    def linear(self, x: str, W: np.ndarray, b: np.ndarray, hint: str) -> str:
        """x W + b, our ``Linear`` (W (D, M), b (M,)) on the last axis of x."""
        return self.op("Add", self.op("MatMul", x, self.weight(f"{hint}.W", W)), self.weight(f"{hint}.b", b),
                       hint=hint)

    def dim(self, x: str, axis: int) -> str:
        """The size of one axis of x, as a (1,) int64 tensor."""
        return self.op("Shape", x, start=axis, end=axis + 1, hint="dim")

    def steps_before(self, lengths: str, T: str) -> str:
        """(N, T) bool: True at t < lengths[n], the real steps; ``T`` a (1,) size from ``dim``."""
        zero, one = self.ints("zero", 0), self.ints("one", 1)
        t = self.op("Range", zero, self.op("Squeeze", T, self.ints("axis0", [0])), one, hint="steps")
        return self.op("Less", self.op("Unsqueeze", t, self.ints("axis0", [0])),
                       self.op("Unsqueeze", lengths, self.ints("axis1", [1])), hint="real")

    def cut(self, x: str, lengths: str, max_len: int) -> tuple[str, str]:
        """x[:, :max_len] and min(lengths, max_len): a sequence read only to its max_len-th step."""
        cap = self.ints("max_len", [max_len])
        x = self.op("Slice", x, self.ints("zero", [0]), cap, self.ints("axis1", [1]), hint="cut")
        return x, self.op("Min", lengths, self.ints("max_len", max_len), hint="cut_lengths")

    def model(self, doc: str, metadata: dict[str, str]) -> onnx.ModelProto:
        """The finished model, checked with ``onnx.checker`` (full check: shape inference too)."""
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        opsets = [helper.make_opsetid("", OPSET)]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="rnnlab",
                                  producer_version=__version__, doc_string=doc,
                                  ir_version=helper.find_min_ir_version_for(opsets))
        helper.set_model_props(model, metadata)
        onnx.checker.check_model(model, full_check=True)
        return model
