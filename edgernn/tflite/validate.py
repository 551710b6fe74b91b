"""What each op needs of its tensors, checked before any code is generated from a model.

``check_op`` holds every op the C generator supports to a contract: operand count, tensor types,
constant operands, and the shape relations its kernel relies on (an output as large as the kernel
writes, weights as large as it reads). A model that breaks one is refused with a UserError naming
the op and the problem, so no crafted file can make the generated C read or write out of bounds.
Contracts are written from the ops' definitions (TFLite's kernels), not from our own graphs.
"""
from __future__ import annotations

import math

import numpy as np

from edgernn.errors import UserError
from edgernn.tflite.operands import INPUTS, LSTM_GATES, REQUIRED
from edgernn.tflite.types import BOOL, INT8, INT16, INT32, TYPES, type_name

MAX_DOT_LENGTH = 1 << 16  # int8 x int8 products summed in int32: 2^14 * 2^16 stays below 2^31

CONTRACTS = {}


def contract(*names):
    def register(fn):
        for n in names:
            CONTRACTS[n] = fn
        return fn
    return register


class OpCheck:
    """One op of one subgraph, with helpers that raise UserError naming it."""

    def __init__(self, graph, sg: int, k: int, op):
        self.g, self.sg, self.k, self.op = graph, sg, k, op
        self.name = graph.op_name(op)
        self.inputs = [int(i) for i in (op.inputs if op.inputs is not None else [])]
        self.outputs = [int(i) for i in (op.outputs if op.outputs is not None else [])]

    def fail(self, problem: str):
        raise UserError(f"{self.g.path}: invalid TFLite model: subgraph {self.sg} op {self.k} ({self.name}): {problem}")

    def need(self, ok: bool, problem: str) -> None:
        if not ok:
            self.fail(problem)

    def operand(self, name: str) -> int:
        pos = INPUTS[self.name].index(name)
        return self.inputs[pos] if pos < len(self.inputs) else -1

    def type(self, t: int, *allowed: int) -> int:
        code = self.g.type(self.sg, t)
        if code not in allowed:
            self.fail(f"tensor {t} is {type_name(code)}, needs {' or '.join(type_name(a) for a in allowed)}")
        return code

    def const(self, t: int, what: str) -> np.ndarray:
        value = self.g.const(self.sg, t)
        self.need(value is not None, f"{what} (tensor {t}) must be a constant")
        return value

    def numel(self, t: int) -> int:
        return self.g.numel(self.sg, t)

    def shape(self, t: int) -> list[int]:
        return self.g.shape(self.sg, t)

    def same_numel(self, *ts: int) -> None:
        sizes = [self.numel(t) for t in ts]
        self.need(len(set(sizes)) == 1, f"tensors {list(ts)} must have as many elements each (have {sizes})")

    def outputs_count(self, n: int) -> None:
        self.need(len(self.outputs) == n, f"{len(self.outputs)} outputs, needs {n}")


def check_op(graph, sg: int, k: int, op) -> None:
    """Common rules, then the op's own contract (ops without one are left to whoever runs them)."""
    c = OpCheck(graph, sg, k, op)
    if c.name not in CONTRACTS:
        return
    names = INPUTS.get(c.name)  # None: a variable number of inputs (WHILE)
    if names is not None:
        c.need(len(c.inputs) <= len(names), f"{len(c.inputs)} inputs, at most {len(names)}")
        for name in REQUIRED.get(c.name, names):
            c.need(c.operand(name) >= 0, f"operand {name!r} is missing")
    for t in c.outputs:
        c.need(not graph.is_const(sg, t), f"output tensor {t} is a constant")
        c.need(t not in c.inputs, f"tensor {t} is both an input and an output")
    c.need(len(set(c.outputs)) == len(c.outputs), "an output tensor is listed twice")
    for t in c.inputs + c.outputs:
        if t >= 0:
            c.need(graph.type(sg, t) in TYPES, f"tensor {t} has an unsupported type ({type_name(graph.type(sg, t))})")
    CONTRACTS[c.name](c)


def check_graph(graph) -> None:
    """Every op of every subgraph against its contract, and the main subgraph's inputs and outputs."""
    for sg, g in enumerate(graph.subgraphs):
        for t in list(g.inputs) + list(g.outputs):
            if graph.is_const(sg, int(t)):
                raise UserError(f"{graph.path}: invalid TFLite model: subgraph {sg}: input/output tensor {int(t)} "
                                "is a constant")
        for k, op in enumerate(graph.ops(sg)):
            check_op(graph, sg, k, op)


