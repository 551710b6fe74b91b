"""BROADCAST_TO -> inline copies, no kernel file (it only moves bytes, as RESHAPE and GATHER do).

TFLite Micro's BROADCAST_TO copies each input element to every output position it broadcasts to
(numpy's rules: shapes aligned on the right, size-1 dimensions repeated), whatever the
quantization. The int8 LSTM autoencoder uses it to give every decoder step the code vector
(``edgernn.optimize.tile_free``): the whole input repeated, which is one memcpy per repeat.
"""
from __future__ import annotations

import numpy as np

from edgernn.export.codegen.ops import register
from edgernn.tflite.types import INT8, INT32
from edgernn.tflite.validate import OpCheck


MAX_BROADCAST_RANK = 5  # TFLite Micro's broadcast_to handles up to 5 dimensions


def contract(c: OpCheck) -> None:
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


def broadcast_indices(in_shape: list[int], out_shape: list[int]) -> np.ndarray:
    """Flat input index of every output element, in output order."""
    n = int(np.prod(in_shape)) if in_shape else 1
    return np.broadcast_to(np.arange(n).reshape(in_shape), out_shape).reshape(-1)


@register("BROADCAST_TO", contract=contract)
def emit_broadcast_to(em, sg, op):
    x, out = int(op.inputs[0]), int(op.outputs[0])
    src = broadcast_indices(em.g.shape(sg, x), em.g.shape(sg, out))
    n_in, size = em.numel(sg, x), em.nbytes(sg, x) // max(em.numel(sg, x), 1)
    if src.size % n_in == 0 and np.array_equal(src, np.tile(np.arange(n_in), src.size // n_in)):
        return [f"for (int r = 0; r < {src.size // n_in}; ++r) memcpy((uint8_t *){em.ref(sg, out)} + r * "
                f"{n_in * size}, {em.ref(sg, x)}, {n_in * size});"]
    idx = em.const_array("int32_t", f"bcast{sg}_{out}", src)
    return [f"for (int i = 0; i < {src.size}; ++i) {em.ref(sg, out)}[i] = {em.ref(sg, x)}[{idx}[i]];"]
