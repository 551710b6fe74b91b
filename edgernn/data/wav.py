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


# Bounds checked from the header before any sample is decoded or resampled: a tiny file may claim
# a 1 Hz rate (resampled x16000) or hours of audio.
MIN_RATE, MAX_RATE = 4000, 192_000
MAX_SECONDS = 600
MAX_CHANNELS = 8
MAX_WAV_BYTES = MAX_RATE * MAX_SECONDS * MAX_CHANNELS * 4 // 8 + 1024 * 1024  # 10 min of 8 kHz x8 float32


def read_wav(path: str | Path, rate: int = 16000) -> np.ndarray:
    """Mono float32 in [-1, 1] at ``rate`` Hz; stereo is averaged, other rates resampled.

    Regular files only (a FIFO is refused without blocking), bounded in bytes, sample rate,
    channels and duration."""
    from edgernn.io import read_user_file

    data = read_user_file(path, "WAV file", MAX_WAV_BYTES)
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            sr, frames, channels = int(f.samplerate), int(f.frames), int(f.channels)
            if not MIN_RATE <= sr <= MAX_RATE:
                raise UserError(f"{path}: sample rate {sr} Hz is outside {MIN_RATE}..{MAX_RATE} Hz")
            if not 1 <= channels <= MAX_CHANNELS:
                raise UserError(f"{path}: {channels} channels (at most {MAX_CHANNELS})")
            if frames > sr * MAX_SECONDS:
                raise UserError(f"{path}: {frames / sr:.0f} s long; clips of at most {MAX_SECONDS} s are read")
            x = f.read(frames, dtype="float32", always_2d=True)
    except UserError:
        raise
    except Exception as e:  # soundfile raises several types for bad files
        raise UserError(f"{path}: cannot read WAV ({(str(e).splitlines() or [type(e).__name__])[0][:120]})") from None
    if x.shape[0] == 0:
        raise UserError(f"{path}: WAV has no samples")
    if not np.all(np.isfinite(x)):
        raise UserError(f"{path}: WAV holds NaN or infinite samples")
    return resample(x.mean(axis=1), sr, rate)


def decode_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    x, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return x.mean(axis=1), int(sr)


def write_wav(path: str | Path, x: np.ndarray, rate: int = 16000) -> None:
    """16-bit PCM mono, values clipped to [-1, 1]."""
    pcm = np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0)
    sf.write(str(path), pcm, rate, subtype="PCM_16")
