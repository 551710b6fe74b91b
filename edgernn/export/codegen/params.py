"""Integer parameters of each int8 op, computed exactly as TensorFlow Lite Micro's Prepare does.

Scales are float32 in the model; TFLM widens them to double (exact) and computes the real
multipliers in double, replicated here so multipliers and shifts match bit for bit.
"""
from __future__ import annotations

import math

import numpy as np


def tflite_round(x: float) -> int:
    """std::round: half away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """(Q0.31 multiplier, shift) with m = multiplier * 2^(shift - 31), as tflite::QuantizeMultiplier."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def f32(x) -> np.float32:
    return np.float32(x)


def fully_connected(in_scale, in_zp, w_scale, out_scale, out_zp) -> dict:
    real = float(in_scale) * float(w_scale) / float(out_scale)
    mult, shift = quantize_multiplier(real)
    return {"input_offset": -in_zp, "multiplier": mult, "shift": shift, "output_offset": out_zp}


def fold_zero_point(bias: np.ndarray, input_offset: int, weights: np.ndarray) -> np.ndarray:
    """bias + input_offset * row sums: sum(w * (x + off)) = sum(w * x) + off * sum(w) exactly in int32,
    so a dot product can skip the offset. Wrapped to int32 as the device's arithmetic would."""
    folded = bias.astype(np.int64) + input_offset * weights.astype(np.int64).sum(axis=1)
    return ((folded + 2**31) % 2**32 - 2**31).astype(np.int32)


def add(s1, z1, s2, z2, so, zo) -> dict:
    """ADD: double arithmetic (add_common.cc)."""
    left_shift = 20
    twice_max = 2 * float(max(f32(s1), f32(s2)))
    m1, sh1 = quantize_multiplier(float(s1) / twice_max)
    m2, sh2 = quantize_multiplier(float(s2) / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * float(so)))
    return dict(input1_offset=-z1, input2_offset=-z2, output_offset=zo, input1_multiplier=m1, input2_multiplier=m2,
                output_multiplier=mo, input1_shift=sh1, input2_shift=sh2, output_shift=sho, left_shift=left_shift)


def sub(s1, z1, s2, z2, so, zo) -> dict:
    """SUB: the same rescaling as ADD, in double (sub_common.cc). An earlier float32 version matched
    only when the second input had the larger scale; the per-op golden tests cover both orders."""
    return add(s1, z1, s2, z2, so, zo)


def mul(s1, z1, s2, z2, so, zo) -> dict:
    mult, shift = quantize_multiplier(float(s1) * float(s2) / float(so))
    return {"a_offset": -z1, "b_offset": -z2, "multiplier": mult, "shift": shift, "output_offset": zo}


def softmax(in_scale, beta: float = 1.0) -> dict:
    """PreprocessSoftmaxScaling with 5 integer bits, and the diff_min radius."""
    integer_bits = 5
    real = min(float(beta) * float(in_scale) * (1 << (31 - integer_bits)), float((1 << 31) - 1))
    mult, left_shift = quantize_multiplier(real)
    radius = math.floor(((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << left_shift))
    return {"beta_multiplier": mult, "beta_left_shift": left_shift, "diff_min": -radius}


# Integer arithmetic of the requantization, in Python ints (tables are built with it).

def srdhm(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values."""
    if a == b == -2**31:
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) >> 31
    return q if ab + nudge >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """tflite::MultiplyByQuantizedMultiplier (x wraps to int32 after a left shift, as in C)."""
    if shift > 0:
        x = ((x << shift) + 2**31) % 2**32 - 2**31
    return rounding_divide_by_pot(srdhm(x, multiplier), max(-shift, 0))


def add_input_table(offset: int, multiplier: int, shift: int, left_shift: int, negate: bool) -> list[int]:
    """One ADD/SUB input rescaled as TFLite Micro does, for every int8 value, indexed by its byte."""
    values = [mbqm((offset + (b - 256 if b > 127 else b)) << left_shift, multiplier, shift) for b in range(256)]
    return [-v for v in values] if negate else values


def fast_requant(max_abs: int, shift: int, offset: int = 0) -> tuple[int, int]:
    """(fast, round) for ern_common.h's requant_fast: exact when the value requantized never exceeds
    ``max_abs`` in magnitude, ``max_abs`` < 2^30 (twice it fits in int32 for SMMULR), the shift
    divides (shift < 0) and the folded constant round = 2^(e-1) + offset * 2^e keeps the sum inside int32.
    (0, 0) where it is not proven: the kernel then takes its general path."""
    e = -shift
    if not 1 <= e <= 31:
        return 0, 0
    round_ = (1 << (e - 1)) + offset * (1 << e)
    if max_abs >= 1 << 30 or max_abs + 2 + abs(round_) >= 1 << 31:
        return 0, 0
    return 1, round_


def max_abs_fully_connected(folded_bias: np.ndarray, weights: np.ndarray) -> int:
    """A bound on |folded bias + weights . x| over every int8 x (|x| <= 128): what an FC requantizes."""
    w = np.abs(weights.astype(np.int64)).sum(axis=1) * 128
    return int((np.abs(folded_bias.astype(np.int64)) + w).max(initial=0))
