"""ADD, SUB, MUL (int8) -> ern_add_s8.c, ern_mul_s8.c; ADD/SUB on int32 and LESS as inline loops.

Each op's unit: its contract, its integers (``add_sub_requantization``/``mul_requantization`` as TFLite
Micro's add/sub/mul CalculateOpData compute them, ``prepare_add_sub``/``prepare_mul`` as the kernels
run them) and its emitter.
"""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.ops import register
from edgernn.tflite.types import BOOL, INT8, INT32
from edgernn.tflite.validate import OpCheck


def contract_add_sub(c: OpCheck) -> None:
    c.outputs_count(1)
    a, b, out = c.operand("a"), c.operand("b"), c.outputs[0]
    kind = c.type(out, INT8, INT32)
    c.type(a, kind), c.type(b, kind)
    c.same_numel(a, b, out)


def contract_mul(c: OpCheck) -> None:
    c.outputs_count(1)
    a, b, out = c.operand("a"), c.operand("b"), c.outputs[0]
    c.type(a, INT8), c.type(b, INT8), c.type(out, INT8)
    c.same_numel(a, b, out)


def contract_less(c: OpCheck) -> None:
    c.outputs_count(1)
    a, b, out = c.operand("a"), c.operand("b"), c.outputs[0]
    c.type(a, INT32), c.type(b, INT32), c.type(out, BOOL)
    c.same_numel(a, b, out)


def add_sub_requantization(s1, z1, s2, z2, so, zo) -> dict:
    """ADD and SUB: both inputs to twice the larger scale with 20 bits of headroom, then the output
    rescale, in double (add_common.cc, sub_common.cc). An earlier float32 version matched only when the
    second input had the larger scale; the per-op golden tests cover both orders."""
    left_shift = 20
    twice_max = 2 * float(max(np.float32(s1), np.float32(s2)))
    m1, sh1 = P.quantize_multiplier(float(s1) / twice_max)
    m2, sh2 = P.quantize_multiplier(float(s2) / twice_max)
    mo, sho = P.quantize_multiplier(twice_max / ((1 << left_shift) * float(so)))
    return dict(input1_offset=-z1, input2_offset=-z2, output_offset=zo, input1_multiplier=m1, input2_multiplier=m2,
                output_multiplier=mo, input1_shift=sh1, input2_shift=sh2, output_shift=sho, left_shift=left_shift)


def mul_requantization(s1, z1, s2, z2, so, zo) -> dict:
    """MUL: the product's scale over the output's (mul_common.cc)."""
    mult, shift = P.quantize_multiplier(float(s1) * float(s2) / float(so))
    return {"a_offset": -z1, "b_offset": -z2, "multiplier": mult, "shift": shift, "output_offset": zo}


def add_input_table(offset: int, multiplier: int, shift: int, left_shift: int, negate: bool) -> list[int]:
    """One ADD/SUB input rescaled as TFLite Micro does, for every int8 value, indexed by its byte."""
    values = [P.mbqm((offset + (b - 256 if b > 127 else b)) << left_shift, multiplier, shift) for b in range(256)]
    return [-v for v in values] if negate else values


def _binary_qparams(g, sg, op):
    ins = g.operands(op)
    return (*g.qparams(sg, ins.a), *g.qparams(sg, ins.b), *g.qparams(sg, int(op.outputs[0])))


def prepare_add_sub(g, sg, op, kind) -> dict:
    """ADD/SUB (int8) as the kernels run it: the tabled input, its doubled table with the plain input's
    offset folded in, the plain input's sign, the output requantization and whether requant_fast is exact."""
    out = int(op.outputs[0])
    p = add_sub_requantization(*_binary_qparams(g, sg, op))
    # The input rescaled by exactly 1/2 (the larger scale; both when the scales are equal) is
    # (x + offset) << 19 in the kernel; the other one is tabulated, negated if it is subtracted.
    half = [p[f"input{k}_multiplier"] == 1 << 30 and p[f"input{k}_shift"] == 0 for k in (1, 2)]
    if not any(half):
        raise UserError(f"{kind.upper()} without an input at the larger scale: not supported by the C generator")
    tabled = 1 if half[0] else 0  # index of the tabled input
    what = f"{kind.upper()} {g.name(sg, out)!r}"
    P.check_requant(p[f"input{tabled + 1}_multiplier"], p[f"input{tabled + 1}_shift"], what)
    table = add_input_table(p[f"input{tabled + 1}_offset"], p[f"input{tabled + 1}_multiplier"],
                            p[f"input{tabled + 1}_shift"], p["left_shift"], negate=kind == "sub" and tabled == 1)
    mult, shift = P.check_requant(p["output_multiplier"], p["output_shift"], what)
    # The kernel's table: the tabled input doubled, with the plain input's offset (times its sign) folded
    # in, so raw2 = table[x] + sign * (y << 20) is twice TFLite Micro's sum (see ern_add_s8.c).
    sign = -1 if kind == "sub" and tabled == 0 else 1
    plain_offset = p[f"input{2 - tabled}_offset"]
    table2 = 2 * np.array(table, np.int64) + sign * plain_offset * (1 << 20)
    raw2 = table2[:, None] + sign * np.arange(-128, 128, dtype=np.int64)[None, :] * (1 << 20)
    max_abs = int(np.abs(raw2).max()) // 2
    if max_abs >= 1 << 30:
        raise UserError(f"{what}: input scales out of the range TFLite's integer kernels handle")
    fast, round_ = P.fast_requant(max_abs, shift, p["output_offset"])
    return dict(table=table2, tabled=tabled, plain_offset=plain_offset, sign=sign, multiplier=mult, shift=shift,
                output_offset=p["output_offset"], fast=fast, round=round_)


