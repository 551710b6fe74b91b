"""Audio front end: log-mel energies and MFCCs in plain NumPy.

Kept deliberately simple so it ports line for line to C on the device:
frame -> Hann window -> |rfft|^2 -> triangular mel filters (HTK mel scale) -> log -> DCT-II.
Defaults follow the Hello Edge KWS models: 16 kHz, 30 ms windows, 20 ms hop, 40 mel bands
over 20-4000 Hz, 10 MFCCs, so one second of audio gives 49 frames x 10 coefficients.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

LOG_FLOOR = 1e-6  # added before the log so silence gives a finite value


@dataclass(frozen=True)
class FeatureConfig:
    """Front-end parameters.

    sample_rate: Hz of the input waveform.
    window_ms: analysis window length (30 ms = 480 samples at 16 kHz).
    hop_ms: step between windows (20 ms = 320 samples); frames = 1 + (N - window) // hop.
    n_fft: FFT length (>= window samples; the window is zero-padded to it).
    n_mels: triangular mel filters between fmin and fmax.
    n_mfcc: DCT coefficients kept (kind="mfcc").
    fmin, fmax: band edges in Hz of the mel filterbank.
    kind: "mfcc" -> [frames, n_mfcc]; "logmel" -> [frames, n_mels].
    clip_seconds: waveforms are padded / cut to this length before framing.
    arithmetic: "float" (NumPy float32, what FPU cores compute to within rounding) or "fixed" (the
      integer front end of cores without an FPU, bit for bit: ``fixed_point.py``). Train with
      "fixed" to deploy on a Cortex-M0 with no train/deploy feature skew.
    mean_norm: subtract each window's mean per coefficient (cepstral mean normalization). A
      training study only (``tools/kws_rejection_levers.py --mean-norm``): with flite held out it
      gained nothing at matched false-fire rates (docs/notes/2026-11-30-levers-that-did-not-move-the-unseen-engine.md),
      so the streaming pipeline and the C front end do not implement it and refuse such runs.
    """

    sample_rate: int = 16000
    window_ms: float = 30.0
    hop_ms: float = 20.0
    n_fft: int = 512
    n_mels: int = 40
    n_mfcc: int = 10
    fmin: float = 20.0
    fmax: float = 4000.0
    kind: str = "mfcc"
    clip_seconds: float = 1.0
    arithmetic: str = "float"
    mean_norm: bool = False

    def __post_init__(self):
        if self.arithmetic not in ("float", "fixed"):
            raise ValueError(f"arithmetic must be 'float' or 'fixed', got {self.arithmetic!r}")

    @property
    def window(self) -> int:
        return int(round(self.sample_rate * self.window_ms / 1000))

    @property
    def hop(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    @property
    def clip_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))

    @property
    def num_frames(self) -> int:
        return 1 + (self.clip_samples - self.window) // self.hop

    @property
    def num_features(self) -> int:
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if d["arithmetic"] == "float":  # float configs keep the digest (and feature caches) they always had
            del d["arithmetic"]
        if not d["mean_norm"]:
            del d["mean_norm"]
        return d

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


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


def log_mel(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Waveform(s) [..., N] float in [-1, 1] -> log mel energies [..., frames, n_mels]."""
    x = fit_length(np.asarray(x, dtype=np.float32), cfg.clip_samples)
    power = power_spectrum(frames(x, cfg.window, cfg.hop), cfg.n_fft)
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    return np.log(power @ fb + LOG_FLOOR).astype(np.float32)


def mfcc(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Waveform(s) [..., N] -> MFCCs [..., frames, n_mfcc]."""
    return (log_mel(x, cfg) @ dct_matrix(cfg.n_mels, cfg.n_mfcc)).astype(np.float32)


def features(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The configured front end: ``mfcc`` or ``logmel``, for one waveform or a batch."""
    if cfg.mean_norm:  # per window (clip), so every frame of the window shifts together
        f = features(x, dataclasses.replace(cfg, mean_norm=False))
        return (f - f.mean(axis=-2, keepdims=True)).astype(np.float32)
    if cfg.arithmetic == "fixed":
        from edgernn.features.fixed_point import fixed_features

        return fixed_features(fit_length(np.asarray(x, dtype=np.float32), cfg.clip_samples), cfg)
    if cfg.kind == "mfcc":
        return mfcc(x, cfg)
    if cfg.kind == "logmel":
        return log_mel(x, cfg)
    raise ValueError(f"unknown feature kind {cfg.kind!r}")
