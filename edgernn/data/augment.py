"""Training-time augmentation for keyword spotting, seeded.

Two parts, both on by default for ``--task kws`` (``train --no-augment`` turns them off):
- on the waveform, once per dataset (cached with the features): ``copies`` extra versions of every
  training clip, shifted in time by up to ``time_shift_ms`` and mixed with a background-noise
  cut at a random SNR (``snr_db``) with probability ``background_prob``;
- on the features, anew for every batch of every epoch: SpecAugment-style masks, ``time_masks``
  runs of up to ``time_mask_frames`` frames and ``freq_masks`` runs of up to ``freq_mask_bins``
  coefficients set to the training mean (0 after standardization).
``warp`` (off by default) also resamples each extra copy by its own factor in [1 - warp, 1 + warp]
(another speaker's vocal tract and pitch); with flite held out 0.1 and 0.2 gained nothing on
validation (docs/notes/2026-11-30-levers-that-did-not-move-the-unseen-engine.md), so it is a lever, not a default.
Validation, test and hold-out data are never augmented.
"""
from __future__ import annotations

import numpy as np

from edgernn.errors import UserError

# Copies: on the default keyword set (GRU-64 without dropout, flite held out) validation accuracy
# rose 87.1% (1 copy) -> 87.6% (2) -> 88.6% (3), and flite's false fires fell 24% -> 21%; with no
# augmentation at all it was 80.5%. Each copy adds one pass over the training clips per epoch.
# 2 since training draws 8 classes' size of _unknown_ clips (speech_commands.TRAIN_UNKNOWN_FRACTION):
# 3 copies were better again on validation, but `make demo` would take ~13 instead of ~10 minutes.
DEFAULT_AUGMENT = {"copies": 2, "time_shift_ms": 100, "background_prob": 0.8, "snr_db": [0.0, 20.0],
                   "time_masks": 2, "time_mask_frames": 6, "freq_masks": 1, "freq_mask_bins": 2, "warp": 0.0}
_LIMITS = {"copies": (0, 8), "time_shift_ms": (0, 500), "background_prob": (0.0, 1.0), "warp": (0.0, 0.3),
           "time_masks": (0, 10), "time_mask_frames": (0, 50), "freq_masks": (0, 10), "freq_mask_bins": (0, 40)}


def check_augment(options: dict | None) -> dict:
    """Defaults overridden by ``options``; unknown keys and out-of-range values are user errors."""
    merged = dict(DEFAULT_AUGMENT)
    for k, v in (options or {}).items():
        if k not in DEFAULT_AUGMENT:
            raise UserError(f"augmentation option {k!r} unknown (choose from {', '.join(DEFAULT_AUGMENT)})")
        merged[k] = v
    for k, (lo, hi) in _LIMITS.items():
        v = merged[k]
        kind = float if isinstance(lo, float) else int
        if isinstance(v, bool) or not isinstance(v, (int, float)) or kind is int and int(v) != v or not lo <= v <= hi:
            raise UserError(f"augmentation option {k}={v!r}: must be {kind.__name__} from {lo} to {hi}")
        merged[k] = kind(v)
    snr = merged["snr_db"]
    if not (isinstance(snr, (list, tuple)) and len(snr) == 2 and all(isinstance(x, (int, float)) for x in snr)
            and -20 <= snr[0] <= snr[1] <= 60):
        raise UserError(f"augmentation option snr_db={snr!r}: must be [low, high] dB with -20 <= low <= high <= 60")
    merged["snr_db"] = [float(snr[0]), float(snr[1])]
    return merged


def parse_augment_options(text: str | None) -> dict:
    """'copies=2,time_shift_ms=80,snr_db=0:15' -> dict (values checked by check_augment)."""
    out: dict = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise UserError(f"--augment-options: expected key=value, got {part.strip()!r}")
        k, v = (x.strip() for x in part.split("=", 1))
        try:
            out[k] = [float(x) for x in v.split(":")] if k == "snr_db" else float(v) if "." in v else int(v)
        except ValueError:
            raise UserError(f"--augment-options: {k}={v!r} is not a number") from None
    return check_augment(out)


