"""LOGISTIC, TANH (int8, as 256-entry tables from TFLite Micro) -> ern_lut_s8.c; SOFTMAX -> ern_softmax_s8.c.

Each op's unit: its contract, its prepare (the table TFLite Micro's own kernel computes; softmax's
beta scaling as its SoftmaxPrepare computes it) and its emitter.
"""
from __future__ import annotations

import math

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.ops import register
from edgernn.export.codegen.tflm_probe import op_on_every_input
from edgernn.tflite.types import INT8
from edgernn.tflite.validate import OpCheck


def contract_lut(c: OpCheck) -> None:
    c.outputs_count(1)
    x, out = c.operand("input"), c.outputs[0]
    c.type(x, INT8), c.type(out, INT8)
    c.same_numel(x, out)


def contract_softmax(c: OpCheck) -> None:
    c.outputs_count(1)
    x, out = c.operand("input"), c.outputs[0]
    c.type(x, INT8), c.type(out, INT8)
    c.same_numel(x, out)
    c.need(len(c.shape(x)) >= 1 and c.shape(x)[-1] > 0, f"input shape {c.shape(x)} has no last dimension")
    beta = getattr(c.op.builtinOptions, "beta", 1.0)
    c.need(math.isfinite(beta) and beta > 0, f"beta {beta} must be a positive number")


def lut_from_tflm(op: str, in_q: tuple[float, int], out_q: tuple[float, int]) -> np.ndarray:
    """Run TFLite Micro's LOGISTIC/TANH on all 256 int8 inputs: the exact table."""
    return op_on_every_input(op, "int8", in_q, out_q).astype(np.int8)


def prepare_lut(g, sg, op) -> np.ndarray:
    """The 256 outputs by input byte: entries for 0..127, then for -128..-1."""
    x, out = g.operands(op).input, int(op.outputs[0])
    return np.roll(lut_from_tflm(g.op_name(op), g.qparams(sg, x), g.qparams(sg, out)), -128)


def _lut(em, sg, op):
    x, out = em.g.operands(op).input, int(op.outputs[0])
    tname = em.const_array("int8_t", f"lut{sg}_{out}", prepare_lut(em.g, sg, op))
    return [f"ern_lut_s8({tname}, {em.ref(sg, x)}, {em.ref(sg, out)}, {em.numel(sg, out)});"]


register("LOGISTIC", "TANH", contract=contract_lut, kernels=("ern_lut_s8",))(_lut)


def softmax_scaling(in_scale, beta: float = 1.0) -> dict:
    """PreprocessSoftmaxScaling with 5 integer bits, and the diff_min radius."""
    integer_bits = 5
    real = min(float(beta) * float(in_scale) * (1 << (31 - integer_bits)), float((1 << 31) - 1))
    mult, left_shift = P.quantize_multiplier(real)
    radius = math.floor(((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << left_shift))
    return {"beta_multiplier": mult, "beta_left_shift": left_shift, "diff_min": -radius}


def prepare_softmax(g, sg, op) -> dict:
    """The kernel's params struct fields, as TFLite Micro's SoftmaxPrepare computes them."""
    beta = op.builtinOptions.beta if op.builtinOptions is not None else 1.0
    x, out = g.operands(op).input, int(op.outputs[0])
    (s_out, z_out) = g.qparams(sg, out)
    if z_out != -128 or abs(s_out - 1 / 256) > 1e-9:
        raise UserError("SOFTMAX output must have TFLite's int8 quantization (scale 1/256, zero point -128)")
    p = softmax_scaling(g.qparams(sg, x)[0], beta)
    if not (0 <= p["beta_multiplier"] < 1 << 31 and 0 <= p["beta_left_shift"] <= 31):
        raise UserError(f"SOFTMAX {g.name(sg, out)!r}: input scale x beta out of the range TFLite's kernel handles")
    depth = g.shape(sg, x)[-1]
    return {"rows": g.numel(sg, x) // depth, "depth": depth, **p}


@register("SOFTMAX", contract=contract_softmax, kernels=("ern_softmax_s8",))
def emit_softmax(em, sg, op):
    x, out = em.g.operands(op).input, int(op.outputs[0])
    params = em.const_struct("ern_softmax_params", f"softmax{sg}_{out}", prepare_softmax(em.g, sg, op))
    return [f"ern_softmax_s8(&{params}, {em.ref(sg, x)}, {em.ref(sg, out)});"]
