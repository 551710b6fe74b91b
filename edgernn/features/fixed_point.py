"""The integer front end of cores without an FPU (Cortex-M0/M0+), bit for bit, in NumPy.

``firmware/features/ern_frontend.c`` built with ``ERN_FE_FIXED`` computes exactly this; training
with ``FeatureConfig(arithmetic="fixed")`` makes the model see the device's own features, so there
is no train/deploy skew. Steps (C int32 unless noted; ``>>`` of a negative number is floor, as gcc's; ``mq(b, w)`` is
(b*w + 2^30) >> 31, computed exactly in C from 16-bit halves of b and w):
1. prod (int64) = pcm * window_q31 (the Hann window in Q31: a Q15 window's rounding leaks a loud tone into
   quiet bands); block floating point: r = clamp(bitlength(max |prod|) - 20, 6, 26),
   xq = (prod + 2^(r-1)) >> r, so |xq| <= 2^20.
2. The real FFT as a complex FFT of n_fft/2 points (even samples real, odd imaginary), radix 2, no
   scaling (|Z| < 2^28.5), Q31 twiddles round(cos * 2^31) (Q15 ones limit the spectrum to ~90 dB):
   t = (mq(br, wr) - mq(bi, wi), mq(br, wi) + mq(bi, wr)).
3. The real spectrum at twice its size: X2 = E2 + W*O2 with E2 = 2 Xe, O2 = 2 Xo; power (uint64) =
   (xr2^2 + xi2^2) >> 2 = |X|^2 of xq (bin 0: (zr + zi)^2, bin n_fft/2: (zr - zi)^2).
4. mel (uint64) = sum (power >> 15) * round(weight * 2^15); the true energy is mel * 2^(2r - 92); the
   1e-6 floor is round(1e-6 * 2^(92 - 2r)) in those units (r >= 6 keeps it below 2^61; quieter frames
   are below the floor anyway).
5. log2 in Q16 of the uint64 sum: exponent + a 64-segment table of log2(1 + f) with linear
   interpolation; L = log2 + (2r - 92) * 2^16.
6. DCT with ln 2 folded in: acc (int64) = sum L * round(D * ln2 * 2^15); the feature is
   float32(acc * 2^-31) (log-mel: D is the identity).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from edgernn.features.config import FeatureConfig
from edgernn.features.dsp import LOG_FLOOR, dct_matrix, frames, mel_filterbank

LOG2_SEGMENTS = 64
MIN_SHIFT, MAX_SHIFT = 6, 26  # |prod| < 2^46; r >= 6 keeps the floor below 2^61


@lru_cache(maxsize=8)
def tables(cfg: FeatureConfig) -> dict:
    """Every integer table of the fixed-point front end (the C header carries the same numbers)."""
    half = cfg.n_fft // 2
    k = np.arange(half)
    hann = np.hanning(cfg.window + 2)[1:-1]
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).astype(np.float64)
    if cfg.kind == "mfcc":
        dct = dct_matrix(cfg.n_mels, cfg.n_mfcc).astype(np.float64)
    else:
        dct = np.eye(cfg.n_mels)
    return {
        "window": np.minimum(np.round(hann * 2.0 ** 31), 2 ** 31 - 1).astype(np.int64),
        "cos": np.clip(np.round(np.cos(2 * np.pi * k / cfg.n_fft) * 2.0 ** 31), -2 ** 31, 2 ** 31 - 1).astype(np.int64),
        "sin": np.clip(np.round(np.sin(2 * np.pi * k / cfg.n_fft) * 2.0 ** 31), -2 ** 31, 2 ** 31 - 1).astype(np.int64),
        "mel": np.round(fb * 32768).astype(np.int64),  # [bins, n_mels]
        "dct": np.round(dct * math.log(2) * 32768).astype(np.int64),  # [n_mels, features]
        "floor": np.array([round(LOG_FLOOR * 2.0 ** (92 - 2 * r)) for r in range(MIN_SHIFT, MAX_SHIFT + 1)],
                          dtype=np.uint64),
        "log2": np.array([round(math.log2(1 + i / LOG2_SEGMENTS) * 65536) for i in range(LOG2_SEGMENTS + 1)],
                         dtype=np.int64),
    }


def _bit_length(v: np.ndarray) -> np.ndarray:
    """bit length of non-negative int64/uint64 values (0 -> 0), exactly."""
    v = v.astype(np.uint64)
    n = np.zeros(v.shape, dtype=np.int64)
    for s in (32, 16, 8, 4, 2, 1):
        big = v >= (np.uint64(1) << np.uint64(s))
        n += np.where(big, s, 0)
        v = np.where(big, v >> np.uint64(s), v)
    return n + (v > 0)


def _mq(b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Q31 product with rounding: (b * w + 2^30) >> 31 (|b| < 2^30, so exact in int64)."""
    return (b * w + (1 << 30)) >> 31


