"""Constant tables of the C feature front end (``firmware/features/ern_frontend.c``), made at export time.

``frontend_header`` turns a run's FeatureConfig, its standardization statistics (``input_norm``)
and the int8 model's input quantization into ``ern_frontend_tables.h``: sizes as macros, and every
table the C code reads (Hann window with the 1/32768 PCM scale folded in, FFT twiddles and bit
reversal, the mel filters as runs of non-zero weights, the DCT-II matrix, mean/std). Float constants
are written as C99 hexadecimal literals, so the device sees exactly the float32 values NumPy uses.
"""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError
from edgernn.features.config import FeatureConfig
from edgernn.features.dsp import LOG_FLOOR, dct_matrix, mel_filterbank
from edgernn.records import RunConfig

MAX_NFFT = 4096


def feature_config_of_run(config: RunConfig) -> FeatureConfig:
    """The FeatureConfig a run was trained with; a UserError when the run does not record one."""
    params = config.feature_params()
    if params is None:
        raise UserError("the run has no feature parameters (config.json dataset_meta.features): "
                        "only runs trained on audio (task kws) can run the audio front end")
    cfg = params.feature_config()
    check_feature_config(cfg)
    return cfg


def check_feature_config(cfg: FeatureConfig) -> None:
    """What the C front end supports: a power-of-two FFT at least a window long, a known kind."""
    if cfg.kind == "embedding":
        raise UserError("the run uses speech-embedding features (train --features embedding): a float ONNX model "
                        "with no C front end; firmware needs an MFCC run")
    n = cfg.n_fft
    if not (isinstance(n, int) and 8 <= n <= MAX_NFFT and n & (n - 1) == 0):
        raise UserError(f"the C front end needs n_fft a power of two from 8 to {MAX_NFFT}, got {n}")
    if not 1 <= cfg.window <= n or not 1 <= cfg.hop:
        raise UserError(f"the C front end needs 1 <= window ({cfg.window}) <= n_fft ({n}) and hop >= 1")
    if cfg.kind not in ("mfcc", "logmel"):
        raise UserError(f"unknown feature kind {cfg.kind!r}")
    if cfg.mean_norm:
        raise UserError("the run was trained with per-window mean normalization (mean_norm), a training-study "
                        "option the C front end does not implement")
    if cfg.kind == "mfcc" and not 1 <= cfg.n_mfcc <= cfg.n_mels:
        raise UserError(f"n_mfcc ({cfg.n_mfcc}) must be between 1 and n_mels ({cfg.n_mels})")


def hann_window(n: int) -> np.ndarray:
    """The window ``frontend.power_spectrum`` applies, as float32."""
    return np.hanning(n + 2)[1:-1].astype(np.float32)


def c_floats(values) -> str:
    """float32 values as exact C99 hex literals, 6 per line."""
    vals = [float(np.float32(v)).hex() + "f" for v in np.asarray(values, dtype=np.float32).reshape(-1)]
    return ",\n".join("  " + ", ".join(vals[i:i + 6]) for i in range(0, len(vals), 6))


def c_ints(values) -> str:
    vals = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    return ",\n".join("  " + ", ".join(vals[i:i + 16]) for i in range(0, len(vals), 16))


def bit_reverse(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    return np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(n)])


def mel_runs(cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first bin, bin count, concatenated weights) of each mel filter's non-zero run."""
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    first, count, weights = [], [], []
    for m in range(cfg.n_mels):
        nz = np.flatnonzero(fb[:, m])
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if len(nz) else (0, 0)
        first.append(lo)
        count.append(hi - lo)
        weights.extend(fb[lo:hi, m])
    return np.array(first), np.array(count), np.asarray(weights, dtype=np.float32)


def _fixed_tables(cfg: FeatureConfig, first, count) -> list[str]:
    """The integer tables of the fixed-point path (edgernn/features/fixed_point.py makes the numbers)."""
    from edgernn.features.fixed_point import MAX_SHIFT, MIN_SHIFT, tables

    t = tables(cfg)
    half = cfg.n_fft // 2
    weights = np.concatenate([t["mel"][lo:lo + n, m] for m, (lo, n) in enumerate(zip(first, count))] or [[0]])
    return [
        f"#define ERN_FE_MIN_SHIFT ({MIN_SHIFT})",
        f"#define ERN_FE_MAX_SHIFT {MAX_SHIFT}",
        f"static const int32_t ern_fe_window[{cfg.window}] = {{\n{c_ints(t['window'])}\n}};",
        f"static const int32_t ern_fe_cos[{half}] = {{\n{c_ints(t['cos'])}\n}};",
        f"static const int32_t ern_fe_sin[{half}] = {{\n{c_ints(t['sin'])}\n}};",
        f"static const uint16_t ern_fe_mel_weight[{max(1, weights.size)}] = {{\n{c_ints(weights)}\n}};",
        f"static const int16_t ern_fe_dct[{t['dct'].size}] = {{\n{c_ints(t['dct'])}\n}};",
        f"static const uint64_t ern_fe_floor[{t['floor'].size}] = {{\n"
        + ",\n".join(f"  {int(v)}ull" for v in t["floor"]) + "\n};",
        f"static const int32_t ern_fe_log2_table[{t['log2'].size}] = {{\n{c_ints(t['log2'])}\n}};",
    ]


