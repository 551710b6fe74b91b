"""FULLY_CONNECTED (int8, per-tensor or per-channel weights) -> firmware/runtime/ern_fully_connected_s8.c."""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen import params as P
from edgernn.export.codegen.ops import register

KERNELS = ("ern_dot_s8", "ern_fully_connected_s8")


def scratch_bytes(graph, sg, op) -> int:
    """ERN_FULLY_CONNECTED_S8_SCRATCH_BYTES(cols): the widened int16 input, cols rounded up to 4."""
    cols = graph.shape(sg, graph.operands(op).weights)[1]
    return 2 * ((cols + 3) // 4 * 4)


@register("FULLY_CONNECTED", kernels=KERNELS, scratch=scratch_bytes)
def emit(em, sg, op):
    g, ins = em.g, em.g.operands(op)
    x, w, b, out = ins.input, ins.weights, ins.bias, int(op.outputs[0])
    rows, cols = g.shape(sg, w)
    (s_in, z_in), (s_out, z_out) = g.qparams(sg, x), g.qparams(sg, out)
    w_scales = g.scales(sg, w)
    if any(g.zero_points(sg, w)):
        raise UserError("FULLY_CONNECTED with a non-zero weight zero point is not supported")
    if op.builtinOptions is not None and op.builtinOptions.fusedActivationFunction != 0:
        raise UserError("FULLY_CONNECTED with a fused activation is not supported by the C generator yet")
    if not all(0 < s < 1e30 for s in w_scales):
        raise UserError("FULLY_CONNECTED weights without a usable quantization scale")
    bias = g.const(sg, b) if b >= 0 else np.zeros(rows, np.int32)
    # Fold the input zero point into the bias (exact in int32 arithmetic, wrap-around included).
    folded_values = P.fold_zero_point(bias, -z_in, g.const(sg, w))
    folded = em.const_array("int32_t", f"bias{sg}_{out}", folded_values)
    fields = {"batches": g.numel(sg, x) // cols, "cols": cols, "rows": rows, "packed_weights": em.packed(sg, w),
              "folded_bias": folded}
    what = f"FULLY_CONNECTED {g.name(sg, out)!r}"
    if len(w_scales) == 1:
        p = P.fully_connected(s_in, z_in, w_scales[0], s_out, z_out)
        fields["multiplier"], fields["shift"] = em.requant(p["multiplier"], p["shift"], what)
        fields["fast"], fields["fast_round"] = P.fast_requant(
            P.max_abs_fully_connected(folded_values, g.const(sg, w)), fields["shift"], z_out)
        kernel = "ern_fully_connected_s8"
    else:
        # Per-channel weights: one multiplier and shift per output row, as TFLite Micro's Prepare makes them.
        per_row = [em.requant(*(lambda p: (p["multiplier"], p["shift"]))(P.fully_connected(s_in, z_in, s, s_out, z_out)),
                              what) for s in w_scales]
        fields["multipliers"] = em.const_array("int32_t", f"mult{sg}_{out}", np.array([m for m, _ in per_row]))
        fields["shifts"] = em.const_array("int32_t", f"shift{sg}_{out}", np.array([s for _, s in per_row]))
        kernel = "ern_fully_connected_per_channel_s8"
    fields["output_offset"] = z_out
    params = em.const_struct("ern_fully_connected_params", f"fc{sg}_{out}", fields)
    return [f"{kernel}(&{params}, {em.ref(sg, x)}, {em.ref(sg, out)}, (int16_t *){em.scratch()});"]