@contract("FULLY_CONNECTED")
def _fully_connected(c: OpCheck) -> None:
    c.outputs_count(1)
    x, w, b, out = c.operand("input"), c.operand("weights"), c.operand("bias"), c.outputs[0]
    c.type(x, INT8), c.type(w, INT8), c.type(out, INT8)
    c.const(w, "weights")
    c.need(len(c.shape(w)) == 2, f"weights must be 2-D (shape {c.shape(w)})")
    rows, cols = c.shape(w)
    c.need(0 < rows <= MAX_DOT_LENGTH and 0 < cols <= MAX_DOT_LENGTH, f"weights shape {c.shape(w)} out of range")
    c.need(c.numel(x) % cols == 0 and c.numel(x) > 0, f"input of {c.numel(x)} elements is not a whole number of "
                                                      f"rows of {cols}")
    c.need(c.numel(out) == c.numel(x) // cols * rows, f"output has {c.numel(out)} elements, the op makes "
                                                      f"{c.numel(x) // cols * rows}")
    if b >= 0:
        c.type(b, INT32)
        c.const(b, "bias")
        c.need(c.numel(b) == rows, f"bias has {c.numel(b)} elements, needs {rows}")
    scales = c.g.scales(c.sg, w)
    c.need(len(scales) in (1, rows), f"weights have {len(scales)} scales, need 1 or {rows}")
    if len(scales) > 1:
        c.need(c.g.tensor(c.sg, w).quantization.quantizedDimension == 0, "per-channel weights must be per row")


@contract("ADD", "SUB")
def _add_sub(c: OpCheck) -> None:
    c.outputs_count(1)
    a, b, out = c.operand("a"), c.operand("b"), c.outputs[0]
    kind = c.type(out, INT8, INT32)
    c.type(a, kind), c.type(b, kind)
    c.same_numel(a, b, out)


@contract("MUL")
def _mul(c: OpCheck) -> None:
    c.outputs_count(1)
    a, b, out = c.operand("a"), c.operand("b"), c.outputs[0]
    c.type(a, INT8), c.type(b, INT8), c.type(out, INT8)
    c.same_numel(a, b, out)


@contract("LESS")
def _less(c: OpCheck) -> None:
    c.outputs_count(1)
    a, b, out = c.operand("a"), c.operand("b"), c.outputs[0]
    c.type(a, INT32), c.type(b, INT32), c.type(out, BOOL)
    c.same_numel(a, b, out)


@contract("LOGISTIC", "TANH")
def _lut(c: OpCheck) -> None:
    c.outputs_count(1)
    x, out = c.operand("input"), c.outputs[0]
    c.type(x, INT8), c.type(out, INT8)
    c.same_numel(x, out)


@contract("SOFTMAX")
def _softmax(c: OpCheck) -> None:
    c.outputs_count(1)
    x, out = c.operand("input"), c.outputs[0]
    c.type(x, INT8), c.type(out, INT8)
    c.same_numel(x, out)
    c.need(len(c.shape(x)) >= 1 and c.shape(x)[-1] > 0, f"input shape {c.shape(x)} has no last dimension")
    beta = getattr(c.op.builtinOptions, "beta", 1.0)
    c.need(math.isfinite(beta) and beta > 0, f"beta {beta} must be a positive number")


@contract("RESHAPE")
def _reshape(c: OpCheck) -> None:
    c.outputs_count(1)
    x, out = c.operand("input"), c.outputs[0]
    c.type(out, c.g.type(c.sg, x))
    c.same_numel(x, out)


@contract("GATHER")
def _gather(c: OpCheck) -> None:
    c.outputs_count(1)
    params, idx, out = c.operand("params"), c.operand("indices"), c.outputs[0]
    c.type(idx, INT32)
    c.type(out, c.g.type(c.sg, params))
    c.need(len(c.shape(params)) >= 1 and c.shape(params)[0] > 0, f"params shape {c.shape(params)} has no rows")
    row = c.numel(params) // c.shape(params)[0]
    c.need(c.numel(out) == c.numel(idx) * row, f"output has {c.numel(out)} elements, the op makes "
                                               f"{c.numel(idx) * row}")