def warp(wave: np.ndarray, factor: float) -> np.ndarray:
    """Resample by ``factor`` (> 1: higher pitch and formants, faster), same length, centred."""
    from scipy.signal import resample_poly

    y = resample_poly(wave, 1000, int(round(1000 * factor)))
    n = len(wave)
    if len(y) >= n:
        at = (len(y) - n) // 2
        return y[at:at + n].astype(np.float32)
    out = np.zeros(n, np.float32)
    at = (n - len(y)) // 2
    out[at:at + len(y)] = y
    return out


def shift_and_mix(wave: np.ndarray, rng: np.random.Generator, noises, options: dict, rate: int) -> np.ndarray:
    if options.get("warp"):  # a new speaker's vocal tract and pitch: the copy's own resampling factor
        wave = warp(wave, float(rng.uniform(1 - options["warp"], 1 + options["warp"])))
    max_shift = int(options["time_shift_ms"] * rate / 1000)
    shift = int(rng.integers(-max_shift, max_shift + 1)) if max_shift else 0
    out = np.zeros_like(wave)
    if shift >= 0:
        out[shift:] = wave[:len(wave) - shift]
    else:
        out[:shift] = wave[-shift:]
    if len(noises) and rng.random() < options["background_prob"]:
        src = noises[rng.integers(len(noises))]
        at = int(rng.integers(0, len(src) - len(wave)))
        seg = src[at:at + len(wave)]
        p_wave = float(np.mean(out ** 2))
        if p_wave < 1e-8:  # silence clip: background at a random level instead of an SNR
            out = out + seg * 10 ** rng.uniform(-2, 0)
        else:
            snr = rng.uniform(*options["snr_db"])
            out = out + seg * np.sqrt(p_wave / (np.mean(seg ** 2) + 1e-12) / 10 ** (snr / 10))
    return np.clip(out, -1, 1).astype(np.float32)


def augmented_copies(waves: np.ndarray, labels: np.ndarray, noises, options: dict, seed: int, cfg):
    """Features of ``copies`` shifted + background-mixed versions of every training waveform."""
    from edgernn.features import features

    if options["copies"] == 0 or len(waves) == 0:
        return np.zeros((0, cfg.num_frames, cfg.num_features), np.float32), np.zeros(0, np.int64)
    rng = np.random.default_rng([seed, 23])
    noises = [n for n in noises if len(n) > waves.shape[1]]
    X, y = [], []
    for _ in range(options["copies"]):
        batch = np.stack([shift_and_mix(w, rng, noises, options, cfg.sample_rate) for w in waves])
        X.append(features(batch, cfg).astype(np.float32))
        y.append(labels)
    return np.concatenate(X), np.concatenate(y)


def spec_mask(X: np.ndarray, rng: np.random.Generator, options: dict) -> np.ndarray:
    """SpecAugment-style masks on standardized features [N, T, F]: masked values become 0 (the mean)."""
    X = X.copy()
    n, t, f = X.shape
    for _ in range(options["time_masks"]):
        width = rng.integers(0, options["time_mask_frames"] + 1, n)
        start = rng.integers(0, t, n)
        idx = np.arange(t)[None, :]
        X[(idx >= start[:, None]) & (idx < (start + width)[:, None])] = 0.0
    for _ in range(options["freq_masks"]):
        width = rng.integers(0, options["freq_mask_bins"] + 1, n)
        start = rng.integers(0, f, n)
        idx = np.arange(f)[None, :]
        mask = (idx >= start[:, None]) & (idx < (start + width)[:, None])
        X[np.broadcast_to(mask[:, None, :], X.shape)] = 0.0
    return X