def prepare_mul(g, sg, op, what: str = "MUL") -> dict:
    """MUL (int8) as the kernel runs it: offsets, the output requantization and whether requant_fast
    is exact (|(a - za) * (b - zb)| <= 2^16)."""
    p = mul_requantization(*_binary_qparams(g, sg, op))
    mult, shift = P.check_requant(p["multiplier"], p["shift"], what)
    fast, round_ = P.fast_requant(256 * 256, shift, p["output_offset"])
    return dict(p, multiplier=mult, shift=shift, fast=fast, round=round_)


def _add_sub(em, sg, op, kind):
    ins = em.g.operands(op)
    a, b, out = ins.a, ins.b, int(op.outputs[0])
    n = em.numel(sg, out)
    if em.g.type(sg, out) == INT32:  # the loop counter
        sign = "+" if kind == "add" else "-"
        return [f"for (int i = 0; i < {n}; ++i) {em.ref(sg, out)}[i] = (int32_t)((uint32_t){em.ref(sg, a)}[i] {sign} "
                f"(uint32_t){em.ref(sg, b)}[i]);"]
    q = prepare_add_sub(em.g, sg, op, kind)
    em.flag("ERN_ADD_GENERAL", not q["fast"])
    params = em.const_struct("ern_add_params", f"add{sg}_{out}", {
        "table": em.const_array("int32_t", f"addtab{sg}_{out}", q["table"]),
        "table_input": q["tabled"], "plain_offset": q["plain_offset"], "plain_sign": q["sign"],
        "rq": em.requant_struct(q["multiplier"], q["shift"], q["output_offset"], q["round"]), "fast": q["fast"]})
    em.use_kernels("ern_add_s8")
    return [f"ern_add_s8(&{params}, {em.ref(sg, a)}, {em.ref(sg, b)}, {em.ref(sg, out)}, {n});"]


@register("ADD", contract=contract_add_sub)
def emit_add(em, sg, op):
    return _add_sub(em, sg, op, "add")


@register("SUB", contract=contract_add_sub)
def emit_sub(em, sg, op):
    return _add_sub(em, sg, op, "sub")


@register("MUL", contract=contract_mul, kernels=("ern_mul_s8",))
def emit_mul(em, sg, op):
    ins, out = em.g.operands(op), int(op.outputs[0])
    p = prepare_mul(em.g, sg, op, f"MUL {em.g.name(sg, out)!r}")
    em.flag("ERN_MUL_GENERAL", not p["fast"])
    params = em.const_struct("ern_mul_params", f"mul{sg}_{out}", {
        "a_offset": p["a_offset"], "b_offset": p["b_offset"],
        "rq": em.requant_struct(p["multiplier"], p["shift"], p["output_offset"], p["round"]), "fast": p["fast"]})
    return [f"ern_mul_s8(&{params}, {em.ref(sg, ins.a)}, {em.ref(sg, ins.b)}, {em.ref(sg, out)}, "
            f"{em.numel(sg, out)});"]


@register("LESS", contract=contract_less)
def emit_less(em, sg, op):
    ins, out = em.g.operands(op), int(op.outputs[0])
    return [f"for (int i = 0; i < {em.numel(sg, out)}; ++i) {em.ref(sg, out)}[i] = "
            f"{em.ref(sg, ins.a)}[i] < {em.ref(sg, ins.b)}[i];"]
