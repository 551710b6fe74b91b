"""What each op needs of its tensors, checked before any code is generated from a model.

``check_graph`` holds every op to its contract: operand count, tensor types, constant operands, and
the shape relations its kernel relies on (an output as large as the kernel writes, weights as large
as it reads). A model that breaks one is refused with a UserError naming the op and the problem, so
no crafted file can make the generated C read or write out of bounds. Contracts are written from the
ops' definitions (TFLite's kernels), not from our own graphs.

The contracts live with their ops, one unit per op in ``edgernn/export/codegen/ops/`` (contract,
prepare, emit); the code generator hands its registry's contracts to ``check_graph``. This module
holds what they share: ``OpCheck`` (one op, with helpers that raise a UserError naming it) and the
rules common to every op.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from edgernn.errors import UserError
from edgernn.tflite.operands import INPUTS, REQUIRED
from edgernn.tflite.types import TYPES, type_name

MAX_DOT_LENGTH = 1 << 16  # int8 x int8 products summed in int32: 2^14 * 2^16 stays below 2^31

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


def check_op(graph, sg: int, k: int, op, contracts: Mapping[str, Callable]) -> None:
    """Common rules, then the op's own contract (ops without one are left to whoever runs them)."""
    c = OpCheck(graph, sg, k, op)
    if c.name not in contracts:
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
    contracts[c.name](c)


def check_graph(graph, contracts: Mapping[str, Callable]) -> None:
    """Every op of every subgraph against its contract (``contracts``: op name -> check, e.g. the C
    generator's ``edgernn.export.codegen.ops.contracts()``), and the main subgraph's inputs and outputs."""
    for sg, g in enumerate(graph.subgraphs):
        for t in list(g.inputs) + list(g.outputs):
            if graph.is_const(sg, int(t)):
                raise UserError(f"{graph.path}: invalid TFLite model: subgraph {sg}: input/output tensor {int(t)} "
                                "is a constant")
        for k, op in enumerate(graph.ops(sg)):
            check_op(graph, sg, k, op, contracts)
