"""CONCATENATION (int8, equal quantization on every input and the output) -> ern_concatenation_s8.c.

TFLite Micro's int8 concatenation copies bytes and refuses inputs whose scale or zero point differ
from the output's (the model contract in ``edgernn.tflite.validate`` refuses them here too), so
the kernel is a copy of each input's chunk per block of the dimensions before the axis.
"""
from __future__ import annotations

import numpy as np

from edgernn.export.codegen.ops import register


def concatenation_layout(shapes: list[list[int]], axis: int) -> tuple[int, list[int]]:
    """(outer, chunk elements per input) for inputs of ``shapes`` joined on ``axis`` (may be negative)."""
    rank = len(shapes[0])
    axis %= rank
    outer = int(np.prod(shapes[0][:axis])) if axis else 1
    return outer, [int(np.prod(s[axis:])) for s in shapes]


@register("CONCATENATION", kernels=("ern_concatenation_s8",))
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
