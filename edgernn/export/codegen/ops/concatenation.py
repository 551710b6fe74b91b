"""CONCATENATION (int8, equal quantization on every input and the output) -> ern_concatenation_s8.c.

TFLite Micro's int8 concatenation copies bytes and refuses inputs whose scale or zero point differ
from the output's (the model contract in ``edgernn.tflite.validate`` refuses them here too), so
the kernel is a copy of each input's chunk per block of the dimensions before the axis.
"""
from __future__ import annotations

import numpy as np

from edgernn.export.codegen.ops import register
from edgernn.tflite.types import INT8
from edgernn.tflite.validate import OpCheck


MAX_CONCATENATION_INPUTS = 10  # TFLite Micro's kMaxInputNum


def contract(c: OpCheck) -> None:
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


def concatenation_layout(shapes: list[list[int]], axis: int) -> tuple[int, list[int]]:
    """(outer, chunk elements per input) for inputs of ``shapes`` joined on ``axis`` (may be negative)."""
    rank = len(shapes[0])
    axis %= rank
    outer = int(np.prod(shapes[0][:axis])) if axis else 1
    return outer, [int(np.prod(s[axis:])) for s in shapes]


@register("CONCATENATION", contract=contract, kernels=("ern_concatenation_s8",))
def emit_concatenation(em, sg, op):
    ins, out = [int(t) for t in op.inputs], int(op.outputs[0])
    outer, chunks = concatenation_layout([em.g.shape(sg, t) for t in ins], op.builtinOptions.axis)
    params = em.const_struct("ern_concatenation_params", f"concat{sg}_{out}", {
        "n_inputs": len(ins), "outer": outer,
        "chunk_bytes": em.const_array("int32_t", f"concatchunks{sg}_{out}", np.array(chunks))})
    pointers = ", ".join(em.ref(sg, t) for t in ins)
    return ["{",
            f"  const int8_t *const inputs[{len(ins)}] = {{{pointers}}};",
            f"  ern_concatenation_s8(&{params}, inputs, {em.ref(sg, out)});",
            "}"]
