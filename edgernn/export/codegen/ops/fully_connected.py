"""FULLY_CONNECTED (int8, per-tensor or per-channel weights) -> firmware/runtime/ern_fully_connected_s8.c.

The op's unit: ``contract`` (what it needs of its tensors), ``requantization`` and ``prepare`` (its
integers, as TFLite Micro's FullyConnectedPrepare and CalculateOpDataFullyConnected compute them),
``emit`` (the kernel call with its ``ern_fully_connected_params``).
"""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.ops import register
from edgernn.tflite.types import INT8, INT32
from edgernn.tflite.validate import MAX_DOT_LENGTH, OpCheck

def contract(c: OpCheck) -> None:
    """int8 input, output and constant 2-D weights; int32 constant bias of one value per row; 1 or rows scales."""
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


KERNELS = ("ern_dot_s8", "ern_fully_connected_s8")


def scratch_bytes(graph, sg, op) -> int:
    """ERN_FULLY_CONNECTED_S8_SCRATCH_BYTES(cols): the widened int16 input, cols rounded up to 4."""
    cols = graph.shape(sg, graph.operands(op).weights)[1]
    return 2 * ((cols + 3) // 4 * 4)


def requantization(in_scale, in_zp, w_scale, out_scale, out_zp) -> dict:
    """One output channel's requantization: input scale x weight scale / output scale."""
    real = float(in_scale) * float(w_scale) / float(out_scale)
    mult, shift = P.quantize_multiplier(real)
    return {"input_offset": -in_zp, "multiplier": mult, "shift": shift, "output_offset": out_zp}


def prepare(g, sg: int, op, what: str = "FULLY_CONNECTED") -> dict:
    """Every integer the kernel needs: the bias with the input zero point folded in (exact in int32,
    wrap-around included), and per tensor a multiplier, shift and the requant_fast proof, or per
    channel one multiplier and shift per row. Refuses what the kernels do not compute."""
    ins = g.operands(op)
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
    weights = g.const(sg, w)
    bias = g.const(sg, b) if b >= 0 else np.zeros(rows, np.int32)
    folded = P.fold_zero_point(bias, -z_in, weights)
    p = dict(rows=rows, cols=cols, batches=g.numel(sg, x) // cols, weights=w, folded_bias=folded, output_offset=z_out)
    if len(w_scales) == 1:
        q = requantization(s_in, z_in, w_scales[0], s_out, z_out)
        p["multiplier"], p["shift"] = P.check_requant(q["multiplier"], q["shift"], what)
        p["fast"], p["round"] = P.fast_requant(P.max_abs_fully_connected(folded, weights), p["shift"], z_out)
    else:  # per-channel weights: one multiplier and shift per output row, as TFLite Micro's Prepare makes them
        per_row = [P.check_requant(*(lambda q: (q["multiplier"], q["shift"]))(requantization(s_in, z_in, s, s_out, z_out)),
                                   what) for s in w_scales]
        p["multipliers"], p["shifts"] = [m for m, _ in per_row], [s for _, s in per_row]
    return p


@register("FULLY_CONNECTED", contract=contract, kernels=KERNELS, scratch=scratch_bytes)
def emit(em, sg, op):
    g, out = em.g, int(op.outputs[0])
    p = prepare(g, sg, op, f"FULLY_CONNECTED {g.name(sg, out)!r}")
    x = g.operands(op).input
    folded = em.const_array("int32_t", f"bias{sg}_{out}", p["folded_bias"])
    # the DSP kernels' paired rows where they fit (the products start from 0; the bias is added after)
    pair_rows = P.pair_rows_fit(g.const(sg, p["weights"]))
    fields = {"batches": p["batches"], "cols": p["cols"], "rows": p["rows"],
              "packed_weights": em.packed(sg, p["weights"], pair_rows), "folded_bias": folded,
              "pair_rows": int(pair_rows)}
    em.flag("ERN_FC_LAYOUTS", 2 if pair_rows else 1)  # the kernel compiles only the layouts the model uses
    if "multiplier" in p:
        fields["rq"] = em.requant_struct(p["multiplier"], p["shift"], p["output_offset"], p["round"])
        fields["fast"] = p["fast"]
        kernel = "ern_fully_connected_s8"
    else:
        fields["rq"] = em.requant_struct(zero_point=p["output_offset"])  # per row: multipliers, shifts
        fields["multipliers"] = em.const_array("int32_t", f"mult{sg}_{out}", np.array(p["multipliers"]))
        fields["shifts"] = em.const_array("int32_t", f"shift{sg}_{out}", np.array(p["shifts"]))
        kernel = "ern_fully_connected_per_channel_s8"
    params = em.const_struct("ern_fully_connected_params", f"fc{sg}_{out}", fields)
    return [f"{kernel}(&{params}, {em.ref(sg, x)}, {em.ref(sg, out)}, (int16_t *){em.scratch()});"]
