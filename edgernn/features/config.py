"""The front end's parameters (``FeatureConfig``): the bottom of ``edgernn.features``, next to ``dsp.py``.

Every front end (the float one in ``frontend.py``, the integer one in ``fixed_point.py``) and every
consumer (data loaders, streaming, the C header generator) reads the same frozen dataclass, so a
run's features are described by one object whose digest keys the feature caches.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass


EMBEDDING_DIM = 96


def embedding_config(**overrides) -> "FeatureConfig":
    """The front end of ``train --features embedding``: one 782 ms embedding window (76 mel frames of
    512 samples, 160 apart) every 80 ms; ``speech_embedding.py`` computes it."""
    return FeatureConfig(kind="embedding", window_ms=782.0, hop_ms=80.0, n_fft=512, n_mels=32, fmax=8000.0, **overrides)


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
    kind: "mfcc" -> [frames, n_mfcc]; "logmel" -> [frames, n_mels]; "embedding" -> [16, 96]: the
      pretrained speech-embedding model (``speech_embedding.py``; window 782 ms, hop 80 ms, 32 mel
      bands of its own; a clip is centred in 0.5 s of silence each side).
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
        if self.kind == "embedding":  # the clip is centred in 0.5 s of silence on each side
            return 1 + (self.clip_samples + self.sample_rate - self.window) // self.hop
        return 1 + (self.clip_samples - self.window) // self.hop

    @property
    def num_features(self) -> int:
        if self.kind == "embedding":
            return EMBEDDING_DIM
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
