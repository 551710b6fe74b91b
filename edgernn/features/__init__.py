"""Audio features for keyword spotting, in layers (no module imports one above it):

    config.py        FeatureConfig: the parameters every front end and consumer shares
    dsp.py           framing, power spectrum, mel filterbank, DCT (float64/float32 NumPy)
    frontend.py      the float front end (log-mel, MFCC)          -- config, dsp
    fixed_point.py   the integer front end of cores without an FPU -- config, dsp
    speech_embedding.py  a pretrained speech-embedding model (two ONNX graphs) -- wheels
    __init__.py      ``features``: the one entry point that picks the front end a config asks for

See docs/design/architecture.md.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from edgernn.features.config import FeatureConfig
from edgernn.features.dsp import fit_length
from edgernn.features.fixed_point import fixed_features
from edgernn.features.frontend import float_features
from edgernn.features.speech_embedding import clip_embeddings

__all__ = ["FeatureConfig", "features"]


def features(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The configured front end: ``mfcc`` or ``logmel``, float or fixed point, for one waveform or a batch."""
    if cfg.mean_norm:  # per window (clip), so every frame of the window shifts together
        f = features(x, dataclasses.replace(cfg, mean_norm=False))
        return (f - f.mean(axis=-2, keepdims=True)).astype(np.float32)
    if cfg.kind == "embedding":
        return clip_embeddings(x, cfg.clip_samples)
    if cfg.arithmetic == "fixed":
        return fixed_features(fit_length(np.asarray(x, dtype=np.float32), cfg.clip_samples), cfg)
    return float_features(x, cfg)
