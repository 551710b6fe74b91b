"""WAV reading and writing (16-bit PCM), resampling to the front end's rate."""
from __future__ import annotations

import io
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from edgernn.errors import UserError


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (scipy) from ``rate_in`` to ``rate_out`` Hz."""
    if rate_in == rate_out:
        return x
    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    return resample_poly(x, rate_out // g, rate_in // g).astype(np.float32)


def read_wav(path: str | Path, rate: int = 16000) -> np.ndarray:
    """Mono float32 in [-1, 1] at ``rate`` Hz; stereo is averaged, other rates resampled."""
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types for bad files
        raise UserError(f"{path}: cannot read WAV ({str(e).splitlines()[0][:120]})") from None
    if x.shape[0] == 0:
        raise UserError(f"{path}: WAV has no samples")
    return resample(x.mean(axis=1), int(sr), rate)


def decode_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    x, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return x.mean(axis=1), int(sr)


def write_wav(path: str | Path, x: np.ndarray, rate: int = 16000) -> None:
    """16-bit PCM mono, values clipped to [-1, 1]."""
    pcm = np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0)
    sf.write(str(path), pcm, rate, subtype="PCM_16")
