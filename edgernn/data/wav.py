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


# A long recording (`detect`) is read in blocks, never whole: memory is bounded by the block, not the file.
MAX_STREAM_SECONDS = 24 * 3600
MAX_STREAM_BYTES = 64 * 1024 ** 3


def wav_blocks(path: str | Path, rate: int = 16000, block_seconds: float = 30.0):
    """(seconds, blocks): the recording's length and an iterator of mono float32 blocks at ``rate`` Hz
    (about ``block_seconds`` each) whose concatenation is ``read_wav`` of the whole file. The header is
    checked first (rate, channels, length); the file is opened without blocking (a FIFO is refused)."""
    import os
    import stat

    from edgernn.io import check_regular_file

    check_regular_file(path, "WAV file", MAX_STREAM_BYTES)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise UserError(f"{path}: cannot open WAV file ({e.strerror})") from None
    raw = os.fdopen(fd, "rb")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UserError(f"{path}: not a regular file; expected a WAV file")
        f = sf.SoundFile(raw)
    except UserError:
        raw.close()
        raise
    except Exception as e:  # soundfile raises several types for bad files
        raw.close()
        raise UserError(f"{path}: not an audio file soundfile can read (expected a WAV, 16 kHz mono 16-bit): "
                        f"{(str(e).splitlines() or [type(e).__name__])[0][:100]}") from None
    sr, frames, channels = int(f.samplerate), int(f.frames), int(f.channels)
    problem = (f"sample rate {sr} Hz is outside {MIN_RATE}..{MAX_RATE} Hz" if not MIN_RATE <= sr <= MAX_RATE else
               f"{channels} channels (at most {MAX_CHANNELS})" if not 1 <= channels <= MAX_CHANNELS else
               f"{frames / sr / 3600:.1f} hours long; at most {MAX_STREAM_SECONDS // 3600} hours are read"
               if frames > sr * MAX_STREAM_SECONDS else "WAV has no samples" if frames == 0 else None)
    if problem:
        f.close()
        raw.close()
        raise UserError(f"{path}: {problem}")
    g = gcd(sr, rate)
    down = sr // g
    step = max(1, round(block_seconds * sr / down)) * down  # a multiple of `down`: blocks resample exactly

    def mono_blocks():
        with raw, f:
            while True:
                try:
                    x = f.read(step, dtype="float32", always_2d=True)
                except Exception as e:  # noqa: BLE001  (a damaged file mid-way)
                    raise UserError(f"{path}: cannot read WAV ({(str(e).splitlines() or [type(e).__name__])[0][:100]})") from None
                if x.shape[0] == 0:
                    return
                if not np.all(np.isfinite(x)):
                    raise UserError(f"{path}: WAV holds NaN or infinite samples")
                yield x.mean(axis=1)

    return frames / sr, _resampled_blocks(mono_blocks(), sr, rate)


def _resampled_blocks(blocks, rate_in: int, rate_out: int):
    """Resample a stream block by block with the same result as ``resample`` on the whole signal: each
    block is filtered with enough neighbouring samples on both sides that the polyphase filter sees what
    it would see in the whole signal (block lengths are multiples of the decimation factor, so every
    block's first output sample falls on an input sample)."""
    if rate_in == rate_out:
        yield from blocks
        return
    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    reach = 10 * max(up, down) // up + 2            # resample_poly's filter half-length, in input samples
    context = -(-reach // down) * down              # rounded up to a multiple of `down`
    previous = np.zeros(0, np.float32)
    current = next(blocks, None)
    while current is not None:
        following = next(blocks, None)
        ahead = following[:context] if following is not None else np.zeros(0, np.float32)
        y = resample_poly(np.concatenate([previous, current, ahead]), up, down)
        first = len(previous) * up // down
        yield y[first:first + -(-len(current) * up // down)].astype(np.float32)
        previous = current[-context:]
        current = following


def decode_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    x, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return x.mean(axis=1), int(sr)


def write_wav(path: str | Path, x: np.ndarray, rate: int = 16000) -> None:
    """16-bit PCM mono, values clipped to [-1, 1]."""
    pcm = np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0)
    sf.write(str(path), pcm, rate, subtype="PCM_16")
