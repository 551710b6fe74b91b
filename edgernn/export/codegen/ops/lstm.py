"""The int8 UNIDIRECTIONAL_SEQUENCE_LSTM for the C generator: TFLite Micro's integer LSTM.

TFLite Micro (lstm_eval) runs each gate as two int8 x int8 -> int16 FULLY_CONNECTEDs (input
with the gate bias, recurrent without) at the fixed scale 2^-12, adds them with int16
saturation and applies an int16 sigmoid or tanh (output scale 2^-15). The int16 cell state has
a power-of-two scale; the hidden state is int8 with the op's output quantization. The integer
parameters below are computed as its Prepare (lstm_eval_common.cc) computes them.

The int16 activations interpolate a 256-entry sigmoid table. Its values are not a simple
formula (they differ from round(65536 sigmoid(i/24)) in 43 places), so we read them out of
TFLite Micro itself: run its int16 TANH on every int16 input and solve the interpolation for
each table entry; the solution is unique, and the tests check our C against TFLM's op on all
65,536 inputs.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from edgernn.errors import UserError
from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.layout import pack_pairs, pair_stream
from edgernn.export.codegen.ops import register
from edgernn.export.codegen.tflm_probe import op_on_every_input
from edgernn.tflite.operands import LSTM_GATES
from edgernn.tflite.types import INT8, INT16, INT32
from edgernn.tflite.validate import MAX_DOT_LENGTH, OpCheck

def contract(c: OpCheck) -> None:
    c.outputs_count(1)
    x, h, cell, out = c.operand("input"), c.operand("output_state"), c.operand("cell_state"), c.outputs[0]
    c.type(x, INT8), c.type(h, INT8), c.type(cell, INT16), c.type(out, INT8)
    c.need(len(c.shape(x)) == 3 and all(d > 0 for d in c.shape(x)), f"input must be 3-D (shape {c.shape(x)})")
    c.need(c.op.builtinOptions is not None, "no options")
    n_input = c.shape(x)[-1]
    n_state = c.numel(h)
    c.need(0 < n_state <= MAX_DOT_LENGTH and n_input <= MAX_DOT_LENGTH, "state or input size out of range")
    c.need(c.numel(cell) == n_state, f"cell state has {c.numel(cell)} elements, hidden state {n_state}")
    c.need(c.numel(out) == c.numel(x) // n_input * n_state, f"output has {c.numel(out)} elements, the op makes "
                                                            f"{c.numel(x) // n_input * n_state}")
    for g in LSTM_GATES:
        for kind, cols in (("input_to", n_input), ("recurrent_to", n_state)):
            w = c.operand(f"{kind}_{g}_weights")
            c.type(w, INT8)
            c.const(w, f"{kind}_{g}_weights")
            c.need(c.shape(w) == [n_state, cols], f"{kind}_{g}_weights shape {c.shape(w)}, needs {[n_state, cols]}")
            c.need(len(c.g.scales(c.sg, w)) == 1, f"{kind}_{g}_weights must be quantized per tensor")
        b = c.operand(f"{g}_gate_bias")
        if b >= 0:
            c.type(b, INT32)
            c.const(b, f"{g}_gate_bias")
            c.need(c.numel(b) == n_state, f"{g}_gate_bias has {c.numel(b)} elements, needs {n_state}")


GATE_INPUT_SCALE = 2.0 ** -12    # nonlinear_input_scale in TFLM
GATE_OUTPUT_SCALE = 2.0 ** -15   # nonlinear_output_scale
# Operands (named in edgernn/tflite/operands.py) this kernel has no code for.
UNSUPPORTED_OPERANDS = {**{f"cell_to_{g}_weights": "peephole" for g in ("input", "forget", "output")},
                        "projection_weights": "projection", "projection_bias": "projection",
                        **{f"{g}_layer_norm_coefficients": "layer norm" for g in LSTM_GATES}}
KERNELS = ("ern_dot_s8", "ern_lstm_s8")
ACTIVATION_TANH, ACTIVATION_SIGMOID = 4, 6


def _int16_op_on_all_inputs(op: str, in_scale: float) -> np.ndarray:
    """TFLite Micro's int16 ``op`` (scale 2^-15 out) on every int16 input, in order -32768..32767."""
    return op_on_every_input(op, "int16", (in_scale, 0), (GATE_OUTPUT_SCALE, 0))


