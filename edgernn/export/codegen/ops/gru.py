"""A fused int8 GRU time step -> firmware/runtime/ern_gru_s8.c.

edgernn's int8 GRU is a WHILE loop whose body (edgernn/optimize/gru_int8.py) runs, per step, an input
and a recurrent FULLY_CONNECTED, SPLITs each into the z, r, n thirds, and ten element-wise int8 ops:
    z = LOGISTIC(ADD(xz, hz)); r = LOGISTIC(ADD(xr, hr)); n = TANH(ADD(xn, MUL(r, hn)))
    h' = ADD(n, MUL(z, SUB(h, n)))
or, with the complement update gate (``quantize --update-gate complement``: the z weights negated, so the
LOGISTIC gives u = 1 - z), h' = ADD(h, MUL(u, SUB(n, h))); the kernel's ``complement`` field picks the form.
``match`` finds that pattern in a subgraph by its dataflow (not by op positions); the emitter then
emits one ``ern_gru_step_s8`` call for the 14 ops instead of one kernel call each. The kernel keeps
every intermediate int8 rounding of the op-by-op graph, with each op's own parameters, so it is
bit-exact with TFLite Micro. Anything that does not fit exactly (other operand orders, per-channel
weights, a state size not a multiple of 4, a requantization requant_fast cannot prove exact) is left
to the per-op emitters.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.layout import pack_pairs, pair_stream
from edgernn.export.codegen.ops import fully_connected
from edgernn.export.codegen.ops import register_fusion
from edgernn.export.codegen.ops.activations import lut_from_tflm
from edgernn.export.codegen.ops.elementwise import prepare_add_sub, prepare_mul
from edgernn.tflite.types import INT8

KERNELS = ("ern_dot_s8", "ern_gru_s8")
ADD_ROLES = ("add_z", "add_r", "add_n", "sub_h", "add_out")
GATE_MUL = {"lut_z": "mul_z", "lut_r": "mul_r"}  # the MUL whose first operand each gate is


class _NoMatch(Exception):
    pass


@dataclass
class GruStep:
    ops: list[int]                  # op indices of the subgraph the call replaces
    inputs: list[int]               # tensors it reads: x, h
    output: int                     # h'
    scratch: int                    # bytes
    params: dict = field(default_factory=dict)


def _fc_params(em, sg, op, what):
    g, ins = em.g, em.g.operands(op)
    x, w, b, out = ins.input, ins.weights, ins.bias, int(op.outputs[0])
    scales = g.scales(sg, w)
    if len(scales) != 1 or any(g.zero_points(sg, w)) or (
            op.builtinOptions is not None and op.builtinOptions.fusedActivationFunction != 0):
        raise _NoMatch(f"{what}: per-channel, zero-point or fused-activation weights")
    rows, cols = g.shape(sg, w)
    if g.numel(sg, x) != cols:
        raise _NoMatch(f"{what}: batch > 1")
    (s_in, z_in), (s_out, z_out) = g.qparams(sg, x), g.qparams(sg, out)
    bias = g.const(sg, b) if b >= 0 else np.zeros(rows, np.int32)
    folded = P.fold_zero_point(bias, -z_in, g.const(sg, w))
    p = fully_connected.requantization(s_in, z_in, scales[0], s_out, z_out)
    mult, shift = P.check_requant(p["multiplier"], p["shift"], what)
    fast, round_ = P.fast_requant(P.max_abs_fully_connected(folded, g.const(sg, w)), shift, z_out)
    if not fast:
        raise _NoMatch(f"{what}: requantization not provably exact with requant_fast")
    return dict(weights=w, bias=folded, multiplier=mult, shift=shift, zero_point=z_out, round=round_, rows=rows, cols=cols)


def _match_at(em, sg, k_out, producer, consumers) -> GruStep:
    g, ops = em.g, em.g.ops(sg)
    group: list[int] = []

    def made_by(t: int, name: str) -> int:
        k = producer.get(t)
        if k is None or g.op_name(ops[k]) != name:
            raise _NoMatch(f"tensor {t} is not made by {name}")
        if k not in group:
            group.append(k)
        return k

    def ins(k: int) -> list[int]:
        return [int(t) for t in ops[k].inputs]

    group.append(k_out)
    if g.op_name(ops[k_out]) != "ADD":
        raise _NoMatch("not an ADD")
    first, m2 = ins(k_out)
    k_m2 = made_by(m2, "MUL")
    z, s = ins(k_m2)
    k_s = made_by(s, "SUB")
    s1, s2 = ins(k_s)
    if s2 != first:
        raise _NoMatch("the SUB's second operand is not the ADD's first")
    # h' = ADD(n, MUL(z, SUB(h, n))), or with the complement gate u = 1 - z: h' = ADD(h, MUL(u, SUB(n, h)))
    k_first = producer.get(first)
    complement = k_first is None or g.op_name(ops[k_first]) != "TANH"
    h, nn = (first, s1) if complement else (s1, first)
    k_nn = made_by(nn, "TANH")
    (c,) = ins(k_nn)
    k_c = made_by(c, "ADD")
    xn, m1 = ins(k_c)
    k_m1 = made_by(m1, "MUL")
    r, hn = ins(k_m1)
    k_r, k_z = made_by(r, "LOGISTIC"), made_by(z, "LOGISTIC")
    k_br, k_bz = made_by(ins(k_r)[0], "ADD"), made_by(ins(k_z)[0], "ADD")
    xr, hr = ins(k_br)
    xz, hz = ins(k_bz)
    k_sx, k_sh = made_by(xz, "SPLIT"), made_by(hz, "SPLIT")
    if [int(t) for t in ops[k_sx].outputs] != [xz, xr, xn] or [int(t) for t in ops[k_sh].outputs] != [hz, hr, hn]:
        raise _NoMatch("SPLIT outputs are not the z, r, n thirds in order")
    for k_split in (k_sx, k_sh):
        axis_t, src = ins(k_split)
        shape = g.shape(sg, src)
        if int(g.const(sg, axis_t).reshape(-1)[0]) % len(shape) != len(shape) - 1:
            raise _NoMatch("SPLIT not on the last axis")
    k_fx, k_fh = made_by(ins(k_sx)[1], "FULLY_CONNECTED"), made_by(ins(k_sh)[1], "FULLY_CONNECTED")
    x = int(g.operands(ops[k_fx]).input)
    if int(g.operands(ops[k_fh]).input) != h:
        raise _NoMatch("the recurrent projection does not read the state the SUB reads")
    inside = {int(t) for k in group for t in ops[k].outputs} - {int(ops[k_out].outputs[0])}
    outputs = {int(t) for t in g.subgraphs[sg].outputs}
    for t in inside:  # every intermediate stays inside the group
        if t in outputs or any(k not in group for k in consumers[t]):
            raise _NoMatch(f"intermediate tensor {t} is used outside the GRU step")
    out = int(ops[k_out].outputs[0])
    for t in inside | {x, h, out}:
        if g.type(sg, t) != INT8:
            raise _NoMatch("not int8")
    fx = _fc_params(em, sg, ops[k_fx], "GRU input projection")
    fh = _fc_params(em, sg, ops[k_fh], "GRU recurrent projection")
    n = fh["cols"]
    if n % 4 or fx["rows"] != 3 * n or fh["rows"] != 3 * n or g.numel(sg, h) != n or g.numel(sg, out) != n:
        raise _NoMatch("state size not a multiple of 4, or projections not 3 x state")
    adds = {}
    for role, k, kind in zip(ADD_ROLES, (k_bz, k_br, k_c, k_s, k_out), ("add", "add", "add", "sub", "add")):
        q = prepare_add_sub(g, sg, ops[k], kind)
        if not q["fast"]:
            raise _NoMatch(f"{role}: requantization not provably exact with requant_fast")
        adds[role] = dict(q, out=int(ops[k].outputs[0]))
    muls = {}
    for role, k in (("mul_r", k_m1), ("mul_z", k_m2)):
        q = prepare_mul(g, sg, ops[k], role)
        if not q["fast"]:
            raise _NoMatch(f"{role}: requantization not provably exact with requant_fast")
        muls[role] = q  # its a_offset goes into the gate's table (emit); the MUL then adds 0
    luts = {role: (g.op_name(ops[k]), g.qparams(sg, ins(k)[0]), g.qparams(sg, int(ops[k].outputs[0])),
                   int(ops[k].outputs[0])) for role, k in (("lut_z", k_z), ("lut_r", k_r), ("lut_n", k_nn))}
    for role, mul in GATE_MUL.items():
        lut = lut_from_tflm(*luts[role][:3]).astype(np.int64) + muls[mul]["a_offset"]
        if lut.min() < 0 or lut.max() > 255:
            raise _NoMatch(f"{role}: gate + offset outside 0..255")
    scratch = 2 * ((fx["cols"] + 3) // 4 * 4 + n)
    return GruStep(ops=sorted(group), inputs=[x, h], output=out, scratch=scratch,
                   params=dict(fx=fx, fh=fh, adds=adds, muls=muls, luts=luts, n=n, complement=complement))


def match(em, sg) -> list[GruStep]:
    """Every GRU step in subgraph ``sg`` that ern_gru_step_s8 computes exactly (disjoint groups)."""
    ops = em.g.ops(sg)
    producer, consumers = {}, defaultdict(list)
    for k, op in enumerate(ops):
        for t in op.outputs:
            producer[int(t)] = k
        for t in op.inputs:
            if int(t) >= 0:
                consumers[int(t)].append(k)
    steps, taken = [], set()
    for k, op in enumerate(ops):
        if em.g.op_name(op) != "ADD":
            continue
        try:
            step = _match_at(em, sg, k, producer, consumers)
        except (_NoMatch, UserError, ValueError):
            continue
        if taken.isdisjoint(step.ops):
            steps.append(step)
            taken.update(step.ops)
    return steps


def _pair_stream(em, sg, p) -> np.ndarray:
    """ern_gru_step_pairs' stream: for each block of 4 units, for each gate z, r, n: the input projection's
    start values (doubled biases) and paired weights, then the recurrent projection's."""
    n, parts = p["n"], []
    packed = {key: pack_pairs(em.g.const(sg, p[key]["weights"])) for key in ("fx", "fh")}
    for j in range(0, n, 4):
        for g in range(3):
            for key in ("fx", "fh"):
                cols = p[key]["cols"]
                block = 4 * (cols + (cols & 1))
                rows = g * n + j
                parts.append((2 * p[key]["bias"][rows:rows + 4].astype(np.int64),
                              packed[key][rows // 4 * block:(rows // 4 + 1) * block]))
    return pair_stream(parts)


def emit(em, sg, step: GruStep) -> list[str]:
    p = step.params
    name = f"gru{sg}_{step.output}"
    fields = {"n_input": p["fx"]["cols"], "n_state": p["n"]}
    # the DSP kernels' paired-row stream where both projections fit (fixedpoint.pair_rows_fit, doubled accumulators)
    pair_rows = all(P.pair_rows_fit(em.g.const(sg, fc["weights"]), 2 * fc["bias"].astype(np.int64), doubled=True)
                    for fc in (p["fx"], p["fh"]))
    for key, fc in (("input", p["fx"]), ("recurrent", p["fh"])):
        fields[f"{key}_weights"] = em.unpaired(sg, fc["weights"]) if pair_rows else em.packed(sg, fc["weights"])
        bias = 2 * fc["bias"].astype(np.int64)
        # Helium (ERN_ROW_BLOCKS) starts its accumulators from the plain biases (ern_gru_s8_mve.h), the others
        # from the doubled ones; the paired-row stream holds its own
        fields[f"{key}_bias"] = em.layout_array("int32_t", f"{name}_bias2_{key}", [
            ("defined(ERN_ROW_BLOCKS)", fc["bias"].astype(np.int64)),
            ("!defined(ERN_PAIR_ROWS)" if pair_rows else "1", bias)])
        fields[f"{key}_rq"] = em.requant_struct(fc["multiplier"], fc["shift"], fc["zero_point"], fc["round"])
    if pair_rows:
        stream = em.layout_array("int8_t", f"{name}_pairs", [("defined(ERN_PAIR_ROWS)", _pair_stream(em, sg, p))])
        fields["input_weights"] = f"ERN_LAYOUT({stream}, {fields['input_weights']})"
        for key in ("recurrent_weights", "input_bias", "recurrent_bias"):
            fields[key] = f"ERN_LAYOUT(0, {fields[key]})"
    fields["pair_rows"] = int(pair_rows)
    for role in ADD_ROLES:
        q = p["adds"][role]
        # in value order (-128..127), indexed from its middle: no byte extension per lookup
        table = em.const_array("int32_t", f"gru_addtab{sg}_{q['out']}", np.roll(q["table"], 128))
        fields[role] = (f"{{.table = {table} + 128, .tabled_second = {q['tabled']}, .plain_scale = {q['sign'] * (1 << 20)}, "
                        f".rq = {em.requant_struct(q['multiplier'], q['shift'], q['output_offset'], q['round'])}}}")
    for role, q in p["muls"].items():
        fields[role] = (f"{{.a_offset = 0, .b_offset = {q['b_offset']}, "
                        f".rq = {em.requant_struct(q['multiplier'], q['shift'], q['output_offset'], q['round'])}}}")
    for role, (op_name, in_q, out_q, out) in p["luts"].items():
        lut, ctype = lut_from_tflm(op_name, in_q, out_q).astype(np.int64), "int8_t"
        if role != "lut_n":  # the gate as its MUL takes it: value + the MUL's a_offset (checked 0..255 in match)
            lut, ctype = lut + p["muls"][GATE_MUL[role]]["a_offset"], "uint8_t"
        fields[role] = em.const_array(ctype, f"gru_{role}{sg}_{out}", lut) + " + 128"
    if p["complement"]:  # only then: the z-form models' generated C stays byte-identical
        fields["complement"] = 1
    params = em.const_struct("ern_gru_params", name, fields)
    x, h = step.inputs
    # the inline kernel with this model's constant params: the compiler folds them into the code
    return [f"ern_gru_step_inline(&{params}, {em.ref(sg, x)}, {em.ref(sg, h)}, {em.ref(sg, step.output)}, "
            f"(int16_t *){em.scratch()});"]


register_fusion("GRU_STEP", match=match, emit=emit, kernels=KERNELS)
