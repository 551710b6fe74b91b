"""ADD, SUB, MUL (int8) -> ern_add_s8.c, ern_mul_s8.c; ADD/SUB on int32 and LESS as inline loops."""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen import params as P
from edgernn.export.codegen.ops import register
from edgernn.tflite.types import INT32


def _binary_params(em, sg, op):
    ins = em.g.operands(op)
    return (*em.g.qparams(sg, ins.a), *em.g.qparams(sg, ins.b), *em.g.qparams(sg, int(op.outputs[0])))


def add_sub_params(em, sg, op, kind) -> dict:
    """ADD/SUB (int8) as the kernels run it: the tabled input, its doubled table with the plain input's
    offset folded in, the plain input's sign, the output requantization and whether requant_fast is exact."""
    out = int(op.outputs[0])
    p = (P.add if kind == "add" else P.sub)(*_binary_params(em, sg, op))
    # The input rescaled by exactly 1/2 (the larger scale; both when the scales are equal) is
    # (x + offset) << 19 in the kernel; the other one is tabulated, negated if it is subtracted.
    half = [p[f"input{k}_multiplier"] == 1 << 30 and p[f"input{k}_shift"] == 0 for k in (1, 2)]
    if not any(half):
        raise UserError(f"{kind.upper()} without an input at the larger scale: not supported by the C generator")
    tabled = 1 if half[0] else 0  # index of the tabled input
    what = f"{kind.upper()} {em.g.name(sg, out)!r}"
    em.requant(p[f"input{tabled + 1}_multiplier"], p[f"input{tabled + 1}_shift"], what)
    table = P.add_input_table(p[f"input{tabled + 1}_offset"], p[f"input{tabled + 1}_multiplier"],
                              p[f"input{tabled + 1}_shift"], p["left_shift"], negate=kind == "sub" and tabled == 1)
    mult, shift = em.requant(p["output_multiplier"], p["output_shift"], what)
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


def _add_sub(em, sg, op, kind):
    ins = em.g.operands(op)
    a, b, out = ins.a, ins.b, int(op.outputs[0])
    n = em.numel(sg, out)
    if em.g.type(sg, out) == INT32:  # the loop counter
        sign = "+" if kind == "add" else "-"
        return [f"for (int i = 0; i < {n}; ++i) {em.ref(sg, out)}[i] = (int32_t)((uint32_t){em.ref(sg, a)}[i] {sign} "
                f"(uint32_t){em.ref(sg, b)}[i]);"]
    q = add_sub_params(em, sg, op, kind)
    em.flag("ERN_ADD_GENERAL", not q["fast"])
    params = em.const_struct("ern_add_params", f"add{sg}_{out}", {
        "table": em.const_array("int32_t", f"addtab{sg}_{out}", q["table"]),
        "table_input": q["tabled"], "plain_offset": q["plain_offset"], "plain_sign": q["sign"],
        "output_multiplier": q["multiplier"], "output_shift": q["shift"], "output_offset": q["output_offset"],
        "fast": q["fast"], "fast_round": q["round"]})
    em.use_kernels("ern_add_s8")
    return [f"ern_add_s8(&{params}, {em.ref(sg, a)}, {em.ref(sg, b)}, {em.ref(sg, out)}, {n});"]


def _fast_fields(fast_round: tuple[int, int]) -> dict:
    return {"fast": fast_round[0], "fast_round": fast_round[1]}


@register("ADD")
def emit_add(em, sg, op):
    return _add_sub(em, sg, op, "add")


@register("SUB")
def emit_sub(em, sg, op):
    return _add_sub(em, sg, op, "sub")


@register("MUL", kernels=("ern_mul_s8",))
def emit_mul(em, sg, op):
    p = P.mul(*_binary_params(em, sg, op))
    ins, out = em.g.operands(op), int(op.outputs[0])
    mult, shift = em.requant(p["multiplier"], p["shift"], f"MUL {em.g.name(sg, out)!r}")
    fast = P.fast_requant(256 * 256, shift, p["output_offset"])
    em.flag("ERN_MUL_GENERAL", not fast[0])
    params = em.const_struct("ern_mul_params", f"mul{sg}_{out}", {
        "a_offset": p["a_offset"], "b_offset": p["b_offset"], "multiplier": mult, "shift": shift,
        "output_offset": p["output_offset"], **_fast_fields(fast)})
    return [f"ern_mul_s8(&{params}, {em.ref(sg, ins.a)}, {em.ref(sg, ins.b)}, {em.ref(sg, out)}, "
            f"{em.numel(sg, out)});"]


@register("LESS")
def emit_less(em, sg, op):
    ins, out = em.g.operands(op), int(op.outputs[0])
    return [f"for (int i = 0; i < {em.numel(sg, out)}; ++i) {em.ref(sg, out)}[i] = "
            f"{em.ref(sg, ins.a)}[i] < {em.ref(sg, ins.b)}[i];"]