@functools.cache
def sigmoid_table() -> tuple[int, ...]:
    """The 256 uint16 entries TFLite's int16 sigmoid and tanh interpolate, read out of TFLite Micro.

    With input scale 2^-12 the int16 TANH computes, for x >= 0 and v = 3x,
    out = ((ua * 256 + (v mod 256) * (ub - ua)) - 2^23 + 128) >> 8, where ua, ub are the entries
    at v >> 8 and the next. Every segment holds ~85 inputs with different (v mod 256): exactly one
    (ua, ub - ua) pair reproduces all of them.
    """
    out = _int16_op_on_all_inputs("TANH", GATE_INPUT_SCALE)[32768:]
    v = 3 * np.arange(32768)
    table = [0] * 256
    for k in range(255):
        sel = (v >> 8) == k
        frac, obs = v[sel] & 255, out[sel]
        ua = np.arange(obs.min() + 32768 - 12, obs.min() + 32768 + 1)[:, None, None]
        diff = np.arange(0, 1200)[None, :, None]
        fits = ((ua * 256 + frac[None, None, :] * diff - (1 << 23) + 128) >> 8 == obs[None, None, :]).all(axis=2)
        solutions = {(int(ua[i, 0, 0]), int(diff[0, j, 0])) for i, j in np.argwhere(fits)}
        if len({s[0] for s in solutions}) != 1 or (k == 254 and len(solutions) != 1):
            raise RuntimeError(f"could not read TFLite Micro's sigmoid table at entry {k}: {sorted(solutions)[:4]}")
        table[k], step = next(iter(solutions))
        if k == 254:
            table[255] = table[254] + step
    return tuple(table)


def checked_log2(scale: float) -> int:
    """tflite::CheckedLog2 in float32; the cell state scale must be a power of two."""
    x_log2 = np.float32(math.log(np.float32(scale))) * np.float32(1.0 / math.log(2.0))
    rounded = np.float32(round(float(x_log2)))
    if abs(float(x_log2 - rounded)) >= 1e-3:
        raise UserError(f"LSTM cell state scale {scale} is not a power of two; TFLite Micro's integer LSTM needs one")
    return int(rounded)


def tanh_input_rescale(cell_scale_power: int) -> tuple[int, int]:
    """(multiplier, right shift) of tanh(cell): lstm_internal::Tanh folded with the kernel's own rule."""
    left_shift = 15 + cell_scale_power - 3
    if left_shift < 0:
        return 3, -left_shift
    return 3 << left_shift, 0


def prepare(graph, sg: int, op) -> dict:
    """Every integer the C kernel needs, as TFLite Micro's LSTM Prepare computes them (lstm_eval_common.cc),
    plus the (sg, tensor) indices of weights and states. ``fast_fields`` adds the requant_fast proof."""
    ins = graph.operands(op)
    used = sorted({kind for name, kind in UNSUPPORTED_OPERANDS.items() if ins[name] >= 0})
    if used:
        raise UserError(f"UNIDIRECTIONAL_SEQUENCE_LSTM with {', '.join(used)} is not supported by the C generator")
    o = op.builtinOptions
    x, h, c = ins.input, ins.output_state, ins.cell_state
    shape = graph.shape(sg, x)
    batch, steps = (shape[1], shape[0]) if o.timeMajor else (shape[0], shape[1])
    if batch != 1:
        raise UserError(f"the C generator runs batch-1 LSTMs only (input shape {shape})")
    if graph.type(sg, c) != INT16 or graph.type(sg, x) != INT8:
        raise UserError("the C generator's LSTM needs int8 activations with an int16 cell state")
    if o.fusedActivationFunction not in (ACTIVATION_TANH, ACTIVATION_SIGMOID):
        raise UserError(f"LSTM cell activation {o.fusedActivationFunction} is not supported (tanh or sigmoid)")
    (s_x, z_x), (s_h, z_h), (s_c, _) = graph.qparams(sg, x), graph.qparams(sg, h), graph.qparams(sg, c)
    n_state = graph.shape(sg, h)[-1]
    gates = []
    for gate in LSTM_GATES:
        wi, wr, b = ins[f"input_to_{gate}_weights"], ins[f"recurrent_to_{gate}_weights"], ins[f"{gate}_gate_bias"]
        w_in, w_rec = graph.const(sg, wi), graph.const(sg, wr)
        bias = graph.const(sg, b) if b >= 0 else np.zeros(n_state, np.int32)
        if graph.qparams(sg, wi)[1] or graph.qparams(sg, wr)[1]:
            raise UserError("LSTM weights with a non-zero zero point are not supported")
        m_in, sh_in = P.quantize_multiplier(float(s_x) * float(graph.qparams(sg, wi)[0]) / GATE_INPUT_SCALE)
        m_rec, sh_rec = P.quantize_multiplier(float(s_h) * float(graph.qparams(sg, wr)[0]) / GATE_INPUT_SCALE)
        gates.append(dict(input_weights=wi, recurrent_weights=wr,
                          input_bias=P.fold_zero_point(bias, -z_x, w_in),
                          recurrent_bias=P.fold_zero_point(np.zeros(n_state, np.int64), -z_h, w_rec),
                          input_multiplier=m_in, input_shift=sh_in, recurrent_multiplier=m_rec, recurrent_shift=sh_rec))
    power = checked_log2(s_c)
    if not -40 <= power <= 2:  # tanh(cell) multiplies an int16 by 3 << (12 + power): keep it inside int32
        raise UserError(f"LSTM cell state scale 2^{power} is outside the range the C kernel supports")
    tanh_mult, tanh_shift = tanh_input_rescale(power)
    forget = P.quantize_multiplier(GATE_OUTPUT_SCALE * float(s_c) / float(s_c))
    inp = P.quantize_multiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / float(s_c))
    out = P.quantize_multiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / float(s_h))
    clip = int(np.trunc(min(max(float(o.cellClip) / float(s_c), -32768.0), 32767.0))) if o.cellClip > 0 else 0
    return dict(steps=steps, n_input=int(shape[-1]), n_state=n_state, gates=gates,
                cell_gate_tanh=int(o.fusedActivationFunction == ACTIVATION_TANH),
                forget_mul=forget, input_mul=inp, output_mul=out, hidden=h, cell=c, hidden_zero_point=z_h,
                cell_tanh_multiplier=tanh_mult, cell_tanh_shift=tanh_shift, cell_clip=clip)


