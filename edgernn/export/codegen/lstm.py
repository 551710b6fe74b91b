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
from edgernn.export.codegen import params as P
from edgernn.export.codegen.tflm_probe import op_on_every_input

GATE_INPUT_SCALE = 2.0 ** -12    # nonlinear_input_scale in TFLM
GATE_OUTPUT_SCALE = 2.0 ** -15   # nonlinear_output_scale
# Operand positions in the op (lstm_shared.h); gate order input, forget, cell, output.
INPUT_WEIGHTS, RECURRENT_WEIGHTS, BIASES = (1, 2, 3, 4), (5, 6, 7, 8), (12, 13, 14, 15)
HIDDEN_STATE, CELL_STATE = 18, 19
UNSUPPORTED_OPERANDS = {9: "peephole", 10: "peephole", 11: "peephole", 16: "projection", 17: "projection",
                        20: "layer norm", 21: "layer norm", 22: "layer norm", 23: "layer norm"}
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


def lstm_params(graph, sg: int, op) -> dict:
    """Every integer the C kernel needs, plus the (sg, tensor) indices of weights and states."""
    ins = list(op.inputs) + [-1] * (24 - len(op.inputs))
    used = sorted({kind for i, kind in UNSUPPORTED_OPERANDS.items() if ins[i] >= 0})
    if used:
        raise UserError(f"UNIDIRECTIONAL_SEQUENCE_LSTM with {', '.join(used)} is not supported by the C generator")
    o = op.builtinOptions
    x, h, c = ins[0], ins[HIDDEN_STATE], ins[CELL_STATE]
    shape = list(graph.tensor(sg, x).shape)
    batch, steps = (shape[1], shape[0]) if o.timeMajor else (shape[0], shape[1])
    if batch != 1:
        raise UserError(f"the C generator runs batch-1 LSTMs only (input shape {shape})")
    if graph.tensor(sg, c).type != 7 or graph.tensor(sg, x).type != 9:
        raise UserError("the C generator's LSTM needs int8 activations with an int16 cell state")
    if o.fusedActivationFunction not in (ACTIVATION_TANH, ACTIVATION_SIGMOID):
        raise UserError(f"LSTM cell activation {o.fusedActivationFunction} is not supported (tanh or sigmoid)")
    (s_x, z_x), (s_h, z_h), (s_c, _) = graph.qparams(sg, x), graph.qparams(sg, h), graph.qparams(sg, c)
    n_state = int(graph.tensor(sg, h).shape[-1])
    gates = []
    for wi, wr, b in zip(INPUT_WEIGHTS, RECURRENT_WEIGHTS, BIASES):
        w_in, w_rec = graph.const(sg, ins[wi]), graph.const(sg, ins[wr])
        bias = graph.const(sg, ins[b]) if ins[b] >= 0 else np.zeros(n_state, np.int32)
        if graph.qparams(sg, ins[wi])[1] or graph.qparams(sg, ins[wr])[1]:
            raise UserError("LSTM weights with a non-zero zero point are not supported")
        m_in, sh_in = P.quantize_multiplier(float(s_x) * float(graph.qparams(sg, ins[wi])[0]) / GATE_INPUT_SCALE)
        m_rec, sh_rec = P.quantize_multiplier(float(s_h) * float(graph.qparams(sg, ins[wr])[0]) / GATE_INPUT_SCALE)
        gates.append(dict(input_weights=ins[wi], recurrent_weights=ins[wr],
                          input_bias=P.fold_zero_point(bias, -z_x, w_in),
                          recurrent_bias=P.fold_zero_point(np.zeros(n_state, np.int64), -z_h, w_rec),
                          input_multiplier=m_in, input_shift=sh_in, recurrent_multiplier=m_rec, recurrent_shift=sh_rec))
    power = checked_log2(s_c)
    tanh_mult, tanh_shift = tanh_input_rescale(power)
    forget = P.quantize_multiplier(GATE_OUTPUT_SCALE * float(s_c) / float(s_c))
    inp = P.quantize_multiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / float(s_c))
    out = P.quantize_multiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / float(s_h))
    clip = int(np.trunc(min(max(float(o.cellClip) / float(s_c), -32768.0), 32767.0))) if o.cellClip > 0 else 0
    return dict(steps=steps, n_input=int(shape[-1]), n_state=n_state, gates=gates,
                cell_gate_tanh=int(o.fusedActivationFunction == ACTIVATION_TANH),
                forget_mul=forget, input_mul=inp, output_mul=out, hidden=h, cell=c, hidden_zero_point=z_h,
                cell_tanh_multiplier=tanh_mult, cell_tanh_shift=tanh_shift, cell_clip=clip)