def _bitrev(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    return np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(n)])


def _fft_half(zr: np.ndarray, zi: np.ndarray, t: dict, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """[frames, n_fft/2] int64 -> the C fixed-point radix-2 FFT, vectorized over frames and butterflies."""
    half = zr.shape[-1]
    order = _bitrev(half)
    zr, zi = zr[:, order].copy(), zi[:, order].copy()
    length = 2
    while length <= half:
        h = length // 2
        kk = np.arange(h)
        wr, wi = t["cos"][kk * (n_fft // length)], -t["sin"][kk * (n_fft // length)]
        zr = zr.reshape(len(zr), -1, length)
        zi = zi.reshape(len(zi), -1, length)
        ar, ai, br, bi = zr[..., :h], zi[..., :h], zr[..., h:], zi[..., h:]
        tr = _mq(br, wr) - _mq(bi, wi)
        ti = _mq(br, wi) + _mq(bi, wr)
        zr = np.concatenate([ar + tr, ar - tr], axis=-1).reshape(len(zr), -1)
        zi = np.concatenate([ai + ti, ai - ti], axis=-1).reshape(len(zi), -1)
        length *= 2
    return zr, zi


def power_bins(cfg: FeatureConfig) -> int:
    """How many FFT bins (from 0) the mel filters use; the C code computes only those."""
    nz = np.flatnonzero(mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).any(axis=1))
    return int(nz[-1]) + 1 if len(nz) else 1


def fixed_features_pcm(pcm_frames: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """int16 frames [n, window] -> float32 features [n, features], exactly as the device computes them."""
    t = tables(cfg)
    n_fft, half = cfg.n_fft, cfg.n_fft // 2
    prod = pcm_frames.astype(np.int64) * t["window"]
    r = np.clip(_bit_length(np.abs(prod).max(axis=1)) - 20, MIN_SHIFT, MAX_SHIFT)[:, None]
    xq = (prod + (1 << (r - 1))) >> r
    x = np.zeros((len(prod), n_fft), dtype=np.int64)
    x[:, :cfg.window] = xq
    zr, zi = _fft_half(x[:, 0::2], x[:, 1::2], t, n_fft)
    nb = power_bins(cfg)
    power = np.zeros((len(x), nb), dtype=np.int64)
    power[:, 0] = (zr[:, 0] + zi[:, 0]) ** 2
    last = min(nb - 1, half - 1)
    if last >= 1:
        k = np.arange(1, last + 1)
        ar, ai = zr[:, k], zi[:, k]
        br, bi = zr[:, half - k], -zi[:, half - k]
        er, ei, dr, di = ar + br, ai + bi, ar - br, ai - bi
        o_r, o_i = di, -dr
        wr, wi = t["cos"][k], -t["sin"][k]
        xr = er + _mq(o_r, wr) - _mq(o_i, wi)
        xi = ei + _mq(o_r, wi) + _mq(o_i, wr)
        power[:, 1:last + 1] = (xr * xr + xi * xi) >> 2
    if nb > half:
        power[:, half] = (zr[:, 0] - zi[:, 0]) ** 2
    mel = (power.astype(np.uint64) >> np.uint64(15)) @ t["mel"][:nb].astype(np.uint64)  # exact: < 2^59
    total = mel + t["floor"][r[:, 0] - MIN_SHIFT][:, None]
    e = _bit_length(total) - 1
    shift_down = np.maximum(e - 31, 0).astype(np.uint64)
    shift_up = np.maximum(31 - e, 0).astype(np.uint64)
    norm = np.where(e >= 31, total >> shift_down, total << shift_up).astype(np.int64)
    f = norm - (1 << 31)
    idx, rem = f >> 25, (f >> 9) & 0xFFFF
    lut = t["log2"]
    y = lut[idx] + (((lut[idx + 1] - lut[idx]) * rem + (1 << 15)) >> 16)
    L = (e << 16) + y + (2 * r - 92) * 65536
    acc = L @ t["dct"]
    return (acc.astype(np.float64) * 2.0 ** -31).astype(np.float32)


def fixed_features(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Waveform(s) [..., N] float in [-1, 1] (int16 / 32768) -> the device's fixed-point features.

    The waveform is rounded to int16 first (what a microphone delivers); a batch keeps its shape."""
    x = np.asarray(x, dtype=np.float32)
    pcm = np.clip(np.round(x.astype(np.float64) * 32768), -32768, 32767).astype(np.int16)
    lead = pcm.shape[:-1]
    framed = frames(pcm.reshape(-1, pcm.shape[-1]), cfg.window, cfg.hop)  # [b, n, window]
    b, n = framed.shape[:2]
    out = fixed_features_pcm(framed.reshape(b * n, cfg.window), cfg) if b * n else np.zeros((0, cfg.num_features))
    return out.reshape(*lead, n, cfg.num_features).astype(np.float32)