def _gate_fast(max_abs: int, shift: int) -> tuple[int, int]:
    """requant_fast for a gate projection: a shift >= 0 multiplies (exact while |acc| << (shift + 1) fits)."""
    if shift >= 0:
        return (1, 0) if max_abs < 1 << (30 - shift) else (0, 0)
    return P.fast_requant(max_abs, shift)


def fast_fields(graph, sg: int, p: dict) -> dict:
    """The kernel's fast flag and requant_fast rounds: 1 only if every requantization of the cell is
    proven exact (accumulator bounds from the weights and biases, products of int16 below 2^30)."""
    gate_fast, rounds = [], {"input_round": [], "recurrent_round": []}
    for gate in p["gates"]:
        for kind in ("input", "recurrent"):
            bound = P.max_abs_fully_connected(np.asarray(gate[f"{kind}_bias"]), graph.const(sg, gate[f"{kind}_weights"]))
            ok, round_ = _gate_fast(bound, gate[f"{kind}_shift"])
            gate_fast.append(ok)
            rounds[f"{kind}_round"].append(round_)
    product = 32768 * 32767  # |sigmoid, tanh| <= 32767 or 32768: every product of two is below 2^30
    state = {f"{k}_round": P.fast_requant(product, p[k][1], p["hidden_zero_point"] if k == "output_mul" else 0)
             for k in ("forget_mul", "input_mul", "output_mul")}
    fast = int(all(gate_fast) and all(ok for ok, _ in state.values()))
    return {"fast": fast, **rounds, **{k: v[1] for k, v in state.items()}}


def scratch_bytes(graph, sg, op) -> int:
    """ERN_LSTM_S8_SCRATCH_BYTES(n_input, n_state): four int16 gate vectors, the widened input and hidden state."""
    ins = graph.operands(op)
    n_state, n_input = graph.shape(sg, ins.output_state)[-1], graph.shape(sg, ins.input)[-1]
    pad4 = lambda n: (n + 3) // 4 * 4  # noqa: E731
    return 2 * (4 * n_state + pad4(n_input) + pad4(n_state))


