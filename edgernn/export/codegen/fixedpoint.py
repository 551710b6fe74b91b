"""The fixed-point arithmetic every op's ``prepare`` shares, as TensorFlow Lite Micro computes it.

Each op's own parameters are computed in its unit, ``ops/<op>.py`` (``prepare``, as TFLM's Prepare and
``CalculateOpData*``); this module holds what they share: ``quantize_multiplier`` (scales are float32
in the model; TFLM widens them to double, exactly, and computes the real multipliers in double,
replicated here so multipliers and shifts match bit for bit), the zero-point fold, the integer
requantization in Python ints (tables are built with it) and the proof behind ``ern_requant_fast``.
"""
from __future__ import annotations

import math

import numpy as np

from edgernn.errors import UserError


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


def fold_zero_point(bias: np.ndarray, input_offset: int, weights: np.ndarray) -> np.ndarray:
    """bias + input_offset * row sums: sum(w * (x + off)) = sum(w * x) + off * sum(w) exactly in int32,
    so a dot product can skip the offset. Wrapped to int32 as the device's arithmetic would."""
    folded = bias.astype(np.int64) + input_offset * weights.astype(np.int64).sum(axis=1)
    return ((folded + 2**31) % 2**32 - 2**31).astype(np.int32)


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


def check_requant(multiplier: int, shift: int, what: str) -> tuple[int, int]:
    """A (multiplier, shift) pair the kernels handle exactly: 0 <= m < 2^31, -31 <= shift <= 30."""
    if not (0 <= multiplier < 1 << 31 and -31 <= shift <= 30):
        raise UserError(f"{what}: quantization scales out of the range TFLite's integer kernels handle "
                        f"(multiplier {multiplier}, shift {shift})")
    return multiplier, shift


def fast_requant(max_abs: int, shift: int, offset: int = 0) -> tuple[int, int]:
    """(fast, round) for ern_support.h's ern_requant_fast: exact when the value requantized never exceeds
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


PAIR_ROWS_LIMIT = 2**23  # |i_P + P.x| below it: (a - b) >> 8 recovers the paired row's sum (ern_dot_s8_dsp.h)


def pair_rows_fit(weights: np.ndarray, init: np.ndarray | None = None, doubled: bool = False) -> bool:
    """Whether a weight matrix can be stored in the paired-row layout (docs/design/paired-rows.md): every
    halfword 256 w[2k][c] + w[2k+1][c] fits int16 (no -128 over a negative byte; TFLite's int8 weights are
    -127..127), and every row's accumulator, init[r] + (2 if doubled) * w[r] . x over int8 x, stays below 2^23."""
    w = np.asarray(weights).astype(np.int64)
    rows, cols = w.shape
    padded = np.zeros(((rows + 3) // 4 * 4, cols), np.int64)
    padded[:rows] = w
    half = 256 * padded[0::2] + padded[1::2]
    if half.min(initial=0) < -2**15 or half.max(initial=0) >= 2**15:
        return False
    bound = np.abs(w).sum(axis=1) * 128 * (2 if doubled else 1)
    if init is not None:
        bound = bound + np.abs(np.asarray(init, dtype=np.int64).reshape(-1)[:rows])
    return bool(bound.max(initial=0) < PAIR_ROWS_LIMIT)