@contract("SPLIT")
def _split(c: OpCheck) -> None:
    axis_t, x = c.operand("axis"), c.operand("input")
    c.type(axis_t, INT32)
    axis_v = c.const(axis_t, "axis").reshape(-1)
    c.need(axis_v.size == 1, "axis must be one value")
    rank, k = len(c.shape(x)), len(c.outputs)
    c.need(rank > 0 and -rank <= int(axis_v[0]) < rank, f"axis {int(axis_v[0])} out of range for rank {rank}")
    dim = c.shape(x)[int(axis_v[0]) % rank]
    c.need(k > 0 and dim % k == 0, f"dimension {dim} does not split into {k} equal parts")
    for out in c.outputs:
        c.type(out, c.g.type(c.sg, x))
        c.need(c.numel(out) == c.numel(x) // k, f"output {out} has {c.numel(out)} elements, needs {c.numel(x) // k}")


@contract("STRIDED_SLICE")
def _strided_slice(c: OpCheck) -> None:
    c.outputs_count(1)
    x, out = c.operand("input"), c.outputs[0]
    c.type(out, c.g.type(c.sg, x))
    rank = len(c.shape(x))
    for name in ("begin", "end", "strides"):
        c.type(c.operand(name), INT32)
        c.need(c.const(c.operand(name), name).size == rank, f"{name} must have one value per input dimension")
    c.need(rank > 0 and all(d > 0 for d in c.shape(x)), f"input shape {c.shape(x)} is empty")
    c.need(all(int(s) != 0 for s in c.const(c.operand("strides"), "strides").reshape(-1)), "a stride is 0")
    c.need(c.op.builtinOptions is not None, "no options")


@contract("WHILE")
def _while(c: OpCheck) -> None:
    o = c.op.builtinOptions
    c.need(o is not None and hasattr(o, "condSubgraphIndex"), "no cond/body options")
    cond, body = c.g.subgraphs[o.condSubgraphIndex], c.g.subgraphs[o.bodySubgraphIndex]
    n = len(c.inputs)
    c.need(n == len(c.outputs) == len(cond.inputs) == len(body.inputs) == len(body.outputs) and n > 0,
           "WHILE, cond and body must have as many loop values each")
    c.need(o.condSubgraphIndex != o.bodySubgraphIndex, "cond and body are the same subgraph")
    for j in range(n):
        pairs = [(c.sg, c.inputs[j]), (c.sg, c.outputs[j]), (o.condSubgraphIndex, int(cond.inputs[j])),
                 (o.bodySubgraphIndex, int(body.inputs[j])), (o.bodySubgraphIndex, int(body.outputs[j]))]
        kinds = {(c.g.type(s, t), c.g.numel(s, t)) for s, t in pairs}
        c.need(c.inputs[j] >= 0 and len(kinds) == 1, f"loop value {j} differs in type or size between WHILE, cond "
                                                     "and body")
    c.need(len(cond.outputs) == 1 and c.g.type(o.condSubgraphIndex, int(cond.outputs[0])) == BOOL
           and c.g.numel(o.condSubgraphIndex, int(cond.outputs[0])) >= 1, "cond must output one bool")


@contract("UNIDIRECTIONAL_SEQUENCE_LSTM")
def _lstm(c: OpCheck) -> None:
    c.outputs_count(1)
    x, h, cell, out = c.operand("input"), c.operand("output_state"), c.operand("cell_state"), c.outputs[0]
    c.type(x, INT8), c.type(h, INT8), c.type(cell, INT16), c.type(out, INT8)
    c.need(len(c.shape(x)) == 3 and all(d > 0 for d in c.shape(x)), f"input must be 3-D (shape {c.shape(x)})")
    c.need(c.op.builtinOptions is not None, "no options")
    n_input = c.shape(x)[-1]
    n_state = c.numel(h)
    c.need(0 < n_state <= MAX_DOT_LENGTH and n_input <= MAX_DOT_LENGTH, "state or input size out of range")
    c.need(c.numel(cell) == n_state, f"cell state has {c.numel(cell)} elements, hidden state {n_state}")
    c.need(c.numel(out) == c.numel(x) // n_input * n_state, f"output has {c.numel(out)} elements, the op makes "
                                                            f"{c.numel(x) // n_input * n_state}")
    for g in LSTM_GATES:
        for kind, cols in (("input_to", n_input), ("recurrent_to", n_state)):
            w = c.operand(f"{kind}_{g}_weights")
            c.type(w, INT8)
            c.const(w, f"{kind}_{g}_weights")
            c.need(c.shape(w) == [n_state, cols], f"{kind}_{g}_weights shape {c.shape(w)}, needs {[n_state, cols]}")
            c.need(len(c.g.scales(c.sg, w)) == 1, f"{kind}_{g}_weights must be quantized per tensor")
        b = c.operand(f"{g}_gate_bias")
        if b >= 0:
            c.type(b, INT32)
            c.const(b, f"{g}_gate_bias")
            c.need(c.numel(b) == n_state, f"{g}_gate_bias has {c.numel(b)} elements, needs {n_state}")


MAX_CONCATENATION_INPUTS = 10  # TFLite Micro's kMaxInputNum


@contract("CONCATENATION")
def _concatenation(c: OpCheck) -> None:
    """As TFLite Micro's int8 concatenation accepts it (it copies bytes): int8 everywhere, every input at
    the output's scale and zero point, no fused activation, shapes equal except along the axis."""
    c.outputs_count(1)
    out = c.outputs[0]
    n = len(c.inputs)
    c.need(0 < n <= MAX_CONCATENATION_INPUTS, f"{n} inputs, needs 1 to {MAX_CONCATENATION_INPUTS}")
    c.need(all(t >= 0 for t in c.inputs), "an input is missing")
    o = c.op.builtinOptions
    c.need(o is not None and hasattr(o, "axis"), "no options")
    c.need(getattr(o, "fusedActivationFunction", 0) == 0, "a fused activation is not supported (TFLite Micro "
                                                          "refuses it on int8)")
    c.type(out, INT8)
    shape = c.shape(out)
    rank = len(shape)
    c.need(rank > 0 and -rank <= o.axis < rank, f"axis {o.axis} out of range for rank {rank}")
    axis = o.axis % rank
    q_out = c.g.qparams(c.sg, out)
    along = 0
    for t in c.inputs:
        c.type(t, INT8)
        c.need(c.g.qparams(c.sg, t) == q_out, f"input {t} is quantized (scale, zero point) {c.g.qparams(c.sg, t)}, "
                                               f"the output {q_out}: only equal quantization is supported (as in "
                                               "TFLite Micro)")
        s = c.shape(t)
        c.need(len(s) == rank and all(a == b for k, (a, b) in enumerate(zip(s, shape)) if k != axis),
               f"input {t} shape {s} does not match output shape {shape} off axis {axis}")
        along += s[axis]
    c.need(along == shape[axis], f"inputs add up to {along} along axis {axis}, the output has {shape[axis]}")


MAX_BROADCAST_RANK = 5  # TFLite Micro's broadcast_to handles up to 5 dimensions


@contract("BROADCAST_TO")
def _broadcast_to(c: OpCheck) -> None:
    """As TFLite Micro's BROADCAST_TO: the constant shape is the output's, every input dimension (aligned
    on the right) is 1 or the output's. int8 only: what edgernn's graphs broadcast."""
    c.outputs_count(1)
    x, shape_t, out = c.operand("input"), c.operand("shape"), c.outputs[0]
    c.type(x, INT8), c.type(out, INT8), c.type(shape_t, INT32)
    shape = [int(v) for v in c.const(shape_t, "shape").reshape(-1)]
    in_shape, out_shape = c.shape(x), c.shape(out)
    c.need(shape == out_shape, f"shape {shape} is not the output's shape {out_shape}")
    c.need(0 < len(out_shape) <= MAX_BROADCAST_RANK and len(in_shape) <= len(out_shape),
           f"input rank {len(in_shape)} / output rank {len(out_shape)} not supported (output rank 1 to "
           f"{MAX_BROADCAST_RANK}, input rank at most the output's)")
    c.need(all(d > 0 for d in out_shape) and c.numel(x) > 0, f"empty shapes ({in_shape} -> {out_shape})")
    tail = out_shape[len(out_shape) - len(in_shape):]
    c.need(all(d in (1, o) for d, o in zip(in_shape, tail)), f"input shape {in_shape} does not broadcast to {out_shape}")