def _pair_stream(em, sg, gate: dict, bias) -> np.ndarray:
    """One gate's paired-row stream (ern_lstm_gate_fast with pair_rows): for each block of 4 units the input
    projection's start values (the doubled, padded biases) and paired weights, then the recurrent projection's."""
    packed = {kind: pack_pairs(em.g.const(sg, gate[f"{kind}_weights"])) for kind in ("input", "recurrent")}
    starts = {kind: bias(gate[f"{kind}_bias"]) for kind in ("input", "recurrent")}
    n = len(starts["input"])
    parts = []
    for j in range(0, n, 4):
        for kind in ("input", "recurrent"):
            cols = em.g.const(sg, gate[f"{kind}_weights"]).shape[1]
            block = 4 * (cols + (cols & 1))
            parts.append((starts[kind][j:j + 4], packed[kind][j // 4 * block:(j // 4 + 1) * block]))
    return pair_stream(parts)


@register("UNIDIRECTIONAL_SEQUENCE_LSTM", contract=contract, kernels=KERNELS, scratch=scratch_bytes)
def emit(em, sg, op):
    p = prepare(em.g, sg, op)
    out = int(op.outputs[0])
    name = f"lstm{sg}_{out}"
    what = f"LSTM {em.g.name(sg, out)!r}"
    for key in ("forget_mul", "input_mul", "output_mul"):
        P.check_requant(*p[key], what)
    if not 0 <= p["cell_tanh_shift"] <= 31:
        raise UserError(f"{what}: cell state scale out of range")
    table = em.const_array("uint16_t", "ern_lstm_sigmoid_table", sigmoid_table)
    fast = fast_fields(em.g, sg, p)
    table1 = "0"
    if fast["fast"]:  # gate sigmoids read entries 0..193 (|3x| < 2^17); + 1 is TFLite's rounding term
        entries = np.asarray(sigmoid_table()[:194], np.int64) + 1
        if entries.max() > 0xFFFF:
            raise UserError("internal error: sigmoid table entry out of range")
        table1 = em.const_array("uint16_t", "ern_lstm_sigmoid_table1", entries)
    g = p["gates"]
    for gate in g:
        P.check_requant(gate["input_multiplier"], gate["input_shift"], what)
        P.check_requant(gate["recurrent_multiplier"], gate["recurrent_shift"], what)
    for gate in g:  # the kernel compiles one gate variant per pair of shift signs that occurs
        em.flag("ERN_LSTM_GATE_VARIANTS", 1 << (int(gate["input_shift"] >= 0) | int(gate["recurrent_shift"] >= 0) << 1))
    em.flag("ERN_LSTM_GENERAL", int(not fast["fast"]))
    arr = lambda items: "{" + ", ".join(str(v) for v in items) + "}"  # noqa: E731

    def bias(values):
        """As the kernel's path reads it: fast, doubled and padded to whole 4-row blocks (ern_dot4_doubled)."""
        if not fast["fast"]:
            return values
        padded = np.zeros((len(values) + 3) // 4 * 4, np.int64)
        padded[:len(values)] = 2 * np.asarray(values, np.int64)
        return padded
    rq = em.requant_struct
    zero_point = {"forget_mul": 0, "input_mul": 0, "output_mul": p["hidden_zero_point"]}
    # the DSP kernels' paired-row stream: fast cells whose every projection fits (fixedpoint.pair_rows_fit)
    pair_rows = bool(fast["fast"]) and all(
        P.pair_rows_fit(em.g.const(sg, gate[f"{kind}_weights"]), bias(gate[f"{kind}_bias"]), doubled=True)
        for gate in g for kind in ("input", "recurrent"))
    if pair_rows:
        def field(kind, k, gate, key):
            plain = (em.unpaired(sg, gate[f"{kind}_weights"]) if key == "weights" else
                     em.layout_array("int32_t", f"{name}_bias_{kind[:3]}{k}",
                                     [("!defined(ERN_PAIR_ROWS)", bias(gate[f"{kind}_bias"]))]))
            if kind == "input" and key == "weights":
                stream = em.layout_array("int8_t", f"{name}_pairs{k}", [("defined(ERN_PAIR_ROWS)", _pair_stream(em, sg, gate, bias))])
                return f"ERN_LAYOUT({stream}, {plain})"
            return f"ERN_LAYOUT(0, {plain})"
    else:
        def field(kind, k, gate, key):
            if key == "weights":
                return em.packed(sg, gate[f"{kind}_weights"])
            return em.const_array("int32_t", f"{name}_bias_{kind[:3]}{k}", bias(gate[f"{kind}_bias"]))
    params = em.const_struct("ern_lstm_params", name, {
        "steps": p["steps"], "n_input": p["n_input"], "n_state": p["n_state"],
        **{f"{kind}_{key}": arr(field(kind, k, gate, key) for k, gate in enumerate(g))
           for key in ("weights", "bias") for kind in ("input", "recurrent")},
        "pair_rows": int(pair_rows),
        **{f"{kind}_rq": arr(rq(gate[f"{kind}_multiplier"], gate[f"{kind}_shift"], 0, fast[f"{kind}_round"][k])
                             for k, gate in enumerate(g)) for kind in ("input", "recurrent")},
        "cell_gate_tanh": p["cell_gate_tanh"],
        **{key: rq(*p[key], zero_point[key], fast[f"{key}_round"]) for key in ("forget_mul", "input_mul", "output_mul")},
        "cell_tanh_multiplier": p["cell_tanh_multiplier"],
        "cell_tanh_shift": p["cell_tanh_shift"], "cell_clip": p["cell_clip"], "sigmoid_table": table,
        "sigmoid_table1": table1, "fast": fast["fast"]})
    hidden, cell = em.ref(sg, p["hidden"]), em.ref(sg, p["cell"])
    # TFLite Micro resets variable tensors per inference: int8 to its zero point, int16 to 0.
    return [f"memset({hidden}, {p['hidden_zero_point']}, {p['n_state']});",
            f"memset({cell}, 0, {2 * p['n_state']});",
            f"ern_lstm_s8_inline(&{params}, {em.ref(sg, em.g.operands(op).input)}, {hidden}, {cell}, {em.ref(sg, out)}, "
            f"(int16_t *){em.scratch()});"]
