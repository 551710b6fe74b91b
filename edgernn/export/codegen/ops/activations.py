"""LOGISTIC, TANH (int8, as 256-entry tables from TFLite Micro) -> ern_lut_s8.c; SOFTMAX -> ern_softmax_s8.c."""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen import params as P
from edgernn.export.codegen.ops import register
from edgernn.export.codegen.tflm_probe import op_on_every_input


def lut_from_tflm(op: str, in_q: tuple[float, int], out_q: tuple[float, int]) -> np.ndarray:
    """Run TFLite Micro's LOGISTIC/TANH on all 256 int8 inputs: the exact table."""
    return op_on_every_input(op, "int8", in_q, out_q).astype(np.int8)


def _lut(em, sg, op):
    name = em.g.op_name(op)
    x, out = em.g.operands(op).input, int(op.outputs[0])
    table = lut_from_tflm(name, em.g.qparams(sg, x), em.g.qparams(sg, out))
    # Indexed by the input's byte: entries for 0..127, then for -128..-1.
    tname = em.const_array("int8_t", f"lut{sg}_{out}", np.roll(table, -128))
    return [f"ern_lut_s8({tname}, {em.ref(sg, x)}, {em.ref(sg, out)}, {em.numel(sg, out)});"]


register("LOGISTIC", "TANH", kernels=("ern_lut_s8",))(_lut)


@register("SOFTMAX", kernels=("ern_softmax_s8",))
def emit_softmax(em, sg, op):
    beta = op.builtinOptions.beta if op.builtinOptions is not None else 1.0
    x, out = em.g.operands(op).input, int(op.outputs[0])
    (s_out, z_out) = em.g.qparams(sg, out)
    if z_out != -128 or abs(s_out - 1 / 256) > 1e-9:
        raise UserError("SOFTMAX output must have TFLite's int8 quantization (scale 1/256, zero point -128)")
    p = P.softmax(em.g.qparams(sg, x)[0], beta)
    if not (0 <= p["beta_multiplier"] < 1 << 31 and 0 <= p["beta_left_shift"] <= 31):
        raise UserError(f"SOFTMAX {em.g.name(sg, out)!r}: input scale x beta out of the range TFLite's kernel handles")
    depth = em.g.shape(sg, x)[-1]
    params = em.const_struct("ern_softmax_params", f"softmax{sg}_{out}", {
        "rows": em.numel(sg, x) // depth, "depth": depth, "beta_multiplier": p["beta_multiplier"],
        "beta_left_shift": p["beta_left_shift"], "diff_min": p["diff_min"]})
    return [f"ern_softmax_s8(&{params}, {em.ref(sg, x)}, {em.ref(sg, out)});"]