def frontend_header(cfg: FeatureConfig, mean, std, input_scale: float, input_zero_point: int,
                    fixed: bool = False) -> str:
    """The generated ``ern_frontend_tables.h``; ``fixed``: the integer path (cores without an FPU)."""
    check_feature_config(cfg)
    n_out = cfg.num_features
    mean, std = np.asarray(mean, np.float32).reshape(-1), np.asarray(std, np.float32).reshape(-1)
    if mean.size != n_out or std.size != n_out:
        raise UserError(f"the run's input_norm has {mean.size} means and {std.size} stds; "
                        f"the front end makes {n_out} features per frame")
    half = cfg.n_fft // 2
    k = np.arange(half, dtype=np.float64)
    first, count, weights = mel_runs(cfg)
    window = hann_window(cfg.window) * np.float32(1.0 / 32768.0)
    dct = dct_matrix(cfg.n_mels, cfg.n_mfcc) if cfg.kind == "mfcc" else np.zeros((1, 1), np.float32)
    float_tables = [
        f"static const float ern_fe_window[{cfg.window}] = {{\n{c_floats(window)}\n}};",
        f"static const float ern_fe_cos[{half}] = {{\n{c_floats(np.cos(2 * np.pi * k / cfg.n_fft))}\n}};",
        f"static const float ern_fe_sin[{half}] = {{\n{c_floats(np.sin(2 * np.pi * k / cfg.n_fft))}\n}};",
        f"static const float ern_fe_mel_weight[{max(1, weights.size)}] = {{\n{c_floats(weights if weights.size else [0])}\n}};",
        f"static const float ern_fe_dct[{dct.size}] = {{\n{c_floats(dct)}\n}};",
    ]
    return "\n".join([
        "/* Generated by edgernn (edgernn/export/frontend_c.py) from the run's feature parameters. */",
        "#ifndef ERN_FRONTEND_TABLES_H_", "#define ERN_FRONTEND_TABLES_H_", "#include <stdint.h>", "",
        f"#define ERN_FE_SAMPLE_RATE {cfg.sample_rate}",
        f"#define ERN_FE_WINDOW {cfg.window}",
        f"#define ERN_FE_HOP {cfg.hop}",
        f"#define ERN_FE_NFFT {cfg.n_fft}",
        f"#define ERN_FE_NMELS {cfg.n_mels}",
        f"#define ERN_FE_POWER_BINS {max(1, int((first + count).max()))} /* FFT bins the mel filters use */",
        f"#define ERN_FE_FEATURES {n_out}",
        f"#define ERN_FE_FRAMES {cfg.num_frames} /* frames per model input */",
        f"#define ERN_FE_MFCC {int(cfg.kind == 'mfcc')}",
        f"#define ERN_FE_FIXED {int(fixed)} /* 1: integer arithmetic (edgernn/features/fixed_point.py) */",
        f"#define ERN_FE_LOG_FLOOR {float(np.float32(LOG_FLOOR)).hex()}f",
        f"#define ERN_FE_INPUT_SCALE {float(np.float32(input_scale)).hex()}f",
        f"#define ERN_FE_INPUT_ZERO_POINT {int(input_zero_point)}", "",
        *(_fixed_tables(cfg, first, count) if fixed else float_tables),
        f"static const uint16_t ern_fe_bitrev[{half}] = {{\n{c_ints(bit_reverse(half))}\n}};",
        f"static const uint16_t ern_fe_mel_first[{cfg.n_mels}] = {{\n{c_ints(first)}\n}};",
        f"static const uint16_t ern_fe_mel_count[{cfg.n_mels}] = {{\n{c_ints(count)}\n}};",
        f"static const float ern_fe_mean[{n_out}] = {{\n{c_floats(mean)}\n}};",
        f"static const float ern_fe_std[{n_out}] = {{\n{c_floats(std)}\n}};",
        "", "#endif", ""])
