"""The float front end: log-mel energies and MFCCs in plain NumPy.

Kept deliberately simple so it ports line for line to C on the device:
frame -> Hann window -> |rfft|^2 -> triangular mel filters (HTK mel scale) -> log -> DCT-II.
Defaults follow the Hello Edge KWS models: 16 kHz, 30 ms windows, 20 ms hop, 40 mel bands
over 20-4000 Hz, 10 MFCCs, so one second of audio gives 49 frames x 10 coefficients.
Which front end a configuration uses (this one or ``fixed_point.py``) is decided in
``edgernn/features/__init__.py``.
"""
from __future__ import annotations

import numpy as np

from edgernn.features.config import FeatureConfig
from edgernn.features.dsp import LOG_FLOOR, dct_matrix, fit_length, frames, mel_filterbank, power_spectrum


def log_mel(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Waveform(s) [..., N] float in [-1, 1] -> log mel energies [..., frames, n_mels]."""
    x = fit_length(np.asarray(x, dtype=np.float32), cfg.clip_samples)
    power = power_spectrum(frames(x, cfg.window, cfg.hop), cfg.n_fft)
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    return np.log(power @ fb + LOG_FLOOR).astype(np.float32)


def mfcc(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Waveform(s) [..., N] -> MFCCs [..., frames, n_mfcc]."""
    return (log_mel(x, cfg) @ dct_matrix(cfg.n_mels, cfg.n_mfcc)).astype(np.float32)


def float_features(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """``mfcc`` or ``logmel`` in float32, for one waveform or a batch."""
    if cfg.kind == "mfcc":
        return mfcc(x, cfg)
    if cfg.kind == "logmel":
        return log_mel(x, cfg)
    raise ValueError(f"unknown feature kind {cfg.kind!r}")
