"""DSP primitives shared by the float and the fixed-point front ends: framing, the power spectrum,
the HTK mel filterbank and the DCT-II matrix, in plain NumPy.

The bottom of ``edgernn.features`` with ``config.py``: these import nothing from edgernn, so both
front ends (and the C table generator in ``export/frontend_c.py``) build on them without a cycle.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

LOG_FLOOR = 1e-6  # added before the log so silence gives a finite value


def frames(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """[..., N] -> [..., frames, window] (views, no copy)."""
    n = 1 + (x.shape[-1] - window) // hop
    idx = np.arange(window)[None, :] + hop * np.arange(n)[:, None]
    return x[..., idx]


def power_spectrum(framed: np.ndarray, n_fft: int) -> np.ndarray:
    """Hann-windowed |FFT|^2 of each frame: [..., frames, n_fft // 2 + 1]."""
    window = np.hanning(framed.shape[-1] + 2)[1:-1].astype(np.float32)  # periodic-ish, no zero ends
    spec = np.fft.rfft(framed * window, n=n_fft, axis=-1)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32)


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular filters on the HTK mel scale: [n_fft // 2 + 1, n_mels], peak 1 each."""
    bins_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    f = bins_hz[:, None]
    rising = (f - lo) / (mid - lo)
    falling = (hi - f) / (hi - mid)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


@lru_cache(maxsize=8)
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II: [n_in, n_out], so mfcc = logmel @ D."""
    n = np.arange(n_in)[:, None]
    k = np.arange(n_out)[None, :]
    d = np.cos(np.pi / n_in * (n + 0.5) * k) * np.sqrt(2.0 / n_in)
    d[:, 0] *= np.sqrt(0.5)
    return d.astype(np.float32)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad or cut the last axis to ``n`` samples."""
    if x.shape[-1] >= n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
    return np.pad(x, pad)
